# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The address-plan picture: valid SVG, one per family, every label from the plan, no overlaps."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils import network_plan_svg as svg
from ansible_collections.homelab.k3s.plugins.module_utils.network_plan import (
    NetworkPlanError,
    plan_network,
)

NS = '{http://www.w3.org/2000/svg}'

DUAL = {
    'node_subnets': ['192.168.14.0/26', 'fd12:3456:789a:14::/64'],
    'gateway': ['192.168.14.1', 'fd12:3456:789a:14::1'],
    'dhcp_ranges': ['192.168.14.40-192.168.14.55'],
    'reserved': ['192.168.14.2-192.168.14.9'],
    'avoid': ['100.64.0.0/10'],
    'pod_cidrs': ['10.42.0.0/16', 'fd22:2025:6a6a:42::/104'],
    'service_cidrs': ['10.43.0.0/16', 'fd22:2025:6a6a:43::/112'],
    'node_cidr_mask_size': {'ipv4': 24, 'ipv6': 120},
    'lb_pool_size': {'ipv4': 8, 'ipv6': 16},
    'api_vip': '192.168.14.30',
}
DUAL_NODES = {
    'cow': ['192.168.14.10', 'fd12:3456:789a:14::10'],
    'sheep': ['192.168.14.11', 'fd12:3456:789a:14::11'],
    'duck': ['192.168.14.12', 'fd12:3456:789a:14::12'],
}
SINGLE = {
    'node_subnets': ['10.100.0.0/24'],
    'gateway': ['10.100.0.1'],
    'dhcp_ranges': ['10.100.0.100-10.100.0.199'],
    'lb_pools': ['10.100.0.200-10.100.0.249'],
}
SINGLE_NODES = {'pi-server': '10.100.0.10', 'pi-agent-1': '10.100.0.11'}


def parse(text):
    root = ET.fromstring(text.encode('utf-8'))
    assert root.tag == NS + 'svg'
    return root


def texts(root, css_class):
    return [el.text for el in root.iter(NS + 'text')
            if css_class in (el.get('class') or '').split()]


def items(root):
    return sorted((g.get('data-kind'), g.get('data-range')) for g in root.iter(NS + 'g')
                  if g.get('class') == 'item')


def test_one_valid_svg_per_family_of_a_dual_stack_plan():
    pictures = svg.network_plan_svgs(DUAL, DUAL_NODES)
    assert sorted(pictures) == ['ipv4', 'ipv6']
    for family, text in pictures.items():
        assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
        root = parse(text)
        width, height = int(root.get('width')), int(root.get('height'))
        assert root.get('viewBox') == '0 0 %d %d' % (width, height)
        assert root.find(NS + 'title').text.startswith(
            'IPv4 address plan' if family == 'ipv4' else 'IPv6 address plan')


def test_single_stack_plan_has_one_picture():
    assert sorted(svg.network_plan_svgs(SINGLE, SINGLE_NODES)) == ['ipv4']


def test_ipv4_labels_and_places_match_the_plan():
    plan = plan_network(DUAL, DUAL_NODES)
    pool = plan['lb_pools']['ipv4'][0]
    root = parse(svg.network_plan_svg(DUAL, DUAL_NODES, 'ipv4'))
    assert sorted(texts(root, 'label')) == sorted([
        'gateway 192.168.14.1',
        'DHCP 192.168.14.40-192.168.14.55 (16)',
        'reserved 192.168.14.2-192.168.14.9 (8)',
        'cow 192.168.14.10', 'sheep 192.168.14.11', 'duck 192.168.14.12',
        'API VIP %s' % plan['api_vip'],
        'LB pool %s-%s (8)' % (pool['start'], pool['stop']),
    ])
    assert items(root) == sorted([
        ('gateway', '192.168.14.1'), ('dhcp', '192.168.14.40-192.168.14.55'),
        ('reserved', '192.168.14.2-192.168.14.9'),
        ('node', '192.168.14.10'), ('node', '192.168.14.11'), ('node', '192.168.14.12'),
        ('vip', '192.168.14.30'), ('lb_pool', '%s-%s' % (pool['start'], pool['stop'])),
        ('edge', '192.168.14.0'), ('edge', '192.168.14.63'),
    ])
    assert texts(root, 'bound')[:2] == ['192.168.14.0', '192.168.14.63']
    # avoid networks lie outside the LAN (the plan checks it): named, not drawn on the bar.
    assert texts(root, 'avoid-elsewhere') == ['Kept clear of (avoid): 100.64.0.0/10']


def test_ipv6_picture_shows_pool_mask_and_cluster_dns_of_the_plan():
    plan = plan_network(DUAL, DUAL_NODES)
    pool = plan['lb_pools']['ipv6'][0]
    root = parse(svg.network_plan_svg(DUAL, DUAL_NODES, 'ipv6'))
    assert 'LB pool %s-%s (16)' % (pool['start'], pool['stop']) in texts(root, 'label')
    assert 'gateway fd12:3456:789a:14::1' in texts(root, 'label')
    # No network/broadcast edges in IPv6, no VIP of this family.
    assert not [kind for kind, _range in items(root) if kind in ('edge', 'vip')]
    headings = texts(root, 'heading')
    assert headings[0].startswith('Node subnet fd12:3456:789a:14::/64 (2^64 addresses, '
                                  'compressed scale')
    assert headings[1] == ('Pod CIDR fd22:2025:6a6a:42::/104: one /120 per node (256 addresses '
                           'each), room for 65,536 nodes, 3 in the inventory')
    assert headings[2] == ('Service CIDR fd22:2025:6a6a:43::/112: 65,536 ClusterIPs; cluster DNS '
                           '%s (the 10th address)' % plan['cluster_dns_ips']['ipv6'])
    assert texts(root, 'dns') == ['cluster DNS fd22:2025:6a6a:43::a']
    assert texts(root, 'free') == ['free ~2^64']


def test_pod_slices_filled_one_per_node():
    root = parse(svg.network_plan_svg(SINGLE, SINGLE_NODES))
    used = [g.get('data-used') for g in root.iter(NS + 'g') if g.get('class') == 'slice']
    assert used.count('true') == 2
    assert texts(root, 'slices-more') == ['+ 216 more /24']
    assert texts(root, 'slices') == ['first slice 10.42.0.0/24, last slice 10.42.255.0/24']


def test_small_pod_cidr_draws_every_slice():
    network = dict(SINGLE, pod_cidrs=['10.42.0.0/20'])
    root = parse(svg.network_plan_svg(network, SINGLE_NODES))
    cells = [g for g in root.iter(NS + 'g') if g.get('class') == 'slice']
    assert len(cells) == 16
    assert texts(root, 'slices-more') == []


def test_text_is_escaped():
    title = 'Tom & Jerry\'s <lab> "one"'
    text = svg.network_plan_svg(SINGLE, SINGLE_NODES, title=title)
    assert 'Tom &amp; Jerry\'s &lt;lab&gt;' in text
    root = parse(text)
    assert root.find(NS + 'title').text == title + ': IPv4 address plan'


def test_output_is_deterministic():
    assert svg.network_plan_svgs(DUAL, DUAL_NODES) == svg.network_plan_svgs(
        dict(DUAL), dict(reversed(list(DUAL_NODES.items()))))


def test_unsound_plan_is_not_drawn():
    broken = dict(SINGLE, dhcp_ranges=['10.100.0.5-10.100.0.20'])
    with pytest.raises(NetworkPlanError) as caught:
        svg.network_plan_svgs(broken, SINGLE_NODES)
    assert 'node_ips[pi-server] 10.100.0.10 is inside dhcp_ranges[0]' in str(caught.value)


def test_unknown_family_is_refused():
    with pytest.raises(NetworkPlanError) as caught:
        svg.network_plan_svg(SINGLE, SINGLE_NODES, family='ipv6')
    assert "family: 'ipv6' is not a family of node_subnets (ipv4)" in str(caught.value)


@pytest.mark.parametrize('count, text', [
    (1, '1'), (65536, '65,536'), (999999, '999,999'), (2 ** 64, '2^64'),
    (2 ** 64 - 70, '~2^64'),
])
def test_size_text(count, text):
    assert svg.size_text(count) == text


def test_linear_scale_keeps_single_addresses_visible_and_fills_the_bar():
    subnet_first, subnet_last = 0, 255
    entries = [svg.Item('node', n, n, 'n%d' % n) for n in range(10, 20)]
    scale = svg.Scale(subnet_first, subnet_last, entries)
    assert scale.linear
    assert scale.regions[0][2] == svg.BAR_X0
    assert scale.regions[-1][3] == pytest.approx(svg.BAR_X1)
    for entry in entries:
        assert scale.right(entry.last) - scale.left(entry.first) == pytest.approx(
            svg.MIN_RUN_WIDTH)
    # The rest stays proportional: 100 free addresses are twice 50.
    scale = svg.Scale(0, 255, [svg.Item('dhcp', 100, 149, 'd'), svg.Item('lb_pool', 150, 249, 'p')])
    dhcp = scale.right(149) - scale.left(100)
    pool = scale.right(249) - scale.left(150)
    assert pool == pytest.approx(2 * dhcp)


def test_compressed_scale_is_ordered_and_fills_the_bar():
    first, last = 0, 2 ** 64 - 1
    entries = [svg.Item('gateway', 1, 1, 'g'), svg.Item('lb_pool', last - 15, last, 'p')]
    scale = svg.Scale(first, last, entries)
    assert not scale.linear
    edges = [region[2] for region in scale.regions] + [scale.regions[-1][3]]
    assert edges == sorted(edges)
    assert edges[-1] == pytest.approx(svg.BAR_X1)
    assert scale.left(1) < scale.left(2) < scale.left(last - 15)


def _boxes_overlap(a, b):
    return not (a.box[1] <= b.box[0] or b.box[1] <= a.box[0])


@pytest.mark.parametrize('anchors', [
    [50 + 8 * n for n in range(12)],                     # a run of node IPs
    [45, 60, 122, 184, 198, 212, 320, 336, 410, 470, 700, 880, 905],
    [900, 905, 910],                                      # crowded at the right edge
])
def test_labels_never_overlap_and_no_leader_crosses_a_text(anchors):
    labels = [svg.Label(anchor, 'label-%02d 192.168.100.%d' % (index, index), 'node')
              for index, anchor in enumerate(anchors)]
    lanes = svg.place_labels(labels)
    assert lanes == max(label.lane for label in labels) + 1
    for label in labels:
        assert 8 <= label.x and label.x + label.width <= svg.WIDTH - 8
        for other in labels:
            if other is label:
                continue
            if other.lane == label.lane:
                assert not _boxes_overlap(label, other), (label.text, other.text)
            if other.lane < label.lane:  # label's leader passes through other's lane
                low, high = other.x - svg.LEADER_MARGIN, other.x + other.width + svg.LEADER_MARGIN
                assert not low <= label.anchor <= high, (label.text, other.text)


def test_a_text_goes_left_when_that_keeps_a_leader_free():
    right = svg.Label(560, 'DHCP 10.100.0.100-10.100.0.199 (100)', 'dhcp')
    pool = svg.Label(812, 'LB pool 10.100.0.200-10.100.0.249 (50)', 'lb_pool')
    assert svg.place_labels([right, pool]) == 2
    assert right.x + right.width <= right.anchor + 2  # ends at its leader
    assert pool.anchor > right.x + right.width + svg.LEADER_MARGIN


def test_free_runs_between_entries():
    entries = [svg.Item('gateway', 1, 1, 'g'), svg.Item('dhcp', 5, 9, 'd'),
               svg.Item('reserved', 7, 12, 'r')]
    assert svg.free_runs(0, 63, entries) == [(0, 0), (2, 4), (13, 63)]
    assert svg.free_runs(0, 3, [svg.Item('dhcp', 0, 3, 'd')]) == []
