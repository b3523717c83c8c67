#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: storage_preflight
short_description: Check a disk/LVM/mount request against a node before anything changes
version_added: 1.0.0
description:
  - Inspects block devices (C(lsblk), C(blkid --probe)), LVM (C(vgs), C(lvs), C(pvs)) and mounts,
    read-only, and compares them with the request of the C(homelab.k3s.storage) role.
  - Returns every problem found (missing device, foreign filesystem or VG, shrink, not enough space,
    occupied or non-empty mount point), each naming the device and the numbers, and fails when
    there is one. Never changes anything.
author:
  - homelab.k3s maintainers (@homelab-k3s)
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
  idempotent:
    support: full
    description: Reading the node twice gives the same answer.
options:
  volume_groups:
    description: VGs, each with C(name) and C(devices) (list of device paths).
    type: list
    elements: dict
    default: []
  volumes:
    description: LVs, each with C(name), C(vg), C(size), C(filesystem) and optional C(mount), C(allow_nonempty_mount).
    type: list
    elements: dict
    default: []
  plain_disks:
    description: Disks without LVM, each with C(device), C(partition), C(filesystem) and optional C(mount).
    type: list
    elements: dict
    default: []
  force_devices:
    description: Devices that may be wiped although they hold a signature.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Check the storage request before any change
  homelab.k3s.storage_preflight:
    volume_groups: [{name: data, devices: [/dev/sdb]}]
    volumes: [{name: k3s, vg: data, size: 20G, filesystem: ext4, mount: /var/lib/rancher}]
"""

RETURN = r"""
problems:
  description: Every problem found; empty when the request can be applied.
  returned: always
  type: list
  elements: str
plan:
  description: C(wipe_devices) (forced devices to wipe), C(keep_size_volumes) (C(vg/lv) with %FREE sizes that exist),
    C(create_partitions) (disks that get a new partition table).
  returned: always
  type: dict
facts:
  description: The inspected devices and LVM state.
  returned: always
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.k3s.plugins.module_utils.storage_preflight import BlockInspector, check_storage


def _read_text(path):
    with open(path) as handle:
        return handle.read()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            volume_groups=dict(type="list", elements="dict", default=[]),
            volumes=dict(type="list", elements="dict", default=[]),
            plain_disks=dict(type="list", elements="dict", default=[]),
            force_devices=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )

    def run(argv):
        binary = module.get_bin_path(argv[0], opt_dirs=["/sbin", "/usr/sbin"])
        if binary is None:
            raise OSError("%s not found" % argv[0])
        return module.run_command([binary] + argv[1:], environ_update={"LC_ALL": "C"})

    inspector = BlockInspector(run, os.path.exists, os.path.realpath, os.listdir, _read_text)
    try:
        result = check_storage(module.params, inspector)
    except (RuntimeError, ValueError) as exc:
        module.fail_json(msg="storage preflight could not inspect the node: %s" % exc)
    if result["problems"]:
        module.fail_json(msg="storage: refusing to change anything on this node: " + "; ".join(result["problems"]),
                         **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
