# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MINIO_VOLUMES rendering and MinIO's erasure-set rules (cmd/endpoint-ellipses.go), with every refusal."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.k3s.plugins.filter.minio_layout import minio_layout
from ansible_collections.homelab.k3s.plugins.module_utils.minio_layout import MinioLayoutError, expand, layout, set_size


def test_single_node_keeps_the_data_dirs():
    assert layout([], ['/srv/minio/data']) == {'volumes': '/srv/minio/data', 'drives': ['/srv/minio/data'],
                                               'distributed': False, 'pools': []}
    assert layout(None, ['/mnt/d1', '/mnt/d2', '/mnt/d3'])['volumes'] == '/mnt/d1 /mnt/d2 /mnt/d3'


def test_four_nodes_by_two_drives():
    got = layout(['http://minio{1...4}.lan:9000/srv/minio/disk{1...2}'], ['/ignored'])
    assert got['volumes'] == 'http://minio{1...4}.lan:9000/srv/minio/disk{1...2}'
    assert got['distributed'] and got['drives'] == ['/srv/minio/disk1', '/srv/minio/disk2']
    assert got['pools'] == [{'pattern': 'http://minio{1...4}.lan:9000/srv/minio/disk{1...2}',
                             'nodes': ['minio1.lan:9000', 'minio2.lan:9000', 'minio3.lan:9000', 'minio4.lan:9000'],
                             'drives_per_node': 2, 'set_size': 8}]


def test_expansion_order_and_zero_padding_as_minio():
    endpoints, sizes = expand('f', 'https://n{08...10}/d{1...2}')
    assert endpoints == ['https://n08/d1', 'https://n08/d2', 'https://n09/d1', 'https://n09/d2',
                         'https://n10/d1', 'https://n10/d2']
    assert sizes == [3, 2]


@pytest.mark.parametrize('total, ranges, size', [
    (16, [4, 4], 16), (64, [64], 16), (8, [4, 2], 8), (3, [3], 3), (18, [6, 3], 9), (32, [8, 4], 16),
    (12, [], 12), (24, [4, 6], 12),
])
def test_set_size_as_minio_picks_it(total, ranges, size):
    assert set_size('f', total, ranges) == size


def test_two_pools_each_checked():
    got = layout(['http://a{1...4}/d{1...4}', 'http://b{1...2}/d{1...3}'], [])
    assert [p['set_size'] for p in got['pools']] == [16, 6]
    assert got['volumes'] == 'http://a{1...4}/d{1...4} http://b{1...2}/d{1...3}'
    assert got['drives'] == ['/d1', '/d2', '/d3', '/d4']


@pytest.mark.parametrize('pools, dirs, message', [
    ([], [], 'minio_data_dirs: give at least one absolute path'),
    ([], ['data'], 'minio_data_dirs: give at least one absolute path'),
    ([], ['/a', '/a'], 'minio_data_dirs: a directory is listed twice'),
    ([], ['/d{1...4}'], 'expansion notation belongs in minio_pools'),
    ([], ['/d%d' % i for i in range(17)], 'number of drives 17 is not divisible by any supported erasure set sizes'),
    ([42], [], 'minio_pools[0]: must be a string'),
    (['http://minio1/data'], [], "minio_pools[0]: 'http://minio1/data' has no {N...M} range"),
    (['http://minio{1...1}/data'], [], 'Incorrect number of endpoints provided: 1 drive(s)'),
    (['http://minio{1...17}/data'], [], 'number of drives 17 is not divisible'),
    (['http://minio{1...16}/data{1...17}'], [], 'drives 272 cannot be spread symmetrically'),
    (['http://minio{a...f}/data'], [], '{a...f} is not a decimal range'),
    (['http://minio{4...1}/data'], [], 'Incorrect range start 4 cannot be bigger than end 1'),
    (['http://minio{1...4/data'], [], 'unbalanced braces'),
    (['http://minio{1...4}'], [], 'is not http(s)://host[:port]/absolute/drive/path'),
    (['minio{1...4}:/data'], [], 'is not http(s)://host[:port]/absolute/drive/path'),
    (['http://m{1...4}/d', 'http://m{1...4}/d'], [], 'minio_pools[1]: drive http://m1/d appears twice'),
    (['http://a{1...4}/d', 'https://b{1...4}/d'], [], 'mixes http and https'),
])
def test_bad_layouts_are_refused_naming_the_field(pools, dirs, message):
    with pytest.raises(MinioLayoutError) as refused:
        layout(pools, dirs)
    assert message in str(refused.value)
    with pytest.raises(AnsibleFilterError):
        minio_layout(pools, dirs)
