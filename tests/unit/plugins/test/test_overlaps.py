# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.k3s.plugins.test import overlaps as plugin


def test_test_is_registered():
    assert plugin.TestModule().tests() == {'overlaps': plugin.overlaps}


@pytest.mark.parametrize('value, other, expected', [
    ('10.42.0.0/16', '100.64.0.0/10', False),
    ('100.100.1.0/24', '100.64.0.0/10', True),
    (['10.43.0.0/16', 'fd22::/112'], ['fd22::5'], True),
    ('192.168.1.10-192.168.1.20', '192.168.1.21', False),
])
def test_overlaps(value, other, expected):
    assert plugin.overlaps(value, other) is expected


@pytest.mark.parametrize('value, other', [
    ('10.42.0.0/16', 'tailscale'),
    ('10.42.0.1/16', '10.0.0.0/8'),
    ({'a': 1}, '10.0.0.0/8'),
], ids=['malformed', 'host-bits', 'not-a-list'])
def test_overlaps_errors_instead_of_false(value, other):
    with pytest.raises(AnsibleFilterError, match='overlaps: invalid input'):
        plugin.overlaps(value, other)
