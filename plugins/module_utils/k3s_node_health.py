# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health of K3s nodes from a NodeList (``kubectl get nodes -o json``): the restart and upgrade gate."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

ETCD_LABEL = "node-role.kubernetes.io/etcd"


class NodeHealthError(ValueError):
    """The input is not a NodeList."""


def _ready(node):
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True", condition.get("status", "missing")
    return False, "missing"


def node_problems(node_list, name, version=None, etcd=True):
    """Why the cluster is not yet healthy for ``name``; an empty list when it is.

    ``node_list``: a NodeList (dict) or its JSON text. Checks that node ``name`` is registered and
    Ready, runs ``version`` (kubeletVersion, when given) and, with ``etcd``, that every node carrying
    the etcd role label is Ready (so no etcd member is down before the next server restarts).
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
            if other_name == name or (other.get("metadata", {}).get("labels") or {}).get(ETCD_LABEL) != "true":
                continue
            ready, status = _ready(other)
            if not ready:
                problems.append("etcd member %s is not Ready (Ready=%s)" % (other_name, status))
    return problems
