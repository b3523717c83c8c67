# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: minio_prometheus_token.yml (sidecar file).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").


def minio_prometheus_token(access_key, secret_key):
    """The bearer token of MinIO's metrics endpoint for this key pair."""
    from ansible_collections.homelab.k3s.plugins.module_utils.minio_prometheus import prometheus_token
    try:
        return prometheus_token(access_key, secret_key)
    except ValueError as exc:
        raise AnsibleFilterError(to_native(exc))


class FilterModule(object):

    def filters(self):
        return {'minio_prometheus_token': minio_prometheus_token}
