# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MinIO's MINIO_VOLUMES for single-node and distributed (several nodes x drives) setups.

A distributed pool is written in MinIO's own expansion notation, one string per server pool, e.g.
``http://minio{1...4}.lan:9000/srv/minio/disk{1...2}`` (4 nodes x 2 drives). What MinIO accepts is
reproduced from its source (minio/minio ``cmd/endpoint-ellipses.go``, read at commit
0083d4940d032081e54b040bc3c92aba16acfc3b, and minio/pkg ``ellipses``): ``{N...M}`` decimal ranges,
zero-padded to the width of M when N starts with 0; erasure set sizes 2 to 16; a pool's drive count
must be divisible by a set size that also divides (or is a multiple of) every ellipses range
(symmetry); every pool must use ellipses; no drive may appear twice. Hexadecimal
ranges and ``{a,b}`` lists (which MinIO also knows) are refused here to keep the check simple.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore

SET_SIZES = list(range(2, 17))
_RANGE = re.compile(r'\{([^{}]*)\}')


class MinioLayoutError(ValueError):
    pass


def _seq(field, text):
    parts = text.split('...')
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise MinioLayoutError('%s: {%s} is not a decimal range {N...M} (MinIO expansion notation)' % (field, text))
    start, end = int(parts[0]), int(parts[1])
    if start > end:
        raise MinioLayoutError('%s: Incorrect range start %d cannot be bigger than end %d' % (field, start, end))
    width = len(parts[1]) if parts[0].startswith('0') and len(parts[0]) > 1 else 0
    return ['%0*d' % (width, i) if width else str(i) for i in range(start, end + 1)]


def expand(field, pattern):
    """All endpoints of one pattern (the product of its ranges, in MinIO's order) and the range sizes."""
    pieces = _RANGE.split(pattern)
    literals, ranges = pieces[0::2], [_seq(field, r) for r in pieces[1::2]]
    if any('{' in lit or '}' in lit for lit in literals):
        raise MinioLayoutError('%s: unbalanced braces in %r' % (field, pattern))
    out = ['']
    for i, values in enumerate(ranges):
        out = [prefix + literals[i] + v for prefix in out for v in values]
    return [e + literals[-1] for e in out], [len(r) for r in ranges]


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def set_size(field, total, range_sizes):
    """The erasure set size MinIO picks for a pool (getSetIndexes without MINIO_ERASURE_SET_DRIVE_COUNT)."""
    if total < SET_SIZES[0]:
        raise MinioLayoutError('%s: Incorrect number of endpoints provided: %d drive(s); erasure coding needs at '
                               'least %d' % (field, total, SET_SIZES[0]))
    counts = [s for s in SET_SIZES if total % s == 0]
    if not counts:
        raise MinioLayoutError('%s: number of drives %d is not divisible by any supported erasure set sizes %s'
                               % (field, total, SET_SIZES))
    symmetric = []
    for size in counts:
        ok = True
        for n in range_sizes:  # upstream keeps the verdict of the last range only
            ok = (n % size == 0) if n > size else (size % n == 0)
        if ok or not range_sizes:
            symmetric.append(size)
    if not symmetric:
        raise MinioLayoutError('%s: drives %d cannot be spread symmetrically by any supported erasure set sizes %s'
                               % (field, total, SET_SIZES))
    if total < symmetric[-1]:
        return total
    best, prev = 0, total // symmetric[0]
    for size in symmetric:
        if total % size == 0 and total // size <= prev:
            prev, best = total // size, size
    return best


def layout(pools, data_dirs):
    """{volumes (MINIO_VOLUMES), drives (local paths to create), distributed, pools: [{nodes, drives, set_size}]}."""
    pools = list(pools or [])
    if not pools:
        dirs = list(data_dirs or [])
        if not dirs or any(not str(d).startswith('/') for d in dirs):
            raise MinioLayoutError('minio_data_dirs: give at least one absolute path (got %s)' % dirs)
        if len(set(dirs)) != len(dirs):
            raise MinioLayoutError('minio_data_dirs: a directory is listed twice (%s)' % dirs)
        if any('{' in d for d in dirs):
            raise MinioLayoutError('minio_data_dirs: expansion notation belongs in minio_pools (got %s)' % dirs)
        if len(dirs) > 1:
            set_size('minio_data_dirs', len(dirs), [])  # several drives on one node: erasure coded
        return {'volumes': ' '.join(dirs), 'drives': dirs, 'distributed': False, 'pools': []}
    seen, drives, out, schemes = set(), [], [], set()
    for i, pool in enumerate(pools):
        field = 'minio_pools[%d]' % i
        if not isinstance(pool, str) or not pool.strip():
            raise MinioLayoutError('%s: must be a string such as http://minio{1...4}.lan:9000/srv/minio/disk{1...2}' % field)
        if '{' not in pool:
            raise MinioLayoutError('%s: %r has no {N...M} range; MinIO needs expansion notation in every pool '
                                   '("all args must have ellipses for pool expansion")' % (field, pool))
        endpoints, sizes = expand(field, pool)
        nodes = []
        for ep in endpoints:
            url = urlsplit(ep)
            if url.scheme not in ('http', 'https') or not url.hostname or not url.path.startswith('/') \
                    or url.path == '/':
                raise MinioLayoutError('%s: %s is not http(s)://host[:port]/absolute/drive/path' % (field, ep))
            if ep in seen:
                raise MinioLayoutError('%s: drive %s appears twice ("has duplicate ellipses")' % (field, ep))
            seen.add(ep)
            schemes.add(url.scheme)
            if url.netloc not in nodes:
                nodes.append(url.netloc)
            if url.path not in drives:
                drives.append(url.path)
        # A product of ranges gives every node the same number of drives.
        out.append({'pattern': pool, 'nodes': nodes, 'drives_per_node': len(endpoints) // len(nodes),
                    'set_size': set_size(field, len(endpoints), sizes)})
    if len(schemes) > 1:
        raise MinioLayoutError('minio_pools: mixes http and https; every node must serve the same scheme')
    return {'volumes': ' '.join(pools), 'drives': drives, 'distributed': True, 'pools': out}
