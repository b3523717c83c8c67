# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: private_ca_sans.yml (sidecar file).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").


def private_ca_sans(names, where='private_ca_sans'):
    """IP:/DNS: subject alternative names for names and addresses."""
    from ansible_collections.homelab.k3s.plugins.module_utils.private_ca import PrivateCaError, private_ca_sans as _sans
    try:
        return _sans(names, where)
    except PrivateCaError as exc:
        raise AnsibleFilterError(to_native(exc))


class FilterModule(object):

    def filters(self):
        return {'private_ca_sans': private_ca_sans}
