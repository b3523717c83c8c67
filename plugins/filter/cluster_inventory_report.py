# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: cluster_inventory_report.yml, unsupported_platforms.yml (sidecar files).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").


def cluster_inventory_report(groups, hostvars, server_group='k3s_servers',
                             agent_group='k3s_agents', cluster_group='k3s_cluster',
                             embedded_etcd=True, strict=False, required_vars=None,
                             node_name_var='k3s_node_name', node_ips_var='k3s_node_ips',
                             network_var='homelab_network'):
    """Problems, warnings, node names and node IPs of the K3s inventory."""
    from ansible_collections.homelab.k3s.plugins.module_utils.cluster_inventory import check_cluster_inventory
    if not isinstance(groups, dict):
        raise AnsibleFilterError('cluster_inventory_report: expected the groups mapping, got %r'
                                 % type(groups).__name__)
    return check_cluster_inventory(
        groups, hostvars, server_group=server_group, agent_group=agent_group,
        cluster_group=cluster_group, embedded_etcd=embedded_etcd, strict=strict,
        required_vars=list(required_vars or []), node_name_var=node_name_var,
        node_ips_var=node_ips_var, network_var=network_var)


def unsupported_platforms(hosts, hostvars, supported_os=None, supported_architectures=None, cni=None):
    """Problems of hosts whose known facts show an unsupported OS or architecture."""
    from ansible_collections.homelab.k3s.plugins.module_utils.cluster_inventory import check_platforms
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError('unsupported_platforms: expected a list of hosts, got %r'
                                 % type(hosts).__name__)
    return check_platforms(hostvars, hosts, supported_os, supported_architectures, cni)


class FilterModule(object):

    def filters(self):
        return {
            'cluster_inventory_report': cluster_inventory_report,
            'unsupported_platforms': unsupported_platforms,
        }
