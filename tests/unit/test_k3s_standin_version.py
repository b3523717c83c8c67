# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``k3s --version`` of the K3s stand-in: what homelab.k3s.k3s_node's probe parses on every run,
answered without importing the API emulator or etcd (the probe stays as cheap as the real binary's)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re
import subprocess
import sys

import pytest

STANDINS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'standins')


@pytest.mark.parametrize('args', [['--version'], ['-v'], ['version'], []])
def test_version_without_the_server_imports(args):
    # Only the stand-in's own package on the path: an import of the API emulator (pylib) would fail.
    env = dict(os.environ, PYTHONPATH=STANDINS, K3S_STANDIN_VERSION='v1.34.2+k3s1')
    out = subprocess.run([sys.executable, '-X', 'importtime', '-m', 'k3s_standin'] + args, env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    # the probe's pattern (roles/k3s_node/tasks/probe.yml)
    assert re.search(r'k3s version (\S+)', out.stdout).group(1) == 'v1.34.2+k3s1'
    imported = re.findall(r'\|\s+(\S+)$', out.stderr, re.MULTILINE)
    assert 'k3s_standin.version' in imported
    assert not [name for name in imported if name.startswith(('k3s_standin.standin', 'k8s_emulator', 'yaml'))]
