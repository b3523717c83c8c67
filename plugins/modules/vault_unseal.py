#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: vault_unseal
short_description: Unseal one Vault or OpenBao node from the controller
version_added: 0.2.0
description:
  - Reads the node's C(sys/seal-status); when it is sealed, sends key shares to C(sys/unseal) until it reports
    unsealed. A node that has not found its raft leader yet (C(initialized=false)) is waited for; a joining node
    that stays sealed for a moment after the last share (it is fetching the keyring) is waited for too.
  - Runs on the controller (action plugin). The shares come from O(custody_file) (decrypted in memory with the
    run's ansible-vault password) or from O(keys); they are never returned.
  - A node that is already unsealed is left alone (no change).
author:
  - homelab.k3s maintainers (@homelab-k3s)
attributes:
  check_mode:
    support: full
    description: Reports what would change; nothing is changed.
  diff_mode:
    support: none
    description: No diff is produced.
  idempotent:
    support: full
    description: A second run with the same input changes nothing.
options:
  url:
    description: API address of the node.
    type: str
    required: true
  ca_cert:
    description: PEM file on the controller of the CA that signed the API certificate.
    type: path
  custody_file:
    description: Custody file written by M(homelab.k3s.vault_init) with ansible-vault custody.
    type: path
  keys:
    description: Base64 key shares (for PGP custody, the operators' decrypted shares); win over O(custody_file).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the node to report initialised, then unsealed.
    type: int
    default: 60
  wait:
    description:
      - Wait until the node reports unsealed. Without it the task returns once the shares were given (a node of a
        cluster that was all sealed reports unsealed only when enough peers are).
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Unseal every node, one at a time
  homelab.k3s.vault_unseal:
    url: "https://{{ item }}:8200"
    ca_cert: ~/.homelab/vault/ca.crt
    custody_file: ~/.homelab/vault/keys.vault.yml
  loop: "{{ groups['vault_servers'] }}"
  run_once: true
'''

RETURN = r'''
sealed_before:
  description: Whether the node was sealed when the task started.
  returned: always
  type: bool
sealed:
  description: Whether the node is sealed now.
  returned: always
  type: bool
'''
