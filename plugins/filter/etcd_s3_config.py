# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: etcd_s3_config.yml (sidecar file).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# module_utils are imported in the functions (docs/CONTRIBUTING.md, "Filter and test plugins").


def etcd_s3_config(spec, embedded_etcd=True):
    """The K3s config.yaml ``etcd-s3-*`` keys for an etcd_s3 mapping."""
    from ansible_collections.homelab.k3s.plugins.module_utils.etcd_s3 import EtcdS3Error, etcd_s3_config as _config
    try:
        return _config(spec, embedded_etcd=embedded_etcd)
    except EtcdS3Error as exc:
        raise AnsibleFilterError(to_native(exc))


class FilterModule(object):

    def filters(self):
        return {'etcd_s3_config': etcd_s3_config}
