# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""homelab.k3s.artifact_fetch: the controller half of the artifact role in one task.

Runs only on the controller and never contacts the node: downloads the release
file (and its checksum file) into the controller cache, verifies the sha256,
unpacks the program; see plugins/module_utils/artifact_fetch.py. Safe in
parallel forks (an flock on the per-artifact cache directory), so the role
needs neither ``throttle`` nor ``delegate_to``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.homelab.k3s.plugins.module_utils.artifact_fetch import (
    FORMATS, Artifact, ArtifactError, Fetcher)

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
)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            artifact = Artifact(args["name"], args["version"], args["arch"], args["url"], args["cache_dir"],
                                checksums_url=args["checksums_url"], mirror=args["mirror"], sha256=args["sha256"],
                                fmt=args["format"], archive_member=args["archive_member"])
            result.update(Fetcher(artifact, timeout=args["timeout"]).run())
        except ArtifactError as err:
            raise AnsibleActionFail(str(err))
        return result
