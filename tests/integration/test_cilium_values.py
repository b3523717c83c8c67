# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cilium role's Helm values follow upstream K3s and Cilium (issue #12, items 1 and 2)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'cilium_values.yml')
BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.slow

IPV4_POOL = [{'start': '192.168.14.47', 'stop': '192.168.14.62'}]
IPV6_POOL = [{'start': 'fd12::ffc0', 'stop': 'fd12::ffff'}]


def values(tmp_path, families, *extra):
    plan = {'families': families, 'dual_stack': len(families) == 2,
            'lb_pools': {'ipv4': IPV4_POOL, 'ipv6': IPV6_POOL}}
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'), ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_LOCALHOST_WARNING='0')
    command = [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', PLAYBOOK,
               '-e', json.dumps({'cilium_network_plan': plan}),
               '-e', 'ansible_python_interpreter=%s' % sys.executable,
               '-e', 'cilium_values_out=%s' % (tmp_path / 'values.json')] + list(extra)
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads((tmp_path / 'values.json').read_text()), proc.stdout


@pytest.mark.parametrize('families, host', [
    (['ipv4'], '127.0.0.1'), (['ipv4', 'ipv6'], '127.0.0.1'), (['ipv6', 'ipv4'], '::1'), (['ipv6'], '::1')])
def test_service_host_follows_the_family_of_k3s_local_load_balancer(tmp_path, families, host):
    result, _out = values(tmp_path, families)
    assert result['values']['k8sServiceHost'] == host
    assert result['values']['k8sServicePort'] == 6444


def test_an_explicit_service_host_wins(tmp_path):
    result, _out = values(tmp_path, ['ipv6', 'ipv4'], '-e', 'cilium_k8s_service_host=10.0.0.1')
    assert result['values']['k8sServiceHost'] == '10.0.0.1'


def test_ipv6_pool_left_out_while_l2_announcements_answer_arp_only(tmp_path):
    result, out = values(tmp_path, ['ipv4', 'ipv6'])
    assert result['blocks'] == IPV4_POOL
    assert 'L2 announcements answer ARP only (NDP from 1.19.0 on)' in ' '.join(out.split())


@pytest.mark.parametrize('extra', [['-e', 'cilium_version=1.19.6'], ['-e', 'cilium_l2_announcements=false']],
                         ids=['cilium-1.19', 'no-l2-announcements'])
def test_ipv6_pool_kept_when_announced_or_not_l2(tmp_path, extra):
    result, _out = values(tmp_path, ['ipv4', 'ipv6'], *extra)
    assert result['blocks'] == IPV4_POOL + IPV6_POOL
