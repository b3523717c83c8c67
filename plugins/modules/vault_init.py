#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: vault_init
short_description: Initialise a Vault or OpenBao cluster once and keep its keys on the controller
version_added: 0.2.0
description:
  - Asks one node's API (C(sys/init)) whether the cluster is initialised; only when it is not, initialises it
    with Shamir key shares and stores the answer in O(custody_file) on the controller.
  - Runs entirely on the controller (action plugin). The unseal key shares and the root token never pass through
    a Vault host and are never part of the task result, so neither C(-vvv) nor a registered variable shows them.
  - With O(key_custody=ansible_vault) the file is encrypted with the run's ansible-vault password before it is
    written (the run must have one, or nothing is initialised). With O(key_custody=pgp) each share is encrypted
    by upstream to one of O(pgp_keys) and the root token to O(root_token_pgp_key); the file holds only those.
  - The file is created with mode 0600 and C(O_EXCL) B(before) C(sys/init) is called; an existing file while the
    cluster is not initialised is refused (it would hold the keys of an earlier cluster).
author:
  - homelab.k3s maintainers (@homelab-k3s)
attributes:
  check_mode:
    support: full
    description: Reports whether an init would happen; nothing is called that changes the cluster.
  diff_mode:
    support: none
    description: No diff is produced.
  idempotent:
    support: full
    description: A second run with the same input changes nothing.
options:
  url:
    description: API address of the node to initialise, for example C(https://bao-1:8200).
    type: str
    required: true
  ca_cert:
    description: PEM file on the controller of the CA that signed the API certificate (TLS is verified).
    type: path
  custody_file:
    description: Controller file that receives the keys.
    type: path
    required: true
  key_custody:
    description: How the keys are kept.
    type: str
    choices: [ansible_vault, pgp]
    default: ansible_vault
  secret_shares:
    description: Number of key shares.
    type: int
    default: 5
  secret_threshold:
    description: Number of shares needed to unseal; at most O(secret_shares), at least 2 when the key is split.
    type: int
    default: 3
  pgp_keys:
    description: Base64 binary PGP public keys, exactly one per share, with O(key_custody=pgp).
    type: list
    elements: str
    default: []
  root_token_pgp_key:
    description: Base64 binary PGP public key for the root token, required with O(key_custody=pgp).
    type: str
    default: ""
  cluster_name:
    description: Name recorded in the custody file.
    type: str
    default: ""
  timeout:
    description:
      - Seconds for each API call.
      - C(sys/init) answers only when the keys are generated and stored; on a slow disk or a loaded
        host that takes more than a few seconds, and a call given up too early may leave an
        initialised cluster whose keys nobody received.
    type: int
    default: 120
notes:
  - The logic is in C(plugins/module_utils/vault_bootstrap.py); the API client in C(vault_api.py).
'''

EXAMPLES = r'''
- name: Initialise the cluster once
  homelab.k3s.vault_init:
    url: https://bao-1:8200
    ca_cert: ~/.homelab/vault/ca.crt
    custody_file: ~/.homelab/vault/keys.vault.yml
    secret_shares: 5
    secret_threshold: 3
  run_once: true
'''

RETURN = r'''
initialized:
  description: Whether the cluster is initialised after the task (false only in check mode before an init).
  returned: always
  type: bool
custody_file:
  description: Absolute path of the custody file.
  returned: always
  type: str
'''
