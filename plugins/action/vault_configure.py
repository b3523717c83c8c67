# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""homelab.k3s.vault_configure: KV v2 mounts, ACL policies, Kubernetes auth and KV secrets.

Runs on the controller against the API of one unsealed node. The token is
the custody file's root token (decrypted in memory) unless ``token`` is
given. With ``revoke_root_token`` the custody root token is revoked after a
successful run; once it is, each run generates a short-lived root token from
the custody key shares and revokes it at the end (``vault_root``). Only the
names of what changed are returned (``changes``), never a value.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.homelab.k3s.plugins.module_utils.vault_api import VaultApiError, VaultClient, urllib_transport
from ansible_collections.homelab.k3s.plugins.module_utils.vault_bootstrap import (
    VaultInputError, VaultStateError, ensure_kubernetes_auth, ensure_kv_mounts, ensure_kv_secrets, ensure_policies,
    wait_for_kv)
from ansible_collections.homelab.k3s.plugins.module_utils.vault_root import RootTokenSession
from ansible_collections.homelab.k3s.plugins.plugin_utils.vault_custody import CustodyFile

ARGUMENT_SPEC = dict(
    url=dict(type="str", required=True),
    ca_cert=dict(type="path"),
    custody_file=dict(type="path"),
    token=dict(type="str", default="", no_log=True),
    revoke_root_token=dict(type="bool", default=False),
    flavour=dict(type="str", default="openbao", choices=["openbao", "hashicorp"]),
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
        session = None
        changes = []
        try:
            token = args["token"]
            transport = urllib_transport(args["ca_cert"])

            def make_client(client_token):
                return VaultClient(args["url"], transport, token=client_token)

            if not token:
                if not args["custody_file"]:
                    raise VaultInputError("vault_configure: give token or custody_file")
                store = CustodyFile(args["custody_file"], None, self._loader)
                session = RootTokenSession(make_client, store.load(), store.replace,
                                           revoke_root=args["revoke_root_token"], flavour=args["flavour"])
                token = session.open()
            client = make_client(token)
            succeeded = False
            try:
                changes = self._configure(client, args, check)
                succeeded = True
            finally:
                if session is not None:
                    changes += session.close(succeeded, check)
        except (VaultInputError, VaultStateError, VaultApiError) as err:
            raise AnsibleActionFail(str(err))
        result["changed"] = bool(changes)
        result["changes"] = changes
        if self._task.diff and changes:
            result["diff"] = {"before": "", "after": "".join("+ %s\n" % change for change in changes)}
        return result

    @staticmethod
    def _configure(client, args, check):
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
        return changes
