# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network filters and test work inside Ansible, and ansible-doc documents each one."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.slow


def _run(*command):
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', PATH=BIN + os.pathsep + os.environ.get('PATH', ''))
    return subprocess.run([os.path.join(BIN, command[0])] + list(command[1:]), cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_filters_and_test_in_a_playbook():
    result = _run('ansible-playbook', '-i', 'localhost,',
                  os.path.join('tests', 'integration', 'playbooks', 'network_filters.yml'))
    output = ' '.join((result.stdout + result.stderr).split())
    assert result.returncode == 2, output
    assert 'ok=2' in output and 'failed=1' in output
    # The last task fails on purpose, with every problem in one message.
    assert 'network plan: 3 problems found' in output
    for fragment in ('node_ips[cow]: 192.168.14.5 is ipv4 but node_subnets is ipv4, ipv6',
                     'pod_cidrs[0] 10.42.0.0/16 overlaps avoid[0] 10.0.0.0/8',
                     'service_cidrs[0] 10.43.0.0/16 overlaps avoid[0] 10.0.0.0/8'):
        assert fragment in output, fragment


@pytest.mark.parametrize('plugin_type, name', [
    ('filter', 'network_plan'),
    ('filter', 'network_plan_problems'),
    ('filter', 'ip_range_subtract'),
    ('filter', 'cluster_inventory_report'),
    ('filter', 'unsupported_platforms'),
    ('test', 'overlaps'),
    ('role', 'preflight'),
])
def test_ansible_doc(plugin_type, name):
    result = _run('ansible-doc', '--json', '-t', plugin_type, 'homelab.k3s.' + name)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)['homelab.k3s.' + name]
    if plugin_type == 'role':
        assert set(doc['entry_points']) == {'main', 'platform'}
    else:
        assert doc['doc']['name'] == name
        assert doc['examples'] and doc['return']
