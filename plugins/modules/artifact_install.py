#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: artifact_install
short_description: Install a verified release file on a node as a versioned file plus a stable symlink
version_added: 1.0.0
description:
  - The work of the role C(homelab.k3s.artifact) after its input checks, in one task (an action plugin).
  - First runs M(homelab.k3s.artifact_place) on the node to read it, and refuses before any change (on the node or
    in the controller cache) a O(link) path that exists and is not a symlink.
  - Then fills the controller cache under an exclusive flock per artifact, so that parallel forks share one
    download - the release file (and its checksum file unless a sha256 is pinned) downloaded once, its sha256
    verified (a mismatch removes the download and refuses), the program unpacked; a verified file gets a
    marker (sha256, size, mtime_ns) and is hashed again only when its size or mtime changed.
  - When the versioned file C(<install_dir>/<name>-<version>) on the node has the verified sha256, owner, group
    and mode, its directory is root:root 0755 and O(link) points at it, nothing else happens - one module run on
    the node. Otherwise the file is transferred only when the node's copy is missing or different, moved into
    place atomically, and O(link) is replaced atomically by a symlink to it.
author:
  - homelab.k3s maintainers (@homelab-k3s)
attributes:
  check_mode:
    support: full
    description:
      - Reports (and with C(--diff) shows) what would change on the node without changing it. The controller
        cache is still filled (that changes no node).
  diff_mode:
    support: full
    description: Shows the versioned file (sha256, mode, owner) and the link target before and after.
  idempotent:
    support: full
    description: Nothing changes when the node is already right.
  action:
    support: full
    description: Implemented as an action plugin running M(homelab.k3s.artifact_place) on the node.
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
  install_dir:
    description: Node directory of the versioned files; the file is C(<install_dir>/<name>-<version>).
    type: str
    default: /usr/local/lib/homelab-k3s/bin
  link:
    description: Stable symlink pointing at the versioned file; only ever replaced when it is a symlink.
    type: str
    required: true
  mode:
    description: Octal mode of the versioned file.
    type: str
    default: "0755"
  owner:
    description: Owner of the versioned file.
    type: str
    default: root
  group:
    description: Group of the versioned file.
    type: str
    default: root
'''

EXAMPLES = r'''
- name: Install restic 0.17.3
  homelab.k3s.artifact_install:
    name: restic
    version: 0.17.3
    arch: amd64
    url: https://github.com/restic/restic/releases/download/v{version}/restic_{version}_linux_{arch}.bz2
    checksums_url: https://github.com/restic/restic/releases/download/v{version}/SHA256SUMS
    cache_dir: ~/.cache/homelab.k3s/artifacts
    link: /usr/local/bin/restic
  become: true
'''

RETURN = r'''
path:
  description: The versioned file on the node.
  returned: success
  type: str
  sample: /usr/local/lib/homelab-k3s/bin/restic-0.17.3
link:
  description: The stable symlink.
  returned: success
  type: str
  sample: /usr/local/bin/restic
sha256:
  description: The verified sha256 of the release file (the download, before unpacking).
  returned: success
  type: str
  sample: 3f9f9a8f6e2b5f0f54ad1a1b5a0a8f8c0c4f2b7dc1b3e0a0d7e1c5b0b2f4e6a8
path_sha256:
  description: The sha256 of the versioned file (equal to RV(sha256) for V(raw)).
  returned: success
  type: str
sha256_from:
  description: Where the sha256 came from - C(artifact_sha256.<arch>) or the checksum file's URL.
  returned: success
  type: str
source:
  description: The URL of the release file, after O(mirror) is applied.
  returned: success
  type: str
cache:
  description: What was done to the controller cache (downloaded, verified, unpacked); empty when all was current.
  returned: success
  type: list
  elements: str
changes:
  description: What changed (in check mode - would change) on the node - C(directory), C(file), C(attributes), C(link).
  returned: success
  type: list
  elements: str
  sample: [file, link]
'''
