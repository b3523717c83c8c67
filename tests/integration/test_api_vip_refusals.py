# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every refusal of homelab.k3s.api_vip (and the firewall's check of the VRRP peers), run for real
on localhost in check mode with ``--diff`` by the runner of ``test_role_refusals.py``: the play
fails, the message names the problem, and nothing would have changed before the refusal.

localhost plays a K3s server that is also the only load-balancer host (inventory group ``all``);
node IP 192.168.14.11 in 192.168.14.0/24, VIP 192.168.14.250. ``api_vip_failover`` is off except
where the single host is the point.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from test_role_refusals import run_refusal  # pylint: disable=import-error

pytestmark = pytest.mark.slow

NETWORK = {
    'node_subnets': ['192.168.14.0/24'], 'gateway': ['192.168.14.1'],
    'pod_cidrs': ['10.42.0.0/16'], 'service_cidrs': ['10.43.0.0/16'], 'api_vip': '192.168.14.250',
}
BASE = {
    'homelab_network': NETWORK,
    'good_network': NETWORK,
    # The plan as preflight computes it from the good network; the cases change homelab_network.
    'api_vip_network_plan': "{{ good_network | homelab.k3s.network_plan({'localhost': ['192.168.14.11']}) }}",
    'api_vip_lb_group': 'all',
    'api_vip_backend_group': 'all',
    'api_vip_failover': False,
    'k3s_server_anonymous_health_endpoints': True,
}
PASSWORD = 'Zq7pw9Xy'
# Dual-stack plan with localhost as a dedicated load-balancer host (not in the plan's node IPs: the
# K3s server is "k3s-1"), VRRP on lo (127.0.0.1) so that the IPv4 side passes: lo has no global
# IPv6 address, so the IPv6 instance has no unicast source unless api_vip_node_ip6 names one.
NETWORK6 = dict(NETWORK, node_subnets=['192.168.14.0/24', 'fd12:3456:789a:14::/64'],
                gateway=['192.168.14.1', 'fd12:3456:789a:14::1'], pod_cidrs=['10.42.0.0/16', 'fd00:10:42::/56'],
                service_cidrs=['10.43.0.0/16', 'fd00:10:43::/112'], api_vip=['192.168.14.250', 'fd12:3456:789a:14::fa'])
DEDICATED_LB6 = {
    'homelab_network': NETWORK6, 'good_network': NETWORK6,
    'api_vip_network_plan': "{{ good_network | homelab.k3s.network_plan({'k3s-1': ['192.168.14.11', "
                            "'fd12:3456:789a:14::11']}) }}",
    'api_vip_node_ip': '127.0.0.1', 'api_vip_interface': 'lo',
}


def network(**changes):
    return dict(NETWORK, **changes)


@pytest.mark.parametrize('variables, message', [
    ({'api_vip_provider': 'haproxy'}, 'api_vip_provider must be keepalived or kube-vip, not haproxy.'),
    ({'good_network': dict((k, v) for k, v in NETWORK.items() if k != 'api_vip')},
     'The network plan has no api_vip: set homelab_network.api_vip'),
    ({'homelab_network': network(api_vip='10.99.0.5')},
     'The API VIP does not fit the network plan: api_vip[0] 10.99.0.5 is outside node_subnets[0] 192.168.14.0/24'),
    ({'homelab_network': network(api_vip='192.168.14.11')},
     'The API VIP does not fit the network plan: api_vip[0] 192.168.14.11 is the node IP of localhost'),
    ({'homelab_network': network(api_vip='192.168.14.1')},
     'The API VIP does not fit the network plan: api_vip[0] 192.168.14.1 is inside gateway[0]'),
    ({'ansible_host': '192.168.14.250'},
     'The API VIP 192.168.14.250 is the address of localhost: keepalived would add an address the host already has'),
    ({'api_vip_failover': True},
     'api_vip_failover is true but the group all has 1 host(s) (localhost): a VIP needs at least two hosts'),
    ({'api_vip_lb_group': 'load_balancers'},
     'Apply homelab.k3s.api_vip to the hosts of load_balancers (), with K3s servers in all (localhost).'),
    ({'api_vip_backend_group': 'no_servers'},
     'Apply homelab.k3s.api_vip to the hosts of all (localhost), with K3s servers in no_servers (none).'),
    ({'api_vip_lb_port': 6443, 'k3s_node_server_group': 'all'},
     'localhost runs K3s, which listens on 6443: give HAProxy another api_vip_lb_port'),
    ({'api_vip_virtual_router_id': 300}, 'virtual router id 300 (1-255)'),
    ({'api_vip_priority': 255}, 'priority 255 (1-254)'),
    ({'api_vip_lb_port': 8404}, 'api_vip_monitor_port 8404 (1-65535, different)'),
    ({'api_vip_vrrp_version': 2, 'api_vip_advert_interval': 0.5}, 'api_vip_advert_interval 0.5 (whole seconds with VRRPv2)'),
    ({'api_vip_vrrp_auth_pass': PASSWORD},
     'api_vip_vrrp_auth_pass needs api_vip_vrrp_version: 2, at most 8 characters and no IPv6 VIP'),
    ({'k3s_server_anonymous_health_endpoints': False},
     'set k3s_server_anonymous_health_endpoints: true for the hosts of all'),
    ({'k3s_node_api_endpoint_port': 6443},
     'k3s_node_api_endpoint_port, which must be api_vip_lb_port (8443): set k3s_node_api_endpoint_port: 8443'),
    ({'api_vip_provider': 'kube-vip', 'k3s_node_api_endpoint_port': 8443},
     'kube-vip runs on the K3s servers (all) and announces the IPv4 VIP by ARP on the K3s port 6443'),
    ({'api_vip_node_ip': '192.0.2.77'}, 'No interface of localhost has the address 192.0.2.77'),
    (dict(DEDICATED_LB6), 'The IPv6 VIP fd12:3456:789a:14::fa needs a unicast VRRP source address on localhost: '
     'the interface lo has no global IPv6 address in the node subnet fd12:3456:789a:14::/64. Set api_vip_node_ip6'),
    (dict(DEDICATED_LB6, api_vip_node_ip6='fd12:3456:789a:14::77'),
     'The IPv6 VIP fd12:3456:789a:14::fa needs a unicast VRRP source address on localhost: api_vip_node_ip6 / '
     'the node IP fd12:3456:789a:14::77 is not an address of lo.'),
], ids=['unknown-provider', 'no-vip', 'vip-outside-subnets', 'vip-is-node-ip', 'vip-is-gateway',
        'vip-is-lb-host-address', 'one-host-with-failover', 'host-outside-lb-group', 'no-backends',
        'k3s-port-on-server', 'router-id', 'priority', 'monitor-port', 'vrrpv2-subsecond', 'vrrpv3-password',
        'no-anonymous-readyz', 'endpoint-port', 'kube-vip-layout', 'node-ip-on-no-interface',
        'dedicated-lb-without-ipv6', 'ipv6-source-on-no-interface'])
def test_api_vip_refusals(tmp_path, variables, message):
    out = run_refusal(tmp_path, 'api_vip', dict(BASE, **variables))
    assert message in out, out[-3000:]
    assert PASSWORD not in out


def test_firewall_refuses_a_dedicated_vip_host_without_ipv6(tmp_path):
    """An IPv6 VIP, and a VIP host that is no K3s node (no k3s_node_ips) with no IPv6 address in the
    node subnet: the firewall cannot list it as an IPv6 VRRP peer."""
    out = run_refusal(tmp_path, 'firewall', {'firewall_admin_networks': ['10.213.0.0/24'], 'firewall_api_vip_group': 'all',
                                             'ansible_host': '127.0.0.1', 'homelab_network': NETWORK6})
    assert ("The IPv6 API VIP fd12:3456:789a:14::fa needs VRRP from each load-balancer host's IPv6 address, and "
            "none is known for localhost: run the firewall role on every host of all in the same play") in out, out[-3000:]


def test_firewall_refuses_a_bad_vrrp_peer_address(tmp_path):
    out = run_refusal(tmp_path, 'firewall', {'firewall_admin_networks': ['10.213.0.0/24'],
                                             'firewall_api_vip_group': 'all', 'k3s_node_ips': ['10.0.0.300']})
    assert ("Not an IP address or CIDR: the k3s_node_ips / ansible_host of the all group (VRRP peers)[0]: "
            "'10.0.0.300' is not an IP address") in out, out[-3000:]
