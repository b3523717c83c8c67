# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python3 -m k3s_standin ARGS`` behaves like ``k3s ARGS`` (the stand-in subset)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import sys

from .standin import main

sys.exit(main())
