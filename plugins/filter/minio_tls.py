# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: minio_tls.yml (sidecar file).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").


def minio_tls(mode, flavour='minio', cert_file='', key_file='', ca_file='', ca_dir='', sans=None):
    """The minio role's TLS request, checked."""
    from ansible_collections.homelab.k3s.plugins.module_utils.minio_tls import MinioTlsError, minio_tls as _tls
    try:
        return _tls(mode, flavour, cert_file, key_file, ca_file, ca_dir, sans)
    except MinioTlsError as exc:
        raise AnsibleFilterError(to_native(exc))


class FilterModule(object):

    def filters(self):
        return {'minio_tls': minio_tls}
