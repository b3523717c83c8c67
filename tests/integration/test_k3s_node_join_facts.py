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

import pytest

from localhost_playbook import run_localhost_playbook


def join_facts(tmp_path, variables):
    out = tmp_path / 'facts.json'
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text('[k3s_servers]\nsrv-1 ansible_host=10.0.0.11\nlocalhost\n')
    run_localhost_playbook('k3s_node_join_facts.yml', tmp_path, dict(variables, out_file=str(out)),
                           inventory=str(inventory), limit='localhost')
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
