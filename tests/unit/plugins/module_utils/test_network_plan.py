# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules of the network planner, one parametrized case per rule.

Positive cases are the real layouts of seed 003 (dual-stack, Schwitzd) and
seed 001 (10.100.0.0/24 behind a travel router, LB pool outside DHCP).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

import netaddr
import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.network_plan import (
    NetworkPlanError,
    address_problems,
    format_ranges,
    network_problems,
    plan_network,
    spans_overlap,
    subtract_ranges,
    vrrp_sources6,
)

# Seed 003: dual-stack VLAN, pods /104 with a /120 node mask (IPv6).
SEED_003 = {
    'node_subnets': ['192.168.14.0/26', 'fd12:3456:789a:14::/64'],
    'gateway': ['192.168.14.1', 'fd12:3456:789a:14::1'],
    'dhcp_ranges': ['192.168.14.2-192.168.14.9'],
    'pod_cidrs': ['10.42.0.0/16', 'fd22:2025:6a6a:42::/104'],
    'service_cidrs': ['10.43.0.0/16', 'fd22:2025:6a6a:43::/112'],
    'node_cidr_mask_size': {'ipv4': 24, 'ipv6': 120},
    'lb_pool_size': {'ipv4': 16, 'ipv6': 64},
    'api_vip': '192.168.14.30',
}
SEED_003_NODES = {
    'cow': ['192.168.14.10', 'fd12:3456:789a:14::10'],
    'sheep': ['192.168.14.11', 'fd12:3456:789a:14::11'],
    'duck': '192.168.14.12,fd12:3456:789a:14::12',
}

# Seed 001: 10.100.0.0/24 cluster LAN behind a WISP router, home LAN as WAN,
# Tailscale subnet router; the LB pool must stay outside the DHCP range.
SEED_001 = {
    'node_subnets': '10.100.0.0/24',
    'gateway': '10.100.0.1',
    'dhcp_ranges': ['10.100.0.100-10.100.0.199'],
    'reserved': ['10.100.0.2', '10.100.0.250-10.100.0.254'],
    'avoid': ['192.168.1.0/24', '100.64.0.0/10'],
    'lb_pool_size': 20,
}
SEED_001_NODES = {
    'pi-master': '10.100.0.10',
    'pi-worker-1': '10.100.0.11',
    'pi-worker-2': '10.100.0.12',
    'pi-tailscale': ['10.100.0.13'],
}


def test_seed_003_dual_stack_plan():
    plan = plan_network(SEED_003, SEED_003_NODES)
    assert plan['families'] == ['ipv4', 'ipv6']
    assert plan['dual_stack'] is True
    assert plan['cluster_cidr'] == '10.42.0.0/16,fd22:2025:6a6a:42::/104'
    assert plan['service_cidr'] == '10.43.0.0/16,fd22:2025:6a6a:43::/112'
    assert plan['cluster_dns'] == '10.43.0.10'
    assert plan['cluster_dns_ips'] == {'ipv4': '10.43.0.10', 'ipv6': 'fd22:2025:6a6a:43::a'}
    assert plan['node_cidr_mask_size'] == {'ipv4': 24, 'ipv6': 120}
    assert plan['max_nodes_per_family'] == {'ipv4': 256, 'ipv6': 65536}
    assert plan['max_nodes'] == 256
    assert plan['kube_controller_manager_args'] == [
        'node-cidr-mask-size-ipv4=24', 'node-cidr-mask-size-ipv6=120']
    assert plan['node_ips'] == {
        'cow': '192.168.14.10,fd12:3456:789a:14::10',
        'sheep': '192.168.14.11,fd12:3456:789a:14::11',
        'duck': '192.168.14.12,fd12:3456:789a:14::12',
    }
    assert plan['lb_pools'] == {
        'ipv4': [{'start': '192.168.14.47', 'stop': '192.168.14.62'}],
        'ipv6': [{'start': 'fd12:3456:789a:14:ffff:ffff:ffff:ffc0',
                  'stop': 'fd12:3456:789a:14:ffff:ffff:ffff:ffff'}],
    }
    assert plan['lb_pool_blocks'] == plan['lb_pools']['ipv4'] + plan['lb_pools']['ipv6']
    assert plan['api_vip'] == '192.168.14.30'
    assert plan['api_vips'] == ['192.168.14.30']
    assert plan['k3s_server_config'] == {
        'cluster-cidr': plan['cluster_cidr'],
        'service-cidr': plan['service_cidr'],
        'cluster-dns': '10.43.0.10',
        'kube-controller-manager-arg': plan['kube_controller_manager_args'],
    }


def test_seed_001_single_stack_pool_outside_dhcp_and_reserved():
    plan = plan_network(SEED_001, SEED_001_NODES)
    assert plan['families'] == ['ipv4']
    assert plan['dual_stack'] is False
    assert plan['cluster_cidr'] == '10.42.0.0/16'        # defaults
    assert plan['service_cidr'] == '10.43.0.0/16'
    assert plan['node_cidr_mask_size'] == {'ipv4': 24}
    assert plan['max_nodes'] == 256
    # .250-.254 reserved, .255 broadcast: the highest free 20 are .230-.249.
    assert plan['lb_pools'] == {'ipv4': [{'start': '10.100.0.230', 'stop': '10.100.0.249'}]}
    assert plan['api_vip'] is None
    assert plan['node_ips']['pi-tailscale'] == '10.100.0.13'


def test_lb_pool_skips_a_free_range_that_is_too_small():
    network = dict(SEED_001, reserved=['10.100.0.240'], lb_pool_size=20)
    # .241-.254 (14 free) is too small: the pool is carved below the reservation.
    plan = plan_network(network, SEED_001_NODES)
    assert plan['lb_pools']['ipv4'] == [{'start': '10.100.0.220', 'stop': '10.100.0.239'}]


def test_explicit_lb_pools_per_family():
    network = dict(SEED_003, lb_pool_size=None,
                   lb_pools={'ipv4': ['192.168.14.48/29'],
                             'ipv6': 'fd12:3456:789a:14::100-fd12:3456:789a:14::1ff'})
    plan = plan_network(network, SEED_003_NODES)
    assert plan['lb_pools'] == {
        'ipv4': [{'start': '192.168.14.48', 'stop': '192.168.14.55'}],
        'ipv6': [{'start': 'fd12:3456:789a:14::100', 'stop': 'fd12:3456:789a:14::1ff'}],
    }


def test_explicit_lb_pools_list_in_both_families():
    network = dict(SEED_003, lb_pool_size=None,
                   lb_pools=['192.168.14.40-192.168.14.50',
                             'fd12:3456:789a:14::100-fd12:3456:789a:14::1ff'])
    plan = plan_network(network, SEED_003_NODES)
    assert plan['lb_pools'] == {
        'ipv4': [{'start': '192.168.14.40', 'stop': '192.168.14.50'}],
        'ipv6': [{'start': 'fd12:3456:789a:14::100', 'stop': 'fd12:3456:789a:14::1ff'}],
    }


def test_ipv6_only_cluster():
    network = {
        'node_subnets': ['fd12:3456:789a:14::/64'],
        'pod_cidrs': ['fd22:2025:6a6a:4200::/56'],
        'service_cidrs': ['fd22:2025:6a6a:43::/112'],
        'lb_pool_size': 256,
        'api_vip': 'fd12:3456:789a:14::5',
    }
    plan = plan_network(network, {'a': 'fd12:3456:789a:14::10'})
    assert plan['families'] == ['ipv6']
    assert plan['node_cidr_mask_size'] == {'ipv6': 64}
    assert plan['max_nodes'] == 256
    assert plan['cluster_dns'] == 'fd22:2025:6a6a:43::a'
    assert plan['api_vip'] == 'fd12:3456:789a:14::5'


def _with(base, **changes):
    network = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            network.pop(key, None)
        else:
            network[key] = value
    return network


def _nodes(**changes):
    nodes = copy.deepcopy(SEED_003_NODES)
    nodes.update(changes)
    return nodes


# (id, network, nodes, expected message fragments)
NEGATIVE = [
    # malformed input
    ('malformed-node-ip', SEED_003, _nodes(cow=['192.168.14.300', 'fd12:3456:789a:14::10']),
     ["node_ips[cow]: '192.168.14.300' is not an IP address"]),
    ('malformed-pod-cidr', _with(SEED_003, pod_cidrs=['banana', 'fd22:2025:6a6a:42::/104']),
     SEED_003_NODES, ["pod_cidrs[0]: 'banana' is not a CIDR"]),
    ('malformed-service-prefix', _with(SEED_003, service_cidrs=['10.43.0.0/33', 'fd22:2025:6a6a:43::/112']),
     SEED_003_NODES, ["service_cidrs[0]: '10.43.0.0/33' is not a valid CIDR"]),
    ('malformed-dhcp-range', _with(SEED_003, dhcp_ranges=['192.168.14.9-192.168.14.2']),
     SEED_003_NODES, ["dhcp_ranges[0]: '192.168.14.9-192.168.14.2' is not a valid range"]),
    ('malformed-vip', _with(SEED_003, api_vip='192.168.14.30/32'), SEED_003_NODES,
     ["api_vip[0]: '192.168.14.30/32' is not an IP address"]),
    ('node-subnets-missing', _with(SEED_003, node_subnets=None), SEED_003_NODES,
     ['node_subnets: required']),
    ('unknown-key', _with(SEED_003, lb_pool='x'), SEED_003_NODES,
     ['lb_pool: unknown key']),
    ('mask-not-a-mapping', _with(SEED_003, node_cidr_mask_size=24), SEED_003_NODES,
     ['node_cidr_mask_size: expected a mapping like {ipv4: 24, ipv6: 64}']),
    # host bits
    ('host-bits-pod', _with(SEED_003, pod_cidrs=['10.42.1.0/16', 'fd22:2025:6a6a:42::/104']),
     SEED_003_NODES, ['pod_cidrs[0]: 10.42.1.0/16 has host bits set (the network is 10.42.0.0/16)']),
    ('host-bits-node-subnet', _with(SEED_003, node_subnets=['192.168.14.10/26', 'fd12:3456:789a:14::/64']),
     SEED_003_NODES, ['node_subnets[0]: 192.168.14.10/26 has host bits set']),
    ('host-bits-avoid', _with(SEED_003, avoid=['100.64.0.1/10']), SEED_003_NODES,
     ['avoid[0]: 100.64.0.1/10 has host bits set (the network is 100.64.0.0/10)']),
    # families not paired
    ('ipv6-pod-without-ipv6-subnet',
     _with(SEED_003, node_subnets=['192.168.14.0/26'], gateway='192.168.14.1', lb_pool_size=16),
     {'cow': '192.168.14.10'},
     ['pod_cidrs[1] fd22:2025:6a6a:42::/104 is ipv6 but node_subnets has no ipv6 subnet',
      'service_cidrs[1] fd22:2025:6a6a:43::/112 is ipv6 but node_subnets has no ipv6 subnet']),
    ('ipv6-subnet-without-ipv6-pod',
     _with(SEED_003, pod_cidrs=['10.42.0.0/16']), SEED_003_NODES,
     ['pod_cidrs: node_subnets is ipv6 but pod_cidrs has no ipv6 CIDR']),
    ('pod-family-order',
     _with(SEED_003, pod_cidrs=['fd22:2025:6a6a:42::/104', '10.42.0.0/16']), SEED_003_NODES,
     ['pod_cidrs: families are in the order ipv6, ipv4 but node_subnets is ipv4, ipv6']),
    ('service-family-order',
     _with(SEED_003, service_cidrs='fd22:2025:6a6a:43::/112,10.43.0.0/16'), SEED_003_NODES,
     ['service_cidrs: families are in the order ipv6, ipv4 but node_subnets is ipv4, ipv6']),
    ('two-pod-cidrs-one-family',
     _with(SEED_003, pod_cidrs=['10.42.0.0/16', '10.44.0.0/16']), SEED_003_NODES,
     ['pod_cidrs[0] 10.42.0.0/16 and pod_cidrs[1] 10.44.0.0/16 are both ipv4; give one CIDR per family']),
    ('node-ip-family-order', SEED_003, _nodes(cow=['fd12:3456:789a:14::10', '192.168.14.10']),
     ['node_ips[cow]: fd12:3456:789a:14::10, 192.168.14.10 lists ipv6 first but node_subnets lists ipv4 first']),
    ('node-ip-missing-family', SEED_003, _nodes(cow=['192.168.14.10']),
     ['node_ips[cow]: 192.168.14.10 is ipv4 but node_subnets is ipv4, ipv6']),
    ('node-ip-two-of-one-family', SEED_003, _nodes(cow=['192.168.14.10', '192.168.14.20']),
     ['node_ips[cow]: 192.168.14.10, 192.168.14.20 give more than one address of the same family']),
    ('node-without-ip', SEED_003, _nodes(cow=[]),
     ['node_ips[cow]: no node IP (set k3s_node_ips or ansible_host)']),
    # overlaps
    ('pod-overlaps-service',
     _with(SEED_003, service_cidrs=['10.42.128.0/17', 'fd22:2025:6a6a:43::/112']), SEED_003_NODES,
     ['pod_cidrs[0] 10.42.0.0/16 overlaps service_cidrs[0] 10.42.128.0/17']),
    ('pod-overlaps-node-subnet',
     _with(SEED_001, pod_cidrs=['10.100.0.0/16']), SEED_001_NODES,
     ['node_subnets[0] 10.100.0.0/24 overlaps pod_cidrs[0] 10.100.0.0/16']),
    ('ipv6-service-overlaps-pod',
     _with(SEED_003, service_cidrs=['10.43.0.0/16', 'fd22:2025:6a6a:42::/112']), SEED_003_NODES,
     ['pod_cidrs[1] fd22:2025:6a6a:42::/104 overlaps service_cidrs[1] fd22:2025:6a6a:42::/112']),
    ('pod-overlaps-tailscale',
     _with(SEED_001, pod_cidrs=['100.64.0.0/16'], avoid=['100.64.0.0/10']), SEED_001_NODES,
     ['pod_cidrs[0] 100.64.0.0/16 overlaps avoid[0] 100.64.0.0/10']),
    ('service-overlaps-avoid',
     _with(SEED_001, avoid=['10.43.0.0/24']), SEED_001_NODES,
     ['service_cidrs[0] 10.43.0.0/16 overlaps avoid[0] 10.43.0.0/24']),
    ('node-subnet-overlaps-home-lan',
     _with(SEED_001, avoid=['10.100.0.0/16']), SEED_001_NODES,
     ['node_subnets[0] 10.100.0.0/24 overlaps avoid[0] 10.100.0.0/16']),
    ('lb-pool-overlaps-avoid',
     _with(SEED_001, lb_pool_size=None, avoid=['10.100.0.240/28'], lb_pools=['10.100.0.230-10.100.0.245']),
     SEED_001_NODES, ['lb_pools[0] 10.100.0.230-10.100.0.245 overlaps avoid[0] 10.100.0.240/28']),
    ('lb-pool-host-bits',
     _with(SEED_001, lb_pool_size=None, lb_pools=['10.100.0.210/28']),
     SEED_001_NODES, ['lb_pools[0]: 10.100.0.210/28 has host bits set']),
    ('lb-pool-contains-broadcast',
     _with(SEED_003, lb_pool_size=None, lb_pools={'ipv4': ['192.168.14.48/28']}), SEED_003_NODES,
     ['lb_pools.ipv4[0] 192.168.14.48/28 contains the network or broadcast address of node_subnets[0]']),
    ('lb-pools-overlap-each-other',
     _with(SEED_001, lb_pool_size=None, lb_pools=['10.100.0.200-10.100.0.220', '10.100.0.208/28']),
     SEED_001_NODES, ['lb_pools[0] 10.100.0.200-10.100.0.220 overlaps lb_pools[1] 10.100.0.208/28']),
    # node IPs
    ('node-ip-outside-subnet', SEED_003, _nodes(sheep=['192.168.15.11', 'fd12:3456:789a:14::11']),
     ['node_ips[sheep] 192.168.15.11 is outside node_subnets[0] 192.168.14.0/26']),
    ('ipv6-node-ip-outside-subnet', SEED_003, _nodes(sheep=['192.168.14.11', 'fd12:3456:789a:15::11']),
     ['node_ips[sheep] fd12:3456:789a:15::11 is outside node_subnets[1] fd12:3456:789a:14::/64']),
    ('node-ip-in-dhcp', SEED_003, _nodes(duck=['192.168.14.5', 'fd12:3456:789a:14::12']),
     ['node_ips[duck] 192.168.14.5 is inside dhcp_ranges[0] 192.168.14.2-192.168.14.9']),
    ('node-ip-in-dhcp-cidr', _with(SEED_001, dhcp_ranges=['10.100.0.0/28']), SEED_001_NODES,
     ['node_ips[pi-master] 10.100.0.10 is inside dhcp_ranges[0] 10.100.0.0/28']),
    ('duplicate-node-ip', SEED_003, _nodes(duck=['192.168.14.10', 'fd12:3456:789a:14::12']),
     ['node_ips: 192.168.14.10 is the node IP of 2 hosts: cow, duck']),
    ('node-ip-is-gateway', SEED_003, _nodes(duck=['192.168.14.1', 'fd12:3456:789a:14::12']),
     ['node_ips[duck] 192.168.14.1 is the gateway[0] 192.168.14.1']),
    ('node-ip-is-broadcast', SEED_003, _nodes(duck=['192.168.14.63', 'fd12:3456:789a:14::12']),
     ['node_ips[duck] 192.168.14.63 is the network or broadcast address of node_subnets[0]']),
    # LAN entries
    ('gateway-outside-subnet', _with(SEED_001, gateway='10.101.0.1'), SEED_001_NODES,
     ['gateway[0] 10.101.0.1 is outside node_subnets[0] 10.100.0.0/24']),
    ('dhcp-outside-subnet', _with(SEED_001, dhcp_ranges=['10.100.1.100-10.100.1.199']), SEED_001_NODES,
     ['dhcp_ranges[0] 10.100.1.100-10.100.1.199 is outside node_subnets[0] 10.100.0.0/24']),
    # VIP
    ('vip-outside-subnet', _with(SEED_003, api_vip='192.168.14.64'), SEED_003_NODES,
     ['api_vip[0] 192.168.14.64 is outside node_subnets[0] 192.168.14.0/26']),
    ('vip-in-dhcp', _with(SEED_003, api_vip='192.168.14.3'), SEED_003_NODES,
     ['api_vip[0] 192.168.14.3 is inside dhcp_ranges[0] 192.168.14.2-192.168.14.9']),
    ('vip-in-reserved', _with(SEED_001, api_vip='10.100.0.2'), SEED_001_NODES,
     ['api_vip[0] 10.100.0.2 is inside reserved[0] 10.100.0.2']),
    ('vip-in-lb-pool',
     _with(SEED_001, api_vip='10.100.0.210', lb_pool_size=None, lb_pools=['10.100.0.200-10.100.0.220']),
     SEED_001_NODES, ['api_vip[0] 10.100.0.210 is inside lb_pools[0] 10.100.0.200-10.100.0.220']),
    ('vip-is-node-ip', _with(SEED_003, api_vip='192.168.14.11'), SEED_003_NODES,
     ['api_vip[0] 192.168.14.11 is the node IP of sheep']),
    ('two-vips-one-family', _with(SEED_003, api_vip=['192.168.14.30', '192.168.14.31']), SEED_003_NODES,
     ['api_vip[0] 192.168.14.30 and api_vip[1] 192.168.14.31 are both ipv4']),
    # LB pools
    ('lb-pool-does-not-fit', _with(SEED_001, lb_pool_size=90), SEED_001_NODES,
     ['lb_pool_size.ipv4: 90 addresses do not fit in node_subnets[0] 10.100.0.0/24; the largest '
      'free contiguous range is 10.100.0.14-10.100.0.99 (86 addresses)']),
    ('ipv6-lb-pool-does-not-fit', _with(SEED_003, lb_pool_size={'ipv4': 4, 'ipv6': 2 ** 64}), SEED_003_NODES,
     ['lb_pool_size.ipv6: 18446744073709551616 addresses do not fit in node_subnets[1]']),
    ('lb-pool-size-and-pools', _with(SEED_001, lb_pools=['10.100.0.200-10.100.0.220']), SEED_001_NODES,
     ['lb_pool_size, lb_pools: give one of them, not both']),
    ('lb-pool-outside-subnet', _with(SEED_001, lb_pool_size=None, lb_pools=['10.100.1.0/28']),
     SEED_001_NODES, ['lb_pools[0] 10.100.1.0/28 is outside node_subnets[0] 10.100.0.0/24']),
    ('lb-pool-in-dhcp', _with(SEED_001, lb_pool_size=None, lb_pools=['10.100.0.190-10.100.0.210']),
     SEED_001_NODES, ['lb_pools[0] 10.100.0.190-10.100.0.210 overlaps dhcp_ranges[0] 10.100.0.100-10.100.0.199']),
    ('lb-pool-contains-node-ip', _with(SEED_001, lb_pool_size=None, lb_pools=['10.100.0.8-10.100.0.20']),
     SEED_001_NODES, ['lb_pools[0] 10.100.0.8-10.100.0.20 contains the node IP 10.100.0.10 of pi-master']),
    ('lb-pool-wrong-family', _with(SEED_003, lb_pool_size=None, lb_pools={'ipv4': ['fd12:3456:789a:14::100/120']}),
     SEED_003_NODES, ['lb_pools.ipv4[0] fd12:3456:789a:14::100/120 is not ipv4']),
    ('lb-pool-size-negative', _with(SEED_001, lb_pool_size=-3), SEED_001_NODES,
     ['lb_pool_size.ipv4: -3 is not a number of addresses']),
    # service CIDR size
    ('ipv4-service-larger-than-12', _with(SEED_001, service_cidrs=['10.32.0.0/11']), SEED_001_NODES,
     ['service_cidrs[0] 10.32.0.0/11 is larger than /12']),
    # kube-apiserver: at most 20 host bits (validateMaxCIDRRange, maxCIDRBits = 20).
    ('ipv6-service-larger-than-108',
     _with(SEED_003, service_cidrs=['10.43.0.0/16', 'fd22:2025:6a6a:43::/107']), SEED_003_NODES,
     ['service_cidrs[1] fd22:2025:6a6a:43::/107 is larger than /108']),
    ('service-too-small-for-dns', _with(SEED_001, service_cidrs=['10.43.0.0/29']), SEED_001_NODES,
     ['service_cidrs[0] 10.43.0.0/29 has 8 addresses; K3s needs the 10th for cluster DNS']),
    # node CIDR mask
    ('ipv6-mask-more-than-16-bits', _with(SEED_003, node_cidr_mask_size={'ipv6': 121}), SEED_003_NODES,
     ['node_cidr_mask_size.ipv6: 121 is 17 bits longer than the prefix of pod_cidrs[1] '
      'fd22:2025:6a6a:42::/104; kube-controller-manager allows at most 16']),
    ('ipv6-default-mask-not-longer', _with(SEED_003, node_cidr_mask_size={'ipv4': 24}), SEED_003_NODES,
     ['node_cidr_mask_size.ipv6: 64 is not longer than the prefix of pod_cidrs[1] fd22:2025:6a6a:42::/104']),
    ('ipv4-mask-equal-to-pod', _with(SEED_001, pod_cidrs=['10.42.0.0/24']), SEED_001_NODES,
     ['node_cidr_mask_size.ipv4: 24 is not longer than the prefix of pod_cidrs[0] 10.42.0.0/24']),
    ('mask-out-of-range', _with(SEED_003, node_cidr_mask_size={'ipv4': 33, 'ipv6': 120}), SEED_003_NODES,
     ['node_cidr_mask_size.ipv4: 33 is not a prefix length between 1 and 32']),
    ('mask-unknown-family', _with(SEED_003, node_cidr_mask_size={'ipv5': 24}), SEED_003_NODES,
     ["node_cidr_mask_size: unknown family 'ipv5'"]),
    ('pod-cidr-too-small', _with(SEED_003, pod_cidrs=['10.42.0.0/23', 'fd22:2025:6a6a:42::/104']),
     SEED_003_NODES,
     ['pod_cidrs[0] 10.42.0.0/23 with node_cidr_mask_size.ipv4 24 holds at most 2 nodes but the '
      'inventory has 3']),
]


@pytest.mark.parametrize('network, nodes, expected', [case[1:] for case in NEGATIVE],
                         ids=[case[0] for case in NEGATIVE])
def test_each_rule_reports_the_fields_and_values(network, nodes, expected):
    problems = network_problems(network, nodes)
    for fragment in expected:
        assert any(fragment in problem for problem in problems), (fragment, problems)
    with pytest.raises(NetworkPlanError) as caught:
        plan_network(network, nodes)
    assert caught.value.problems == problems


def test_every_problem_is_reported_at_once():
    network = _with(SEED_003,
                    pod_cidrs=['10.42.1.0/16', 'fd22:2025:6a6a:42::/104'],
                    service_cidrs=['10.32.0.0/11', 'fd22:2025:6a6a:43::/107'],
                    dhcp_ranges=['192.168.14.2-192.168.14.20'],
                    avoid=['192.168.0.0/16'],
                    api_vip='192.168.14.99',
                    node_cidr_mask_size={'ipv6': 121},
                    lb_pool_size={'ipv4': 100, 'ipv6': 8})
    nodes = _nodes(duck=['192.168.14.10', 'fd12:3456:789a:14::12'])
    problems = network_problems(network, nodes)
    expected = [
        'pod_cidrs[0]: 10.42.1.0/16 has host bits set',
        'service_cidrs[0] 10.32.0.0/11 is larger than /12',
        'service_cidrs[1] fd22:2025:6a6a:43::/107 is larger than /108',
        'node_cidr_mask_size.ipv6: 121 is 17 bits longer',
        'node_ips[cow] 192.168.14.10 is inside dhcp_ranges[0]',
        'node_ips: 192.168.14.10 is the node IP of 2 hosts: cow, duck',
        'api_vip[0] 192.168.14.99 is outside node_subnets[0]',
        'lb_pool_size.ipv4: 100 addresses do not fit',
        'node_subnets[0] 192.168.14.0/26 overlaps avoid[0] 192.168.0.0/16',
    ]
    for fragment in expected:
        assert any(fragment in problem for problem in problems), (fragment, problems)
    message = str(NetworkPlanError(problems))
    assert message.startswith('network plan: %d problems found' % len(problems))
    assert message.count('\n  - ') == len(problems)


def test_sound_network_has_no_problems():
    assert network_problems(SEED_003, SEED_003_NODES) == []
    assert network_problems(SEED_001, SEED_001_NODES) == []


@pytest.mark.parametrize('network, nodes, fragment', [
    ('10.0.0.0/8', {}, 'network: expected a mapping'),
    (SEED_001, ['10.100.0.10'], 'nodes: expected a mapping'),
    (dict(SEED_001, reserved=42), SEED_001_NODES, 'reserved: expected a list'),
], ids=['network-not-a-mapping', 'nodes-not-a-mapping', 'list-not-a-list'])
def test_shape_errors(network, nodes, fragment):
    problems = network_problems(network, nodes)
    assert any(fragment in problem for problem in problems), problems


IPV6_LAN = int(netaddr.IPAddress('fd12:3456:789a:14::'))


def _big_dual_stack(count):
    network = _with(SEED_003,
                    node_subnets=['10.10.0.0/20', 'fd12:3456:789a:14::/64'],
                    gateway=['10.10.0.1', 'fd12:3456:789a:14::1'],
                    dhcp_ranges=['10.10.15.0/24', 'fd12:3456:789a:14:ffff::/80'],
                    pod_cidrs=['10.0.0.0/13', 'fd22:2025:6a6a:42::/104'],
                    api_vip=['10.10.0.5', 'fd12:3456:789a:14::5'],
                    lb_pool_size={'ipv4': 200, 'ipv6': 2 ** 62})
    nodes = dict(('node-%04d' % i, ['10.10.%d.%d' % (1 + i // 250, 1 + i % 250),
                                    str(netaddr.IPAddress(IPV6_LAN + 0x1000 + i * 7919))])
                 for i in range(count))
    return network, nodes


def test_ipv6_slash_64_is_planned_without_enumerating():
    # A 2**62-address IPv6 pool carved from a /64 beside 1000 scattered node IPs:
    # enumerating would never finish, so finishing at all proves range arithmetic
    # (how fast it is: benchmarks/network_plan.py, not a test on a shared machine).
    network, nodes = _big_dual_stack(1000)
    plan = plan_network(network, nodes)
    assert plan['lb_pools']['ipv6'] == [{'start': 'fd12:3456:789a:14:bfff::',
                                         'stop': 'fd12:3456:789a:14:fffe:ffff:ffff:ffff'}]
    assert plan['max_nodes'] == 2048
    assert len(plan['node_ips']) == 1000


def test_subtract_ranges_on_a_slash_64():
    base = int(netaddr.IPAddress('fd12:3456:789a:14::'))
    remaining = subtract_ranges('fd12:3456:789a:14::/64',
                                [str(netaddr.IPAddress(base + i * 65537)) for i in range(2000)])
    assert len(remaining) == 2000   # one gap after each removed address, none before ::0
    assert format_ranges(remaining[:1]) == ['fd12:3456:789a:14::1-fd12:3456:789a:14::1:0']


@pytest.mark.parametrize('base, exclude, output, expected', [
    ('192.168.14.0/26', ['192.168.14.0-192.168.14.9', '192.168.14.63'], 'range',
     ['192.168.14.10-192.168.14.62']),
    ('10.0.0.0/24', '10.0.0.0/25', 'cidr', ['10.0.0.128/25']),
    ('10.0.0.0/30', ['10.0.0.1'], 'range', ['10.0.0.0', '10.0.0.2-10.0.0.3']),
    ('10.0.0.0/30', ['10.0.0.0/30'], 'range', []),
    (['10.0.0.0/31', 'fd00::/127'], [], 'blocks',
     [{'start': '10.0.0.0', 'stop': '10.0.0.1'}, {'start': 'fd00::', 'stop': 'fd00::1'}]),
    ('10.0.0.0/24,10.0.1.0/24', '10.0.0.128-10.0.1.127', 'cidr', ['10.0.0.0/25', '10.0.1.128/25']),
], ids=['range', 'cidr', 'single-address', 'nothing-left', 'blocks-both-families', 'merged-bases'])
def test_subtract_ranges(base, exclude, output, expected):
    assert format_ranges(subtract_ranges(base, exclude), output) == expected


def test_subtract_ranges_rejects_bad_input():
    with pytest.raises(NetworkPlanError) as caught:
        subtract_ranges('10.0.0.0/33', ['nope'])
    assert len(caught.value.problems) == 2
    with pytest.raises(ValueError):
        format_ranges([], 'yaml')


@pytest.mark.parametrize('left, right, expected', [
    ('10.42.0.0/16', '10.0.0.0/8', True),
    ('10.42.0.0/16', '100.64.0.0/10', False),
    ('192.168.1.100-192.168.1.200', ['192.168.1.0/25', '10.0.0.0/8'], True),
    ('192.168.1.200', '192.168.1.0-192.168.1.199', False),
    ('fd22::/64', '10.0.0.0/8', False),
    ('fd22::/64,10.0.0.1', '10.0.0.0/8', True),
    ([], '10.0.0.0/8', False),
])
def test_spans_overlap(left, right, expected):
    assert spans_overlap(left, right) is expected


def test_spans_overlap_rejects_bad_input():
    with pytest.raises(NetworkPlanError):
        spans_overlap('10.0.0.0/8', 'ten')


def test_largest_service_ranges_kube_apiserver_accepts_are_planned():
    """20 host bits: IPv4 /12, IPv6 /108 (kube-apiserver validateMaxCIDRRange)."""
    plan = plan_network(_with(SEED_003, service_cidrs=['10.96.0.0/12', 'fd22:2025:6a6a:43::/108']), SEED_003_NODES)
    assert plan['service_cidr'] == '10.96.0.0/12,fd22:2025:6a6a:43::/108'


def test_ipv4_node_mask_more_than_16_bits_longer_is_planned():
    """kube-controller-manager's 16-bit limit (NewCIDRSet) applies to IPv6 cluster CIDRs only."""
    plan = plan_network(_with(SEED_001, pod_cidrs=['172.16.0.0/12'], node_cidr_mask_size=29), SEED_001_NODES)
    assert plan['node_cidr_mask_size'] == {'ipv4': 29}
    assert plan['max_nodes'] == 2 ** 17


@pytest.mark.parametrize('value', [
    '192.168.1.10', '192.168.1.0/24', '0.0.0.0/0', '10.213.0.1/32',
    'fd42:6b33:2e00::1', 'fd42:6b33:2e00::/64', '::/0', '::ffff:192.168.1.1',
])
def test_address_problems_accepts_addresses_and_networks(value):
    assert address_problems([value], 'firewall_admin_networks') == []


@pytest.mark.parametrize('value, message', [
    ('999.1.1.1', "'999.1.1.1' is not an IP address"),
    ('1.2.3', "'1.2.3' is not an IP address"),
    ('1.2.3.4.5', "'1.2.3.4.5' is not an IP address"),
    ('10.0.0.0/33', "'10.0.0.0/33' is not a valid CIDR"),
    ('10.0.0.0/', "'10.0.0.0/' is not a valid CIDR"),
    ('192.168.1.10/24', '192.168.1.10/24 has host bits set (the network is 192.168.1.0/24)'),
    ('fd42::1::2', "'fd42::1::2' is not an IP address"),
    ('fd42::/129', "'fd42::/129' is not a valid CIDR"),
    ('gggg::1', "'gggg::1' is not an IP address"),
    ('::::', "'::::' is not an IP address"),
    ('10.0.0.1-10.0.0.9', "'10.0.0.1-10.0.0.9' is not an IP address"),
    ('nas.lan', "'nas.lan' is not an IP address"),
    ('', "'' is not an IP address"),
    (42, '42 is not an IP address'),
])
def test_address_problems_names_field_index_and_value(value, message):
    assert address_problems(['10.0.0.0/8', value], 'firewall_admin_networks') == [
        'firewall_admin_networks[1]: ' + message]


def test_address_problems_refuses_a_string_for_a_list():
    assert address_problems('10.0.0.0/8', 'firewall_cluster_networks') == [
        "firewall_cluster_networks: expected a list of addresses or CIDRs, got '10.0.0.0/8'"]


# --- vrrp_sources6: a dedicated load-balancer host's IPv6 VRRP sources (api_vip, firewall) ---

SUBNETS6 = ['192.168.14.0/24', 'fd12:3456:789a:14::/64']


def test_vrrp_sources6_keeps_the_node_subnet_addresses_without_the_vips():
    addresses = ['fe80::5054:ff:fe6b:3301', 'fd12:3456:789a:14::fa', 'FD12:3456:789A:14::0021',
                 '2001:db8::7', '192.168.14.21', 'fd12:3456:789a:14::9/64', 'fd12:3456:789a:14::21']
    vips = ['192.168.14.250', 'fd12:3456:789a:14::fa/64']
    assert vrrp_sources6(addresses, SUBNETS6, vips) == ['fd12:3456:789a:14::9', 'fd12:3456:789a:14::21']


def test_vrrp_sources6_is_empty_without_an_address_or_an_ipv6_subnet():
    assert vrrp_sources6([], SUBNETS6, []) == []
    assert vrrp_sources6(['fd12:3456:789a:14::21'], ['192.168.14.0/24'], []) == []
    assert vrrp_sources6(['fe80::1%eth0'], SUBNETS6, []) == []


def test_vrrp_sources6_names_every_bad_field():
    with pytest.raises(NetworkPlanError) as caught:
        vrrp_sources6(['fd12::zz'], ['fd12:3456:789a:14::1/64'], ['not-a-vip'])
    message = str(caught.value)
    assert message.startswith('vrrp_sources6: 3 problems found')
    assert "addresses[0]: 'fd12::zz' is not an IP address" in message
    assert 'node_subnets[0]: fd12:3456:789a:14::1/64 has host bits set' in message
    assert "vips[0]: 'not-a-vip' is not an IP address" in message
