# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The k3s_node role requests the right files in its config_files task (tasks/config.yml).

One task holds every file K3s is restarted for: the directories, the kubelet configuration, the unit,
logind's directory and drop-in (or only the drop-in's removal when graceful shutdown is off), and the
secret files config.yaml and registries.yaml (or its removal). Run in check mode with --diff on
localhost: nothing is written, and which action each file gets depends on this machine, so the tests
look at the requested destinations, at the actions that are possible for each state, and at what the
run shows: the other files' diffs, but never the join token (no diff, no registered result, no output).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import re

from localhost_playbook import run_localhost_playbook

DROPIN = '/etc/systemd/logind.conf.d/zz-homelab-k3s-inhibit-delay.conf'
REGISTRIES = '/etc/rancher/k3s/registries.yaml'
WRITE_ACTIONS = ('create', 'update', 'attributes', 'unchanged')
ABSENT_ACTIONS = ('remove', 'unchanged')


TOKEN = 'K10test-token-not-a-secret'  # tests/integration/playbooks/k3s_node_config_files.yml
CONFIG = '/etc/rancher/k3s/config.yaml'
SECRET_SHOWN = '(secret content, not shown)'


def requested(tmp_path, monkeypatch, variables):
    monkeypatch.setenv('ANSIBLE_VERBOSITY', '3')  # every module's invocation (arguments) is shown
    out = tmp_path / 'files.json'
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text('[k3s_servers]\nlocalhost\n')
    plan = {'node_ips': {'localhost': '10.0.0.11'}}
    proc = run_localhost_playbook('k3s_node_config_files.yml', tmp_path,
                                  dict({'k3s_node_network_plan': plan}, out_file=str(out), **variables),
                                  inventory=str(inventory))
    result = json.loads(out.read_text())
    assert TOKEN not in json.dumps(result['result']), 'the join token is in the registered result'
    assert TOKEN not in proc.stdout + proc.stderr, 'the join token was shown'
    result['output'] = proc.stdout
    return result


def diff_of(result, dest):
    return [entry for entry in result['result'].get('diff', []) if entry['after_header'] == dest]


def test_defaults_request_the_k3s_files_the_unit_and_the_logind_dropin(tmp_path, monkeypatch):
    result = requested(tmp_path, monkeypatch, {})
    files = result['files']
    assert list(files) == ['/etc/rancher', '/etc/rancher/k3s', '/etc/rancher/k3s/kubelet.config',
                           '/etc/systemd/system/k3s.service', '/etc/systemd/logind.conf.d', DROPIN,
                           CONFIG, REGISTRIES]
    assert all(files[dest] in WRITE_ACTIONS for dest in list(files)[:7])
    assert files[REGISTRIES] in ABSENT_ACTIONS
    assert result['unit'] == '/etc/systemd/system/k3s.service'
    # the module's arguments as Ansible shows them at -vvv: the secret option is masked
    assert re.search(r"secret_content:\s+/etc/rancher/k3s/config.yaml: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER\n",
                     result['output']), result['output'][-3000:]
    if files[CONFIG] != 'unchanged':  # the secret's diff is a line, not its content
        assert [entry['after'] for entry in diff_of(result, CONFIG)] in (
            [SECRET_SHOWN + '\n'], ['(secret content changed, not shown)\n'])
    if files['/etc/systemd/system/k3s.service'] != 'unchanged':  # the other files keep their diff
        assert 'ExecStart=/usr/local/bin/k3s' in diff_of(result, '/etc/systemd/system/k3s.service')[0]['after']


def test_registries_are_written_and_graceful_shutdown_off_removes_the_dropin(tmp_path, monkeypatch):
    variables = {'k3s_node_registries': {'mirrors': {'docker.io': {'endpoint': ['https://mirror.test']}}},
                 'k3s_node_shutdown_grace_period': ''}
    files = requested(tmp_path, monkeypatch, variables)['files']
    assert files[REGISTRIES] in WRITE_ACTIONS
    assert list(files)[4:] == [DROPIN, CONFIG, REGISTRIES]
    assert files[DROPIN] in ABSENT_ACTIONS
