"""One contender of the concurrency test (run as a separate process).

usage: lock_contender.py URL HOLDER ROUNDS SHARED_FILE LOG_FILE [--die-holding TTL] [--wait SECONDS]

Each round: acquire -> write our token into SHARED_FILE -> short pause ->
check that SHARED_FILE still holds our token -> release. Every turn is
appended to LOG_FILE as JSON (holder, monotonic start/end, violation).
With --die-holding the contender takes the lock with that TTL, reports and
then sleeps until it is killed. --wait bounds each acquire (default 55 s).
"""
import json
import os
import sys
import tempfile
import time

from ansible_collections.homelab.k3s.plugins.module_utils.cluster_lock import ClusterLock
from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import KubernetesApi, SystemClock


def main():
    url, holder, rounds, shared, log = sys.argv[1:6]
    cache = os.path.join(tempfile.gettempdir(), "contender-discovery-%d.json" % os.getpid())
    api = KubernetesApi.from_params({"host": url}, discovery_cache_file=cache)
    lock = ClusterLock(api, SystemClock(), "kube-system", "contended", poll_interval=0.05, max_poll_interval=0.5)
    if "--die-holding" in sys.argv:
        ttl = int(sys.argv[sys.argv.index("--die-holding") + 1])
        lock.acquire(holder, ttl=ttl, wait_timeout=30)
        with open(log, "a") as f:
            f.write(json.dumps({"holder": holder, "start": time.monotonic(), "end": None, "died": True}) + "\n")
        time.sleep(3600)
    wait = int(sys.argv[sys.argv.index("--wait") + 1]) if "--wait" in sys.argv else 55
    for dummy in range(int(rounds)):
        t0 = time.monotonic()
        lock.acquire(holder, ttl=20, wait_timeout=wait)
        start = time.monotonic()
        token = "%s:%f" % (holder, start)
        with open(shared, "w") as f:
            f.write(token)
        time.sleep(0.02)
        with open(shared) as f:
            seen = f.read()
        end = time.monotonic()
        lock.release(holder)
        with open(log, "a") as f:
            f.write(json.dumps({"holder": holder, "start": start, "end": end, "waited": start - t0,
                                "violation": seen != token, "seen": seen}) + "\n")


if __name__ == "__main__":
    main()
