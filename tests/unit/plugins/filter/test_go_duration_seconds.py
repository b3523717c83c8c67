# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.k3s.plugins.filter import go_duration_seconds as plugin


def test_filter_is_registered():
    assert set(plugin.FilterModule().filters()) == {'go_duration_seconds'}


def test_seconds_of_a_duration():
    assert plugin.go_duration_seconds('1m30s') == 90.0


def test_bad_input_is_an_error_naming_the_value():
    with pytest.raises(AnsibleFilterError, match='go_duration_seconds: "20 s" is not a Go duration'):
        plugin.go_duration_seconds('20 s')


@pytest.mark.parametrize('invalid', [None, -1, 'bad'])
def test_invalid_takes_the_place_of_the_error(invalid):
    assert plugin.go_duration_seconds('20 s', invalid) == invalid
    assert plugin.go_duration_seconds('20s', invalid) == 20.0
