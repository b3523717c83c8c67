# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: overlaps.yml (sidecar file).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").


def overlaps(value, other):
    """True when any address, range or CIDR in ``value`` overlaps one in ``other``."""
    from ansible_collections.homelab.k3s.plugins.module_utils.network_plan import (
        MissingNetaddrError,
        NetworkPlanError,
        spans_overlap,
    )
    try:
        return spans_overlap(value, other)
    except (NetworkPlanError, MissingNetaddrError) as exc:
        raise AnsibleFilterError('overlaps: %s' % to_native(exc))


class TestModule(object):

    def tests(self):
        return {'overlaps': overlaps}
