# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""homelab.k3s.vault_configure: KV v2 mounts, ACL policies, Kubernetes auth and KV secrets.

Runs on the controller against the API of one unsealed node. The token is
the custody file's root token (decrypted in memory) unless ``token`` is
given. Only the names of what changed are returned (``changes``), never a
value.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.homelab.k3s.plugins.module_utils.vault_api import VaultApiError, VaultClient, urllib_transport
from ansible_collections.homelab.k3s.plugins.module_utils.vault_bootstrap import (
    VaultInputError, VaultStateError, ensure_kubernetes_auth, ensure_kv_mounts, ensure_kv_secrets, ensure_policies,
    wait_for_kv)
from ansible_collections.homelab.k3s.plugins.plugin_utils.vault_custody import CustodyFile

ARGUMENT_SPEC = dict(
    url=dict(type="str", required=True),
    ca_cert=dict(type="path"),
    custody_file=dict(type="path"),
    token=dict(type="str", default="", no_log=True),
    kv_mounts=dict(type="list", elements="dict", default=[], options=dict(
        path=dict(type="str", required=True),
        description=dict(type="str", default=""),
    )),
    policies=dict(type="dict", default={}),
    kubernetes_auth=dict(type="dict", options=dict(
        path=dict(type="str", default="kubernetes"),
        host=dict(type="str", required=True),
        ca_cert=dict(type="str", required=True),
        reviewer_jwt=dict(type="str", default="", no_log=True),
        force_jwt=dict(type="bool", default=False),
        roles=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True),
            service_accounts=dict(type="list", elements="str", required=True),
            namespaces=dict(type="list", elements="str", required=True),
            policies=dict(type="list", elements="str", default=[]),
            ttl=dict(type="int", default=3600),
        )),
    )),
    kv_secrets=dict(type="list", elements="dict", default=[], no_log=False, options=dict(
        mount=dict(type="str", required=True),
        path=dict(type="str", required=True),
        data=dict(type="dict", required=True, no_log=True),
    )),
)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        check = bool(self._task.check_mode)
        try:
            token = args["token"]
            if not token:
                if not args["custody_file"]:
                    raise VaultInputError("vault_configure: give token or custody_file")
                document = CustodyFile(args["custody_file"], None, self._loader).load()
                if document.get("root_token_pgp_encrypted"):
                    raise VaultInputError("the custody file holds a PGP-encrypted root token; pass a token "
                                          "(vault_token) to configure the cluster")
                token = document["root_token"]
            client = VaultClient(args["url"], urllib_transport(args["ca_cert"]), token=token)
            changes = ensure_kv_mounts(client, args["kv_mounts"], check)
            if not check:
                for mount in args["kv_mounts"]:
                    wait_for_kv(client, mount["path"])
            changes += ensure_policies(client, args["policies"], check)
            auth = args["kubernetes_auth"]
            if auth:
                changes += ensure_kubernetes_auth(client, auth["path"], auth["host"], auth["ca_cert"],
                                                  auth["reviewer_jwt"], auth["roles"], check, auth["force_jwt"])
            changes += ensure_kv_secrets(client, args["kv_secrets"], check)
        except (VaultInputError, VaultStateError, VaultApiError) as err:
            raise AnsibleActionFail(str(err))
        result["changed"] = bool(changes)
        result["changes"] = changes
        if self._task.diff and changes:
            result["diff"] = {"before": "", "after": "".join("+ %s\n" % change for change in changes)}
        return result
