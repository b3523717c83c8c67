# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ansible-playbook from the tests with every node out of reach, and see any attempt.

The ssh executable is replaced (``ANSIBLE_SSH_EXECUTABLE``) by a stand-in that writes each call
to a contact log and fails like an unreachable host, so a test can prove that a refusal (or a
controller-only playbook) touched no node. Node facts can be given through Ansible's own jsonfile
fact cache.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import stat
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)

FAKE_SSH = """#!/bin/sh
# Test stand-in for ssh: record the contact attempt, then fail like an unreachable host.
echo "ssh $*" >> "$HOMELAB_TEST_CONTACT_LOG"
exit 255
"""


class OfflineAnsible(object):
    """ansible-playbook with the ssh stand-in; ``run`` returns (CompletedProcess, contacts)."""

    def __init__(self, directory):
        self.directory = directory
        self.contact_log = directory / 'contacts.log'
        self.fake_ssh = directory / 'ssh'
        self.fake_ssh.write_text(FAKE_SSH)
        self.fake_ssh.chmod(self.fake_ssh.stat().st_mode | stat.S_IXUSR)

    def run(self, arguments, fact_cache=None, env=None):
        environment = dict(os.environ)
        environment.update({
            'PATH': BIN + os.pathsep + environment.get('PATH', ''),
            'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'),
            'ANSIBLE_SSH_EXECUTABLE': str(self.fake_ssh),
            'ANSIBLE_SSH_RETRIES': '0',
            'ANSIBLE_TIMEOUT': '2',
            'HOMELAB_TEST_CONTACT_LOG': str(self.contact_log),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_LOCAL_TEMP': str(self.directory / 'tmp'),
        })
        if fact_cache:
            environment['ANSIBLE_CACHE_PLUGIN'] = 'ansible.builtin.jsonfile'
            environment['ANSIBLE_CACHE_PLUGIN_CONNECTION'] = str(fact_cache)
        environment.update(env or {})
        result = subprocess.run([os.path.join(BIN, 'ansible-playbook')] + list(arguments), cwd=ROOT,
                                env=environment, capture_output=True, text=True, timeout=300,
                                check=False)
        contacts = self.contact_log.read_text() if self.contact_log.exists() else ''
        return result, contacts


def write_fact_cache(directory, facts_by_host):
    """Write facts with Ansible's own jsonfile cache plugin (version-proof format)."""
    script = (
        'import json, sys\n'
        'from ansible.plugins.loader import cache_loader\n'
        'cache = cache_loader.get("jsonfile", _uri=sys.argv[1])\n'
        'for host, facts in json.loads(sys.argv[2]).items():\n'
        '    cache.set(host, facts)\n'
    )
    subprocess.run([sys.executable, '-c', script, str(directory), json.dumps(facts_by_host)],
                   check=True)
