# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""homelab.k3s.artifact_install: the whole artifact role after its input checks, in one task.

1. Runs homelab.k3s.artifact_place on the node with ``inspect=true``: refuses a
   link path that is not a symlink before anything happens anywhere, and reads
   the directory, the versioned file (sha256, mode, owner) and the link.
2. Fills the controller cache (download, verify, unpack: module_utils/artifact_fetch.py).
3. Compares (module_utils/artifact_place.py ``plan``). In the no-op case that
   is all: one module run on the node. Otherwise, unless in check mode, it
   transfers the file only when the node's copy is missing or different, and
   runs artifact_place again to move it into place atomically, set owner and
   mode, and repoint the symlink atomically.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import posixpath

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.homelab.k3s.plugins.module_utils.artifact_fetch import (
    FORMATS, Artifact, ArtifactError, Fetcher)
from ansible_collections.homelab.k3s.plugins.module_utils.artifact_place import PlaceError, diff, parse_mode, plan

NODE_MODULE = "homelab.k3s.artifact_place"

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    version=dict(type="str", required=True),
    arch=dict(type="str", required=True),
    url=dict(type="str", required=True),
    cache_dir=dict(type="path", required=True),
    checksums_url=dict(type="str", default=""),
    mirror=dict(type="str", default=""),
    sha256=dict(type="str", default=""),
    format=dict(type="str", default="auto", choices=list(FORMATS)),
    archive_member=dict(type="str", default=""),
    timeout=dict(type="int", default=600),
    install_dir=dict(type="str", default="/usr/local/lib/homelab-k3s/bin"),
    link=dict(type="str", required=True),
    mode=dict(type="str", default="0755"),
    owner=dict(type="str", default="root"),
    group=dict(type="str", default="root"),
)


class ActionModule(ActionBase):

    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        path = posixpath.join(args["install_dir"], "%s-%s" % (args["name"], args["version"]))
        place = dict(name=args["name"], path=path, link=args["link"], mode=args["mode"], owner=args["owner"],
                     group=args["group"])
        try:
            parse_mode(args["mode"])  # refused before the node or the cache is touched
        except PlaceError as err:
            raise AnsibleActionFail("artifact %s %s: %s" % (args["name"], args["version"], err))
        try:
            seen = self._execute_module(module_name=NODE_MODULE, module_args=dict(place, inspect=True),
                                        task_vars=task_vars)
            if seen.get("failed"):
                result.update(seen)
                return result
            artifact = Artifact(args["name"], args["version"], args["arch"], args["url"], args["cache_dir"],
                                checksums_url=args["checksums_url"], mirror=args["mirror"], sha256=args["sha256"],
                                fmt=args["format"], archive_member=args["archive_member"])
            fetched = Fetcher(artifact, timeout=args["timeout"]).run()
            wanted = (path, fetched["path_sha256"], args["mode"], args["owner"], args["group"])
            changes = plan(seen["state"], *wanted)
            result.update(path=path, link=args["link"], sha256=fetched["sha256"], path_sha256=fetched["path_sha256"],
                          sha256_from=fetched["sha256_from"], source=fetched["source"], cache=fetched["actions"],
                          changes=changes, changed=bool(changes))
            if changes and self._task.diff:
                result["diff"] = diff(seen["state"], path, args["link"], *wanted[1:])
            if changes and not self._task.check_mode:
                applied = self._apply(dict(place, sha256=fetched["path_sha256"]), fetched["path"], "file" in changes,
                                      task_vars)
                if applied.get("failed"):
                    result.update(failed=True, msg=applied.get("msg"), changed=False)
                    return result
                result.update(changes=applied["changes"], changed=applied["changed"])
        except (ArtifactError, PlaceError) as err:
            raise AnsibleActionFail(str(err))
        finally:
            if self._connection._shell.tmpdir:
                self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _apply(self, module_args, local_file, transfer, task_vars):
        if transfer:
            if not self._connection._shell.tmpdir:
                self._make_tmp_path()
            remote = self._connection._shell.join_path(self._connection._shell.tmpdir, "artifact")
            self._transfer_file(local_file, remote)
            self._fixup_perms2((self._connection._shell.tmpdir, remote))
            module_args["src"] = remote
        return self._execute_module(module_name=NODE_MODULE, module_args=module_args, task_vars=task_vars)
