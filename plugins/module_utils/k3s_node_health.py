# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health of K3s nodes from a NodeList (``kubectl get nodes -o json``): the restart and upgrade gate."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

ETCD_LABEL = "node-role.kubernetes.io/etcd"
# The Node condition K3s sets from etcd's own view of each member: True when the member is a
# voter, False with reason MemberIsLearner / NotAMember / unhealthy otherwise
# (k3s-io/k3s pkg/etcd/etcd.go, etcdStatusType = "EtcdIsVoter", v1.34; docs/adrs/etcd-status-condition.md).
ETCD_CONDITION = "EtcdIsVoter"


class NodeHealthError(ValueError):
    """The input is not a NodeList."""


def _condition(node, kind):
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition.get("status") == "True", condition.get("status", "missing"), condition.get("reason")
    return False, "missing", None


def _ready(node):
    return _condition(node, "Ready")[:2]


def _is_etcd_member(node):
    if (node.get("metadata", {}).get("labels") or {}).get(ETCD_LABEL) == "true":
        return True
    return any(c.get("type") == ETCD_CONDITION for c in (node.get("status") or {}).get("conditions") or [])


def node_problems(node_list, name, version=None, etcd=True):
    """Why the cluster is not yet healthy for ``name``; an empty list when it is.

    ``node_list``: a NodeList (dict) or its JSON text. Checks that node ``name`` is registered and
    Ready, runs ``version`` (kubeletVersion, when given) and, with ``etcd``, that K3s reports every
    etcd member (a node with the etcd role label or an ``EtcdIsVoter`` condition), ``name`` included,
    as a healthy voter (``EtcdIsVoter=True``) and Ready: a learner, a member K3s cannot reach, or a
    server that is not a member yet keeps the next server from restarting.
    """
    if isinstance(node_list, (str, bytes)):
        try:
            node_list = json.loads(node_list)
        except ValueError as exc:
            raise NodeHealthError("node list: not JSON (%s)" % exc)
    if not isinstance(node_list, dict) or not isinstance(node_list.get("items"), list):
        raise NodeHealthError("node list: expected a NodeList with 'items', got %s" % type(node_list).__name__)
    nodes = {n.get("metadata", {}).get("name"): n for n in node_list["items"]}
    problems = []
    node = nodes.get(name)
    if node is None:
        problems.append("node %s is not registered" % name)
    else:
        ready, status = _ready(node)
        if not ready:
            problems.append("node %s is not Ready (Ready=%s)" % (name, status))
        running = (node.get("status") or {}).get("nodeInfo", {}).get("kubeletVersion")
        if version and running != version:
            problems.append("node %s runs %s, not %s" % (name, running, version))
    if etcd:
        for other_name, other in sorted(nodes.items()):
            if not _is_etcd_member(other) and other_name != name:
                continue
            voter, status, reason = _condition(other, ETCD_CONDITION)
            if not voter:
                problems.append("etcd member %s is not a healthy voter (%s=%s%s)" % (
                    other_name, ETCD_CONDITION, status, ", %s" % reason if reason else ""))
            if other_name == name:
                continue
            ready, status = _ready(other)
            if not ready:
                problems.append("etcd member %s is not Ready (Ready=%s)" % (other_name, status))
    return problems
