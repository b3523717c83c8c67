# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: network_plan_svg.yml (sidecar file).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").


def network_plan_svg(network, nodes, family=None, title=None):
    """The validated address plan of one family as an SVG document (text)."""
    from ansible_collections.homelab.k3s.plugins.module_utils.network_plan import MissingNetaddrError, NetworkPlanError
    from ansible_collections.homelab.k3s.plugins.module_utils.network_plan_svg import network_plan_svg as draw
    try:
        return draw(network, nodes, family=family or None, title=title or None)
    except (NetworkPlanError, MissingNetaddrError) as exc:
        raise AnsibleFilterError(to_native(exc))


class FilterModule(object):

    def filters(self):
        return {'network_plan_svg': network_plan_svg}
