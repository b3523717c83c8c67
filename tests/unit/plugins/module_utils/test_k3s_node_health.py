# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.k3s_node_health import NodeHealthError, node_problems


def node(name, ready="True", version="v1.34.2+k3s1", etcd=True, voter="True", reason="MemberNotLearner"):
    labels = {"node-role.kubernetes.io/etcd": "true"} if etcd else {}
    conditions = [{"type": "Ready", "status": ready}]
    if etcd and voter is not None:
        conditions.append({"type": "EtcdIsVoter", "status": voter, "reason": reason})
    return {"metadata": {"name": name, "labels": labels},
            "status": {"nodeInfo": {"kubeletVersion": version}, "conditions": conditions}}


CASES = [
    ("healthy", [node("a"), node("b")], "a", "v1.34.2+k3s1", True, []),
    ("not registered", [node("b")], "a", None, True, ["node a is not registered"]),
    ("not ready", [node("a", ready="Unknown")], "a", None, True, ["node a is not Ready (Ready=Unknown)"]),
    ("old version", [node("a", version="v1.34.1+k3s1")], "a", "v1.34.2+k3s1", True,
     ["node a runs v1.34.1+k3s1, not v1.34.2+k3s1"]),
    ("etcd member down", [node("a"), node("b", ready="False")], "a", None, True,
     ["etcd member b is not Ready (Ready=False)"]),
    ("etcd ignored for agents", [node("w", etcd=False), node("b", ready="False")], "w", None, False, []),
    ("agent down does not block", [node("a"), node("w", ready="False", etcd=False)], "a", None, True, []),
    ("no conditions", [{"metadata": {"name": "a"}}], "a", None, False, ["node a is not Ready (Ready=missing)"]),
    # What K3s reports for etcd (EtcdIsVoter), not Node Ready: a Ready learner does not pass.
    ("learner still Ready", [node("a"), node("b", voter="False", reason="MemberIsLearner")], "a", None, True,
     ["etcd member b is not a healthy voter (EtcdIsVoter=False, MemberIsLearner)"]),
    ("restarted server not yet a voter", [node("a", voter="False", reason="NotAMember"), node("b")], "a", None, True,
     ["etcd member a is not a healthy voter (EtcdIsVoter=False, NotAMember)"]),
    ("etcd status not reported yet", [node("a", voter=None), node("b")], "a", None, True,
     ["etcd member a is not a healthy voter (EtcdIsVoter=missing)"]),
    ("unhealthy member without the label", [node("a"), {"metadata": {"name": "c"}, "status": {"conditions": [
        {"type": "Ready", "status": "True"}, {"type": "EtcdIsVoter", "status": "False", "reason": "MemberIsUnhealthy"}]}}],
     "a", None, True, ["etcd member c is not a healthy voter (EtcdIsVoter=False, MemberIsUnhealthy)"]),
]


@pytest.mark.parametrize("items,name,version,etcd,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_node_problems(items, name, version, etcd, expected):
    assert node_problems({"items": items}, name, version, etcd) == expected


def test_json_text_is_accepted():
    assert node_problems(json.dumps({"items": [node("a")]}), "a") == []


def test_agent_gate_ignores_etcd():
    assert node_problems({"items": [node("w", etcd=False), node("b", voter="False")]}, "w", etcd=False) == []


@pytest.mark.parametrize("bad", ["not json", "[]", {"kind": "NodeList"}])
def test_bad_input_is_an_error(bad):
    with pytest.raises(NodeHealthError, match="node list"):
        node_problems(bad, "a")
