# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: file_up_to_date.yml (sidecar file).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").


def file_up_to_date(path, mode, content=None, state='file', fs=None):
    """True when ``path`` on the controller already is what a write of it would leave.

    The comparison of ``homelab.k3s.config_files`` (the same module_utils), with the
    controller's own user and group as owner: a controller file that is up to date needs no
    module run.
    """
    from ansible_collections.homelab.k3s.plugins.module_utils.config_files import (
        ConfigFilesError,
        FileSystem,
        check_requests,
        plan_file,
    )
    if state not in ('file', 'directory'):
        raise AnsibleFilterError("file_up_to_date: %s: state must be 'file' or 'directory', got %r" % (path, state))
    # as ansible.builtin.copy / file on the controller take it: ~ expanded, relative to the working directory
    path = os.path.abspath(os.path.expanduser(path))
    request = dict(dest=path, state=state, mode=mode, content=content,
                   owner=str(os.getuid()), group=str(os.getgid()))
    try:
        checked = check_requests([request])[0]
        plan = plan_file(checked, fs or FileSystem(), check_mode=True)
    except ConfigFilesError as exc:
        raise AnsibleFilterError('file_up_to_date: %s' % to_native(exc))
    return plan['action'] == 'unchanged'


class TestModule(object):

    def tests(self):
        return {'file_up_to_date': file_up_to_date}
