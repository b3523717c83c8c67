# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run playbooks/preflight.yml against fixture inventories and prove no node is contacted.

Every fixture host uses ``ansible_connection: ssh``. The ssh executable is
replaced (``ANSIBLE_SSH_EXECUTABLE``) by a stand-in that records each call in a
file and fails, so any attempt to reach a node is visible. A control case
checks the stand-in really records contact.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest

from offline_ansible import ROOT, OfflineAnsible, write_fact_cache

INVENTORIES = os.path.join(ROOT, 'tests', 'integration', 'inventories', 'preflight')
PREFLIGHT = os.path.join(ROOT, 'playbooks', 'preflight.yml')
SITE_LIKE = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'site_like.yml')

pytestmark = pytest.mark.slow


@pytest.fixture
def run(tmp_path):
    ansible = OfflineAnsible(tmp_path)

    def _run(inventory, playbook=PREFLIGHT, fact_cache=None, extra=()):
        return ansible.run(['-i', os.path.join(INVENTORIES, inventory, 'hosts.yml'), playbook] + list(extra),
                           fact_cache=fact_cache)

    return _run


def _assert_nothing_ran_on_nodes(result, contacts):
    output = result.stdout + result.stderr
    assert contacts == '', 'a node was contacted:\n' + contacts
    assert 'UNREACHABLE' not in output
    assert 'changed=1' not in output and 'changed: [' not in output
    assert 'Ping the node' not in output  # the play after preflight never started


BROKEN = [
    ('broken-network', [
        'preflight: 10 problem(s) found, no node was changed',
        'service_cidrs[1] fd22:2025:6a6a:43::/107 is larger than /108',
        'node_cidr_mask_size.ipv6: 64 is not longer than the prefix of pod_cidrs[1] '
        'fd22:2025:6a6a:42::/104',
        'node_ips[cow] 192.168.14.10 is inside dhcp_ranges[0] 192.168.14.2-192.168.14.20',
        'node_ips[duck]: 192.0.2.12 is ipv4 but node_subnets is ipv4, ipv6',
        'node_ips[duck] 192.0.2.12 is outside node_subnets[0] 192.168.14.0/26',
        'node_ips: fd12:3456:789a:14::10 is the node IP of 2 hosts: cow, sheep',
        'api_vip[0] 192.168.14.99 is outside node_subnets[0] 192.168.14.0/26',
        'lb_pool_size.ipv4: 60 addresses do not fit in node_subnets[0] 192.168.14.0/26',
        'pod_cidrs[0] 10.42.0.0/16 overlaps avoid[0] 10.0.0.0/8',
        'service_cidrs[0] 10.43.0.0/16 overlaps avoid[0] 10.0.0.0/8',
    ]),
    ('broken-groups', [
        'preflight: 5 problem(s) found, no node was changed',
        'group k3s_cluster: 1 host neither in k3s_servers nor in k3s_agents: goat',
        'group k3s_servers: 2 servers; embedded etcd needs an odd number for quorum',
        "k3s_node_name of Pig_1: 'pig_1' is not a valid Kubernetes node name",
        "k3s_node_name: cow, duck share the node name 'cow'",
        'required variable k3s_token is not set for 1 host: duck',
    ]),
]


@pytest.mark.parametrize('playbook', [PREFLIGHT, SITE_LIKE], ids=['preflight', 'site-like'])
@pytest.mark.parametrize('inventory, messages', BROKEN, ids=[case[0] for case in BROKEN])
def test_broken_inventory_fails_with_every_problem_and_touches_no_node(run, inventory, messages,
                                                                       playbook):
    result, contacts = run(inventory, playbook)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    for message in messages:
        assert message in output, message
    _assert_nothing_ran_on_nodes(result, contacts)


@pytest.mark.parametrize('inventory, summary', [
    ('good-dual-stack', '1 server(s), 2 agent(s), ipv4+ipv6; cluster-cidr '
                        '10.42.0.0/16,fd22:2025:6a6a:42::/104'),
    ('good-single-stack', '2 server(s), 2 agent(s), ipv4; cluster-cidr 10.42.0.0/16'),
])
def test_sound_inventory_passes_without_contacting_nodes(run, inventory, summary):
    result, contacts = run(inventory)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert ' '.join(summary.split()) in ' '.join(output.split())
    assert contacts == ''
    assert 'UNREACHABLE' not in output


def test_even_servers_warn_without_strict_and_fail_with_it(run):
    result, _contacts = run('good-single-stack')
    assert 'group k3s_servers: 2 servers; embedded etcd needs an odd number' in \
        ' '.join(result.stdout.split())
    assert result.returncode == 0
    result, contacts = run('good-single-stack', extra=['-e', 'preflight_strict=true'])
    assert result.returncode == 2
    assert 'preflight: 1 problem(s) found' in result.stdout + result.stderr
    assert contacts == ''


def test_contact_detector_records_a_real_attempt(run):
    # Control: after a sound preflight the site-like play does try to reach the
    # nodes, and the ssh stand-in records it. Without this the empty log
    # in the other tests would prove nothing.
    result, contacts = run('good-dual-stack', SITE_LIKE)
    assert result.returncode != 0
    assert 'UNREACHABLE' in result.stdout + result.stderr
    assert '192.0.2.10' in contacts


def _facts(distribution, version, arch):
    return {'ansible_distribution': distribution, 'ansible_distribution_version': version,
            'ansible_distribution_major_version': version.split('.')[0],
            'ansible_architecture': arch}


def test_known_facts_of_an_unsupported_platform_fail(run, tmp_path):
    cache = tmp_path / 'facts'
    write_fact_cache(cache, {
        'cow': _facts('Debian', '12.8', 'aarch64'),
        'sheep': _facts('Debian', '11.9', 'aarch64'),
        'duck': _facts('Ubuntu', '24.04', 'riscv64'),
    })
    result, contacts = run('good-dual-stack', fact_cache=cache)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert 'preflight: 2 problem(s) found' in output
    assert 'sheep: Debian 11.9 is not supported' in output
    assert 'duck: architecture riscv64 is not supported' in output
    assert contacts == ''


def test_known_facts_of_supported_platforms_pass(run, tmp_path):
    cache = tmp_path / 'facts'
    write_fact_cache(cache, {
        'cow': _facts('Debian', '12.8', 'aarch64'),
        'sheep': _facts('Raspbian', '12.5', 'armv7l'),
        'duck': _facts('Ubuntu', '24.04', 'x86_64'),
    })
    # 32-bit ARM runs K3s with flannel (Cilium has no 32-bit image, see the next test).
    result, contacts = run('good-dual-stack', fact_cache=cache, extra=['-e', 'k3s_server_cni=flannel'])
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'platform not checked for 0 host(s)' in ' '.join(result.stdout.split())
    assert contacts == ''


def test_32_bit_arm_with_cilium_is_refused_naming_node_and_way_out(run, tmp_path):
    cache = tmp_path / 'facts'
    write_fact_cache(cache, {
        'cow': _facts('Debian', '12.8', 'aarch64'),
        'sheep': _facts('Raspbian', '12.5', 'armv7l'),
        'duck': _facts('Ubuntu', '24.04', 'x86_64'),
    })
    result, contacts = run('good-dual-stack', fact_cache=cache)
    output = ' '.join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output
    assert ('sheep: architecture armv7l (32-bit ARM) cannot run Cilium, which publishes amd64 and arm64 images '
            'only; install a 64-bit OS on it (for example Raspberry Pi OS 64-bit, aarch64) or set '
            'k3s_server_cni: flannel') in output
    assert contacts == ''
