# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: plan a 1,000-node dual-stack cluster, and compare with ansible.utils.

Prints, for a 1,000-node dual-stack inventory (target: plan in < 0.1 s):

0. ``subtract_ranges`` of 2,000 scattered addresses from an IPv6 /64 and a plan
   whose IPv6 LB pool is 2**62 addresses (targets: < 1 s each; enumerating the
   addresses would never finish - tests/unit checks the results, this the time);

1. ``plan_network`` called from Python (module_utils, the logic alone);
2. ``homelab.k3s.network_plan`` called from a Jinja template, as a play does;
3. the same per-node checks written in Jinja with ansible.utils ``ipaddr``
   filters (node IP in its subnet, not in a DHCP range, unique; pod/service/
   node/avoid networks pairwise disjoint) - a subset of what network_plan does
   (no LB pool carving, no mask/size rules).

Run from the checkout:  .venv/bin/python benchmarks/network_plan.py [--nodes N] [--repeat R]
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import argparse
import os
import statistics
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, '.cache', 'collections')
LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'homelab', 'k3s')


def _link_collection():
    if not os.path.lexists(LINK):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        os.symlink(ROOT, LINK)
    # Ansible's collection loader serves ansible_collections.* (plugins and module_utils).
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader([COLLECTIONS])


def inventory(count):
    """A dual-stack /20 + /64 LAN with ``count`` nodes and the seed 003 cluster CIDRs."""
    import netaddr
    ipv6_lan = int(netaddr.IPAddress('fd12:3456:789a:14::'))
    network = {
        'node_subnets': ['10.10.0.0/20', 'fd12:3456:789a:14::/64'],
        'gateway': ['10.10.0.1', 'fd12:3456:789a:14::1'],
        'dhcp_ranges': ['10.10.15.0-10.10.15.255', 'fd12:3456:789a:14:ffff::-fd12:3456:789a:14:ffff:ffff:ffff:ffff'],
        'avoid': ['100.64.0.0/10', '192.168.1.0/24'],
        'pod_cidrs': ['10.0.0.0/13', 'fd22:2025:6a6a:42::/104'],
        'service_cidrs': ['10.43.0.0/16', 'fd22:2025:6a6a:43::/112'],
        'node_cidr_mask_size': {'ipv4': 24, 'ipv6': 120},
        'lb_pool_size': {'ipv4': 200, 'ipv6': 1024},
        'api_vip': ['10.10.0.5', 'fd12:3456:789a:14::5'],
    }
    nodes = dict(('node-%04d' % i, ['10.10.%d.%d' % (1 + i // 250, 1 + i % 250),
                                    str(netaddr.IPAddress(ipv6_lan + 0x1000 + i * 7919))])
                 for i in range(count))
    return network, nodes


def timed(function, repeat):
    samples = []
    result = None
    for dummy in range(repeat):
        started = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - started)
    return result, min(samples), statistics.median(samples)


ANSIBLE_UTILS_TEMPLATE = """
{%- set ns = namespace(problems=0) -%}
{%- for host, ips in nodes.items() -%}
  {%- for ip in ips -%}
    {%- set family = 'ipv4' if ip | ansible.utils.ipv4 else 'ipv6' -%}
    {%- if not ip | ansible.utils.ipaddr(subnets[family]) -%}
      {%- set ns.problems = ns.problems + 1 -%}
    {%- endif -%}
    {%- set value = ip | ansible.utils.ipaddr('int') | int -%}
    {%- for range in dhcp[family] -%}
      {%- if range[0] <= value <= range[1] -%}{%- set ns.problems = ns.problems + 1 -%}{%- endif -%}
    {%- endfor -%}
  {%- endfor -%}
{%- endfor -%}
{%- set all_ips = nodes.values() | flatten -%}
{%- if all_ips | unique | length != all_ips | length -%}{%- set ns.problems = ns.problems + 1 -%}{%- endif -%}
{%- for a in networks -%}
  {%- for b in networks[loop.index:] -%}
    {%- if a | ansible.utils.network_in_network(b) or b | ansible.utils.network_in_network(a) -%}
      {%- set ns.problems = ns.problems + 1 -%}
    {%- endif -%}
  {%- endfor -%}
{%- endfor -%}
{{ ns.problems }}
"""


def make_templar(variables):
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    return Templar(loader=DataLoader(), variables=variables)


def render(templar, template):
    try:
        from ansible.template import trust_as_template
        template = trust_as_template(template)
    except ImportError:  # ansible-core < 2.19
        pass
    return templar.template(template)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=5)
    args = parser.parse_args()
    _link_collection()

    import netaddr
    from ansible_collections.homelab.k3s.plugins.module_utils.network_plan import plan_network

    from ansible_collections.homelab.k3s.plugins.module_utils.network_plan import subtract_ranges
    base = int(netaddr.IPAddress('fd12:3456:789a:14::'))
    removed = [str(netaddr.IPAddress(base + i * 65537)) for i in range(2000)]
    _gaps, best, median = timed(lambda: subtract_ranges('fd12:3456:789a:14::/64', removed), args.repeat)
    print('  subtract_ranges, 2000 addresses from a /64  %8.4f s / %8.4f s  %s'
          % (best, median, 'OK (< 1 s)' if best < 1 else 'SLOWER THAN 1 s TARGET'))
    huge_network, huge_nodes = inventory(args.nodes)
    huge_network = dict(huge_network, lb_pool_size={'ipv4': 200, 'ipv6': 2 ** 62},
                        dhcp_ranges=['10.10.15.0/24', 'fd12:3456:789a:14:ffff::/80'], avoid=[])
    _plan, best, median = timed(lambda: plan_network(huge_network, huge_nodes), args.repeat)
    print('  plan_network, 2**62-address IPv6 LB pool    %8.4f s / %8.4f s  %s'
          % (best, median, 'OK (< 1 s)' if best < 1 else 'SLOWER THAN 1 s TARGET'))

    network, nodes = inventory(args.nodes)
    print('%d-node dual-stack inventory, best / median of %d runs' % (args.nodes, args.repeat))

    plan, best, median = timed(lambda: plan_network(network, nodes), args.repeat)
    assert len(plan['node_ips']) == args.nodes
    print('  plan_network (Python)                      %8.4f s / %8.4f s  %s'
          % (best, median, 'OK (< 0.1 s)' if best < 0.1 else 'SLOWER THAN 0.1 s TARGET'))

    dhcp = {'ipv4': [], 'ipv6': []}
    for item in network['dhcp_ranges']:
        ip_range = netaddr.IPRange(*item.split('-'))
        family = 'ipv4' if ip_range.version == 4 else 'ipv6'
        dhcp[family].append([int(ip_range.first), int(ip_range.last)])
    variables = {
        'homelab_network': network,
        'nodes': nodes,
        'subnets': {'ipv4': network['node_subnets'][0], 'ipv6': network['node_subnets'][1]},
        'dhcp': dhcp,
        'networks': network['node_subnets'] + network['pod_cidrs'] + network['service_cidrs']
        + network['avoid'],
    }
    templar = make_templar(variables)

    template = '{{ homelab_network | homelab.k3s.network_plan(nodes) }}'
    _plan, best_jinja, median_jinja = timed(lambda: render(templar, template), args.repeat)
    print('  homelab.k3s.network_plan (Jinja)           %8.4f s / %8.4f s'
          % (best_jinja, median_jinja))

    problems, best_utils, median_utils = timed(
        lambda: render(templar, ANSIBLE_UTILS_TEMPLATE), max(1, min(args.repeat, 3)))
    assert str(problems).strip() == '0', problems
    print('  ansible.utils ipaddr checks (Jinja)        %8.4f s / %8.4f s  (subset of the checks)'
          % (best_utils, median_utils))

    addresses = 2 * args.nodes
    print('per node IP: network_plan %.1f us (Python), %.1f us (Jinja); ansible.utils %.1f us '
          '-> %.0fx slower'
          % (best / addresses * 1e6, best_jinja / addresses * 1e6,
             best_utils / addresses * 1e6, best_utils / best_jinja))


if __name__ == '__main__':
    main()
