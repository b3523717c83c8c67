# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role variable tables in docs/ are generated from meta/argument_specs.yml and current."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'tools'))

import role_variables_doc  # noqa: E402  pylint: disable=wrong-import-position


def test_docs_tables_match_the_argument_specs():
    stale = []
    for name in sorted(os.listdir(os.path.join(ROOT, 'docs'))):
        if name.endswith('.md'):
            with open(os.path.join(ROOT, 'docs', name)) as handle:
                text = handle.read()
            if role_variables_doc.render(text) != text:
                stale.append(name)
    assert not stale, 'run python3 tests/tools/role_variables_doc.py; stale: %s' % stale


def test_every_baseline_and_data_role_has_its_generated_table():
    for doc, roles in (('roles-baseline.md', ('security', 'firewall', 'ntp')),
                       ('roles-data.md', ('storage', 'restic', 'artifact'))):
        with open(os.path.join(ROOT, 'docs', doc)) as handle:
            text = handle.read()
        found = [m.group('role') for m in role_variables_doc.BLOCK.finditer(text)]
        assert found == list(roles), (doc, found)


def test_a_changed_spec_makes_the_table_stale(tmp_path):
    role = tmp_path / 'roles' / 'demo' / 'meta'
    role.mkdir(parents=True)
    spec = role / 'argument_specs.yml'
    spec.write_text('argument_specs:\n  main:\n    options:\n      demo_port:\n'
                    '        type: int\n        default: 22\n        description: C(sshd) port.\n')
    doc = '<!-- role-variables: demo main -->\nold\n<!-- end role-variables -->\n'
    current = role_variables_doc.render(doc, str(tmp_path))
    assert '| `demo_port` | int | `22` | `sshd` port. |' in current
    assert role_variables_doc.render(current, str(tmp_path)) == current
    spec.write_text(spec.read_text().replace('default: 22', 'default: 2222'))
    assert role_variables_doc.render(current, str(tmp_path)) != current
