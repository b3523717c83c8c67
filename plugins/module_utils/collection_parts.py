# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which roles an inventory relies on that the installed collection does not have.

An inventory can be written before every part it needs exists (the seed
inventories are): it names the roles it expects, and preflight says which of
them this version of the collection lacks, instead of silently skipping them.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

ROLE_NAME_RE = re.compile(r'^[a-z][a-z0-9_]*$')


def collection_roles(roles_dir):
    """Names of the roles in ``roles_dir`` (directories with tasks/main.yml or .yaml)."""
    if not os.path.isdir(roles_dir):
        return []
    return sorted(name for name in os.listdir(roles_dir)
                  if os.path.isfile(os.path.join(roles_dir, name, 'tasks', 'main.yml'))
                  or os.path.isfile(os.path.join(roles_dir, name, 'tasks', 'main.yaml')))


def missing_roles(expected, available, collection='homelab.k3s'):
    """One message per expected role that is not in ``available``.

    ``expected`` maps a role name to what the inventory needs it for (a list
    of names is accepted too). Raises ValueError naming the bad entry when a
    name is not a role name.
    """
    if isinstance(expected, (list, tuple)):
        expected = dict((name, '') for name in expected)
    if not isinstance(expected, dict):
        raise ValueError('expected roles: a mapping of role name to purpose, got %r'
                         % (expected,))
    messages = []
    for name in sorted(expected, key=str):
        if not isinstance(name, str) or not ROLE_NAME_RE.match(name):
            raise ValueError('expected roles: %r is not a role name (lowercase letters, digits, _)'
                             % (name,))
        if name in available:
            continue
        purpose = expected[name]
        messages.append('role %s.%s%s is not in this version of the collection: '
                        'that part is not set up yet'
                        % (collection, name, ' (%s)' % purpose if purpose else ''))
    return messages
