# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory rules of the preflight role, one parametrized case per rule."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.cluster_inventory import (
    check_cluster_inventory,
    check_platforms,
    node_ips_of,
)

NETWORK = {'node_subnets': ['192.168.14.0/26']}
GROUPS = {
    'all': ['cow', 'sheep', 'duck'],
    'k3s_cluster': ['cow', 'sheep', 'duck'],
    'k3s_servers': ['cow'],
    'k3s_agents': ['sheep', 'duck'],
}
HOSTVARS = {
    'cow': {'ansible_host': '192.168.14.10', 'homelab_network': NETWORK},
    'sheep': {'ansible_host': 'sheep.lan', 'k3s_node_ips': ['192.168.14.11'],
              'homelab_network': NETWORK},
    'duck': {'ansible_host': '192.168.14.12', 'k3s_node_name': 'Duck',
             'homelab_network': NETWORK},
}


def _groups(**changes):
    groups = copy.deepcopy(GROUPS)
    for key, value in changes.items():
        if value is None:
            groups.pop(key)
        else:
            groups[key] = value
    return groups


def _hostvars(host=None, **changes):
    hostvars = copy.deepcopy(HOSTVARS)
    if host:
        for key, value in changes.items():
            if value is None:
                hostvars[host].pop(key, None)
            else:
                hostvars[host][key] = value
    return hostvars


def test_sound_inventory():
    report = check_cluster_inventory(GROUPS, HOSTVARS)
    assert report['problems'] == []
    assert report['warnings'] == []
    assert report['servers'] == ['cow']
    assert report['agents'] == ['sheep', 'duck']
    assert report['hosts'] == ['cow', 'sheep', 'duck']
    assert report['node_names'] == {'cow': 'cow', 'sheep': 'sheep', 'duck': 'duck'}
    # k3s_node_ips wins over ansible_host, which is the fallback.
    assert report['node_ips'] == {'cow': ['192.168.14.10'], 'sheep': ['192.168.14.11'],
                                  'duck': ['192.168.14.12']}
    assert report['network'] == NETWORK


NEGATIVE = [
    ('no-server', _groups(k3s_servers=[], k3s_agents=['cow', 'sheep', 'duck']), HOSTVARS, {},
     'group k3s_servers: no hosts; at least one K3s server is required'),
    ('no-server-group', _groups(k3s_servers=None, k3s_agents=['cow', 'sheep', 'duck']), HOSTVARS, {},
     'group k3s_servers: no hosts'),
    ('no-cluster-group', _groups(k3s_cluster=None), HOSTVARS, {},
     'group k3s_cluster: no hosts; it must contain the groups k3s_servers and k3s_agents'),
    ('server-outside-cluster', _groups(k3s_cluster=['sheep', 'duck']), HOSTVARS, {},
     'group k3s_servers: 1 host not in group k3s_cluster (make k3s_servers a child of k3s_cluster): cow'),
    ('server-and-agent', _groups(k3s_agents=['cow', 'sheep', 'duck']), HOSTVARS, {},
     'groups k3s_servers and k3s_agents: 1 host in both; a node is a server or an agent: cow'),
    ('neither-server-nor-agent', _groups(k3s_agents=['sheep']), HOSTVARS, {},
     'group k3s_cluster: 1 host neither in k3s_servers nor in k3s_agents: duck'),
    ('even-servers-strict', _groups(k3s_servers=['cow', 'sheep'], k3s_agents=['duck']), HOSTVARS,
     {'strict': True}, 'group k3s_servers: 2 servers; embedded etcd needs an odd number for quorum'),
    ('invalid-node-name', GROUPS, _hostvars('duck', k3s_node_name='duck_01'), {},
     "k3s_node_name of duck: 'duck_01' is not a valid Kubernetes node name"),
    ('duplicate-node-name', GROUPS, _hostvars('duck', k3s_node_name='COW'), {},
     "k3s_node_name: cow, duck share the node name 'cow'"),
    ('required-var-missing', GROUPS, _hostvars('duck', k3s_token='x'), {'required_vars': ['k3s_token']},
     'required variable k3s_token is not set for 2 hosts: cow, sheep'),
    ('network-missing', GROUPS, _hostvars('cow', homelab_network=None), {},
     'homelab_network: not set for cow'),
    ('network-differs', GROUPS, _hostvars('duck', homelab_network={'node_subnets': ['10.0.0.0/24']}), {},
     'homelab_network: differs between cow and 1 host: duck; set it once for group k3s_cluster'),
]


@pytest.mark.parametrize('groups, hostvars, options, expected', [case[1:] for case in NEGATIVE],
                         ids=[case[0] for case in NEGATIVE])
def test_each_rule(groups, hostvars, options, expected):
    report = check_cluster_inventory(groups, hostvars, **options)
    assert any(expected in problem for problem in report['problems']), report['problems']


def test_even_servers_is_a_warning_unless_strict():
    groups = _groups(k3s_servers=['cow', 'sheep'], k3s_agents=['duck'])
    report = check_cluster_inventory(groups, HOSTVARS)
    assert report['problems'] == []
    assert report['warnings'] == [
        'group k3s_servers: 2 servers; embedded etcd needs an odd number for quorum '
        '(2 servers tolerate no more failures than 1)']
    assert check_cluster_inventory(groups, HOSTVARS, embedded_etcd=False)['warnings'] == []


def test_every_problem_at_once():
    groups = _groups(k3s_servers=[], k3s_agents=['sheep'])
    hostvars = _hostvars('duck', k3s_node_name='sheep')
    problems = check_cluster_inventory(groups, hostvars, required_vars=['k3s_token'])['problems']
    assert len(problems) == 4, problems


def test_custom_group_names():
    groups = {'cp': ['a'], 'workers': ['b'], 'kube': ['a', 'b']}
    hostvars = {'a': {'net': NETWORK}, 'b': {'net': NETWORK}}
    report = check_cluster_inventory(groups, hostvars, server_group='cp', agent_group='workers',
                                     cluster_group='kube', network_var='net')
    assert report['problems'] == []


@pytest.mark.parametrize('host_vars, expected', [
    ({'k3s_node_ips': '192.168.14.10,fd12::10'}, ['192.168.14.10', 'fd12::10']),
    ({'k3s_node_ips': ['192.168.14.10'], 'ansible_host': 'x'}, ['192.168.14.10']),
    ({'ansible_host': '192.168.14.10'}, ['192.168.14.10']),
    ({}, []),
])
def test_node_ips_of(host_vars, expected):
    assert node_ips_of(host_vars, 'k3s_node_ips') == expected


def _facts(distribution, version, major, arch):
    return {'ansible_facts': {'distribution': distribution, 'distribution_version': version,
                              'distribution_major_version': major, 'architecture': arch}}


@pytest.mark.parametrize('facts, expected', [
    (_facts('Debian', '12.8', '12', 'aarch64'), []),
    (_facts('Debian', '13.1', '13', 'x86_64'), []),
    (_facts('Ubuntu', '24.04', '24', 'x86_64'), []),
    (_facts('Ubuntu', '22.04', '22', 'aarch64'), []),
    (_facts('Raspbian', '12.5', '12', 'armv7l'), []),
    (_facts('Debian', '11.9', '11', 'aarch64'), ['a: Debian 11.9 is not supported']),
    (_facts('Ubuntu', '23.10', '23', 'x86_64'), ['a: Ubuntu 23.10 is not supported']),
    (_facts('CentOS', '9', '9', 'x86_64'), ['a: CentOS 9 is not supported']),
    (_facts('Debian', '12.8', '12', 'riscv64'), ['a: architecture riscv64 is not supported']),
])
def test_platforms(facts, expected):
    result = check_platforms({'a': facts}, ['a'])
    assert [p.split(' (')[0] for p in result['problems']] == expected
    assert result['unchecked'] == []


def test_hosts_without_facts_are_unchecked():
    result = check_platforms({'a': {}, 'b': {'ansible_facts': {}}}, ['a', 'b'])
    assert result == {'problems': [], 'unchecked': ['a', 'b']}


@pytest.mark.parametrize('arch', ['armv7l', 'armv6l'])
def test_32_bit_arm_is_refused_with_cilium_naming_node_and_way_out(arch):
    result = check_platforms({'pi-zero': _facts('Raspbian', '12.5', '12', arch)}, ['pi-zero'], cni='cilium')
    assert result['problems'] == [
        'pi-zero: architecture %s (32-bit ARM) cannot run Cilium, which publishes amd64 and arm64 images '
        'only; install a 64-bit OS on it (for example Raspberry Pi OS 64-bit, aarch64) or set '
        'k3s_server_cni: flannel' % arch]


def test_32_bit_arm_v7_is_fine_with_flannel():
    assert check_platforms({'a': _facts('Raspbian', '12.5', '12', 'armv7l')}, ['a'], cni='flannel')['problems'] == []
    assert check_platforms({'a': _facts('Debian', '12.8', '12', 'aarch64')}, ['a'], cni='cilium')['problems'] == []
