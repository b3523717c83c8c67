# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""homelab.k3s.vault_unseal: unseal one Vault/OpenBao node from the controller.

The keys come from the custody file on the controller (decrypted in memory
with the run's vault password) or from ``keys`` (shares the operators
decrypted from their PGP messages). They are sent to the node's API over
HTTPS in request bodies and never returned.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.homelab.k3s.plugins.module_utils.vault_api import VaultApiError, VaultClient, urllib_transport
from ansible_collections.homelab.k3s.plugins.module_utils.vault_bootstrap import (
    VaultInputError, VaultStateError, unseal, unseal_keys_from)
from ansible_collections.homelab.k3s.plugins.plugin_utils.vault_custody import CustodyFile

ARGUMENT_SPEC = dict(
    url=dict(type="str", required=True),
    ca_cert=dict(type="path"),
    custody_file=dict(type="path"),
    keys=dict(type="list", elements="str", default=[], no_log=True),
    timeout=dict(type="int", default=60),
    wait=dict(type="bool", default=True),
)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        client = VaultClient(args["url"], urllib_transport(args["ca_cert"]))
        try:
            if args["keys"]:
                keys = args["keys"]
            elif args["custody_file"]:
                keys = unseal_keys_from(CustodyFile(args["custody_file"], None, self._loader).load())
            else:
                raise VaultInputError("vault_unseal: give keys or custody_file")
            outcome = unseal(client, keys, timeout=float(args["timeout"]), check_mode=bool(self._task.check_mode),
                             wait=args["wait"])
        except (VaultInputError, VaultStateError, VaultApiError) as err:
            raise AnsibleActionFail(str(err))
        result.update(outcome)
        return result
