# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: minio_layout.yml (sidecar file).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").


def minio_layout(pools, data_dirs=None):
    """MINIO_VOLUMES and the local drives for minio_pools / minio_data_dirs."""
    from ansible_collections.homelab.k3s.plugins.module_utils.minio_layout import MinioLayoutError, layout
    try:
        return layout(pools, data_dirs)
    except MinioLayoutError as exc:
        raise AnsibleFilterError(to_native(exc))


class FilterModule(object):

    def filters(self):
        return {'minio_layout': minio_layout}
