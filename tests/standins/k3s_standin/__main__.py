# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python3 -m k3s_standin ARGS`` behaves like ``k3s ARGS`` (the stand-in subset)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import sys

from .version import VERSION_ARGS, print_version

if not sys.argv[1:] or sys.argv[1] in VERSION_ARGS:
    # neither does the version (read by homelab.k3s.k3s_node's probe on every run)
    sys.exit(print_version())

if sys.argv[1:2] == ["kubectl"]:
    # kubectl needs neither the API emulator nor etcd: skip their imports (about 1.5 s of CPU
    # per call on a lab node; the on-node power-cycle command makes many calls)
    from .kubectl import kubectl
    sys.exit(kubectl(sys.argv[2:]))

from .standin import main  # noqa: E402  pylint: disable=wrong-import-position

sys.exit(main())
