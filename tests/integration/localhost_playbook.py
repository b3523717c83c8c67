# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one of tests/integration/playbooks on localhost (local connection, this venv's Python,
variables from a JSON file) and fail the test with the playbook's output when it fails."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def run_localhost_playbook(name, tmp_path, variables, inventory='localhost,', limit=None):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'), ANSIBLE_LOCALHOST_WARNING='0',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    env['PATH'] = BIN + os.pathsep + env.get('PATH', '')
    extra = tmp_path / 'vars.json'
    extra.write_text(json.dumps(variables))
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory, '-c', 'local',
           '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', '@%s' % extra,
           os.path.join(ROOT, 'tests', 'integration', 'playbooks', name)]
    if limit:
        cmd[3:3] = ['--limit', limit]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc
