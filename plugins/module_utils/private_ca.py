# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Subject alternative names of a server certificate issued by the homelab.k3s.private_ca role.

Names and addresses in, OpenSSL-style SAN entries out (``IP:10.0.0.5``, ``DNS:minio.lan``), in the
order the vault role always wrote them: entries already prefixed first, then IP addresses, then DNS
names, each once. A name that is neither an IP address nor a valid DNS name is refused by name.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ipaddress
import re

# RFC 1123 labels; a leading "*." wildcard is allowed (a DNS SAN may carry one).
_DNS = re.compile(r'^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$')


class PrivateCaError(ValueError):
    pass


def _is_ip(text):
    try:
        ipaddress.ip_address(u'%s' % text)
        return True
    except ValueError:
        return False


def _check(entry, where):
    kind, dummy, value = entry.partition(':')
    if kind == 'IP' and not _is_ip(value):
        raise PrivateCaError('%s: %r is not an IP address' % (where, entry))
    if kind == 'DNS' and (len(value) > 253 or not _DNS.match(value)):
        raise PrivateCaError('%s: %r is not a DNS name' % (where, entry))


def private_ca_sans(names, where='private_ca_sans'):
    """``IP:``/``DNS:`` SAN entries for names and addresses; refuses an empty list and bad names."""
    if not isinstance(names, (list, tuple)):
        raise PrivateCaError('%s must be a list of names and IP addresses, got %s' % (where, type(names).__name__))
    clean = []
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise PrivateCaError('%s: %r is not a name or an IP address' % (where, name))
        clean.append(name.strip())
    if not clean:
        raise PrivateCaError('%s is empty: a server certificate needs at least one name or IP address' % where)
    prefixed = [n for n in clean if re.match(r'^(DNS|IP):', n)]
    plain = [n for n in clean if n not in prefixed]
    result = []
    for entry in prefixed + ['IP:' + n for n in plain if _is_ip(n)] + ['DNS:' + n for n in plain if not _is_ip(n)]:
        _check(entry, where)
        if entry not in result:
            result.append(entry)
    return result
