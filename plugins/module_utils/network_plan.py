# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and validate the address space of a K3s cluster.

Pure functions over plain data (no Ansible import), used by the
``homelab.k3s.network_plan`` family of filters and by the ``preflight`` role.

Addresses are parsed with netaddr; every range is then handled as a pair of
integers ``(first, last)`` so that set arithmetic (free space, overlaps,
carving load-balancer pools) costs O(n log n) in the number of *ranges*, never
in the number of addresses: an IPv6 /64 is as cheap as an IPv4 /30.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import traceback

try:
    import netaddr
    HAS_NETADDR = True
    NETADDR_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only without netaddr
    netaddr = None
    HAS_NETADDR = False
    NETADDR_IMPORT_ERROR = traceback.format_exc()


FAMILIES = {4: 'ipv4', 6: 'ipv6'}
VERSIONS = {'ipv4': 4, 'ipv6': 6}

DEFAULT_POD_CIDRS = ('10.42.0.0/16',)
DEFAULT_SERVICE_CIDRS = ('10.43.0.0/16',)
# kube-controller-manager's defaults for --node-cidr-mask-size-ipv4/-ipv6.
DEFAULT_NODE_CIDR_MASK_SIZE = {'ipv4': 24, 'ipv6': 64}
# kube-controller-manager refuses a node mask more than 16 bits longer than an IPv6 cluster
# CIDR, and only for IPv6 (kubernetes pkg/controller/nodeipam/ipam/cidrset/cidr_set.go,
# NewCIDRSet: `if (clusterCIDR.IP.To4() == nil) && (subNetMaskSize-clusterMaskSize >
# clusterSubnetMaxDiff)` with clusterSubnetMaxDiff = 16, v1.34).
MAX_NODE_MASK_DIFF = 16
MAX_NODE_MASK_DIFF_VERSIONS = (6,)
# kube-apiserver refuses a service CIDR with more than 20 host bits: IPv4 /12, IPv6 /108
# (kubernetes cmd/kube-apiserver/app/options/validation.go, validateClusterIPFlags ->
# validateMaxCIDRRange(cidr, maxCIDRBits=20): "the mask must be >= bits-20", v1.34).
MAX_SERVICE_HOST_BITS = 20
MIN_SERVICE_PREFIX = {4: 32 - MAX_SERVICE_HOST_BITS, 6: 128 - MAX_SERVICE_HOST_BITS}
# K3s picks the 10th address of the first service CIDR as cluster DNS.
CLUSTER_DNS_INDEX = 10

KNOWN_KEYS = (
    'node_subnets', 'gateway', 'dhcp_ranges', 'reserved', 'avoid',
    'pod_cidrs', 'service_cidrs', 'node_cidr_mask_size',
    'lb_pool_size', 'lb_pools', 'api_vip',
)


class NetworkPlanError(ValueError):
    """The network description is inconsistent; ``problems`` lists every finding."""

    def __init__(self, problems, subject='network plan'):
        self.problems = list(problems)
        super(NetworkPlanError, self).__init__(format_problems(self.problems, subject))


class MissingNetaddrError(ImportError):
    """netaddr is not installed on the controller."""


def format_problems(problems, subject='network plan'):
    """One message listing every problem, one per line."""
    count = len(problems)
    head = '%s: %d problem%s found' % (subject, count, '' if count == 1 else 's')
    return head + ''.join('\n  - %s' % problem for problem in problems)


def require_netaddr():
    if not HAS_NETADDR:
        raise MissingNetaddrError(
            'the netaddr Python library is required on the controller '
            '(pip install netaddr): %s' % NETADDR_IMPORT_ERROR)


class Span(object):
    """An inclusive range of addresses of one IP version, with the input it came from."""

    __slots__ = ('first', 'last', 'version', 'label', 'prefix', 'address')

    def __init__(self, first, last, version, label, prefix=None):
        self.first = first
        self.last = last
        self.version = version
        self.label = label
        self.prefix = prefix  # prefix length when parsed from a CIDR
        self.address = None   # normalised text when parsed from a single address

    @property
    def family(self):
        return FAMILIES[self.version]

    @property
    def size(self):
        return self.last - self.first + 1

    def overlaps(self, other):
        return (self.version == other.version
                and self.first <= other.last and other.first <= self.last)

    def contains(self, other):
        return (self.version == other.version
                and self.first <= other.first and other.last <= self.last)

    def text(self):
        return range_text(self.first, self.last, self.version)

    def __repr__(self):
        return 'Span(%s, %r)' % (self.text(), self.label)


def address_text(value, version):
    return str(netaddr.IPAddress(value, version))


def range_text(first, last, version):
    if first == last:
        return address_text(first, version)
    return '%s-%s' % (address_text(first, version), address_text(last, version))


def as_list(value, field, problems):
    """Accept a list, a comma-separated string (K3s flag style) or nothing."""
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(',') if item.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    problems.append('%s: expected a list or a comma-separated string, got %r' % (field, value))
    return []


def parse_address(text, label, problems):
    """An address without prefix, or None (problem recorded)."""
    if not isinstance(text, str) or '/' in text or '-' in text:
        problems.append('%s: %r is not an IP address' % (label, text))
        return None
    try:
        address = netaddr.IPAddress(text.strip())
    except (netaddr.AddrFormatError, ValueError, TypeError):
        problems.append('%s: %r is not an IP address' % (label, text))
        return None
    text = str(address)  # normalised once: it is both label and K3s flag value
    span = Span(int(address), int(address), address.version, '%s %s' % (label, text))
    span.address = text
    return span


def parse_cidr(text, label, problems):
    """A network in CIDR notation without host bits, or None (problem recorded)."""
    if not isinstance(text, str) or '/' not in text:
        problems.append('%s: %r is not a CIDR (expected address/prefix, e.g. 10.42.0.0/16)'
                        % (label, text))
        return None
    try:
        network = netaddr.IPNetwork(text.strip())
    except (netaddr.AddrFormatError, ValueError, TypeError):
        problems.append('%s: %r is not a valid CIDR' % (label, text))
        return None
    if network.ip != network.network:
        problems.append('%s: %s has host bits set (the network is %s)'
                        % (label, text, network.cidr))
        return None
    return Span(int(network.first), int(network.last), network.version,
                '%s %s' % (label, network), network.prefixlen)


def parse_span(text, label, problems):
    """An address, an ``a-b`` range or a CIDR, or None (problem recorded)."""
    if not isinstance(text, str):
        problems.append('%s: %r is not an address, range (a-b) or CIDR' % (label, text))
        return None
    text = text.strip()
    if '/' in text:
        return parse_cidr(text, label, problems)
    if '-' in text:
        start, _sep, stop = text.partition('-')
        try:
            ip_range = netaddr.IPRange(start.strip(), stop.strip())
        except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
            problems.append('%s: %r is not a valid range (a-b): %s' % (label, text, exc))
            return None
        return Span(int(ip_range.first), int(ip_range.last), ip_range.version,
                    '%s %s' % (label, text))
    return parse_address(text, label, problems)


def address_problems(values, field):
    """Problems of ``values``, each an IP address or a network in CIDR notation.

    ``field`` names where the values come from (it starts every message). A
    CIDR must not have host bits set; ranges (``a-b``) are refused. Used where
    a role writes addresses into a configuration (the firewall's nftables sets).
    """
    require_netaddr()
    problems = []
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        return ['%s: expected a list of addresses or CIDRs, got %r' % (field, values)]
    for index, value in enumerate(values):
        label = '%s[%d]' % (field, index)
        if isinstance(value, str) and '/' in value:
            parse_cidr(value, label, problems)
        else:
            parse_address(value, label, problems)
    return problems


def merge_spans(spans):
    """Sorted, merged ``(first, last)`` pairs of spans of one version."""
    merged = []
    for first, last in sorted((span.first, span.last) for span in spans):
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1][1] = last
        else:
            merged.append([first, last])
    return merged


def free_ranges(base, taken):
    """``(first, last)`` pairs of ``base`` not covered by any span in ``taken``."""
    cursor = base.first
    free = []
    for first, last in merge_spans(s for s in taken if s.overlaps(base)):
        if first > cursor:
            free.append((cursor, first - 1))
        cursor = max(cursor, last + 1)
    if cursor <= base.last:
        free.append((cursor, base.last))
    return free


def subtract_ranges(base_items, excluded_items, field='value'):
    """What remains of ``base_items`` after removing ``excluded_items``.

    Both take addresses, ``a-b`` ranges or CIDRs (lists or comma-separated
    strings). Returns ``(first, last, version)`` triples, sorted by version then
    address. Raises NetworkPlanError on malformed input.
    """
    require_netaddr()
    problems = []
    bases = [parse_span(item, '%s[%d]' % (field, i), problems)
             for i, item in enumerate(as_list(base_items, field, problems))]
    excluded = [parse_span(item, 'exclude[%d]' % i, problems)
                for i, item in enumerate(as_list(excluded_items, 'exclude', problems))]
    if problems:
        raise NetworkPlanError(problems, 'invalid input')
    result = []
    for version in (4, 6):
        version_bases = [Span(first, last, version, '')
                         for first, last in merge_spans(b for b in bases if b.version == version)]
        for base in version_bases:
            result.extend((first, last, version) for first, last in free_ranges(base, excluded))
    return result


def format_ranges(ranges, output='range'):
    """Format ``(first, last, version)`` triples as ``range`` strings (``a-b``, or
    ``a`` for one address), ``cidr`` strings, or Cilium ``blocks`` (start/stop)."""
    if output == 'range':
        return [range_text(first, last, version) for first, last, version in ranges]
    if output == 'cidr':
        return [str(cidr) for first, last, version in ranges
                for cidr in netaddr.IPRange(netaddr.IPAddress(first, version),
                                            netaddr.IPAddress(last, version)).cidrs()]
    if output == 'blocks':
        return [{'start': address_text(first, version), 'stop': address_text(last, version)}
                for first, last, version in ranges]
    raise ValueError('output must be range, cidr or blocks, not %r' % (output,))


def spans_overlap(left_items, right_items):
    """True when any address/range/CIDR on the left overlaps any on the right."""
    require_netaddr()
    problems = []
    left = [parse_span(item, 'value[%d]' % i, problems)
            for i, item in enumerate(as_list(left_items, 'value', problems))]
    right = [parse_span(item, 'other[%d]' % i, problems)
             for i, item in enumerate(as_list(right_items, 'other', problems))]
    if problems:
        raise NetworkPlanError(problems, 'invalid input')
    return any(a.overlaps(b) for a in left for b in right)


class _Planner(object):
    """Collects every problem of one network description, then builds the plan."""

    def __init__(self, network, nodes):
        self.problems = []
        self.network = network
        self.nodes = nodes
        self.families = []
        self.subnets = {}        # family -> Span
        self.pods = {}
        self.services = {}
        self.masks = {}
        self.max_nodes = {}
        self.gateways = []
        self.dhcp = []
        self.reserved = []
        self.avoid = []
        self.node_spans = {}     # host -> [Span] in family order
        self.vips = []
        self.lb_pools = {}       # family -> [Span]
        self.incomplete = set()  # keys with an unparsable entry (already reported)

    # -- input ---------------------------------------------------------------

    def problem(self, message, *args):
        self.problems.append(message % args if args else message)

    def get(self, key, default=None):
        value = self.network.get(key)
        return default if value is None or value == '' or value == [] else value

    def parse_list(self, key, parser, default=None):
        items = as_list(self.get(key, default), key, self.problems)
        spans = []
        for index, item in enumerate(items):
            span = parser(item, '%s[%d]' % (key, index), self.problems)
            if span is not None:
                spans.append(span)
        if len(spans) != len(items):
            self.incomplete.add(key)
        return spans

    def check_shape(self):
        if not isinstance(self.network, dict):
            self.problem('network: expected a mapping (homelab_network), got %r', self.network)
            return False
        if not isinstance(self.nodes, dict):
            self.problem('nodes: expected a mapping of hostname to node IPs, got %r', self.nodes)
            return False
        for key in sorted(set(self.network) - set(KNOWN_KEYS)):
            self.problem('%s: unknown key (known keys: %s)', key, ', '.join(KNOWN_KEYS))
        return True

    def parse_families(self, key, default=None):
        """Parse a one-CIDR-per-family list and check it pairs with node_subnets."""
        spans = self.parse_list(key, parse_cidr, default)
        by_family = {}
        for span in spans:
            if span.family in by_family:
                self.problem('%s and %s are both %s; give one CIDR per family',
                             by_family[span.family].label, span.label, span.family)
            else:
                by_family[span.family] = span
        return spans, by_family

    def parse_node_subnets(self):
        if not self.get('node_subnets'):
            self.problem('node_subnets: required (the LAN the nodes live on, one CIDR per family)')
            return
        spans, self.subnets = self.parse_families('node_subnets')
        seen = []
        for span in spans:
            if span.family not in seen:
                seen.append(span.family)
        self.families = seen

    def check_pairing(self, key, spans):
        """Same families as node_subnets, in the same order."""
        if not self.families or key in self.incomplete or 'node_subnets' in self.incomplete:
            return
        order = []
        for span in spans:
            if span.family not in self.subnets:
                self.problem('%s is %s but node_subnets has no %s subnet',
                             span.label, span.family, span.family)
            if span.family not in order:
                order.append(span.family)
        for family in self.families:
            if spans and family not in order:
                self.problem('%s: node_subnets is %s but %s has no %s CIDR',
                             key, family, key, family)
        if set(order) == set(self.families) and order != self.families:
            self.problem('%s: families are in the order %s but node_subnets is %s; '
                         'dual-stack lists must use the same family order',
                         key, ', '.join(order), ', '.join(self.families))

    def parse_cluster_cidrs(self):
        pods, self.pods = self.parse_families('pod_cidrs', list(DEFAULT_POD_CIDRS))
        services, self.services = self.parse_families('service_cidrs',
                                                      list(DEFAULT_SERVICE_CIDRS))
        self.check_pairing('pod_cidrs', pods)
        self.check_pairing('service_cidrs', services)
        for family, span in self.services.items():
            prefix = span.prefix
            limit = MIN_SERVICE_PREFIX[span.version]
            if prefix < limit:
                self.problem('%s is larger than /%d, the largest %s service '
                             'CIDR kube-apiserver accepts', span.label, limit, family)
            elif span.size <= CLUSTER_DNS_INDEX:
                self.problem('%s has %d addresses; K3s needs the 10th for '
                             'cluster DNS', span.label, span.size)

    def parse_masks(self):
        value = self.network.get('node_cidr_mask_size')
        masks = dict(DEFAULT_NODE_CIDR_MASK_SIZE)
        if value is None:
            pass
        elif isinstance(value, dict):
            for key in sorted(value, key=str):
                if key not in VERSIONS:
                    self.problem('node_cidr_mask_size: unknown family %r (use ipv4 and ipv6)', key)
                else:
                    masks[key] = value[key]
        elif isinstance(value, int) and not isinstance(value, bool) and len(self.families) == 1:
            masks[self.families[0]] = value
        else:
            self.problem('node_cidr_mask_size: expected a mapping like {ipv4: 24, ipv6: 64}'
                         '%s, got %r',
                         ' (a plain number only for a single-stack cluster)', value)
            return
        for family in sorted(masks):
            mask = masks[family]
            bits = 32 if family == 'ipv4' else 128
            if isinstance(mask, bool) or not isinstance(mask, int) or not 1 <= mask <= bits:
                self.problem('node_cidr_mask_size.%s: %r is not a prefix length between 1 and %d',
                             family, mask, bits)
                continue
            self.masks[family] = mask
        nodes = len(self.nodes)
        for family, pod in self.pods.items():
            mask = self.masks.get(family)
            if mask is None:
                continue
            prefix = pod.prefix
            if mask <= prefix:
                self.problem('node_cidr_mask_size.%s: %d is not longer than the prefix of %s; '
                             'each node needs a smaller slice of the pod CIDR',
                             family, mask, pod.label)
                continue
            if pod.version in MAX_NODE_MASK_DIFF_VERSIONS and mask - prefix > MAX_NODE_MASK_DIFF:
                self.problem('node_cidr_mask_size.%s: %d is %d bits longer than the prefix of %s; '
                             'kube-controller-manager allows at most %d for IPv6 (use /%d or longer '
                             'pod CIDR, or a mask of at most %d)',
                             family, mask, mask - prefix, pod.label, MAX_NODE_MASK_DIFF,
                             mask - MAX_NODE_MASK_DIFF, prefix + MAX_NODE_MASK_DIFF)
                continue
            self.max_nodes[family] = 2 ** (mask - prefix)
            if nodes > self.max_nodes[family]:
                self.problem('%s with node_cidr_mask_size.%s %d holds at most %d '
                             'nodes but the inventory has %d',
                             pod.label, family, mask, self.max_nodes[family], nodes)

    def parse_lan_entries(self):
        self.gateways = self.parse_list('gateway', parse_address)
        self.dhcp = self.parse_list('dhcp_ranges', parse_span)
        self.reserved = self.parse_list('reserved', parse_span)
        self.avoid = self.parse_list('avoid', parse_span)
        for span in self.gateways:
            self.require_in_subnet(span)
        for span in self.dhcp:
            self.require_in_subnet(span)

    def require_in_subnet(self, span):
        subnet = self.subnets.get(span.family)
        if subnet is None:
            if self.subnets:
                self.problem('%s is %s but node_subnets has no %s subnet',
                             span.label, span.family, span.family)
            return False
        if not subnet.contains(span):
            self.problem('%s is outside %s', span.label, subnet.label)
            return False
        return True

    def parse_nodes(self):
        owners = {}
        for host in sorted(self.nodes, key=str):
            label = 'node_ips[%s]' % host
            items = as_list(self.nodes[host], label, self.problems)
            if not items:
                self.problem('%s: no node IP (set k3s_node_ips or ansible_host)', label)
                continue
            spans = []
            for item in items:
                span = parse_address(item, label, self.problems)
                if span is not None:
                    spans.append(span)
            if len(spans) != len(items):
                continue
            self.node_spans[host] = spans
            order = [span.family for span in spans]
            if len(set(order)) != len(order):
                self.problem('%s: %s give more than one address of the same family; '
                             'give one per family', label, ', '.join(items))
            elif self.families and set(order) != set(self.families):
                self.problem('%s: %s is %s but node_subnets is %s; give one node IP per family',
                             label, ', '.join(items), ', '.join(order), ', '.join(self.families))
            elif self.families and order != self.families:
                self.problem('%s: %s lists %s first but node_subnets lists %s first; '
                             'use the same family order', label, ', '.join(items),
                             order[0], self.families[0])
            for span in spans:
                owners.setdefault((span.version, span.first), []).append(host)
                self.check_node_ip(label, span)
        for (version, value), hosts in sorted(owners.items()):
            if len(hosts) > 1:
                self.problem('node_ips: %s is the node IP of %d hosts: %s',
                             address_text(value, version), len(hosts), ', '.join(hosts))

    def check_node_ip(self, label, span):
        if not self.require_in_subnet(span):
            return
        subnet = self.subnets[span.family]
        if span.version == 4 and subnet.size > 2 and span.first in (subnet.first, subnet.last):
            self.problem('%s is the network or broadcast address of %s',
                         span.label, subnet.label)
        for dhcp in self.dhcp:
            if dhcp.overlaps(span):
                self.problem('%s is inside %s; the router may hand it to another device',
                             span.label, dhcp.label)
        for gateway in self.gateways:
            if gateway.overlaps(span):
                self.problem('%s is the %s', span.label, gateway.label)

    def parse_vips(self):
        spans = self.parse_list('api_vip', parse_address)
        seen = {}
        for span in spans:
            if span.family in seen:
                self.problem('%s and %s are both %s; give at most one per family',
                             seen[span.family].label, span.label, span.family)
                continue
            seen[span.family] = span
            self.vips.append(span)
            if not self.require_in_subnet(span):
                continue
            for other in self.dhcp + self.reserved + self.gateways:
                if other.overlaps(span):
                    self.problem('%s is inside %s', span.label, other.label)
            for host, node_spans in sorted(self.node_spans.items()):
                if any(node.overlaps(span) for node in node_spans):
                    self.problem('%s is the node IP of %s', span.label, host)

    # -- load-balancer pools ---------------------------------------------------

    def taken(self, family):
        """Everything an LB pool must not use in the node subnet of ``family``."""
        subnet = self.subnets[family]
        taken = [s for s in self.gateways + self.dhcp + self.reserved + self.avoid + self.vips
                 if s.family == family]
        taken.extend(s for spans in self.node_spans.values() for s in spans
                     if s.family == family)
        # The network (and, for IPv4, broadcast) address of the LAN.
        taken.append(Span(subnet.first, subnet.first, subnet.version, 'network address'))
        if subnet.version == 4:
            taken.append(Span(subnet.last, subnet.last, subnet.version, 'broadcast address'))
        return taken

    def plan_lb_pools(self):
        sizes = self.network.get('lb_pool_size')
        explicit = self.network.get('lb_pools')
        if sizes is not None and explicit is not None:
            self.problem('lb_pool_size, lb_pools: give one of them, not both')
            return
        if explicit is not None:
            self.check_explicit_pools(explicit)
        elif sizes is not None:
            self.carve_pools(sizes)

    def carve_pools(self, sizes):
        if isinstance(sizes, dict):
            wanted = {}
            for key in sorted(sizes, key=str):
                if key not in VERSIONS:
                    self.problem('lb_pool_size: unknown family %r (use ipv4 and ipv6)', key)
                else:
                    wanted[key] = sizes[key]
        else:
            wanted = dict((family, sizes) for family in self.families)
        for family in self.families:
            size = wanted.get(family)
            if size is None or size == 0:
                continue
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                self.problem('lb_pool_size.%s: %r is not a number of addresses', family, size)
                continue
            subnet = self.subnets.get(family)
            if subnet is None:
                continue
            free = free_ranges(subnet, self.taken(family))
            fitting = [(first, last) for first, last in free if last - first + 1 >= size]
            if not fitting:
                largest = max(free, key=lambda r: r[1] - r[0]) if free else None
                self.problem(
                    'lb_pool_size.%s: %d addresses do not fit in %s; the largest '
                    'free contiguous range is %s after excluding the gateway, dhcp_ranges, '
                    'reserved, avoid, node IPs and api_vip',
                    family, size, subnet.label,
                    '%s (%d addresses)' % (range_text(largest[0], largest[1], subnet.version),
                                           largest[1] - largest[0] + 1)
                    if largest else 'empty')
                continue
            # The highest free range: DHCP pools usually sit low in the LAN.
            _first, last = fitting[-1]
            self.lb_pools[family] = [Span(last - size + 1, last, subnet.version,
                                          'lb_pools (carved)')]

    def check_explicit_pools(self, explicit):
        if isinstance(explicit, dict):
            items = []
            for key in sorted(explicit, key=str):
                if key not in VERSIONS:
                    self.problem('lb_pools: unknown family %r (use ipv4 and ipv6)', key)
                    continue
                items.extend(('lb_pools.%s' % key, key, item)
                             for item in as_list(explicit[key], 'lb_pools.%s' % key,
                                                 self.problems))
        else:
            items = [('lb_pools', None, item)
                     for item in as_list(explicit, 'lb_pools', self.problems)]
        counters = {}
        pools = []
        for field, family, item in items:
            index = counters.get(field, 0)
            counters[field] = index + 1
            span = parse_span(item, '%s[%d]' % (field, index), self.problems)
            if span is None:
                continue
            if family is not None and span.family != family:
                self.problem('%s is not %s', span.label, family)
                continue
            pools.append(span)
            if not self.require_in_subnet(span):
                continue
            conflicts = self.gateways + self.dhcp + self.reserved + self.vips
            for other in conflicts:
                if other.overlaps(span):
                    self.problem('%s overlaps %s', span.label, other.label)
            for host, node_spans in sorted(self.node_spans.items()):
                for node in node_spans:
                    if node.overlaps(span):
                        self.problem('%s contains the node IP %s of %s',
                                     span.label, address_text(node.first, node.version), host)
            subnet = self.subnets[span.family]
            if span.first == subnet.first or (span.version == 4 and span.last == subnet.last):
                self.problem('%s contains the network or broadcast address of %s',
                             span.label, subnet.label)
        for index, span in enumerate(pools):
            for other in pools[index + 1:]:
                if span.overlaps(other):
                    self.problem('%s overlaps %s', span.label, other.label)
            self.lb_pools.setdefault(span.family, []).append(span)

    # -- overlaps --------------------------------------------------------------

    def check_overlaps(self):
        groups = [
            ('node_subnets', list(self.subnets.values())),
            ('pod_cidrs', list(self.pods.values())),
            ('service_cidrs', list(self.services.values())),
            ('lb_pools', [s for spans in self.lb_pools.values() for s in spans]),
            ('avoid', self.avoid),
        ]
        skip = set([('node_subnets', 'lb_pools')])  # pools live inside the LAN
        for index, (left_name, left) in enumerate(groups):
            for right_name, right in groups[index + 1:]:
                if (left_name, right_name) in skip:
                    continue
                for a in left:
                    for b in right:
                        if a.overlaps(b):
                            self.problem('%s overlaps %s', a.label, b.label)
        for vip in self.vips:
            for other in self.avoid + [s for spans in self.lb_pools.values() for s in spans]:
                if other.overlaps(vip):
                    self.problem('%s is inside %s', vip.label, other.label)

    # -- result ----------------------------------------------------------------

    def run(self):
        if not self.check_shape():
            return None
        self.parse_node_subnets()
        self.parse_cluster_cidrs()
        self.parse_masks()
        self.parse_lan_entries()
        self.parse_nodes()
        self.parse_vips()
        self.plan_lb_pools()
        self.check_overlaps()
        if self.problems:
            return None
        return self.result()

    def result(self):
        families = self.families
        pods = [self.pods[f] for f in families]
        services = [self.services[f] for f in families]

        def cidr(span):
            return '%s/%d' % (address_text(span.first, span.version), span.prefix)

        dns = dict((f, address_text(self.services[f].first + CLUSTER_DNS_INDEX,
                                    self.services[f].version)) for f in families)
        pools = dict((f, [block(s) for s in self.lb_pools.get(f, [])]) for f in families)
        masks = dict((f, self.masks[f]) for f in families)
        vips = [address_text(s.first, s.version) for s in
                sorted(self.vips, key=lambda s: families.index(s.family))]
        node_ips = dict((host, ','.join(s.address for s in spans))
                        for host, spans in self.node_spans.items())
        kcm_args = ['node-cidr-mask-size-%s=%d' % (f, masks[f]) for f in families]
        cluster_cidr = ','.join(cidr(s) for s in pods)
        service_cidr = ','.join(cidr(s) for s in services)
        return {
            'families': list(families),
            'dual_stack': len(families) == 2,
            'node_subnets': dict((f, cidr(self.subnets[f])) for f in families),
            'pod_cidrs': dict((f, cidr(self.pods[f])) for f in families),
            'service_cidrs': dict((f, cidr(self.services[f])) for f in families),
            'cluster_cidr': cluster_cidr,
            'service_cidr': service_cidr,
            'cluster_dns': dns[families[0]],
            'cluster_dns_ips': dns,
            'node_cidr_mask_size': masks,
            'max_nodes': min(self.max_nodes[f] for f in families),
            'max_nodes_per_family': dict((f, self.max_nodes[f]) for f in families),
            'kube_controller_manager_args': kcm_args,
            'lb_pools': pools,
            'lb_pool_blocks': [b for f in families for b in pools[f]],
            'api_vip': vips[0] if vips else None,
            'api_vips': vips,
            'node_ips': node_ips,
            'k3s_server_config': {
                'cluster-cidr': cluster_cidr,
                'service-cidr': service_cidr,
                'cluster-dns': dns[families[0]],
                'kube-controller-manager-arg': kcm_args,
            },
        }


def block(span):
    """A CiliumLoadBalancerIPPool block.

    Always start/stop: Cilium may skip the first and last address of a ``cidr``
    block (``allowFirstLastIPs``), a start/stop block uses every address.
    """
    return {'start': address_text(span.first, span.version),
            'stop': address_text(span.last, span.version)}


def network_problems(network, nodes):
    """Every problem of the network description (an empty list when it is sound)."""
    require_netaddr()
    planner = _Planner(network, nodes if nodes is not None else {})
    planner.run()
    return planner.problems


def plan_network(network, nodes):
    """The network plan (see docs/network-plan.md), or NetworkPlanError listing every problem."""
    require_netaddr()
    planner = _Planner(network, nodes if nodes is not None else {})
    plan = planner.run()
    if planner.problems:
        raise NetworkPlanError(planner.problems)
    return plan


def _address_part(text):
    """``text`` without a /prefix or a %zone (facts and inventories carry both forms)."""
    return text.split('/', 1)[0].split('%', 1)[0].strip() if isinstance(text, str) else text


def vrrp_sources6(addresses, node_subnets, vips):
    """The IPv6 addresses keepalived may send IPv6 VRRP adverts from, among ``addresses``.

    Those inside one of the IPv6 ``node_subnets`` (IPv4 entries are ignored), without the
    ``vips`` (whoever holds a VIP has it too), normalised, sorted and each once. Used for a
    load-balancer host that is not in the plan's node IPs: the api_vip role takes the first (lowest)
    of its VRRP interface's addresses, the firewall accepts VRRP from all of them.
    NetworkPlanError names the field and the value of every bad entry.
    """
    require_netaddr()
    problems = []
    subnets = []
    for index, text in enumerate(as_list(node_subnets, 'node_subnets', problems)):
        span = parse_cidr(text, 'node_subnets[%d]' % index, problems)
        if span is not None and span.version == 6:
            subnets.append(span)
    excluded = set()
    for index, text in enumerate(as_list(vips, 'vips', problems)):
        span = parse_address(_address_part(text), 'vips[%d]' % index, problems)
        if span is not None:
            excluded.add((span.version, span.first))
    found = {}
    for index, text in enumerate(as_list(addresses, 'addresses', problems)):
        span = parse_address(_address_part(text), 'addresses[%d]' % index, problems)
        if (span is not None and span.version == 6 and (6, span.first) not in excluded
                and any(subnet.contains(span) for subnet in subnets)):
            found[span.first] = span.address
    if problems:
        raise NetworkPlanError(problems, 'vrrp_sources6')
    return [found[key] for key in sorted(found)]
