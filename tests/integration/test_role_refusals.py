# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every refusal that needs no lab node, run for real on localhost.

Each case runs a role's real entry point (``include_role``) with settings it
must refuse, in check mode with ``--diff`` (so that a broken refusal cannot
change this machine either), and checks: the play failed, the role's message
names the problem, and nothing would have changed before the refusal (no task
reported a change, no diff was printed). Refusals that need a node's state
(an unknown time zone on a node with tzdata, a repository that cannot be
opened, a disk listed twice against real disks) are in the Molecule scenarios.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'role_refusal.yml')
BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.slow

FIREWALL = {'firewall_admin_networks': ['10.213.0.0/24']}
RESTIC_REPO = {'name': 'local', 'type': 'local', 'path': '/srv/restic', 'password': 'x'}
RESTIC_BACKUP = {'name': 'etc', 'repository': 'local', 'paths': ['/etc']}
ARTIFACT = {
    'artifact_name': 'hello', 'artifact_version': '1.0.0',
    'artifact_url': 'https://example.invalid/{version}/hello-{arch}',
    'artifact_sha256': {'amd64': 64 * 'a', 'arm64': 64 * 'a'},
}


def run_refusal(tmp_path, role, variables):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_FORCE_COLOR='0', ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'),
               ANSIBLE_INVENTORY_UNPARSED_WARNING='0', ANSIBLE_LOCALHOST_WARNING='0')
    env['PATH'] = BIN + os.pathsep + env.get('PATH', '')
    extra = tmp_path / 'vars.json'
    extra.write_text(json.dumps(dict(variables, refusal_role=role)))
    command = [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
               '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', '@%s' % extra,
               '--check', '--diff', PLAYBOOK]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    out = proc.stdout + proc.stderr
    recap = re.search(r'^localhost\s*: ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)', out, re.M)
    assert proc.returncode != 0 and recap, out[-4000:]
    assert recap.group(2) == '1', out[-4000:]
    assert recap.group(1) == '0', 'a task changed something before the refusal:\n' + out[-4000:]
    assert '--- before' not in out and '+++ after' not in out, out[-4000:]
    return ' '.join(out.split())  # messages are folded YAML: compare with single spaces


@pytest.mark.parametrize('variables, message', [
    ({'firewall_admin_networks': []}, 'firewall_admin_networks is empty'),
    ({'firewall_admin_networks': ['999.1.1.1']},
     "Not an IP address or CIDR: firewall_admin_networks[0]: '999.1.1.1' is not an IP address"),
    (dict(FIREWALL, firewall_cluster_networks=['10.42.0.1/16']),
     'firewall_cluster_networks[0]: 10.42.0.1/16 has host bits set (the network is 10.42.0.0/16)'),
    (dict(FIREWALL, firewall_k3s_server_addresses=['fd42::1::2']),
     "firewall_k3s_server_addresses[0]: 'fd42::1::2' is not an IP address"),
    (dict(FIREWALL, firewall_extra_rules_nas=[{'port': 2049, 'sources': ['10.0.0.300']}]),
     "sources of firewall_extra_rules_*[0]: '10.0.0.300' is not an IP address"),
    (dict(FIREWALL, firewall_extra_rules_nas=[{'port': 2049, 'rule': 'accept'}]),
     'Bad rule {'),
    (dict(FIREWALL, firewall_extra_rules_nas=[{'port': 53, 'proto': 'icmp'}]),
     'firewall_extra_rules_nas: give either {port: N'),
    (dict(FIREWALL, firewall_extra_rules_nas=[{'comment': 'no port, no rule'}]),
     'firewall_extra_rules_nas: give either {port: N'),
], ids=['empty-admin-networks', 'bad-admin-address', 'host-bits', 'bad-server-address',
        'bad-rule-source', 'rule-and-port', 'bad-proto', 'neither-rule-nor-port'])
def test_firewall_refusals(tmp_path, variables, message):
    assert message in run_refusal(tmp_path, 'firewall', variables)


# An admin key, so that only the kernel parameters are refused (this machine is reached as root).
SECURITY = {'security_admin_authorized_keys': ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRefusalTestKeyOnly refusal@test']}
SYSCTL_REFUSAL = ('security_sysctl_settings / security_sysctl_extra_settings would turn off packet forwarding or touch '
                  'bridge netfilter, which K3s and Cilium need. Remove those keys.')


@pytest.mark.parametrize('variables', [
    dict(SECURITY, security_sysctl_extra_settings={'net.ipv4.ip_forward': 0}),
    dict(SECURITY, security_sysctl_extra_settings={'net.ipv6.conf.all.forwarding': '0'}),
    dict(SECURITY, security_sysctl_extra_settings={'net.bridge.bridge-nf-call-iptables': 1}),
], ids=['ipv4-forwarding-off', 'ipv6-forwarding-off', 'bridge-netfilter'])
def test_security_sysctl_refusals(tmp_path, variables):
    out = run_refusal(tmp_path, 'security', variables)
    assert SYSCTL_REFUSAL in out
    assert 'Refusing to change anything' not in out, 'the lockout check refused too: ' + out[-2000:]


NTP_SETTINGS = ('ntp_cluster_time_servers must name inventory hosts')


@pytest.mark.parametrize('variables', [
    {'ntp_cluster_time_servers': ['not-in-inventory']},
    {'ntp_cluster_time_servers': ['localhost'], 'ntp_allow_networks': []},
    {'ntp_cluster_time_servers': ['localhost'], 'ntp_allow_networks': ['10.0.0.0/8'],
     'ntp_pools': [], 'ntp_servers': [], 'ntp_local_stratum': 0},
    {'ntp_pools': [], 'ntp_servers': [], 'ntp_local_stratum': 0},
], ids=['server-not-in-inventory', 'server-without-allow', 'server-without-source',
        'node-without-source'])
def test_ntp_time_server_refusals(tmp_path, variables):
    assert NTP_SETTINGS in run_refusal(tmp_path, 'ntp', variables)


@pytest.mark.parametrize('variables, message', [
    ({'restic_repositories': [RESTIC_REPO, dict(RESTIC_REPO, path='/srv/other')]},
     "repository name 'local' is used twice"),
    ({'restic_repositories': [RESTIC_REPO], 'restic_backups': [RESTIC_BACKUP, RESTIC_BACKUP]},
     "backup set name 'etc' is used twice"),
    ({'restic_repositories': [dict(RESTIC_REPO, path="/srv/it's")]},
     'repository local has a quote, backslash, dollar, backtick or newline in a setting'),
    ({'restic_repositories': [dict(RESTIC_REPO, path='/srv/$HOME')]},
     'repository local has a quote, backslash, dollar, backtick or newline in a setting'),
    ({'restic_repositories': [dict(RESTIC_REPO, name='bad name')]},
     "name 'bad name' must match"),
    ({'restic_repositories': [dict(RESTIC_REPO, ca_cert_file='/pki/ca.crt')]},
     'repository local has ca_cert_file, which applies to an s3 repository with an https:// endpoint only'),
    ({'restic_repositories': [{'name': 'minio', 'type': 's3', 'endpoint': 'http://10.0.0.5:9000', 'bucket': 'b',
                               'access_key_id': 'k', 'secret_access_key': 's', 'password': 'x',
                               'ca_cert_file': '/pki/ca.crt'}]},
     'repository minio has ca_cert_file, which applies to an s3 repository with an https:// endpoint only'),
], ids=['repository-twice', 'backup-set-twice', 'quote', 'dollar', 'bad-name', 'cacert-local', 'cacert-http'])
def test_restic_refusals(tmp_path, variables, message):
    out = run_refusal(tmp_path, 'restic', variables)
    assert message in out and 'Nothing was changed.' in out
    assert "password" not in out.lower().replace('restic_repositories', ''), out


def test_artifact_refuses_an_unknown_architecture(tmp_path):
    out = run_refusal(tmp_path, 'artifact', dict(ARTIFACT, artifact_arch_map={'riscv64': 'riscv64'},
                                                 artifact_link=str(tmp_path / 'hello')))
    assert re.search(r'artifact hello 1\.0\.0: node architecture \S+ has no entry in artifact_arch_map '
                     r'\(known: riscv64\)', out), out
    assert not (tmp_path / 'hello').exists()


def test_artifact_refuses_without_a_checksum_source(tmp_path):
    out = run_refusal(tmp_path, 'artifact', dict(ARTIFACT, artifact_sha256={}, artifact_link=str(tmp_path / 'hello'),
                                                 artifact_cache_dir=str(tmp_path / 'cache')))
    assert 'no pinned sha256 in artifact_sha256 and no artifact_checksums_url' in out
    assert not (tmp_path / 'cache').exists()


def test_artifact_refuses_a_regular_file_at_the_link_path(tmp_path):
    link = tmp_path / 'hello'
    link.write_text('a manual install\n')
    before = os.stat(str(link))
    out = run_refusal(tmp_path, 'artifact', dict(ARTIFACT, artifact_link=str(link),
                                                 artifact_cache_dir=str(tmp_path / 'cache'),
                                                 artifact_install_dir=str(tmp_path / 'bin')))
    assert 'artifact hello: %s exists and is not a symlink (probably a manual install)' % link in out
    after = os.stat(str(link))
    assert link.read_text() == 'a manual install\n' and (after.st_ino, after.st_mtime) == (before.st_ino, before.st_mtime)
    assert not (tmp_path / 'cache').exists() and not (tmp_path / 'bin').exists()


def test_firewall_ruleset_preview_puts_each_address_in_its_family(tmp_path):
    """Not a refusal: the check-mode --diff preview of the ruleset on localhost.

    The addresses passed the parser, so the template tells the families apart
    by the colon alone; the preview shows which nft statement each one got.
    """
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'), ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_LOCALHOST_WARNING='0')
    env['PATH'] = BIN + os.pathsep + env.get('PATH', '')
    extra = tmp_path / 'vars.json'
    extra.write_text(json.dumps({
        'refusal_role': 'firewall',
        'firewall_admin_networks': ['10.213.0.0/24', 'fd42:6b33:2e00::/64'],
        'firewall_k3s_server_addresses': ['10.213.0.11', 'fd42:6b33:2e00::b'],
        'firewall_ruleset_path': str(tmp_path / 'homelab.nft'),
        'firewall_extra_rules_nas': [{'port': 2049, 'sources': ['192.168.1.0/24', 'fd00:1::/64'], 'comment': 'nfs'}],
    }))
    command = [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
               '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', '@%s' % extra,
               '--check', '--diff', PLAYBOOK]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr[-2000:]
    task = out.split('TASK [homelab.k3s.firewall : Write the homelab nftables table and the unit that loads it at boot]', 1)[1]
    # the task's diff of the ruleset file (the unit's diff follows it)
    ruleset = task.split('TASK [', 1)[0].split('+++ after: %s\n' % (tmp_path / 'homelab.nft'), 1)[1].split('--- before:', 1)[0]
    added = '\n'.join(line[1:] for line in ruleset.splitlines() if line.startswith('+'))
    assert re.search(r'set admin_v4 \{[^}]*elements = \{ 10\.213\.0\.0/24 \}', added), added
    assert re.search(r'set admin_v6 \{[^}]*elements = \{ fd42:6b33:2e00::/64 \}', added), added
    assert re.search(r'set etcd_peers_v4 \{[^}]*elements = \{ 10\.213\.0\.11 \}', added), added
    assert re.search(r'set etcd_peers_v6 \{[^}]*elements = \{ fd42:6b33:2e00::b \}', added), added
    assert 'ip saddr { 192.168.1.0/24 } tcp dport { 2049 } accept comment "nfs"' in added, added
    assert 'ip6 saddr { fd00:1::/64 } tcp dport { 2049 } accept comment "nfs"' in added, added
    assert not (tmp_path / 'homelab.nft').exists()


@pytest.mark.parametrize('variables, message', [
    ({'minio_pools': ['http://minio{1...17}/srv/minio/data']},
     'minio_pools[0]: number of drives 17 is not divisible by any supported erasure set sizes'),
    ({'minio_pools': ['http://minio1/srv/minio/data']}, "minio_pools[0]: 'http://minio1/srv/minio/data' has no {N...M} range"),
    ({'minio_data_dirs': ['relative/dir']}, 'minio_data_dirs: give at least one absolute path'),
    ({'minio_tls_mode': 'files', 'minio_tls_key_file': '/pki/minio.key'},
     'minio_tls_mode: files needs minio_tls_cert_file (PEM files on the controller)'),
    ({'minio_tls_mode': 'private_ca'}, 'minio_tls_mode: private_ca needs minio_tls_private_ca_dir'),
    ({'minio_tls_mode': 'private_ca', 'minio_tls_private_ca_dir': '/pki', 'minio_flavour': 'rustfs'},
     'minio_tls_mode: private_ca is refused with minio_flavour: rustfs'),
], ids=['erasure-set-size', 'no-expansion', 'relative-dir', 'tls-files-no-cert', 'tls-private-ca-no-dir',
        'tls-rustfs'])
def test_minio_layout_refusals(tmp_path, variables, message):
    out = run_refusal(tmp_path, 'minio', variables)
    assert message in out, out[-4000:]


NFS_EXPORT = {'path': '/srv/nfs/k3s'}


@pytest.mark.parametrize('variables, messages', [
    ({'nfs_server_client_networks': ['10.0.0.0/24']}, ['nfs_server_exports is empty: list the directories to export']),
    ({'nfs_server_exports': [NFS_EXPORT], 'nfs_server_client_networks': []},
     ['export /srv/nfs/k3s has no clients (nfs_server_client_networks is empty)']),
    ({'nfs_server_exports': [{'path': 'srv/nfs'}, dict(NFS_EXPORT, options='rw,no_root_sqash'),
                             dict(NFS_EXPORT, clients=['10.0.0.300/32'])],
      'nfs_server_client_networks': ['10.0.0.0/24'], 'nfs_server_versions': []},
     ['export path srv/nfs is not absolute',
      'export /srv/nfs/k3s: unknown export option "no_root_sqash" (exports(5))',
      "not an IP address or network: nfs_server clients[2]: '10.0.0.300/32' is not a valid CIDR",
      'nfs_server_versions is empty: the server would serve nothing']),
], ids=['no-exports', 'no-clients', 'path-option-address-versions'])
def test_nfs_server_refusals(tmp_path, variables, messages):
    out = run_refusal(tmp_path, 'nfs_server', variables)
    for message in messages:
        assert message in out, out


SMB_USER = {'name': 'k3s', 'password': 'Secret-Pass-0123'}
SMB_SHARE = {'name': 'data', 'path': '/srv/smb/data', 'users': ['k3s']}


@pytest.mark.parametrize('variables, messages', [
    ({'smb_server_users': [SMB_USER], 'smb_server_client_networks': []},
     ['smb_server_shares is empty: list the shares',
      'smb_server_client_networks is empty: the shares would be open to nobody']),
    ({'smb_server_users': [{'name': 'Bad User', 'password': 'short'}],
      'smb_server_shares': [{'name': 'data', 'path': 'srv/smb', 'users': ['nobody-here']},
                            {'name': 'empty', 'path': '/srv/smb/e', 'users': []}],
      'smb_server_client_networks': ['10.0.0.1/16']},
     ['user Bad User has no password of at least 8 characters',
      'user name Bad User is not a valid Linux user name',
      'share data: path srv/smb is not absolute',
      'share data: user nobody-here is not in smb_server_users',
      'share empty has no users',
      'not an IP address or network: smb_server_client_networks[0]: 10.0.0.1/16 has host bits set']),
], ids=['no-shares-no-clients', 'users-shares-addresses'])
def test_smb_server_refusals(tmp_path, variables, messages):
    out = run_refusal(tmp_path, 'smb_server', variables)
    for message in messages:
        assert message in out, out
    assert 'Secret-Pass-0123' not in out and "'short'" not in out, out


@pytest.mark.parametrize('variables, messages', [
    ({'csi_drivers_nfs_server': '10.0.0.20', 'csi_drivers_nfs_share': 'srv/nfs'},
     ['the NFS StorageClass needs the absolute path of an export (csi_drivers_nfs_share is "srv/nfs"']),
    ({'csi_drivers_smb_source': '//10.0.0.2', 'csi_drivers_smb_username': 'k3s', 'csi_drivers_smb_password': ''},
     ['the SMB StorageClass needs a source //server/share (is "//10.0.0.2")',
      'csi_drivers_smb_username "k3s" has no password in smb_server_users of the server or csi_drivers_smb_password']),
], ids=['nfs-share', 'smb-source-password'])
def test_csi_drivers_refusals(tmp_path, variables, messages):
    out = run_refusal(tmp_path, 'csi_drivers', variables)
    for message in messages:
        assert message in out, out


def test_artifact_refuses_a_symbolic_mode_before_any_change(tmp_path):
    out = run_refusal(tmp_path, 'artifact', dict(ARTIFACT, artifact_mode='u=rwx,go=rx',
                                                 artifact_link=str(tmp_path / 'hello'),
                                                 artifact_cache_dir=str(tmp_path / 'cache'),
                                                 artifact_install_dir=str(tmp_path / 'bin')))
    assert ("artifact hello 1.0.0: mode 'u=rwx,go=rx' is not an octal mode such as 0755 (symbolic modes are not "
            "supported).") in out, out
    assert not (tmp_path / 'cache').exists() and not (tmp_path / 'bin').exists()
    assert not os.path.lexists(str(tmp_path / 'hello'))
