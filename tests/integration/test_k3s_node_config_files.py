# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The k3s_node role requests the right files in its config_files tasks (tasks/config.yml).

Two tasks hold every file K3s is restarted for: the directories, the kubelet configuration, the unit
and logind's directory and drop-in (or only the drop-in's removal when graceful shutdown is off), shown
with --diff; config.yaml and registries.yaml or its removal, with no_log. Run in check mode on
localhost: nothing is written, and which action each file gets depends on this machine, so the tests look at the
requested destinations and at the actions that are possible for each state.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

from localhost_playbook import run_localhost_playbook

DROPIN = '/etc/systemd/logind.conf.d/zz-homelab-k3s-inhibit-delay.conf'
REGISTRIES = '/etc/rancher/k3s/registries.yaml'
WRITE_ACTIONS = ('create', 'update', 'attributes', 'unchanged')
ABSENT_ACTIONS = ('remove', 'unchanged')


def requested(tmp_path, variables):
    out = tmp_path / 'files.json'
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text('[k3s_servers]\nlocalhost\n')
    plan = {'node_ips': {'localhost': '10.0.0.11'}}
    run_localhost_playbook('k3s_node_config_files.yml', tmp_path,
                           dict({'k3s_node_network_plan': plan}, out_file=str(out), **variables),
                           inventory=str(inventory))
    return json.loads(out.read_text())


def test_defaults_request_the_k3s_files_the_unit_and_the_logind_dropin(tmp_path):
    files = requested(tmp_path, {})
    assert list(files['files']) == ['/etc/rancher', '/etc/rancher/k3s', '/etc/rancher/k3s/kubelet.config',
                                    '/etc/systemd/system/k3s.service', '/etc/systemd/logind.conf.d', DROPIN]
    assert all(action in WRITE_ACTIONS for action in files['files'].values())
    assert files['unit'] == '/etc/systemd/system/k3s.service'
    assert list(files['secrets']) == ['/etc/rancher/k3s/config.yaml', REGISTRIES]
    assert files['secrets']['/etc/rancher/k3s/config.yaml'] in WRITE_ACTIONS
    assert files['secrets'][REGISTRIES] in ABSENT_ACTIONS


def test_registries_are_written_and_graceful_shutdown_off_removes_the_dropin(tmp_path):
    files = requested(tmp_path, {'k3s_node_registries': {'mirrors': {'docker.io': {'endpoint': ['https://mirror.test']}}},
                                 'k3s_node_shutdown_grace_period': ''})
    assert files['secrets'][REGISTRIES] in WRITE_ACTIONS
    assert list(files['files'])[4:] == [DROPIN]
    assert files['files'][DROPIN] in ABSENT_ACTIONS
