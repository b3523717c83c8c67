# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Draw a validated network plan as one SVG picture per address family.

Pure functions over plain data (no Ansible import, standard library plus the
netaddr that ``network_plan`` already needs), used by the
``homelab.k3s.network_plan_svg`` filter and the ``preflight`` role.

Each picture shows the node subnet as a bar with the gateway, DHCP ranges,
reserved entries, node IPs, LB pools and the API VIP in their places (the
``avoid`` networks, which a sound plan keeps out of the node subnet, are
listed), then the pod CIDR cut into per-node slices and the service CIDR with
the cluster DNS address. The plan is validated first: a plan with problems is
never drawn (NetworkPlanError lists them).

Small subnets (up to ``LINEAR_MAX`` addresses) are drawn to scale, except that
no run of addresses is narrower than ``MIN_RUN_WIDTH`` pixels. Larger ones
(an IPv6 /64) are drawn on a compressed scale: every run of addresses between
two entries gets a width that grows with the logarithm of its size, and free
runs are labelled with their size, so a /64 stays readable.

The output is deterministic (same input, same bytes), so a picture committed
next to an inventory can be compared with what the code draws today.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import math

from xml.sax.saxutils import escape, quoteattr

from ansible_collections.homelab.k3s.plugins.module_utils.network_plan import (
    CLUSTER_DNS_INDEX,
    NetworkPlanError,
    _Planner,
    address_text,
    range_text,
    require_netaddr,
)

WIDTH = 960
BAR_X0 = 40
BAR_X1 = 920
BAR_HEIGHT = 36
LANE_HEIGHT = 18
FONT_SIZE = 12
# Advance of one character of a 12 px monospace font (DejaVu Sans Mono: 0.602 em),
# rounded up so that estimated label boxes are never narrower than the drawn text.
CHAR_WIDTH = 7.3
LABEL_GAP = 8
# A text keeps this far (pixels) from any leader line that passes its lane.
LEADER_MARGIN = 1.5
# Subnets with at most this many addresses are drawn to scale ...
LINEAR_MAX = 1024
# ... except that no run of addresses is drawn narrower than this (pixels).
MIN_RUN_WIDTH = 8.0
# Pod slices drawn one by one before the rest is summarised.
MAX_SLICE_CELLS = 48
FONT = 'DejaVu Sans Mono, Menlo, Consolas, monospace'

# kind -> (fill colour, legend text); drawing order = order of this tuple.
KINDS = (
    ('reserved', '#bdbdbd', 'reserved'),
    ('dhcp', '#ffb74d', 'DHCP range'),
    ('lb_pool', '#81c784', 'LB pool'),
    ('edge', '#e0e0e0', 'network / broadcast'),
    ('gateway', '#e53935', 'gateway'),
    ('node', '#1e88e5', 'node IP'),
    ('vip', '#8e24aa', 'API VIP'),
)
COLOURS = dict((kind, colour) for kind, colour, _legend in KINDS)
ORDER = dict((kind, index) for index, (kind, _colour, _legend) in enumerate(KINDS))
FREE_FILL = '#f5f5f5'
STROKE = '#424242'


def size_text(count):
    """An address count, exact below a million, as a power of two above."""
    if count < 1000000:
        return '{0:,}'.format(count)
    exponent = math.log(count, 2)
    if count == 2 ** int(round(exponent)):
        return '2^%d' % int(round(exponent))
    return '~2^%d' % int(round(exponent))


def text_width(text):
    """Estimated width in pixels of ``text`` at FONT_SIZE (monospace)."""
    return len(text) * CHAR_WIDTH


def validated_planner(network, nodes):
    """The planner after a successful run, or NetworkPlanError listing every problem."""
    require_netaddr()
    planner = _Planner(network, nodes if nodes is not None else {})
    planner.run()
    if planner.problems:
        raise NetworkPlanError(planner.problems)
    return planner


# -- what the bar shows ---------------------------------------------------------

class Item(object):
    """One labelled entry on the node-subnet bar."""

    __slots__ = ('kind', 'first', 'last', 'label')

    def __init__(self, kind, first, last, label):
        self.kind = kind
        self.first = first
        self.last = last
        self.label = label

    @property
    def size(self):
        return self.last - self.first + 1


def _range_label(name, first, last, version):
    count = last - first + 1
    if count == 1:
        return '%s %s' % (name, address_text(first, version))
    return '%s %s (%s)' % (name, range_text(first, last, version), size_text(count))


def subnet_items(planner, family):
    """Every entry of the node subnet of ``family``, clipped to it, sorted by address."""
    subnet = planner.subnets[family]
    version = subnet.version
    items = []

    def add(kind, name, first, last, label=None):
        first, last = max(first, subnet.first), min(last, subnet.last)
        if first > last:
            return
        items.append(Item(kind, first, last, label or _range_label(name, first, last, version)))

    for span in planner.gateways:
        if span.family == family:
            add('gateway', 'gateway', span.first, span.last)
    for span in planner.dhcp:
        if span.family == family:
            add('dhcp', 'DHCP', span.first, span.last)
    for span in planner.reserved:
        if span.family == family:
            add('reserved', 'reserved', span.first, span.last)
    for host in sorted(planner.node_spans, key=str):
        for span in planner.node_spans[host]:
            if span.family == family:
                add('node', host, span.first, span.last,
                    '%s %s' % (host, address_text(span.first, version)))
    for span in planner.vips:
        if span.family == family:
            add('vip', 'API VIP', span.first, span.last)
    for span in planner.lb_pools.get(family, []):
        add('lb_pool', 'LB pool', span.first, span.last)
    if version == 4 and subnet.size > 2:
        add('edge', 'network', subnet.first, subnet.first, 'network %s'
            % address_text(subnet.first, version))
        add('edge', 'broadcast', subnet.last, subnet.last, 'broadcast %s'
            % address_text(subnet.last, version))
    items.sort(key=lambda item: (item.first, ORDER[item.kind], item.last, item.label))
    return items


def free_runs(first, last, items):
    """``(first, last)`` runs between ``first`` and ``last`` that no item covers."""
    cursor = first
    runs = []
    for item_first, item_last in sorted((item.first, item.last) for item in items):
        if item_first > cursor:
            runs.append((cursor, item_first - 1))
        cursor = max(cursor, item_last + 1)
    if cursor <= last:
        runs.append((cursor, last))
    return runs


def avoided(planner, family):
    """``avoid`` entries of ``family`` (a sound plan has none inside the node subnet)."""
    return [span for span in planner.avoid if span.family == family]


# -- scale -------------------------------------------------------------------------

def _widen(sizes, total_width):
    """Widths proportional to ``sizes`` except that no run is narrower than
    MIN_RUN_WIDTH (a single address stays visible); the others shrink to pay."""
    if MIN_RUN_WIDTH * len(sizes) >= total_width:
        return [total_width * size / float(sum(sizes)) for size in sizes]
    widened = set()
    while True:
        rest = sum(size for index, size in enumerate(sizes) if index not in widened)
        room = total_width - MIN_RUN_WIDTH * len(widened)
        scale = room / float(rest) if rest else 0.0
        more = set(index for index, size in enumerate(sizes)
                   if index not in widened and size * scale < MIN_RUN_WIDTH)
        if not more or room <= 0:
            break
        widened |= more
    return [MIN_RUN_WIDTH if index in widened else size * scale
            for index, size in enumerate(sizes)]


class Scale(object):
    """Maps addresses of one subnet to x positions on the bar.

    ``regions`` are ``(first, last, x0, x1)``: consecutive runs of addresses
    between entry boundaries with their place on the bar.
    """

    def __init__(self, first, last, items, x0=BAR_X0, x1=BAR_X1):
        self.first = first
        self.last = last
        self.linear = (last - first + 1) <= LINEAR_MAX
        cuts = set([first, last + 1])
        for item in items:
            cuts.add(item.first)
            cuts.add(item.last + 1)
        cuts = sorted(cut for cut in cuts if first <= cut <= last + 1)
        runs = [(cuts[i], cuts[i + 1] - 1) for i in range(len(cuts) - 1)]
        sizes = [run_last - run_first + 1 for run_first, run_last in runs]
        if self.linear:
            widths = _widen(sizes, float(x1 - x0))
        else:
            weights = [1 + math.log(size, 2) for size in sizes]
            total = float(sum(weights))
            widths = [(x1 - x0) * weight / total for weight in weights]
        self.regions = []
        cursor = float(x0)
        for (run_first, run_last), width in zip(runs, widths):
            self.regions.append((run_first, run_last, cursor, cursor + width))
            cursor += width

    def _region(self, address):
        for region in self.regions:
            if region[0] <= address <= region[1]:
                return region
        raise ValueError('address outside the scale')

    def left(self, address):
        """x where ``address`` starts."""
        first, last, x0, x1 = self._region(address)
        return x0 + (x1 - x0) * (address - first) / float(last - first + 1)

    def right(self, address):
        """x where ``address`` ends."""
        first, last, x0, x1 = self._region(address)
        return x0 + (x1 - x0) * (address - first + 1) / float(last - first + 1)


# -- label placement ------------------------------------------------------------

class Label(object):
    """A text under the bar, tied to its entry by a vertical leader line at ``anchor``."""

    __slots__ = ('anchor', 'text', 'kind', 'lane', 'x')

    def __init__(self, anchor, text, kind):
        self.anchor = anchor
        self.text = text
        self.kind = kind
        self.lane = None
        self.x = None

    @property
    def width(self):
        return text_width(self.text)

    @property
    def box(self):
        """Horizontal extent of the text, with half the gap on each side."""
        return (self.x - LABEL_GAP / 2.0, self.x + self.width + LABEL_GAP / 2.0)


def _lead_box(x, width):
    """Where a text at ``x`` would hide a leader line (its extent plus a hair)."""
    return x - LEADER_MARGIN, x + width + LEADER_MARGIN


def _covers(text_of, leader_of):
    """Whether the text of label ``text_of`` hides the leader line of ``leader_of``."""
    low, high = _lead_box(text_of.x, text_of.width)
    return text_of is not leader_of and low <= leader_of.anchor <= high


def place_labels(labels, left=8, right=WIDTH - 8):
    """Give each label an x and a lane (0 = next to the bar).

    A text starts at its leader line, or ends there when that hides no other
    leader line (and starting there would) or the text would run past the right
    edge. No two texts in a
    lane overlap and no text covers a leader line that passes through its lane:
    a label whose leader would be covered by another text is placed first, so
    it lands closer to the bar. Only when two
    labels cover each other's leader (a cycle) may one leader cross one text.
    Returns the number of lanes.
    """
    for label in labels:
        starts = [x for x in (label.anchor - 1, label.anchor + 1 - label.width)
                  if left <= x <= right - label.width]
        if not starts:
            starts = [min(max(label.anchor - 1, left), right - label.width)]

        def covered(x, label=label):
            low, high = _lead_box(x, label.width)
            return sum(1 for other in labels if other is not label
                       and low <= other.anchor <= high)

        # To the right, unless only the left keeps every other leader line free
        # (texts facing each other would hide each other's leader).
        if len(starts) == 2 and covered(starts[0]) and not covered(starts[1]):
            label.x = starts[1]
        else:
            label.x = starts[0]
    remaining = sorted(labels, key=lambda lab: (lab.anchor, lab.text))
    order = []
    while remaining:
        ready = [lab for lab in remaining if not any(_covers(lab, other) for other in remaining)]
        pick = ready[0] if ready else remaining[0]
        order.append(pick)
        remaining.remove(pick)
    lanes = []       # per lane: the labels whose text is in it
    for label in order:
        low, high = label.box
        lead_low, lead_high = _lead_box(label.x, label.width)

        def fits(lane, crossing_allowed=False):
            if lane < len(lanes) and any(not (high <= other.box[0] or other.box[1] <= low)
                                         for other in lanes[lane]):
                return False
            if any(lead_low <= other.anchor <= lead_high for other in labels
                   if other.lane is not None and other.lane > lane):
                return False  # would cover a leader passing through this lane
            if crossing_allowed:
                return True
            return not any(_covers(other, label) for upper in lanes[:lane] for other in upper)

        choice = next((lane for lane in range(len(lanes) + 1) if fits(lane)), None)
        if choice is None:
            choice = next(lane for lane in range(len(lanes) + 1) if fits(lane, True))
        if choice == len(lanes):
            lanes.append([])
        lanes[choice].append(label)
        label.lane = choice
    return len(lanes)


# -- SVG ---------------------------------------------------------------------------

def _num(value):
    return ('%.2f' % value).rstrip('0').rstrip('.')


def _text(x, y, text, anchor='start', weight=None, size=FONT_SIZE, fill='#212121',
          css_class=None):
    attrs = ['x="%s"' % _num(x), 'y="%s"' % _num(y), 'font-size="%d"' % size,
             'fill="%s"' % fill]
    if anchor != 'start':
        attrs.append('text-anchor="%s"' % anchor)
    if weight:
        attrs.append('font-weight="%s"' % weight)
    if css_class:
        attrs.append('class=%s' % quoteattr(css_class))
    return '<text %s>%s</text>' % (' '.join(attrs), escape(text))


def _rect(x, y, width, height, fill, stroke=None, extra=''):
    attrs = 'x="%s" y="%s" width="%s" height="%s" fill="%s"' % (
        _num(x), _num(y), _num(max(width, 0)), _num(height), fill)
    if stroke:
        attrs += ' stroke="%s" stroke-width="0.8"' % stroke
    return '<rect %s%s/>' % (attrs, extra)


def _subnet_section(planner, family, top, out):
    """Draw the node-subnet bar and its labels from y ``top``; return the next free y."""
    subnet = planner.subnets[family]
    version = subnet.version
    items = subnet_items(planner, family)
    scale = Scale(subnet.first, subnet.last, items)
    out.append(_text(BAR_X0, top + 14, 'Node subnet %s/%d (%s addresses, %s)'
                     % (address_text(subnet.first, version), subnet.prefix,
                        size_text(subnet.size), 'to scale, single addresses widened' if scale.linear
                        else 'compressed scale: free runs are labelled with their size'),
                     weight='bold', css_class='heading'))
    bar_top = top + 40
    out.append(_text(BAR_X0, bar_top - 6, address_text(subnet.first, version), size=11,
                     fill='#616161', css_class='bound'))
    out.append(_text(BAR_X1, bar_top - 6, address_text(subnet.last, version), size=11,
                     fill='#616161', anchor='end', css_class='bound'))
    out.append(_rect(BAR_X0, bar_top, BAR_X1 - BAR_X0, BAR_HEIGHT, FREE_FILL, STROKE))
    # Free runs: size written inside the bar when it fits.
    for first, last in free_runs(subnet.first, subnet.last, items):
        x0, x1 = scale.left(first), scale.right(last)
        text = 'free %s' % size_text(last - first + 1)
        if text_width(text) + 6 <= x1 - x0:
            out.append(_text((x0 + x1) / 2.0, bar_top + BAR_HEIGHT / 2.0 + 4, text,
                             anchor='middle', size=FONT_SIZE, fill='#757575',
                             css_class='free'))
    labels = []
    for item in sorted(items, key=lambda it: (ORDER[it.kind], it.first)):
        x0, x1 = scale.left(item.first), scale.right(item.last)
        if x1 - x0 < 3:  # keep single addresses visible
            middle = (x0 + x1) / 2.0
            x0, x1 = middle - 1.5, middle + 1.5
        out.append('<g class="item" data-kind="%s" data-range=%s>%s</g>' % (
            item.kind, quoteattr(range_text(item.first, item.last, version)),
            _rect(x0, bar_top, x1 - x0, BAR_HEIGHT, COLOURS[item.kind], STROKE)))
        if item.kind != 'edge':  # the bounds above the bar already name them
            labels.append(Label((x0 + x1) / 2.0, item.label, item.kind))
    lane_count = place_labels(labels)
    first_lane = bar_top + BAR_HEIGHT + 22
    for label in labels:
        y = first_lane + label.lane * LANE_HEIGHT
        out.append('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="0.8"/>' % (
            _num(label.anchor), _num(bar_top + BAR_HEIGHT), _num(label.anchor), _num(y - 11),
            COLOURS[label.kind]))
        out.append(_text(label.x, y, label.text, css_class='label %s' % label.kind))
    y = first_lane + lane_count * LANE_HEIGHT
    elsewhere = avoided(planner, family)
    if elsewhere:
        out.append(_text(BAR_X0, y, 'Kept clear of (avoid): %s'
                         % ', '.join(span.label.split(' ', 1)[-1] for span in elsewhere),
                         fill='#5d4037', css_class='avoid-elsewhere'))
        y += LANE_HEIGHT
    return y


def _legend(kinds, top, out):
    x = BAR_X0
    for kind, colour, legend in KINDS:
        if kind not in kinds:
            continue
        out.append(_rect(x, top - 10, 12, 12, colour, STROKE))
        out.append(_text(x + 16, top, legend, size=11, css_class='legend'))
        x += 16 + text_width(legend) + 18
    return top + 22


def _pod_section(planner, family, top, out):
    pod = planner.pods[family]
    version = pod.version
    mask = planner.masks[family]
    slice_size = 2 ** ((32 if version == 4 else 128) - mask)
    slices = planner.max_nodes[family]
    nodes = len(planner.node_spans)
    out.append(_text(BAR_X0, top, 'Pod CIDR %s/%d: one /%d per node (%s addresses each), '
                     'room for %s nodes, %d in the inventory'
                     % (address_text(pod.first, version), pod.prefix, mask,
                        size_text(slice_size), size_text(slices), nodes),
                     weight='bold', css_class='heading'))
    row = top + 12
    summarised = slices > MAX_SLICE_CELLS
    cells = MAX_SLICE_CELLS - 8 if summarised else slices
    more = '+ %s more /%d' % (size_text(slices - cells), mask)
    more_width = text_width(more) + 16 if summarised else 0
    cell = (BAR_X1 - BAR_X0 - more_width) / float(cells)
    for index in range(cells):
        used = index < nodes
        out.append('<g class="slice" data-used="%s">%s</g>' % (
            'true' if used else 'false',
            _rect(BAR_X0 + index * cell, row, cell - 2, 22, '#90caf9' if used else FREE_FILL,
                  STROKE)))
    if summarised:
        x0 = BAR_X0 + cells * cell
        out.append(_rect(x0, row, BAR_X1 - x0, 22, FREE_FILL, STROKE))
        out.append(_text((x0 + BAR_X1) / 2.0, row + 15, more, anchor='middle',
                         fill='#757575', css_class='slices-more'))
    last_slice = pod.first + (slices - 1) * slice_size
    out.append(_text(BAR_X0, row + 38, 'first slice %s/%d, last slice %s/%d'
                     % (address_text(pod.first, version), mask,
                        address_text(last_slice, version), mask),
                     size=11, fill='#424242', css_class='slices'))
    out.append(_text(BAR_X0, row + 54, 'kube-controller-manager hands the slices out as nodes '
                     'join (filled: one per node of the inventory)',
                     size=11, fill='#424242', css_class='slices-note'))
    return row + 74


def _service_section(planner, family, top, out):
    service = planner.services[family]
    version = service.version
    dns = address_text(service.first + CLUSTER_DNS_INDEX, version)
    out.append(_text(BAR_X0, top, 'Service CIDR %s/%d: %s ClusterIPs; cluster DNS %s '
                     '(the 10th address)'
                     % (address_text(service.first, version), service.prefix,
                        size_text(service.size), dns),
                     weight='bold', css_class='heading'))
    row = top + 12
    out.append(_rect(BAR_X0, row, BAR_X1 - BAR_X0, 22, '#fff9c4', STROKE))
    marker = BAR_X0 + max(3.0, (BAR_X1 - BAR_X0) * CLUSTER_DNS_INDEX / float(service.size))
    out.append('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#f57f17" stroke-width="2"/>'
               % (_num(marker), _num(row), _num(marker), _num(row + 22)))
    out.append(_text(marker + 6, row + 15, 'cluster DNS %s' % dns, size=11, fill='#e65100',
                     css_class='dns'))
    out.append(_text(BAR_X1, row + 15, address_text(service.last, version), size=11,
                     fill='#616161', anchor='end', css_class='bound'))
    return row + 40


def render_family(planner, family, title=None):
    """The SVG of one family of a validated planner."""
    out = []
    family_name = 'IPv4' if family == 'ipv4' else 'IPv6'
    heading = '%s address plan' % family_name
    if title:
        heading = '%s: %s' % (title, heading)
    if len(planner.families) == 2:
        heading += ' (%s family of a dual-stack cluster)' % (
            'primary' if planner.families[0] == family else 'secondary')
    out.append(_text(BAR_X0, 28, heading, size=16, weight='bold', css_class='title'))
    y = _legend(set(item.kind for item in subnet_items(planner, family)), 54, out)
    y = _subnet_section(planner, family, y, out)
    y = _pod_section(planner, family, y + 16, out)
    y = _service_section(planner, family, y + 8, out)
    height = int(math.ceil(y + 8))
    return ''.join([
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family=%s>\n' % (WIDTH, height, WIDTH, height, quoteattr(FONT)),
        '<title>%s</title>\n' % escape(heading),
        _rect(0, 0, WIDTH, height, '#ffffff'), '\n',
        '\n'.join(out),
        '\n</svg>\n',
    ])


def network_plan_svgs(network, nodes, title=None):
    """Validate the plan and draw it: family (``ipv4``/``ipv6``) -> SVG text.

    ``network`` and ``nodes`` are what ``network_plan`` takes. Raises
    NetworkPlanError (every problem) when the plan is not sound.
    """
    planner = validated_planner(network, nodes)
    return dict((family, render_family(planner, family, title)) for family in planner.families)


def network_plan_svg(network, nodes, family=None, title=None):
    """The SVG of one family (default: the primary one)."""
    planner = validated_planner(network, nodes)
    if family is None:
        family = planner.families[0]
    if family not in planner.families:
        raise NetworkPlanError(['family: %r is not a family of node_subnets (%s)'
                                % (family, ', '.join(planner.families))],
                               'network plan picture')
    return render_family(planner, family, title)
