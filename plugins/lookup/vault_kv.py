# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
name: vault_kv
short_description: Read a secret (or one field of it) from a Vault or OpenBao KV version 2 mount
version_added: 0.2.0
description:
  - Reads the current (or a given) version of a KV v2 secret over HTTPS, verified against O(ca_cert), with the
    Vault/OpenBao HTTP API (C(GET /v1/<mount>/data/<path>)); no C(hvac) needed.
  - Meant for inventories that keep the K3s join token and the restic passwords in the cluster the
    C(homelab.k3s.vault) role runs (the role writes them with C(vault_kv_secrets)).
  - The token travels in the C(X-Vault-Token) header only; errors name the secret, the field and the problem,
    never the token or a value.
author:
  - homelab.k3s maintainers (@homelab-k3s)
options:
  _terms:
    description:
      - Secret paths. Without O(mount) the first segment is the mount (C(homelab/k3s) is secret C(k3s) in mount
        C(homelab)); with O(mount) each term is the path inside that mount.
    type: list
    elements: str
    required: true
  field:
    description: Return this key of the secret's data instead of the whole data dictionary.
    type: str
  mount:
    description: KV v2 mount; when omitted it is the first segment of each term.
    type: str
  version:
    description: Secret version to read; the current one when omitted.
    type: int
  url:
    description: API address, for example C(https://node1:8200).
    type: str
    env:
      - name: BAO_ADDR
      - name: VAULT_ADDR
    vars:
      - name: vault_kv_url
  token:
    description:
      - Token with C(read) on C(<mount>/data/<path>). Prefer the environment variable (or an ansible-vault
        encrypted variable) to a literal.
    type: str
    env:
      - name: BAO_TOKEN
      - name: VAULT_TOKEN
    vars:
      - name: vault_kv_token
  ca_cert:
    description: PEM file of the CA that signed the API certificate (the vault role's C(vault_ca_cert_path)).
    type: path
    env:
      - name: BAO_CACERT
      - name: VAULT_CACERT
    vars:
      - name: vault_kv_ca_cert
  timeout:
    description: Seconds to wait for an answer.
    type: int
    default: 10
notes:
  - Plain C(http://) URLs are refused; the API must be reached over TLS.
  - The C(homelab.k3s.vault) role's docs (docs/vault.md) show the seed 000 layout and a read-only policy.
'''

EXAMPLES = r'''
# group_vars/all/k3s.yml (token from BAO_TOKEN, CA from BAO_CACERT, address from BAO_ADDR)
k3s_node_token: "{{ lookup('homelab.k3s.vault_kv', 'homelab/k3s', field='token') }}"

# restic repositories with their passwords kept in Vault
restic_repositories:
  - name: nas
    url: "sftp:backup@nas:/srv/restic"
    password: "{{ lookup('homelab.k3s.vault_kv', 'homelab/restic/nas', field='password') }}"

# explicit address and CA, whole secret as a dictionary
k3s_secret: >-
  {{ lookup('homelab.k3s.vault_kv', 'k3s', mount='homelab', url='https://node1:8200',
            ca_cert='~/.homelab/vault/ca.crt') }}
'''

RETURN = r'''
_raw:
  description:
    - One element per term; the value of O(field), or the secret's whole data dictionary when O(field) is omitted.
  type: list
  elements: raw
'''

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.homelab.k3s.plugins.module_utils.vault_api import (
    VaultApiError, VaultClient, urllib_transport)
from ansible_collections.homelab.k3s.plugins.module_utils.vault_kv import VaultKvError, read_kv_secret


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        url = self.get_option("url")
        token = self.get_option("token")
        if not url:
            raise AnsibleLookupError("vault_kv: no url (give url= or set BAO_ADDR / VAULT_ADDR)")
        if not token:
            raise AnsibleLookupError("vault_kv: no token (give token= or set BAO_TOKEN / VAULT_TOKEN)")
        if not url.startswith("https://"):
            raise AnsibleLookupError("vault_kv: url %s is not https://; the token and the secrets only travel over TLS"
                                     % url)
        ca_cert = self.get_option("ca_cert")
        try:
            client = VaultClient(url, urllib_transport(ca_cert, timeout=self.get_option("timeout")), token=token)
            return [read_kv_secret(client, term, field=self.get_option("field"), mount=self.get_option("mount"),
                                   version=self.get_option("version")) for term in terms]
        except (VaultKvError, VaultApiError) as err:
            raise AnsibleLookupError("vault_kv: %s" % err)
        except (IOError, OSError) as err:
            raise AnsibleLookupError("vault_kv: cannot use ca_cert %s: %s" % (ca_cert, err))
