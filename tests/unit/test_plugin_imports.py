# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter and test plugin files import the collection's module_utils inside their functions.

Ansible loads every filter (test) file of the collection in each worker process that uses any one
of them (docs/CONTRIBUTING.md, "Filter and test plugins"): a top-level import would make each such
worker import every module_utils the files use.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ast
import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = sorted(glob.glob(os.path.join(ROOT, 'plugins', 'filter', '*.py'))
               + glob.glob(os.path.join(ROOT, 'plugins', 'test', '*.py')))


def _top_level_imports(path):
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name


@pytest.mark.parametrize('path', FILES, ids=[os.path.relpath(p, ROOT) for p in FILES])
def test_no_module_utils_import_at_the_top(path):
    assert [name for name in _top_level_imports(path) if name.startswith('ansible_collections.')] == []


def test_loading_every_filter_file_imports_no_module_utils():
    """What a worker does on its first use of one of the collection's filters, in a fresh interpreter."""
    script = (
        'import sys\n'
        'from ansible.plugins.loader import init_plugin_loader\n'
        'init_plugin_loader([sys.argv[1]])\n'
        'from ansible.parsing.dataloader import DataLoader\n'
        'from ansible.template import Templar, trust_as_template\n'
        'templar = Templar(loader=DataLoader(), variables={})\n'
        'assert templar.template(trust_as_template("{{ \'90s\' | homelab.k3s.go_duration_seconds }}")) == 90.0\n'
        'loaded = sorted(m for m in sys.modules if ".plugins.module_utils." in m)\n'
        'print(" ".join(loaded))\n')
    collections = os.path.join(ROOT, '.cache', 'collections')  # linked by tests/conftest.py
    proc = subprocess.run([sys.executable, '-c', script, collections], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    # the filter used imports its own module_utils, and no other
    assert proc.stdout.split() == ['ansible_collections.homelab.k3s.plugins.module_utils.go_duration'], proc.stdout
