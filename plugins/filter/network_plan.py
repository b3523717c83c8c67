# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: network_plan.yml, network_plan_problems.yml, address_problems.yml,
# vrrp_sources6.yml (sidecar files).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").


def network_plan(network, nodes):
    """The K3s/Cilium network plan of ``network`` for ``nodes`` (host -> node IPs)."""
    from ansible_collections.homelab.k3s.plugins.module_utils.network_plan import (
        MissingNetaddrError,
        NetworkPlanError,
        plan_network,
    )
    try:
        return plan_network(network, nodes)
    except (NetworkPlanError, MissingNetaddrError) as exc:
        raise AnsibleFilterError(to_native(exc))


def network_plan_problems(network, nodes):
    """Every problem network_plan would report, as a list (empty when sound)."""
    from ansible_collections.homelab.k3s.plugins.module_utils.network_plan import MissingNetaddrError, network_problems
    try:
        return network_problems(network, nodes)
    except MissingNetaddrError as exc:
        raise AnsibleFilterError(to_native(exc))


def address_problems(values, field='addresses'):
    """Problems of a list that must hold IP addresses or CIDRs, each naming ``field``."""
    from ansible_collections.homelab.k3s.plugins.module_utils.network_plan import (
        MissingNetaddrError,
        address_problems as _address_problems,
    )
    try:
        return _address_problems(values, field)
    except MissingNetaddrError as exc:
        raise AnsibleFilterError(to_native(exc))


def vrrp_sources6(addresses, node_subnets, vips=None):
    """A host's IPv6 VRRP source addresses: those in the IPv6 node subnets, VIPs left out."""
    from ansible_collections.homelab.k3s.plugins.module_utils.network_plan import (
        MissingNetaddrError,
        NetworkPlanError,
        vrrp_sources6 as _vrrp_sources6,
    )
    try:
        return _vrrp_sources6(addresses, node_subnets, vips or [])
    except (NetworkPlanError, MissingNetaddrError) as exc:
        raise AnsibleFilterError(to_native(exc))


class FilterModule(object):

    def filters(self):
        return {
            'network_plan': network_plan,
            'network_plan_problems': network_plan_problems,
            'address_problems': address_problems,
            'vrrp_sources6': vrrp_sources6,
        }
