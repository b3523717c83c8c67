# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: k3s_node_problems.yml (sidecar file).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").


def k3s_node_problems(node_list, name, version=None, etcd=True):
    """Why node ``name`` (and the etcd members) are not healthy yet; empty when healthy."""
    from ansible_collections.homelab.k3s.plugins.module_utils.k3s_node_health import NodeHealthError, node_problems
    try:
        return node_problems(node_list, name, version=version, etcd=etcd)
    except NodeHealthError as exc:
        raise AnsibleFilterError(to_native(exc))


class FilterModule(object):

    def filters(self):
        return {'k3s_node_problems': k3s_node_problems}
