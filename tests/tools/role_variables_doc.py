# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the role variable tables of docs/*.md from each role's meta/argument_specs.yml.

The argument specs are the one source of truth (``ansible-doc -t role homelab.k3s.<role>``
shows the same); the docs only carry a generated copy between two markers:

    <!-- role-variables: security main -->
    ...generated table...
    <!-- end role-variables -->

Usage (from the checkout):
    python3 tests/tools/role_variables_doc.py          # rewrite the tables
    python3 tests/tools/role_variables_doc.py --check  # exit 1 and name each stale table
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import argparse
import glob
import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BLOCK = re.compile(r'(<!-- role-variables: (?P<role>[a-z0-9_]+) (?P<entry>[a-z0-9_]+) -->\n)'
                   r'(?P<body>.*?)'
                   r'(?P<end><!-- end role-variables -->)', re.S)
MARKUP = [
    (re.compile(r'L\(([^,]+),\s*([^)]+)\)'), r'[\1](\2)'),
    (re.compile(r'[CVOP]\(([^)]*)\)'), r'`\1`'),
    (re.compile(r'I\(([^)]*)\)'), r'*\1*'),
    (re.compile(r'[BU]\(([^)]*)\)'), r'\1'),
]
LONG_DEFAULT = 60


def _text(description):
    if isinstance(description, list):
        description = ' '.join(description)
    text = ' '.join(str(description or '').split())
    for pattern, replacement in MARKUP:
        text = pattern.sub(replacement, text)
    return text.replace('|', '\\|')


def _default(option, defaults):
    if option.get('required'):
        return 'required'
    if 'default' in option:
        value = option['default']
    elif option['name'] in defaults:  # the specs may leave it to defaults/main.yml
        value = defaults[option['name']]
    else:
        return ''
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if isinstance(value, str) and (value == '' or value.strip() != value):
        text = json.dumps(value)
    if len(text) > LONG_DEFAULT:
        return 'see `defaults/main.yml`'
    return '`%s`' % text.replace('|', '\\|').replace('`', "'")


def _type(option):
    kind = option.get('type', 'str')
    if kind == 'list' and option.get('elements'):
        kind = 'list of %s' % option['elements']
    if option.get('choices'):
        kind += ': ' + ', '.join('`%s`' % choice for choice in option['choices'])
    return kind


def table(role, entry, root=ROOT):
    """The Markdown table of one entry point of a role."""
    path = os.path.join(root, 'roles', role, 'meta', 'argument_specs.yml')
    with open(path) as handle:
        specs = yaml.safe_load(handle)['argument_specs']
    if entry not in specs:
        raise KeyError('%s has no entry point %r' % (path, entry))
    defaults = {}
    if entry == 'main' and os.path.exists(os.path.join(root, 'roles', role, 'defaults', 'main.yml')):
        with open(os.path.join(root, 'roles', role, 'defaults', 'main.yml')) as handle:
            defaults = yaml.safe_load(handle) or {}
    lines = ['Generated from `roles/%s/meta/argument_specs.yml` (`ansible-doc -t role homelab.k3s.%s`'
             ' shows the same); edit the specs, then run `python3 tests/tools/role_variables_doc.py`.'
             % (role, role), '',
             '| Variable | Type | Default | Meaning |', '|---|---|---|---|']
    for name, option in sorted(specs[entry].get('options', {}).items()):
        lines.append('| `%s` | %s | %s | %s |' % (
            name, _type(option), _default(dict(option, name=name), defaults), _text(option.get('description'))))
    return '\n'.join(lines) + '\n'


def render(text, root=ROOT):
    """The document with every marked table regenerated."""
    return BLOCK.sub(lambda m: m.group(1) + table(m.group('role'), m.group('entry'), root) + m.group('end'), text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='only report stale tables')
    args = parser.parse_args(argv)
    stale = []
    for path in sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md'))):
        with open(path) as handle:
            text = handle.read()
        new = render(text)
        if new != text:
            stale.append(os.path.relpath(path, ROOT))
            if not args.check:
                with open(path, 'w') as handle:
                    handle.write(new)
    if args.check and stale:
        print('stale role variable tables in: %s (run python3 tests/tools/role_variables_doc.py)'
              % ', '.join(stale), file=sys.stderr)
        return 1
    for path in stale:
        print('rewrote %s' % path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
