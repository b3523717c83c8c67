# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.k3s.plugins.filter import cluster_inventory_report as plugin


def test_filters_are_registered():
    assert set(plugin.FilterModule().filters()) == {'cluster_inventory_report',
                                                    'unsupported_platforms'}


def test_cluster_inventory_report_passes_options():
    groups = {'k3s_servers': ['a', 'b'], 'k3s_agents': [], 'k3s_cluster': ['a', 'b']}
    hostvars = {'a': {'homelab_network': {}}, 'b': {'homelab_network': {}}}
    report = plugin.cluster_inventory_report(groups, hostvars, strict=True,
                                             required_vars=['k3s_token'])
    assert len(report['problems']) == 2
    assert report['warnings'] == []


def test_unsupported_platforms():
    hostvars = {'a': {'ansible_facts': {'distribution': 'Debian', 'distribution_version': '10',
                                        'distribution_major_version': '10',
                                        'architecture': 'x86_64'}}}
    result = plugin.unsupported_platforms(['a'], hostvars, {'Debian': [12]}, ['x86_64'])
    assert result['problems'] == ['a: Debian 10 is not supported (supported: Debian 12)']


@pytest.mark.parametrize('call', [
    lambda: plugin.cluster_inventory_report(['a'], {}),
    lambda: plugin.unsupported_platforms('a', {}),
], ids=['groups-not-a-mapping', 'hosts-not-a-list'])
def test_wrong_input_types(call):
    with pytest.raises(AnsibleFilterError):
        call()
