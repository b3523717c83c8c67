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


import pytest

from localhost_playbook import run_localhost_playbook


pytestmark = pytest.mark.slow


def render(tmp_path, variables):
    run_localhost_playbook('minio_render.yml', tmp_path,
                           dict(variables, render_dir=str(tmp_path), minio_allow_root_filesystem=True))
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
