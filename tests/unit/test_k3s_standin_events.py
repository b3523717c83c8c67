# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event-log analysis the cluster scenario relies on (tests/standins/k3s_standin/events.py)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "standins"))

from k3s_standin import events  # noqa: E402  pylint: disable=wrong-import-position


def ev(ts, node, event, version="v1"):
    return {"ts": ts, "node": node, "event": event, "version": version}


SERIAL = [ev(0, "s1", "start"), ev(1, "s1", "ready"), ev(2, "s2", "start"), ev(3, "s2", "ready"),
          ev(4, "a1", "start"), ev(5, "a1", "ready"),
          ev(10, "s1", "stop"), ev(11, "s1", "start", "v2"), ev(12, "s1", "ready", "v2"),
          ev(13, "s2", "stop"), ev(14, "s2", "start", "v2"), ev(15, "s2", "ready", "v2"),
          ev(16, "a1", "stop"), ev(17, "a1", "start", "v2"), ev(18, "a1", "ready", "v2")]


def test_serial_restarts_are_reported_as_such():
    result = events.report(SERIAL, ["s1", "s2"], ["a1"])
    assert result["starts"] == {"s1": 2, "s2": 2, "a1": 2}
    assert result["versions"] == {"s1": "v2", "s2": "v2", "a1": "v2"}
    assert result["max_servers_down"] == 1
    assert result["overlaps"] == []
    assert result["joined_in_order"] is True
    assert result["agents_after_servers"] == {"v1": True, "v2": True}


def test_parallel_restart_is_caught():
    parallel = SERIAL[:6] + [ev(10, "s1", "stop"), ev(10.5, "s2", "stop"), ev(11, "s1", "start", "v2"),
                             ev(11.5, "s2", "start", "v2"), ev(12, "s1", "ready", "v2"), ev(13, "s2", "ready", "v2")]
    result = events.report(sorted(parallel, key=lambda e: e["ts"]), ["s1", "s2"], ["a1"])
    assert result["max_servers_down"] == 2
    assert result["overlaps"] == [{"servers": ["s1", "s2"], "from": 10.5, "to": 12}]


def test_early_join_and_early_agent_are_caught():
    early = [ev(0, "s1", "start"), ev(0.5, "s2", "start"), ev(1, "s1", "ready"), ev(2, "s2", "ready"),
             ev(1.5, "a1", "start")]
    result = events.report(sorted(early, key=lambda e: e["ts"]), ["s1", "s2"], ["a1"])
    assert result["joined_in_order"] is False
    assert result["agents_after_servers"] == {"v1": False}


def test_later_restarts_of_the_same_version_do_not_count():
    relabel = SERIAL[:6] + [ev(7, "s1", "stop"), ev(7.5, "s1", "start"), ev(8, "s1", "ready"),
                            ev(8.5, "a1", "stop"), ev(9, "a1", "start"), ev(9.5, "a1", "ready")]
    assert events.report(relabel, ["s1", "s2"], ["a1"])["agents_after_servers"] == {"v1": True}


def test_a_server_still_down_counts_as_down():
    result = events.report(SERIAL[:6] + [ev(20, "s1", "stop")], ["s1", "s2"], ["a1"])
    assert result["down"]["s1"] == [[20, None]]
    assert result["max_servers_down"] == 1
