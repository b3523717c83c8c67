# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""homelab.k3s.vault_init: initialise a Vault/OpenBao cluster once, keys to the controller.

Runs entirely on the controller: it calls the API of one node over HTTPS and
writes the answer of ``sys/init`` into the custody file (see
plugin_utils/vault_custody.py). The keys never pass through a module on the
node, so they never touch a Vault host's disk, and they are never part of
the task result.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.homelab.k3s.plugins.module_utils.vault_api import VaultApiError, VaultClient, urllib_transport
from ansible_collections.homelab.k3s.plugins.module_utils.vault_bootstrap import (
    CUSTODY_CHOICES, VaultInputError, VaultStateError, initialise)
from ansible_collections.homelab.k3s.plugins.plugin_utils.vault_custody import CustodyFile

ARGUMENT_SPEC = dict(
    url=dict(type="str", required=True),
    ca_cert=dict(type="path"),
    custody_file=dict(type="path", required=True),
    key_custody=dict(type="str", default="ansible_vault", choices=list(CUSTODY_CHOICES)),
    secret_shares=dict(type="int", default=5),
    secret_threshold=dict(type="int", default=3),
    pgp_keys=dict(type="list", elements="str", default=[]),
    root_token_pgp_key=dict(type="str", default=""),
    cluster_name=dict(type="str", default=""),
    timeout=dict(type="int", default=120),
)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        client = VaultClient(args["url"], urllib_transport(args["ca_cert"], timeout=args["timeout"]))
        store = CustodyFile(args["custody_file"], args["key_custody"], self._loader)
        try:
            outcome = initialise(
                client, store, args["secret_shares"], args["secret_threshold"], args["key_custody"],
                args["cluster_name"], args["pgp_keys"], args["root_token_pgp_key"] or None,
                check_mode=bool(self._task.check_mode))
        except (VaultInputError, VaultStateError, VaultApiError) as err:
            raise AnsibleActionFail(str(err))
        result.update(outcome)
        result["custody_file"] = store.path
        return result
