# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check an Ansible inventory describes a K3s cluster this collection can build.

Pure functions over ``groups`` and ``hostvars``-like mappings (no Ansible
import), used by the ``preflight`` role through the
``homelab.k3s.cluster_inventory_report`` and ``homelab.k3s.unsupported_platforms``
filters. They never contact a host: everything comes from the inventory (and
from facts only when they are already known).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

# A Kubernetes node name is an RFC 1123 subdomain.
NODE_NAME_RE = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
NODE_NAME_MAX = 253

DEFAULT_SUPPORTED_OS = {
    'Debian': ['12', '13'],
    # Raspberry Pi OS reports itself as Debian (64-bit) or Raspbian (32-bit).
    'Raspbian': ['12', '13'],
    'Ubuntu': ['22.04', '24.04'],
}
DEFAULT_SUPPORTED_ARCHITECTURES = ['x86_64', 'aarch64', 'armv7l']


def _vars(hostvars, host):
    try:
        return hostvars[host]
    except KeyError:
        return {}


def _get(host_vars, name, default=None):
    try:
        return host_vars[name] if name in host_vars else default
    except KeyError:
        return default


def _is_set(host_vars, name):
    return _get(host_vars, name) is not None


def _plural(count, word):
    return '%d %s%s' % (count, word, '' if count == 1 else 's')


def node_ips_of(host_vars, node_ips_var):
    """The node IPs of one host: ``node_ips_var`` if set, else ``ansible_host``."""
    value = _get(host_vars, node_ips_var)
    if value is None:
        value = _get(host_vars, 'ansible_host')
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(',') if item.strip()]
    return list(value)


def check_cluster_inventory(groups, hostvars, server_group='k3s_servers',
                            agent_group='k3s_agents', cluster_group='k3s_cluster',
                            embedded_etcd=True, strict=False, required_vars=(),
                            node_name_var='k3s_node_name', node_ips_var='k3s_node_ips',
                            network_var='homelab_network'):
    """Every inventory problem, plus warnings and what the network plan needs.

    Returns a dict with ``problems`` and ``warnings`` (lists of messages),
    ``servers``, ``agents``, ``hosts`` (the cluster hosts), ``node_names``
    (host -> Kubernetes node name), ``node_ips`` (host -> list of node IPs)
    and ``network`` (the value of ``network_var`` on the first cluster host).
    """
    problems = []
    warnings = []
    servers = list(groups.get(server_group) or [])
    agents = list(groups.get(agent_group) or [])
    cluster = list(groups.get(cluster_group) or [])

    if not servers:
        problems.append('group %s: no hosts; at least one K3s server is required'
                        % server_group)
    if not cluster:
        problems.append('group %s: no hosts; it must contain the groups %s and %s'
                        % (cluster_group, server_group, agent_group))
    cluster_set = set(cluster)
    for group, members in ((server_group, servers), (agent_group, agents)):
        outside = [host for host in members if host not in cluster_set]
        if cluster and outside:
            problems.append('group %s: %s not in group %s (make %s a child of %s): %s'
                            % (group, _plural(len(outside), 'host'), cluster_group, group,
                               cluster_group, ', '.join(outside)))
    both = sorted(set(servers) & set(agents))
    if both:
        problems.append('groups %s and %s: %s in both; a node is a server or an agent: %s'
                        % (server_group, agent_group, _plural(len(both), 'host'),
                           ', '.join(both)))
    unassigned = [host for host in cluster if host not in set(servers) | set(agents)]
    if unassigned:
        problems.append('group %s: %s neither in %s nor in %s: %s'
                        % (cluster_group, _plural(len(unassigned), 'host'), server_group,
                           agent_group, ', '.join(unassigned)))

    if embedded_etcd and servers and len(servers) % 2 == 0:
        message = ('group %s: %s; embedded etcd needs an odd number for quorum '
                   '(%d servers tolerate no more failures than %d)'
                   % (server_group, _plural(len(servers), 'server'), len(servers),
                      len(servers) - 1))
        (problems if strict else warnings).append(message)

    hosts = cluster or servers + [h for h in agents if h not in set(servers)]
    node_names = {}
    node_ips = {}
    owners = {}
    missing = {}
    for host in hosts:
        host_vars = _vars(hostvars, host)
        name = _get(host_vars, node_name_var) or host
        name = str(name).lower()
        node_names[host] = name
        owners.setdefault(name, []).append(host)
        if len(name) > NODE_NAME_MAX or not NODE_NAME_RE.match(name):
            problems.append('%s of %s: %r is not a valid Kubernetes node name (RFC 1123: '
                            'lowercase letters, digits, "-" and ".", set %s)'
                            % (node_name_var, host, name, node_name_var))
        node_ips[host] = node_ips_of(host_vars, node_ips_var)
        for var in required_vars:
            if not _is_set(host_vars, var):
                missing.setdefault(var, []).append(host)
    for name, owner_hosts in sorted(owners.items()):
        if len(owner_hosts) > 1:
            problems.append('%s: %s share the node name %r; node names must be unique'
                            % (node_name_var, ', '.join(owner_hosts), name))
    for var in required_vars:
        if var in missing:
            problems.append('required variable %s is not set for %s: %s'
                            % (var, _plural(len(missing[var]), 'host'),
                               ', '.join(missing[var])))

    network = None
    if hosts:
        first = _vars(hostvars, hosts[0])
        network = _get(first, network_var)
        if network is None:
            problems.append('%s: not set for %s; describe the node LAN (see docs/network-plan.md)'
                            % (network_var, hosts[0]))
        else:
            differ = [host for host in hosts[1:]
                      if _get(_vars(hostvars, host), network_var) != network]
            if differ:
                problems.append('%s: differs between %s and %s: %s; set it once for group %s'
                                % (network_var, hosts[0], _plural(len(differ), 'host'),
                                   ', '.join(differ), cluster_group))

    return {
        'problems': problems,
        'warnings': warnings,
        'servers': servers,
        'agents': agents,
        'hosts': hosts,
        'node_names': node_names,
        'node_ips': node_ips,
        'network': network,
    }


# Cilium publishes images for amd64 and arm64 only ("Architecture Support: Cilium images are
# built for the following platforms: AMD64, AArch64",
# https://docs.cilium.io/en/v1.18/operations/system_requirements/#architecture-support).
CILIUM_UNSUPPORTED_ARCHITECTURES = ('armv7l', 'armv6l')


def check_platforms(hostvars, hosts, supported_os=None, supported_architectures=None, cni=None):
    """Problems of hosts whose known facts show an unsupported OS or architecture.

    Hosts without facts are skipped and listed under ``unchecked``. With ``cni='cilium'`` a 32-bit
    ARM node is refused with the way out (a 64-bit OS), since Cilium has no image for it.
    """
    supported_os = DEFAULT_SUPPORTED_OS if supported_os is None else supported_os
    if supported_architectures is None:
        supported_architectures = DEFAULT_SUPPORTED_ARCHITECTURES
    problems = []
    unchecked = []
    for host in hosts:
        facts = _get(_vars(hostvars, host), 'ansible_facts') or {}
        distribution = facts.get('distribution')
        if not distribution:
            unchecked.append(host)
            continue
        versions = [str(v) for v in supported_os.get(distribution, [])]
        version = str(facts.get('distribution_version', ''))
        major = str(facts.get('distribution_major_version', ''))
        if version not in versions and major not in versions:
            problems.append('%s: %s %s is not supported (supported: %s)'
                            % (host, distribution, version or major,
                               '; '.join('%s %s' % (name, ', '.join(str(v) for v in vers))
                                         for name, vers in sorted(supported_os.items()))))
        arch = facts.get('architecture')
        if cni == 'cilium' and arch in CILIUM_UNSUPPORTED_ARCHITECTURES:
            problems.append('%s: architecture %s (32-bit ARM) cannot run Cilium, which publishes amd64 and '
                            'arm64 images only; install a 64-bit OS on it (for example Raspberry Pi OS '
                            '64-bit, aarch64) or set k3s_server_cni: flannel' % (host, arch))
        elif arch and arch not in supported_architectures:
            problems.append('%s: architecture %s is not supported (supported: %s)'
                            % (host, arch, ', '.join(supported_architectures)))
    return {'problems': problems, 'unchecked': unchecked}
