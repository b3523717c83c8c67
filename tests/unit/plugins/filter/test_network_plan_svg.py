# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The picture and missing-roles filters are thin: they call module_utils and turn errors into
AnsibleFilterError."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import xml.etree.ElementTree as ET

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.k3s.plugins.filter import missing_roles as roles_plugin
from ansible_collections.homelab.k3s.plugins.filter import network_plan_svg as svg_plugin
from ansible_collections.homelab.k3s.plugins.module_utils.collection_parts import (
    collection_roles,
    missing_roles,
)

NETWORK = {'node_subnets': ['10.100.0.0/24'], 'gateway': ['10.100.0.1']}
NODES = {'pi-server': '10.100.0.10'}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))))


def test_filters_are_registered():
    assert set(svg_plugin.FilterModule().filters()) == {'network_plan_svg'}
    assert set(roles_plugin.FilterModule().filters()) == {'missing_roles'}


def test_network_plan_svg_returns_svg_of_the_family():
    text = svg_plugin.network_plan_svg(NETWORK, NODES, family='ipv4', title='')
    root = ET.fromstring(text.encode('utf-8'))
    assert root.find('{http://www.w3.org/2000/svg}title').text == 'IPv4 address plan'


def test_network_plan_svg_errors_become_filter_errors():
    with pytest.raises(AnsibleFilterError) as caught:
        svg_plugin.network_plan_svg(dict(NETWORK, gateway=['10.200.0.1']), NODES)
    assert 'gateway[0] 10.200.0.1 is outside node_subnets[0] 10.100.0.0/24' in str(caught.value)


def test_missing_roles_filter_looks_at_this_collection():
    assert os.path.realpath(roles_plugin.ROLES_DIR) == os.path.realpath(os.path.join(ROOT, 'roles'))
    messages = roles_plugin.missing_roles({'preflight': 'checks', 'no_such_role': 'a test'})
    assert messages == ['role homelab.k3s.no_such_role (a test) is not in this version of the '
                        'collection: that part is not set up yet']
    assert roles_plugin.missing_roles(None) == []


def test_missing_roles_filter_refuses_a_bad_name():
    with pytest.raises(AnsibleFilterError) as caught:
        roles_plugin.missing_roles(['homelab.k3s.vault'])
    assert "expected roles: 'homelab.k3s.vault' is not a role name" in str(caught.value)


def test_collection_roles_lists_role_directories_with_tasks(tmp_path):
    (tmp_path / 'vault' / 'tasks').mkdir(parents=True)
    (tmp_path / 'vault' / 'tasks' / 'main.yml').write_text('---\n')
    (tmp_path / 'minio' / 'tasks').mkdir(parents=True)
    (tmp_path / 'minio' / 'tasks' / 'main.yaml').write_text('---\n')
    (tmp_path / 'empty').mkdir()
    assert collection_roles(str(tmp_path)) == ['minio', 'vault']
    assert collection_roles(str(tmp_path / 'nowhere')) == []


@pytest.mark.parametrize('expected, available, messages', [
    ({}, ['vault'], []),
    ({'vault': 'Vault on node1'}, ['vault'], []),
    (['vault', 'minio'], ['vault'], [
        'role homelab.k3s.minio is not in this version of the collection: '
        'that part is not set up yet']),
    ({'shutdown': 'power cycle', 'api_vip': ''}, [], [
        'role homelab.k3s.api_vip is not in this version of the collection: '
        'that part is not set up yet',
        'role homelab.k3s.shutdown (power cycle) is not in this version of the collection: '
        'that part is not set up yet']),
])
def test_missing_roles(expected, available, messages):
    assert missing_roles(expected, available) == messages


@pytest.mark.parametrize('expected, message', [
    ('vault', "expected roles: a mapping of role name to purpose, got 'vault'"),
    ({'Vault': ''}, "expected roles: 'Vault' is not a role name"),
])
def test_missing_roles_refuses_bad_input(expected, message):
    with pytest.raises(ValueError) as caught:
        missing_roles(expected, [])
    assert message in str(caught.value)
