# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.go_duration import GoDurationError, seconds


@pytest.mark.parametrize('text, expected', [
    ('60s', 60.0), ('1m30s', 90.0), ('1.5h', 5400.0), ('2h45m', 9900.0), ('500ms', 0.5), ('250us', 0.00025),
    (u'3\u00b5s', 3e-6), (u'3\u03bcs', 3e-6), ('10ns', 1e-8), ('0', 0.0), ('-0', 0.0), ('0s', 0.0),
    ('-2s', -2.0), ('+2s', 2.0), ('.5s', 0.5), ('1.s', 1.0), ('1h0m0s', 3600.0),
])
def test_go_durations(text, expected):
    assert seconds(text) == pytest.approx(expected)


@pytest.mark.parametrize('text', ['', '90', '20 s', ' 20s', '1d', '1m30', 's', '.s', '-', '1.5.5s', '5 minutes',
                                  '1sec', None, 60, True])
def test_what_go_refuses(text):
    with pytest.raises(GoDurationError) as refused:
        seconds(text)
    assert 'is not a Go duration' in str(refused.value)
