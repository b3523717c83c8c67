# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every refusal of the cluster roles and playbooks, triggered through the playbooks users run.

The nodes are reached only through a stand-in for ssh that records each contact and fails
(``ANSIBLE_SSH_EXECUTABLE``): each refusal must name the problem, end the run, and happen before
any node is contacted or changed. Node facts (architecture) come from a fact cache. A control
case shows the ssh stand-in records a contact.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest

from offline_ansible import ROOT, OfflineAnsible, write_fact_cache

INVENTORY = os.path.join(ROOT, 'tests', 'integration', 'inventories', 'cluster', 'hosts.yml')
PLAYBOOKS = os.path.join(ROOT, 'playbooks')
HOSTS = ('cow', 'sheep', 'duck', 'goat', 'pig')

pytestmark = pytest.mark.slow


@pytest.fixture
def run(tmp_path):
    ansible = OfflineAnsible(tmp_path)
    cache = tmp_path / 'facts'
    token_file = tmp_path / 'token'
    token_file.write_text('a-test-token\n')
    token_file.chmod(0o600)

    def _run(playbook, *extra, architectures=None):
        write_fact_cache(cache, dict((host, {'architecture': (architectures or {}).get(host, 'x86_64'),
                                             'distribution': 'Debian', 'distribution_version': '12',
                                             'distribution_major_version': '12'}) for host in HOSTS))
        result, contacts = ansible.run(['-i', INVENTORY, os.path.join(PLAYBOOKS, playbook),
                                        '-e', 'k3s_node_token_file=%s' % token_file,
                                        '-e', 'k3s_server_kubeconfig_path=%s' % (tmp_path / 'kubeconfig')]
                                       + list(extra), fact_cache=cache)
        return result, contacts, tmp_path

    return _run


def _refused(result, contacts, message):
    output = ' '.join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output[-4000:]
    assert ' '.join(message.split()) in output, output[-4000:]
    assert contacts == '', 'a node was contacted:\n' + contacts
    assert 'changed: [' not in output, output[-4000:]
    assert 'UNREACHABLE' not in output, output[-4000:]


# The plan the preflight play would set (cluster.yml alone does not run preflight).
PLAN = ['-e', '@' + os.path.join(ROOT, 'tests', 'integration', 'inventories', 'cluster', 'plan.json')]

CASES = [
    ('k3s_server: unknown CNI', 'cluster.yml', PLAN + ['--tags', 'k3s_servers', '-e', 'k3s_server_cni=calico'], None,
     "value of k3s_server_cni must be one of: cilium, flannel, got: calico"),
    ('k3s_server: several servers without etcd', 'cluster.yml',
     PLAN + ['--tags', 'k3s_servers', '-e', 'k3s_server_embedded_etcd=false'], None,
     'k3s_server_embedded_etcd is false (SQLite): K3s then supports exactly one server.'),
    ('k3s_server: no network plan', 'cluster.yml', ['--tags', 'k3s_servers'], None,
     'k3s_server_network_plan lacks k3s_server_config (the network keys of config.yaml)'),
    ('k3s_server: etcd snapshots to S3 without a bucket', 'cluster.yml',
     PLAN + ['--tags', 'k3s_servers', '-e', '{"k3s_server_etcd_s3": {"endpoint": "http://10.0.0.5:9000"}}'], None,
     'etcd_s3.bucket is required (K3s refuses etcd-s3 without a bucket: "s3 bucket name was not set")'),
    ('k3s_node: unsupported architecture', 'cluster.yml', PLAN + ['--tags', 'k3s_agents'], {'goat': 'riscv64', 'pig': 'armv6l'},
     'pig: K3s publishes builds for x86_64 (amd64), aarch64 (arm64) and 32-bit ARMv7 (armhf) only; '
     'this node is armv6l (ARMv6: Raspberry Pi 1 and Zero cannot run K3s).'),
    ('k3s_node: host in neither group', 'cluster.yml',
     PLAN + ['--tags', 'k3s_agents', '-e', 'k3s_node_agent_group=workers'], None,
     'goat is in neither k3s_servers nor workers.'),
    ('k3s_node: no network plan', 'cluster.yml', ['--tags', 'k3s_agents'], None,
     'goat: k3s_node_network_plan has no node_ips entry for this host.'),
    ('k3s_node: grace period not a Go duration', 'cluster.yml',
     PLAN + ['--tags', 'k3s_agents', '-e', '{"k3s_node_shutdown_grace_period_critical_pods": "20 s"}'], None,
     'goat: k3s_node_shutdown_grace_period_critical_pods "20 s" is not a Go duration such as 20s or 1m.'),
    ('k3s_node: grace period a number', 'cluster.yml',
     PLAN + ['--tags', 'k3s_agents', '-e', '{"k3s_node_shutdown_grace_period": 90}'], None,
     'goat: k3s_node_shutdown_grace_period "90" is not a Go duration such as 60s or 1m30s.'),
    ('k3s_node: grace period under a second', 'cluster.yml',
     PLAN + ['--tags', 'k3s_agents', '-e', 'k3s_node_shutdown_grace_period=500ms',
             '-e', 'k3s_node_shutdown_grace_period_critical_pods=0s'], None,
     'goat: k3s_node_shutdown_grace_period 500ms must be 0 or at least 1s.'),
    ('k3s_node: critical pods longer than the grace period', 'cluster.yml',
     PLAN + ['--tags', 'k3s_agents', '-e', 'k3s_node_shutdown_grace_period=30s',
             '-e', 'k3s_node_shutdown_grace_period_critical_pods=1m'], None,
     'goat: k3s_node_shutdown_grace_period_critical_pods 1m is longer than k3s_node_shutdown_grace_period 30s: '
     'the critical pods get the last part of the grace period, it cannot be longer than the whole.'),
    ('cilium: L2 announcements without kube-proxy replacement', 'cluster.yml',
     PLAN + ['--tags', 'cilium', '-e', 'cilium_kube_proxy_replacement=false'], None,
     'Cilium L2 announcements need cilium_kube_proxy_replacement=true.'),
    ('cilium: no network plan', 'cluster.yml', ['--tags', 'cilium'], None,
     'cilium_network_plan is empty: run the homelab.k3s.preflight role first'),
    ('upgrade without a version', 'upgrade.yml', ['-e', 'k3s_node_version='], None,
     'Set k3s_node_version (inventory or -e) to the K3s release to upgrade to.'),
    ('reset without confirmation', 'reset.yml', [], None,
     'reset.yml removes K3s and all its data from cow, sheep, duck, goat, pig. '
     'Run it with -e k3s_reset_confirm=yes to confirm.'),
]


@pytest.mark.parametrize('playbook, extra, architectures, message', [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_refusal_names_the_problem_and_touches_no_node(run, playbook, extra, architectures, message):
    result, contacts, _tmp = run(playbook, *extra, architectures=architectures)
    _refused(result, contacts, message)


def test_no_token_is_refused(run, tmp_path):
    empty = tmp_path / 'empty-token'
    empty.write_text('')
    empty.chmod(0o600)
    result, contacts, _tmp = run('cluster.yml', *(PLAN + ['--tags', 'k3s_agents', '-e', 'k3s_node_token_file=%s' % empty]))
    _refused(result, contacts, 'No join token: set k3s_node_token or let the role create %s.' % empty)
    assert empty.read_text() == ''


def test_control_the_ssh_stand_in_records_a_contact(run):
    """Without a refusal the agents play reaches the nodes: the contact log is not empty."""
    result, contacts, _tmp = run('cluster.yml', *(PLAN + ['--tags', 'k3s_agents']))
    assert result.returncode != 0
    assert 'ssh ' in contacts


def test_etcd_s3_secret_key_is_never_printed(run):
    """A valid k3s_server_etcd_s3 passes the server checks and its secret key stays out of a -vvv run."""
    secret = 'etcd-s3-Secret-Never-Printed-41'
    result, contacts, _tmp = run('cluster.yml', *(PLAN + [
        '--tags', 'k3s_servers', '-vvv', '-e',
        '{"k3s_server_etcd_s3": {"endpoint": "http://10.0.0.5:9000", "bucket": "etcd-snapshots", '
        '"access_key": "etcd", "secret_key": "%s"}}' % secret]))
    output = result.stdout + result.stderr
    assert contacts != '', 'the run stopped before reaching a node:\n' + output[-4000:]
    assert 'etcd_s3_config' not in output and 'etcd_s3.' not in output, output[-4000:]
    assert secret not in output
