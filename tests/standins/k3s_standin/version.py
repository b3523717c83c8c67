# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version the stand-in reports (``k3s --version``), without the heavy imports of the server."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

VERSION = os.environ.get("K3S_STANDIN_VERSION", "v0.0.0+standin")
VERSION_ARGS = ("--version", "-v", "version")


def print_version():
    print("k3s version %s (k3s stand-in for homelab.k3s tests)" % VERSION)
    print("go version none")
    return 0
