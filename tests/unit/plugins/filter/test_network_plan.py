# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network filters are thin: they call module_utils and turn errors into AnsibleFilterError."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.k3s.plugins.filter import ip_range_subtract as subtract_plugin
from ansible_collections.homelab.k3s.plugins.filter import network_plan as plan_plugin
from ansible_collections.homelab.k3s.plugins.module_utils import network_plan as logic

NETWORK = {
    'node_subnets': ['192.168.14.0/26', 'fd12:3456:789a:14::/64'],
    'pod_cidrs': '10.42.0.0/16,fd22:2025:6a6a:42::/104',
    'service_cidrs': '10.43.0.0/16,fd22:2025:6a6a:43::/112',
    'node_cidr_mask_size': {'ipv6': 120},
}
NODES = {'cow': '192.168.14.10,fd12:3456:789a:14::10'}


def test_filters_are_registered():
    assert set(plan_plugin.FilterModule().filters()) == {
        'network_plan', 'network_plan_problems', 'address_problems', 'vrrp_sources6'}
    assert set(subtract_plugin.FilterModule().filters()) == {'ip_range_subtract'}


def test_network_plan_returns_the_plan():
    plan = plan_plugin.network_plan(NETWORK, NODES)
    assert plan['cluster_cidr'] == '10.42.0.0/16,fd22:2025:6a6a:42::/104'
    assert plan['node_ips'] == {'cow': '192.168.14.10,fd12:3456:789a:14::10'}


def test_network_plan_raises_one_error_with_every_problem():
    broken = dict(NETWORK, node_cidr_mask_size={'ipv6': 64}, avoid=['10.0.0.0/8'])
    nodes = {'cow': '192.168.15.10,fd12:3456:789a:14::10'}
    with pytest.raises(AnsibleFilterError) as caught:
        plan_plugin.network_plan(broken, nodes)
    message = str(caught.value)
    assert 'network plan: 4 problems found' in message
    for fragment in ('node_cidr_mask_size.ipv6: 64 is not longer',
                     'node_ips[cow] 192.168.15.10 is outside node_subnets[0]',
                     'pod_cidrs[0] 10.42.0.0/16 overlaps avoid[0] 10.0.0.0/8',
                     'service_cidrs[0] 10.43.0.0/16 overlaps avoid[0] 10.0.0.0/8'):
        assert fragment in message


def test_network_plan_problems_returns_a_list():
    assert plan_plugin.network_plan_problems(NETWORK, NODES) == []
    problems = plan_plugin.network_plan_problems(dict(NETWORK, api_vip='192.168.14.10'), NODES)
    assert problems == ['api_vip[0] 192.168.14.10 is the node IP of cow']


@pytest.mark.parametrize('function, args', [
    (plan_plugin.network_plan, (NETWORK, NODES)),
    (plan_plugin.network_plan_problems, (NETWORK, NODES)),
    (subtract_plugin.ip_range_subtract, ('10.0.0.0/8', [])),
], ids=['network_plan', 'network_plan_problems', 'ip_range_subtract'])
def test_missing_netaddr_is_a_filter_error(monkeypatch, function, args):
    monkeypatch.setattr(logic, 'HAS_NETADDR', False)
    with pytest.raises(AnsibleFilterError, match='netaddr Python library is required'):
        function(*args)


@pytest.mark.parametrize('value, exclude, output, expected', [
    ('192.168.14.0/26', ['192.168.14.0-192.168.14.9', '192.168.14.63'], 'range',
     ['192.168.14.10-192.168.14.62']),
    ('10.0.0.0/24', '10.0.0.0/25', 'cidr', ['10.0.0.128/25']),
    ('10.0.0.0/29', '10.0.0.0-10.0.0.5', 'blocks', [{'start': '10.0.0.6', 'stop': '10.0.0.7'}]),
])
def test_ip_range_subtract(value, exclude, output, expected):
    assert subtract_plugin.ip_range_subtract(value, exclude, output) == expected


@pytest.mark.parametrize('value, exclude, output, fragment', [
    ('10.0.0.0/33', [], 'range', "value[0]: '10.0.0.0/33' is not a valid CIDR"),
    ('10.0.0.1/24', [], 'range', 'value[0]: 10.0.0.1/24 has host bits set'),
    ('10.0.0.0/24', ['10.0.0.300'], 'range', "exclude[0]: '10.0.0.300' is not an IP address"),
    ('10.0.0.0/24', [], 'json', "output must be range, cidr or blocks, not 'json'"),
])
def test_ip_range_subtract_rejects_bad_input(value, exclude, output, fragment):
    with pytest.raises(AnsibleFilterError) as caught:
        subtract_plugin.ip_range_subtract(value, exclude, output)
    assert fragment in str(caught.value)


def test_address_problems_filter_names_the_field():
    assert plan_plugin.address_problems(['10.0.0.0/8', 'fd00::1']) == []
    assert plan_plugin.address_problems(['999.1.1.1'], 'firewall_admin_networks') == [
        "firewall_admin_networks[0]: '999.1.1.1' is not an IP address"]


def test_vrrp_sources6_filter_names_the_bad_entry():
    assert plan_plugin.vrrp_sources6(['fd12:3456:789a:14::21'], NETWORK['node_subnets']) == ['fd12:3456:789a:14::21']
    with pytest.raises(AnsibleFilterError) as caught:
        plan_plugin.vrrp_sources6(['fd12:3456:789a:14::21', 'fd12::zz'], NETWORK['node_subnets'], [])
    assert "addresses[1]: 'fd12::zz' is not an IP address" in str(caught.value)
