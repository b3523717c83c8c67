#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: artifact_place
short_description: Check or place a verified versioned file and its stable symlink on a node
version_added: 1.0.0
description:
  - The node half of the role C(homelab.k3s.artifact), normally run by the action
    M(homelab.k3s.artifact_install) and not written in a playbook.
  - Refuses, before any change, a O(link) path that exists and is not a symlink.
  - With O(inspect=true) only reads the node and returns what it found in RV(state) - the directory of O(path),
    the file at O(path) with its sha256, mode and owner, and the target of O(link).
  - Otherwise makes the directory of O(path) exist (root:root, 0755), places O(src) (a copy already on the node,
    checked against O(sha256)) at O(path) with an atomic move when the file there is missing or has another
    sha256, sets O(owner), O(group) and O(mode), and points O(link) at O(path) by renaming a new symlink over
    the old one (atomic); a missing parent directory of O(link) is created (0755).
author:
  - homelab.k3s maintainers (@homelab-k3s)
attributes:
  check_mode:
    support: full
    description: Reports the changes (and a diff) without making them.
  diff_mode:
    support: full
    description: Shows the file (sha256, mode, owner) and the link target before and after.
  idempotent:
    support: full
    description: Nothing is changed when the file, its attributes and the link are right.
options:
  name:
    description: Name of the program, used in the messages.
    type: str
    required: true
  path:
    description: The versioned file, for example C(/usr/local/lib/homelab-k3s/bin/restic-0.17.3).
    type: path
    required: true
  link:
    description: The stable symlink pointing at O(path).
    type: path
    required: true
  sha256:
    description: sha256 the file at O(path) must have. Required unless O(inspect=true).
    type: str
    default: ""
  src:
    description:
      - A copy of the file on the node, moved to O(path) when the file there is missing or differs; it must have
        the sha256 O(sha256). Without it, a missing or different file is an error.
    type: path
  mode:
    description: Octal mode of the file at O(path).
    type: str
    default: "0755"
  owner:
    description: Owner of the file at O(path).
    type: str
    default: root
  group:
    description: Group of the file at O(path).
    type: str
    default: root
  inspect:
    description: Only read the node and return RV(state); change nothing.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Point the restic link at a version already installed
  homelab.k3s.artifact_place:
    name: restic
    path: /usr/local/lib/homelab-k3s/bin/restic-0.17.3
    link: /usr/local/bin/restic
    sha256: 3f9f9a8f6e2b5f0f54ad1a1b5a0a8f8c0c4f2b7dc1b3e0a0d7e1c5b0b2f4e6a8
'''

RETURN = r'''
state:
  description: What was found on the node before any change.
  returned: always
  type: dict
  contains:
    dir:
      description: Type, mode, owner and group of the directory of O(path); null when missing.
      type: dict
    file:
      description: Type, mode, owner, group and (for a regular file) sha256 of O(path); null when missing.
      type: dict
    link:
      description: Target of O(link); null when there is no symlink.
      type: str
changes:
  description: The changes made (or, in check mode, needed) - C(directory), C(file), C(attributes), C(link).
  returned: unless O(inspect=true)
  type: list
  elements: str
  sample: [file, link]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homelab.k3s.plugins.module_utils.artifact_place import PlaceError, apply, diff, inspect, plan


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            path=dict(type='path', required=True),
            link=dict(type='path', required=True),
            sha256=dict(type='str', default=''),
            src=dict(type='path'),
            mode=dict(type='str', default='0755'),
            owner=dict(type='str', default='root'),
            group=dict(type='str', default='root'),
            inspect=dict(type='bool', default=False),
        ),
        required_if=[('inspect', False, ('sha256',))],
        supports_check_mode=True,
    )
    p = module.params
    try:
        state = inspect(p['name'], p['path'], p['link'])
        if p['inspect']:
            module.exit_json(changed=False, state=state)
        wanted = (p['path'], p['sha256'].lower(), p['mode'], p['owner'], p['group'])
        changes = plan(state, *wanted)
        result = dict(changed=bool(changes), state=state, changes=changes)
        if changes and module._diff:
            result['diff'] = diff(state, p['path'], p['link'], *wanted[1:])
        if changes and not module.check_mode:
            result['changes'] = apply(p['name'], p['path'], p['link'], *wanted[1:], src=p['src'],
                                      move=module.atomic_move)
    except (PlaceError, OSError) as err:
        module.fail_json(msg=str(err))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
