# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the K3s stand-in event logs of a cluster and report what the tests assert.

``python3 -m k3s_standin.events --servers a,b,c --agents d LOG...`` prints a JSON report:

``starts``             node -> number of starts
``versions``           node -> version of the last start
``down``               node -> [[stop_ts, ready_ts or null], ...] (a restart: from the stop
                       event to the next ready event)
``max_servers_down``   most servers down at the same moment (must stay <= 1)
``overlaps``           pairs of servers down at the same time, with the interval
``joined_in_order``    each server's first start came after the previous server's first ready
``agents_after_servers`` version -> every agent first started that version only after every
                       server was first ready with it (join after servers; upgrade after servers)
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import argparse
import json
import sys


def load(paths):
    events = []
    for path in paths:
        with open(path) as handle:
            events.extend(json.loads(line) for line in handle if line.strip())
    return sorted(events, key=lambda e: e["ts"])


def down_intervals(events, node):
    intervals, stopped = [], None
    for event in events:
        if event["node"] != node:
            continue
        if event["event"] in ("stop", "exit-error") and stopped is None:
            stopped = event["ts"]
        elif event["event"] == "ready" and stopped is not None:
            intervals.append([stopped, event["ts"]])
            stopped = None
    if stopped is not None:
        intervals.append([stopped, None])
    return intervals


def overlaps(events, servers):
    found = []
    spans = {s: down_intervals(events, s) for s in servers}
    for i, first in enumerate(servers):
        for second in servers[i + 1:]:
            for a_start, a_end in spans[first]:
                for b_start, b_end in spans[second]:
                    a_end_, b_end_ = a_end or float("inf"), b_end or float("inf")
                    if a_start < b_end_ and b_start < a_end_:
                        found.append({"servers": [first, second], "from": max(a_start, b_start),
                                      "to": min(a_end_, b_end_)})
    return found


def max_down(events, servers):
    points = []
    for server in servers:
        for start, end in down_intervals(events, server):
            points.append((start, 1))
            points.append((end if end is not None else float("inf"), -1))
    most = current = 0
    for point in sorted(points):
        delta = point[1]
        current += delta
        most = max(most, current)
    return most


def joined_in_order(events, servers):
    previous_ready = None
    for server in servers:
        starts = [e["ts"] for e in events if e["node"] == server and e["event"] == "start"]
        readies = [e["ts"] for e in events if e["node"] == server and e["event"] == "ready"]
        if not starts or not readies:
            return False
        if previous_ready is not None and starts[0] < previous_ready:
            return False
        previous_ready = readies[0]
    return True


def _first(events, node, event, version):
    for entry in events:
        if entry["node"] == node and entry["event"] == event and entry["version"] == version:
            return entry["ts"]
    return None


def agents_after_servers(events, servers, agents):
    """version -> every agent first started it after every server was first ready with it."""
    result = {}
    for version in sorted({e["version"] for e in events if e["event"] == "start"}):
        server_ready = [_first(events, s, "ready", version) for s in servers]
        agent_starts = [_first(events, a, "start", version) for a in agents]
        server_ready = [t for t in server_ready if t is not None]
        agent_starts = [t for t in agent_starts if t is not None]
        if server_ready and agent_starts:
            result[version] = min(agent_starts) > max(server_ready)
    return result


def report(events, servers, agents):
    nodes = servers + agents
    starts = {n: [e for e in events if e["node"] == n and e["event"] == "start"] for n in nodes}
    return {
        "starts": {n: len(s) for n, s in starts.items()},
        "versions": {n: (s[-1]["version"] if s else None) for n, s in starts.items()},
        "down": {n: down_intervals(events, n) for n in nodes},
        "max_servers_down": max_down(events, servers),
        "overlaps": overlaps(events, servers),
        "joined_in_order": joined_in_order(events, servers),
        "agents_after_servers": agents_after_servers(events, servers, agents),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", required=True, help="comma-separated, in join order")
    parser.add_argument("--agents", default="")
    parser.add_argument("logs", nargs="+")
    args = parser.parse_args(argv)
    servers = [s for s in args.servers.split(",") if s]
    agents = [a for a in args.agents.split(",") if a]
    json.dump(report(load(args.logs), servers, agents), sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
