# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: go_duration_seconds.yml (sidecar file).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").


_RAISE = object()


def go_duration_seconds(value, invalid=_RAISE):
    """``value`` (a Go duration such as 1m30s) in seconds; ``invalid`` instead of an error when given."""
    from ansible_collections.homelab.k3s.plugins.module_utils.go_duration import GoDurationError, seconds
    try:
        return seconds(value)
    except GoDurationError as exc:
        if invalid is _RAISE:
            raise AnsibleFilterError('go_duration_seconds: %s' % to_native(exc))
        return invalid


class FilterModule(object):

    def filters(self):
        return {'go_duration_seconds': go_duration_seconds}
