#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: vault_configure
short_description: KV v2 mounts, ACL policies, Kubernetes auth and KV secrets on Vault or OpenBao
version_added: 0.2.0
description:
  - Makes an initialised, unsealed cluster match the request, changing only what differs; a path already used
    by another engine or auth method type is refused.
  - Runs on the controller (action plugin) against one node's API. The token is the root token of
    O(custody_file) (decrypted in memory) unless O(token) is given. Only the names of what changed are
    returned, never a value.
  - With O(revoke_root_token) the custody file's root token is revoked (C(auth/token/revoke-self)) after a run
    that succeeded; with the C(openbao) flavour a root-generation login (a userpass user whose tokens may only
    use C(sys/generate-root-token/*)) is created first and its password saved in the custody file. Later runs
    without O(token) then obtain a short-lived root token with the generate-root flow from the custody key
    shares, use it, and revoke it at the end, also in check mode (the cluster's configuration is unchanged).
  - Upstream never returns the Kubernetes reviewer JWT, so it is written when the config changes, when none is
    set, or when O(kubernetes_auth.force_jwt) asks for a rotation.
author:
  - homelab.k3s maintainers (@homelab-k3s)
attributes:
  check_mode:
    support: full
    description: Reports what would change; nothing is changed.
  diff_mode:
    support: partial
    details: The diff lists the names of what would change, never values.
    description: The diff lists the names of what would change, never values.
  idempotent:
    support: full
    description: A second run with the same input changes nothing.
options:
  url:
    description: API address of an unsealed node.
    type: str
    required: true
  ca_cert:
    description: PEM file on the controller of the CA that signed the API certificate.
    type: path
  custody_file:
    description: Custody file with the root token (ansible-vault custody).
    type: path
  token:
    description:
      - Token to use instead of the custody file's root token; it takes precedence, nothing is generated or revoked.
    type: str
    default: ""
  revoke_root_token:
    description:
      - Revoke the custody file's root token after a successful run and regenerate a short-lived one (revoked at
        the end) on later runs. Needs O(custody_file) with ansible-vault custody.
    type: bool
    default: false
  flavour:
    description:
      - Server flavour; decides the generate-root endpoints (C(sys/generate-root-token/*) authenticated on
        OpenBao, C(sys/generate-root/*) on HashiCorp Vault).
    type: str
    default: openbao
    choices: [openbao, hashicorp]
  kv_mounts:
    description: KV version 2 mounts.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Mount path.
        type: str
        required: true
      description:
        description: Mount description.
        type: str
        default: ""
  policies:
    description: ACL policies, name to HCL text.
    type: dict
    default: {}
  kubernetes_auth:
    description: Kubernetes auth method; omitted means none is configured.
    type: dict
    suboptions:
      path:
        description: Auth mount path.
        type: str
        default: kubernetes
      host:
        description: Kubernetes API URL (https).
        type: str
        required: true
      ca_cert:
        description: PEM CA of the Kubernetes API.
        type: str
        required: true
      reviewer_jwt:
        description: Token of the service account allowed to create TokenReviews.
        type: str
        default: ""
      force_jwt:
        description: Write the reviewer JWT even when nothing else changed (rotation).
        type: bool
        default: false
      roles:
        description: Roles binding service accounts to policies.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: Role name.
            type: str
            required: true
          service_accounts:
            description: Bound service account names.
            type: list
            elements: str
            required: true
          namespaces:
            description: Bound namespaces.
            type: list
            elements: str
            required: true
          policies:
            description: Token policies.
            type: list
            elements: str
            default: []
          ttl:
            description: Token TTL in seconds.
            type: int
            default: 3600
  kv_secrets:
    description: KV v2 secrets to write (for example the K3s join token, restic passwords).
    type: list
    elements: dict
    default: []
    suboptions:
      mount:
        description: KV v2 mount.
        type: str
        required: true
      path:
        description: Secret path inside the mount.
        type: str
        required: true
      data:
        description: Key/value data of the secret.
        type: dict
        required: true
'''

EXAMPLES = r'''
- name: Configure mounts, policies and Kubernetes auth
  homelab.k3s.vault_configure:
    url: https://bao-1:8200
    ca_cert: ~/.homelab/vault/ca.crt
    custody_file: ~/.homelab/vault/keys.vault.yml
    kv_mounts: [{path: homelab}]
    policies:
      k3s-read: |
        path "homelab/data/k3s/*" { capabilities = ["read"] }
  run_once: true

- name: Configure, then revoke the root token (later runs generate a short-lived one)
  homelab.k3s.vault_configure:
    url: https://bao-1:8200
    ca_cert: ~/.homelab/vault/ca.crt
    custody_file: ~/.homelab/vault/keys.vault.yml
    revoke_root_token: true
    kv_mounts: [{path: homelab}]
  run_once: true
'''

RETURN = r'''
changes:
  description: Names of what changed (or would change in check mode).
  returned: always
  type: list
  elements: str
  sample: ["mount homelab/ (kv v2)", "policy k3s-read", "revoke the initial root token"]
'''
