# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: missing_roles.yml (sidecar file).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").

# plugins/filter/ -> the collection root -> roles/
ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'roles')


def missing_roles(expected):
    """Messages for the expected roles this collection does not have."""
    from ansible_collections.homelab.k3s.plugins.module_utils.collection_parts import (
        collection_roles,
        missing_roles as find_missing,
    )
    try:
        return find_missing(expected or {}, collection_roles(ROLES_DIR))
    except ValueError as exc:
        raise AnsibleFilterError(to_native(exc))


class FilterModule(object):

    def filters(self):
        return {'missing_roles': missing_roles}
