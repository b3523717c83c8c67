# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""K3s stand-in for the homelab.k3s tests (not K3s). See README.md."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
