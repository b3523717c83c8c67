# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): N lab nodes run `apt-get update` at the same instant through the
lab's apt proxy, several rounds; did any hang, and how long did they take?

    .venv/bin/python benchmarks/lab_apt_update.py (as root) [--nodes 9] [--rounds 3] [--hang-after 300] [--shared]

By default it runs a separate lab instance (own state directory, bridge ``hlk3sb0`` with
10.213.50.0/24, own apt-cacher-ng started with this checkout's settings, own cgroups) so
that the proxy measured is the one this checkout configures and other labs on the machine
are not touched; the images are shared with the main instance. ``--shared`` uses the
machine's normal lab (and whatever proxy already runs there) instead.

Each round empties every node's package lists first, so each node downloads all of them
(about 9 MB per node). A node whose update does not finish within --hang-after seconds
counts as a hang. Prints, per round: wall time of the slowest node, min/median per node,
failures, hangs and the load average; the lab is always taken down.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB_PY = os.path.join(ROOT, "lab", "lab.py")
LAB = "aptbench"
ISOLATED = {
    "HOMELAB_LAB_RUN_DIR": "/run/homelab-k3s-lab-bench",
    "HOMELAB_LAB_BRIDGE": "hlk3sb0",
    "HOMELAB_LAB_CGROUP": "homelab-k3s-lab-bench",
    "HOMELAB_LAB_CACHE_DIR": "/var/cache/homelab-k3s-lab-bench",
}
MAIN_IMAGES = "/var/cache/homelab-k3s-lab/images"
SUBNETS = ["--subnet4", "10.213.50.0/24", "--subnet6", "fd42:6b33:2e50::/64"]


def lab(env, *args, check=True):
    res = subprocess.run([sys.executable, LAB_PY] + list(args), env=env, capture_output=True,
                         text=True, check=False)
    if check and res.returncode != 0:
        raise SystemExit("benchmark: lab.py %s failed:\n%s" % (" ".join(args), res.stderr))
    return res


NODE_COMMANDS = {
    "update": "rm -rf /var/lib/apt/lists/* && apt-get update -q",
    # every node downloads the baseline roles' packages again (from the proxy's cache after round 1)
    "install": ("rm -rf /var/lib/apt/lists/* && apt-get update -q && apt-get clean"
                " && DEBIAN_FRONTEND=noninteractive apt-get install -q -y --download-only"
                " chrony nftables fail2ban python3-systemd tzdata unattended-upgrades"),
}


def update_round(env, nodes, hang_after, mode):
    results = {}

    def one(node):
        start = time.time()
        try:
            res = subprocess.run([sys.executable, LAB_PY, "ssh", node, NODE_COMMANDS[mode]],
                                 env=env, capture_output=True, text=True, check=False,
                                 timeout=hang_after)
            results[node] = ("ok" if res.returncode == 0 else "failed", time.time() - start,
                             res.stdout[-300:] + res.stderr[-300:])
        except subprocess.TimeoutExpired:
            results[node] = ("hang", time.time() - start, "")

    threads = [threading.Thread(target=one, args=(n,)) for n in nodes]
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.time() - start, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--nodes", type=int, default=9)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hang-after", type=int, default=300,
                        help="seconds after which a node's update counts as hung")
    parser.add_argument("--mode", choices=sorted(NODE_COMMANDS), default="update",
                        help="update: apt-get update only; install: update, then download the"
                             " baseline roles' packages")
    parser.add_argument("--lab", default=LAB, help="lab name (default: %(default)s)")
    parser.add_argument("--prefix", default="ab-", help="node name prefix (default: %(default)s)")
    parser.add_argument("--shared", action="store_true",
                        help="use the machine's normal lab and its running proxy")
    args = parser.parse_args()
    env = dict(os.environ)
    up_args = ["up", "--lab", args.lab] + ["--node=%s%d" % (args.prefix, i) for i in range(1, args.nodes + 1)]
    if not args.shared:
        env.update(ISOLATED)
        os.makedirs(ISOLATED["HOMELAB_LAB_CACHE_DIR"], exist_ok=True)
        images = os.path.join(ISOLATED["HOMELAB_LAB_CACHE_DIR"], "images")
        if not os.path.exists(images) and os.path.isdir(MAIN_IMAGES):
            os.symlink(MAIN_IMAGES, images)
        up_args += SUBNETS
    print("apt-get update on %d nodes at once, %d rounds, %s proxy; load average: %s"
          % (args.nodes, args.rounds, "the running" if args.shared else "a fresh isolated",
             open("/proc/loadavg").read().split(" ", 3)[:3]))
    try:
        start = time.time()
        up = lab(env, *up_args)
        print("lab up (%d nodes): %.1f s%s" % (args.nodes, time.time() - start, "".join(
            "\n  " + line for line in up.stderr.splitlines() if "apt proxy" in line)))
        nodes = sorted(json.loads(up.stdout)["nodes"])
        hangs = failures = 0
        for rnd in range(1, args.rounds + 1):
            wall, results = update_round(env, nodes, args.hang_after, args.mode)
            times = [t for _state, t, _out in results.values()]
            bad = {n: r for n, r in results.items() if r[0] != "ok"}
            hangs += sum(1 for r in bad.values() if r[0] == "hang")
            failures += sum(1 for r in bad.values() if r[0] == "failed")
            print("round %d: wall %.1f s, per node min %.1f / median %.1f s, failed %d, hung %d,"
                  " load %s" % (rnd, wall, min(times), statistics.median(times),
                                sum(1 for r in bad.values() if r[0] == "failed"),
                                sum(1 for r in bad.values() if r[0] == "hang"),
                                " ".join(open("/proc/loadavg").read().split()[:3])))
            for node, (state, took, out) in sorted(bad.items()):
                print("  %s %s after %.1f s: %s" % (node, state, took, out.strip()[-200:]))
        print("total: %d hung, %d failed node updates" % (hangs, failures))
        return 1 if hangs or failures else 0
    finally:
        lab(env, "down", "--lab", args.lab, check=False)


if __name__ == "__main__":
    sys.exit(main())
