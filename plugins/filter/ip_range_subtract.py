# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: ip_range_subtract.yml (sidecar file).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").


def ip_range_subtract(value, exclude, output='range'):
    """What remains of ``value`` once ``exclude`` is removed, as ranges or CIDRs."""
    from ansible_collections.homelab.k3s.plugins.module_utils.network_plan import (
        MissingNetaddrError,
        NetworkPlanError,
        format_ranges,
        subtract_ranges,
    )
    try:
        return format_ranges(subtract_ranges(value, exclude), output)
    except (NetworkPlanError, MissingNetaddrError, ValueError) as exc:
        raise AnsibleFilterError('ip_range_subtract: %s' % to_native(exc))


class FilterModule(object):

    def filters(self):
        return {'ip_range_subtract': ip_range_subtract}
