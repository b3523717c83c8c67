# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster side of the storage exports (issue #17), on localhost without a node.

* csi_drivers renders the NFS and SMB CSI HelmCharts and StorageClasses from an inventory with an
  NFS server and an SMB server, and every manifest passes the K3s stand-in's checks
  (tests/standins/k3s_standin/charts.py: the pinned charts' values, the drivers' StorageClass
  parameters). Checked against the stand-in only: no K3s runs here.
* The firewall role opens 2049/tcp and 445/tcp on hosts of the nfs_servers / smb_servers groups
  to the exports' client lists, and nothing when the host is in neither group.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import re
import stat
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'standins'))

from k3s_standin import charts  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow

PASSWORD = 'Smb-Share-Pass-4711'


def _env(tmp_path):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_FORCE_COLOR='0', ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'),
               ANSIBLE_INVENTORY_UNPARSED_WARNING='0', ANSIBLE_LOCALHOST_WARNING='0')
    env['PATH'] = BIN + os.pathsep + env.get('PATH', '')
    return env


def _inventory(tmp_path, groups):
    hosts = {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}
    inventory = {'all': {'children': {
        'k3s_servers': {'hosts': {'localhost': hosts['localhost']}},
        'nfs_servers': {'hosts': {'storage1': {'ansible_host': '192.168.1.20',
                                               'nfs_server_exports': [{'path': '/srv/nfs/k3s'}]}}},
        'smb_servers': {'hosts': {'pi-gate': {'ansible_host': '10.100.0.2',
                                              'smb_server_shares': [{'name': 'data', 'path': '/srv/smb/data',
                                                                     'users': ['k3s']}],
                                              'smb_server_users': [{'name': 'k3s', 'password': PASSWORD}]}}},
    }}}
    for name in groups:
        inventory['all']['children'][name]['hosts']['localhost'] = hosts['localhost']
    path = tmp_path / 'inventory.yml'
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


def _render(tmp_path, *extra):
    manifests = tmp_path / 'manifests'
    command = [os.path.join(BIN, 'ansible-playbook'), '-i', _inventory(tmp_path, []),
               os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'csi_drivers_render.yml'),
               '-e', 'csi_drivers_manifest_dir=%s' % manifests, '--diff'] + list(extra)
    proc = subprocess.run(command, cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return manifests, proc.stdout + proc.stderr


def _docs(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_csi_drivers_manifests_pass_the_k3s_standin_checks(tmp_path):
    manifests, out = _render(tmp_path, '-vvv')
    # the Secret is written in the same module run as the chart, which keeps its diff; the Secret's
    # content is nowhere in the output, not even in the module's arguments at -vvv
    assert PASSWORD not in out, out
    assert '+++ after: %s\n' % (manifests / 'csi-driver-smb.yaml') in out, out
    assert '(secret content, not shown)' in out, out
    nfs, smb, secret = (_docs(manifests / name) for name in
                        ('csi-driver-nfs.yaml', 'csi-driver-smb.yaml', 'csi-driver-smb-secret.yaml'))
    for doc in nfs + smb + secret:
        assert charts.check_document(doc) == [], doc
    chart, storageclass = nfs
    assert chart['spec']['chart'] == 'csi-driver-nfs' and chart['spec']['version'] == '4.13.4'
    assert chart['spec']['repo'] == 'https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts'
    assert storageclass['provisioner'] == 'nfs.csi.k8s.io'
    assert storageclass['parameters'] == {'server': '192.168.1.20', 'share': '/srv/nfs/k3s', 'onDelete': 'delete'}
    assert storageclass['mountOptions'] == ['nfsvers=4.1']
    chart, storageclass = smb
    assert chart['spec']['chart'] == 'csi-driver-smb' and chart['spec']['version'] == '1.20.3'
    assert yaml.safe_load(chart['spec']['valuesContent'])['windows'] == {'enabled': False}
    assert storageclass['parameters']['source'] == '//10.100.0.2/data'
    assert storageclass['parameters']['csi.storage.k8s.io/node-stage-secret-name'] == secret[0]['metadata']['name']
    assert secret[0]['stringData'] == {'username': 'k3s', 'password': PASSWORD}
    for name in ('csi-driver-nfs.yaml', 'csi-driver-smb.yaml', 'csi-driver-smb-secret.yaml'):
        assert stat.S_IMODE(os.stat(str(manifests / name)).st_mode) == 0o600
    # A second run changes nothing.
    dummy, again = _render(tmp_path)
    assert re.search(r'localhost\s*: ok=\d+\s+changed=0\s', again), again


def test_the_standin_refuses_a_value_or_parameter_the_pinned_chart_does_not_have(tmp_path):
    manifests, dummy = _render(tmp_path, '-e', json.dumps({'csi_drivers_nfs_values': {'controler': {'replicas': 2}},
                                                           'csi_drivers_nfs_on_delete': 'retain'}))
    chart, storageclass = _docs(manifests / 'csi-driver-nfs.yaml')
    assert charts.check_document(chart) == [
        'HelmChart csi-driver-nfs: spec.valuesContent: value "controler" is not a recorded value of the '
        'csi-driver-nfs chart 4.13.4']
    assert storageclass['parameters']['onDelete'] == 'retain' and charts.check_document(storageclass) == []
    # mount options belong in the StorageClass's mountOptions: the driver's CreateVolume refuses them as a parameter
    storageclass['parameters']['mountOptions'] = 'nfsvers=4.1'
    assert charts.check_document(storageclass) == [
        'StorageClass nfs-csi: parameters: invalid parameter "mountOptions" in storage class (nfs.csi.k8s.io)']


def test_no_driver_without_a_server(tmp_path):
    inventory = {'all': {'children': {'k3s_servers': {'hosts': {'localhost': {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}}}}
    path = tmp_path / 'inventory.yml'
    path.write_text(yaml.safe_dump(inventory))
    manifests = tmp_path / 'manifests'
    command = [os.path.join(BIN, 'ansible-playbook'), '-i', str(path),
               os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'csi_drivers_render.yml'),
               '-e', 'csi_drivers_manifest_dir=%s' % manifests]
    proc = subprocess.run(command, cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert not manifests.exists()


@pytest.mark.parametrize('groups, present, absent', [
    (['nfs_servers'], ['ip saddr { 192.168.1.0/24 } tcp dport { 2049 } accept comment "NFSv4, homelab.k3s.nfs_server"'],
     ['445']),
    (['smb_servers'], ['ip saddr { 10.100.0.0/24 } tcp dport { 445 } accept comment "SMB, homelab.k3s.smb_server"'],
     ['2049']),
    ([], [], ['2049', '445']),
], ids=['nfs-server', 'smb-server', 'neither'])
def test_firewall_opens_the_export_ports_to_the_client_lists_only(tmp_path, groups, present, absent):
    extra = tmp_path / 'vars.json'
    extra.write_text(json.dumps({
        'refusal_role': 'firewall', 'firewall_admin_networks': ['10.213.0.1/32'],
        'firewall_cluster_networks': ['10.0.0.0/8'], 'firewall_k3s_server_addresses': ['10.0.0.10'],
        'nfs_server_client_networks': ['192.168.1.0/24'], 'smb_server_client_networks': ['10.100.0.0/24'],
        'firewall_ruleset_path': str(tmp_path / 'homelab.nft')}))
    command = [os.path.join(BIN, 'ansible-playbook'), '-i', _inventory(tmp_path, groups), '--limit', 'localhost',
               '-e', '@%s' % extra, '--check', '--diff',
               os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'role_refusal.yml')]
    proc = subprocess.run(command, cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=600,
                          check=False)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr[-2000:]
    task = out.split('TASK [homelab.k3s.firewall : Write the homelab nftables table and the unit that loads it at boot]', 1)[1]
    # the task's diff of the ruleset file (the unit's diff follows it)
    ruleset = task.split('TASK [', 1)[0].split('+++ after: %s\n' % (tmp_path / 'homelab.nft'), 1)[1].split('--- before:', 1)[0]
    added = '\n'.join(line[1:] for line in ruleset.splitlines() if line.startswith('+'))
    for rule in present:
        assert rule in added, added
    for port in absent:
        assert not re.search(r'dport \{ %s \}' % port, added), added
    assert not (tmp_path / 'homelab.nft').exists()
