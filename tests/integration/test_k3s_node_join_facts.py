# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A joining node waits for the VIP or the endpoint only when there is one (k3s_node facts.yml).

The wait before a joining server's or agent's first start ("Wait until the API answers through
the VIP or endpoint") depends on ``__k3s_node_joins_through_endpoint``. It was computed with the
``bool`` filter, which turns an address into false: with an ``api_vip`` in the network plan the
wait was skipped, and a server joined while HAProxy did not route yet (a flaky vip scenario).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'k3s_node_join_facts.yml')
BIN = os.path.dirname(sys.executable)


def join_facts(tmp_path, variables):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'), ANSIBLE_LOCALHOST_WARNING='0',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    env['PATH'] = BIN + os.pathsep + env.get('PATH', '')
    extra = tmp_path / 'vars.json'
    out = tmp_path / 'facts.json'
    extra.write_text(json.dumps(dict(variables, out_file=str(out))))
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text('[k3s_servers]\nsrv-1 ansible_host=10.0.0.11\nlocalhost\n')
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', str(inventory), '--limit', 'localhost',
                           '-c', 'local', '-e', 'ansible_python_interpreter=%s' % sys.executable,
                           '-e', '@%s' % extra, PLAYBOOK],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize('variables, through, url', [
    ({'k3s_node_network_plan': {'api_vip': '10.0.0.250'}}, True, 'https://10.0.0.250:6443'),
    ({'k3s_node_network_plan': {'api_vip': 'fd00::fa'}, 'k3s_node_api_endpoint_port': 8443}, True,
     'https://[fd00::fa]:8443'),
    ({'k3s_node_api_endpoint': 'k3s.lab.test'}, True, 'https://k3s.lab.test:6443'),
    ({'k3s_node_network_plan': {'api_vip': None}}, False, 'https://10.0.0.11:6443'),
    ({}, False, 'https://10.0.0.11:6443'),
], ids=['vip-ipv4', 'vip-ipv6-port', 'endpoint', 'plan-without-vip', 'nothing'])
def test_a_node_waits_for_the_vip_or_endpoint_only_when_there_is_one(tmp_path, variables, through, url):
    facts = join_facts(tmp_path, variables)
    assert facts == {'joins_through_endpoint': through, 'api_url': url}
