# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The minio role renders MINIO_VOLUMES for a distributed pool (and refuses a layout MinIO would).

The MinIO stand-in cannot run distributed erasure coding, so what is tested for distributed mode
is the role's output: /etc/default/minio and the unit rendered by the role's own tasks and
templates on localhost. The refusals are in tests/unit/plugins/module_utils/test_minio_layout.py
and, through the role, in tests/integration/test_role_refusals.py.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'minio_render.yml')
BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.slow


def render(tmp_path, variables):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'), ANSIBLE_LOCALHOST_WARNING='0',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    env['PATH'] = BIN + os.pathsep + env.get('PATH', '')
    extra = tmp_path / 'vars.json'
    extra.write_text(json.dumps(dict(variables, render_dir=str(tmp_path), minio_allow_root_filesystem=True)))
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', '@%s' % extra, PLAYBOOK],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return (tmp_path / 'minio.env').read_text(), (tmp_path / 'minio.service').read_text()


def test_distributed_pools_render_as_upstream_notation(tmp_path):
    pools = ['http://minio{1...4}.lan:9000/srv/minio/disk{1...2}', 'http://minio{5...8}.lan:9000/srv/minio/disk{1...2}']
    env, unit = render(tmp_path, {'minio_pools': pools})
    assert 'MINIO_VOLUMES="%s %s"\n' % tuple(pools) in env
    assert 'ReadWritePaths=/srv/minio/disk1 /srv/minio/disk2\n' in unit
    assert 'ExecStart=/usr/local/bin/minio server $MINIO_OPTS $MINIO_VOLUMES\n' in unit


def test_single_node_renders_its_data_dirs(tmp_path):
    env, unit = render(tmp_path, {'minio_data_dirs': ['/srv/a', '/srv/b', '/srv/c', '/srv/d']})
    assert 'MINIO_VOLUMES="/srv/a /srv/b /srv/c /srv/d"\n' in env
    assert 'ReadWritePaths=/srv/a /srv/b /srv/c /srv/d\n' in unit
