# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The security role's probe of the admin user's .ssh and authorized_keys agrees with the modules.

The role runs ``ansible.builtin.file`` (.ssh) and ``ansible.builtin.blockinfile``
(authorized_keys) only when its probe (tasks/preflight.yml, derived in vars/main.yml) finds
them off. Each case here lays out a home on this machine; the role's real probe script runs on
it (getent and dpkg-query stubbed, so it reads that home for the current user) and both modules
run in check mode with the role's arguments: the probe must call a part right exactly when its
module would change nothing (blockinfile's rules: the last BEGIN marker before the last END
marker, whole lines ending with a newline; lines outside the block are the user's).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import pwd
import shlex

import jinja2
import pytest
import yaml

from localhost_playbook import ROOT, run_localhost_playbook

pytestmark = pytest.mark.slow

KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeysProbeTestKeyNotUsedAnywhere0000000000 admin@controller'
OTHER = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUsersOwnKeyOutsideTheBlock000000000000000 user@laptop'
BEGIN = '# BEGIN homelab.k3s security role: admin keys'
END = '# END homelab.k3s security role: admin keys'

# name, authorized_keys content (None: no file), its mode, .ssh mode, keys, expected [dir ok, keys ok]
CASES = [
    ('block only', BEGIN + '\n' + KEY + '\n' + END + '\n', 0o600, 0o700, [KEY], [True, True]),
    ('user keys before and after the block', OTHER + '\n' + BEGIN + '\n' + KEY + '\n' + END + '\n' + OTHER + '\n',
     0o600, 0o700, [KEY], [True, True]),
    ('two keys, the last one empty', BEGIN + '\nk1\nk2\n' + END + '\n', 0o600, 0o700, ['k1', 'k2', ''], [True, True]),
    ('an empty line in the block', BEGIN + '\nk1\n\nk2\n' + END + '\n', 0o600, 0o700, ['k1', '', 'k2'], [True, True]),
    ('a stale block before the right one', BEGIN + '\nold\n' + END + '\n' + BEGIN + '\n' + KEY + '\n' + END + '\n',
     0o600, 0o700, [KEY], [True, True]),
    ('no file', None, None, 0o700, [KEY], [True, False]),
    ('no .ssh', None, None, None, [KEY], [False, False]),
    ('authorized_keys 0644, .ssh 0755', BEGIN + '\n' + KEY + '\n' + END + '\n', 0o644, 0o755, [KEY], [False, False]),
    ('.ssh 2700 (setgid)', BEGIN + '\n' + KEY + '\n' + END + '\n', 0o600, 0o2700, [KEY], [False, True]),
    ('key line edited', BEGIN + '\n' + KEY + ' edited\n' + END + '\n', 0o600, 0o700, [KEY], [True, False]),
    ('key line removed', BEGIN + '\n' + END + '\n' + OTHER + '\n', 0o600, 0o700, [KEY], [True, False]),
    ('a key added to the list', BEGIN + '\n' + KEY + '\n' + END + '\n', 0o600, 0o700, [KEY, OTHER], [True, False]),
    ('no block, only the user key', OTHER + '\n', 0o600, 0o700, [KEY], [True, False]),
    ('END marker without its newline', BEGIN + '\n' + KEY + '\n' + END, 0o600, 0o700, [KEY], [True, False]),
    ('markers in the wrong order', END + '\n' + KEY + '\n' + BEGIN + '\n', 0o600, 0o700, [KEY], [True, False]),
    ('a BEGIN marker after the block', BEGIN + '\n' + KEY + '\n' + END + '\n' + BEGIN + '\n', 0o600, 0o700, [KEY],
     [True, False]),
    ('CRLF line ends', BEGIN + '\r\n' + KEY + '\r\n' + END + '\r\n', 0o600, 0o700, [KEY], [True, False]),
    ('a carriage return in the key line', BEGIN + '\n' + KEY + '\r\n' + END + '\n', 0o600, 0o700, [KEY],
     [True, False]),
    ('a trailing space in the key line', BEGIN + '\n' + KEY + ' \n' + END + '\n', 0o600, 0o700, [KEY], [True, False]),
]

STUBS = {
    # the passwd entry of the current user with the case's home; no other account or group
    'getent': '#!/bin/sh\ncase $1 in\n  passwd) echo "%s:x:$(id -u):$(id -g)::$KEYS_PROBE_HOME:/bin/sh" ;;\n'
              '  group) echo "root:x:0:" ;;\nesac\n',
    'dpkg-query': '#!/bin/sh\nexit 0\n',
}


def probe_script():
    """The role's probe script as Ansible renders it (its expressions: the block markers and the
    sshd check of vars/main.yml with its kernel parameters, none here)."""
    with open(os.path.join(ROOT, 'roles', 'security', 'tasks', 'preflight.yml'), encoding='utf-8') as handle:
        tasks = yaml.safe_load(handle)
    (task,) = [t for t in tasks if t.get('register') == '__security_probe']
    with open(os.path.join(ROOT, 'roles', 'security', 'vars', 'main.yml'), encoding='utf-8') as handle:
        role_vars = yaml.safe_load(handle)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters['quote'] = shlex.quote
    return env.from_string(task['vars']['__security_probe_script']).render(
        __security_admin_keys_marker=role_vars['__security_admin_keys_marker'],
        __security_sshd_probe_script=role_vars['__security_sshd_probe_script'], __security_sysctl_applied={})


def test_probe_agrees_with_file_and_blockinfile(tmp_path):
    user = pwd.getpwuid(os.getuid()).pw_name
    stubs = tmp_path / 'stubs'
    stubs.mkdir()
    for name, text in STUBS.items():
        path = stubs / name
        path.write_text(text % user if name == 'getent' else text)
        path.chmod(0o755)
    cases = []
    for number, (name, content, keys_mode, ssh_mode, keys, expect) in enumerate(CASES):
        home = tmp_path / ('home%d' % number)
        home.mkdir()
        if ssh_mode is not None:
            (home / '.ssh').mkdir()
            (home / '.ssh').chmod(ssh_mode)
        if content is not None:
            (home / '.ssh' / 'authorized_keys').write_bytes(content.encode())
            (home / '.ssh' / 'authorized_keys').chmod(keys_mode)
        cases.append({'name': name, 'home': str(home), 'keys': keys, 'expect': expect})
    run_localhost_playbook('security_admin_keys_probe.yml', tmp_path, {
        'security_admin_user': user,
        'keys_probe_cases': cases,
        'keys_probe_script': probe_script(),
        'keys_probe_path': str(stubs) + os.pathsep + os.environ['PATH'],
    })
