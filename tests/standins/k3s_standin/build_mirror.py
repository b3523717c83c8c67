# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the test artifact mirror of the K3s stand-in and its Python library directory.

``python3 tests/standins/k3s_standin/build_mirror.py --out DIR --version V [--version V2 ...] [--tampered V3]``

Writes ``DIR/mirror/<version>/`` laid out like a K3s GitHub release (``k3s``, ``k3s-arm64``,
``k3s-armhf``, ``k3s-airgap-images-<arch>.tar.zst``, ``sha256sum-<arch>.txt`` with real sha256
sums) and ``DIR/pylib/`` (``pip install --target`` of requirements.txt for CPython 3.11), which the
Molecule scenario binds read-only into the nodes at /opt/k3s-standin/pylib. A ``--tampered``
version gets a checksum file that does not match its ``k3s`` file.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import argparse
import hashlib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ARCHES = (("amd64", "k3s"), ("arm64", "k3s-arm64"), ("arm", "k3s-armhf"))
LAUNCHER = """#!/bin/sh
# K3s STAND-IN for the homelab.k3s tests -- NOT K3s. It needs the test tree bound read-only at
# /opt/k3s-standin (see tests/standins/k3s_standin/README.md); it is never installed on a real host.
K3S_STANDIN_VERSION='{version}'
PYTHONPATH=/opt/k3s-standin/src:/opt/k3s-standin/pylib
export K3S_STANDIN_VERSION PYTHONPATH
exec /usr/bin/python3 -m k3s_standin "$@"
"""


def write(path, data):
    """Write data to path, leaving a file that already holds it untouched (scenarios running at
    the same time rebuild the mirror while others read it)."""
    if os.path.exists(path):
        with open(path, "rb") as handle:
            if handle.read() == data:
                return
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def build_release(mirror, version, tampered=False):
    directory = os.path.join(mirror, version)
    os.makedirs(directory, exist_ok=True)
    binary = LAUNCHER.format(version=version).encode()
    for arch, name in ARCHES:
        images = ("k3s stand-in airgap images %s %s\n" % (version, arch)).encode()
        files = {name: binary, "k3s-airgap-images-%s.tar.zst" % arch: images}
        lines = []
        for filename, data in sorted(files.items()):
            path = os.path.join(directory, filename)
            write(path, data)
            os.chmod(path, 0o755 if filename == name else 0o644)
            digest = hashlib.sha256(data + (b"tampered" if tampered else b"")).hexdigest()
            lines.append("%s  %s\n" % (digest, filename))
        write(os.path.join(directory, "sha256sum-%s.txt" % arch), "".join(lines).encode())


def build_pylib(target):
    requirements = os.path.join(HERE, "requirements.txt")
    with open(requirements, "rb") as handle:
        stamp = hashlib.sha256(handle.read()).hexdigest()
    marker = os.path.join(target, ".requirements.sha256")
    if os.path.exists(marker) and open(marker).read() == stamp:
        return
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", target,
                    "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
                    "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64",
                    "--upgrade", "-r", requirements], check=True)
    write(marker, stamp.encode())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--version", action="append", default=[])
    parser.add_argument("--tampered", action="append", default=[])
    parser.add_argument("--no-pylib", action="store_true")
    args = parser.parse_args(argv)
    mirror = os.path.join(args.out, "mirror")
    for version in args.version:
        build_release(mirror, version)
    for version in args.tampered:
        build_release(mirror, version, tampered=True)
    if not args.no_pylib:
        build_pylib(os.path.join(args.out, "pylib"))
    print(mirror)
    return 0


if __name__ == "__main__":
    sys.exit(main())
