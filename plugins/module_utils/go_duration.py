# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Go duration strings (``time.ParseDuration``), as K3s flags and the kubelet configuration take them.

Go's grammar (src/time/format.go, ParseDuration): an optional sign, then one or more decimal numbers,
each with an optional fraction and a unit (ns, us, µs, μs, ms, s, m, h); ``0`` alone needs no unit.
"1m30s", "1.5h" and "-2s" are durations; "90", "20 s", "1d" and "" are not.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

UNIT_SECONDS = {'ns': 1e-9, 'us': 1e-6, u'\u00b5s': 1e-6, u'\u03bcs': 1e-6, 'ms': 1e-3, 's': 1.0, 'm': 60.0,
                'h': 3600.0}
_PART = re.compile(u'([0-9]*)(?:\\.([0-9]*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)')


class GoDurationError(ValueError):
    pass


def seconds(text):
    """The duration ``text`` in seconds (a float); GoDurationError when Go would refuse it."""
    if not isinstance(text, str) or isinstance(text, bool):
        raise GoDurationError('%r is not a Go duration: a string such as 60s or 1m30s is expected' % (text,))
    sign, rest = 1.0, text
    if rest[:1] in ('-', '+'):
        sign, rest = (-1.0 if rest[0] == '-' else 1.0), rest[1:]
    if rest == '0':
        return 0.0
    total, position = 0.0, 0
    while position < len(rest) or position == 0:
        match = _PART.match(rest, position)
        if not match or not (match.group(1) or match.group(2)):
            raise GoDurationError('"%s" is not a Go duration: a number with a unit (ns, us, ms, s, m, h) such as '
                                  '60s or 1m30s is expected' % text)
        whole, fraction, unit = match.groups()
        total += float('%s.%s' % (whole or '0', fraction or '0')) * UNIT_SECONDS[unit]
        position = match.end()
    return sign * total
