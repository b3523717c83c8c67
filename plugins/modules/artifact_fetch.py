#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: artifact_fetch
short_description: Download, verify and unpack a release file into the controller cache
version_added: 1.0.0
description:
  - The controller half of the role C(homelab.k3s.artifact) in one task. Runs only on the controller (action
    plugin) and never contacts the node; the result names the verified file to copy to the node.
  - Downloads the release file (and, without a pinned sha256, the release checksum file) into
    C(<cache_dir>/<name>/<version>/<arch>/) unless it is already there, verifies its sha256, and for a compressed
    file or an archive writes the program to C(<cache_dir>/<name>/<version>/<arch>/unpacked/).
  - A checksum mismatch removes the download from the cache and fails with both checksums; a release without a
    checksum for the file fails; nothing is returned to install in either case.
  - Safe in parallel forks without C(throttle) - an exclusive C(flock) on C(.lock) in the per-artifact cache
    directory is held while checking, downloading and unpacking, so several hosts of a play do the work once.
  - After a verification, C(<file>.verified) records the sha256, size and modification time (ns) of the file
    verified; later runs hash the download again only when its size or modification time changed. The unpacked
    program has the same kind of marker, naming the sha256 of the download it came from.
  - O(mirror) replaces the upstream location - a directory on the controller (an absolute path) or a
    C(http://), C(https://) or C(file://) base URL in which the file name of O(url) (and of O(checksums_url))
    is looked up.
author:
  - homelab.k3s maintainers (@homelab-k3s)
attributes:
  check_mode:
    support: full
    description:
      - Runs in check mode too, as the role's controller tasks always did (C(check_mode=false)); the controller
        cache is not the node, and check mode on the node needs the verified file.
  diff_mode:
    support: none
    description: No diff is produced; nothing on the node is touched.
  idempotent:
    support: full
    description: With the file cached and verified, a second run downloads nothing and reports no change.
  action:
    support: full
    description: Implemented as an action plugin; everything runs on the controller.
options:
  name:
    description: Name of the program; names the cache directory and, for compressed files, the unpacked file.
    type: str
    required: true
  version:
    description: Version; replaces C({version}) in O(url) and O(checksums_url) and names the cache directory.
    type: str
    required: true
  arch:
    description:
      - Release architecture name (for example V(amd64)); replaces C({arch}) in O(url) and O(checksums_url), names
        the cache directory and appears in the messages.
    type: str
    required: true
  url:
    description: Upstream URL of the release file; C({version}) and C({arch}) are replaced.
    type: str
    required: true
  cache_dir:
    description: Controller cache directory; the files go to C(<cache_dir>/<name>/<version>/<arch>/).
    type: path
    required: true
  checksums_url:
    description:
      - URL of the release checksum file in sha256sum format (C(<sha256>  <file>) per line); C({version}) and
        C({arch}) are replaced. Used when O(sha256) is empty; downloaded once into the cache.
    type: str
    default: ""
  mirror:
    description: Controller directory or http(s)/file base URL replacing the upstream location; empty for upstream.
    type: str
    default: ""
  sha256:
    description: Pinned sha256 of the release file for O(arch); wins over O(checksums_url).
    type: str
    default: ""
  format:
    description:
      - How the download is unpacked. V(auto) decides from the file name - C(.tar.*), C(.tgz), C(.tbz), C(.tbz2),
        C(.txz) and C(.zip) are archives (V(tar)), then C(.bz2), C(.gz), C(.xz), otherwise V(raw) (the download
        is the program).
      - V(tar) reads tar archives of any compression and zip archives.
    type: str
    choices: [auto, raw, gz, bz2, xz, tar]
    default: auto
  archive_member:
    description: Path of the program inside an archive (default O(name)); a leading C(./) does not matter.
    type: str
    default: ""
  timeout:
    description:
      - Seconds one download may take in total (connection and transfer); a slower download fails with a message
        naming the URL and leaves nothing in the cache.
    type: int
    default: 600
notes:
  - Files in the cache belong to the user running C(ansible-playbook); C(become) has no effect on this task.
  - The role C(homelab.k3s.artifact) installs the returned file on the nodes as a versioned file plus a stable
    symlink (docs/roles-data.md).
'''

EXAMPLES = r'''
- name: Download, verify and unpack restic on the controller
  homelab.k3s.artifact_fetch:
    name: restic
    version: 0.17.3
    arch: amd64
    url: https://github.com/restic/restic/releases/download/v{version}/restic_{version}_linux_{arch}.bz2
    checksums_url: https://github.com/restic/restic/releases/download/v{version}/SHA256SUMS
    cache_dir: ~/.cache/homelab.k3s/artifacts
  register: fetched

- name: Copy it to the node
  ansible.builtin.copy:
    src: "{{ fetched.path }}"
    dest: /usr/local/lib/homelab-k3s/bin/restic-0.17.3
    mode: "0755"
'''

RETURN = r'''
sha256:
  description: The expected (and verified) sha256 of the release file, lower case.
  returned: success
  type: str
  sample: 3f9f9a8f6e2b5f0f54ad1a1b5a0a8f8c0c4f2b7dc1b3e0a0d7e1c5b0b2f4e6a8
sha256_from:
  description: Where the sha256 came from - C(artifact_sha256.<arch>) or the checksum file's URL.
  returned: success
  type: str
  sample: https://github.com/restic/restic/releases/download/v0.17.3/SHA256SUMS
path:
  description: The verified program on the controller to install on the node (the download itself for V(raw)).
  returned: success
  type: str
  sample: /home/me/.cache/homelab.k3s/artifacts/restic/0.17.3/amd64/unpacked/restic
path_sha256:
  description: The sha256 of RV(path) (equal to RV(sha256) for V(raw); recorded when unpacking).
  returned: success
  type: str
download:
  description: The release file in the cache.
  returned: success
  type: str
  sample: /home/me/.cache/homelab.k3s/artifacts/restic/0.17.3/amd64/restic_0.17.3_linux_amd64.bz2
source:
  description: The URL the release file is (or was) downloaded from, after O(mirror) is applied.
  returned: success
  type: str
  sample: https://github.com/restic/restic/releases/download/v0.17.3/restic_0.17.3_linux_amd64.bz2
kind:
  description: The format used (O(format) with V(auto) resolved).
  returned: success
  type: str
  sample: bz2
actions:
  description: What was done to the cache in this run (downloaded, verified, unpacked, checked); empty when all was current.
  returned: success
  type: list
  elements: str
  sample: ["downloaded https://example.org/restic_0.17.3_linux_amd64.bz2", "verified /cache/restic_0.17.3_linux_amd64.bz2"]
changed:
  description:
    - Whether a file was downloaded or a different program unpacked in this run. Verifying a cached file again
      (a missing marker, for example in a cache filled by an older release of the role) is not a change.
      Never true on a run that finds everything current.
  returned: always
  type: bool
'''
