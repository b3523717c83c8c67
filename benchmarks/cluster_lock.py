"""Benchmark of homelab.k3s cluster_lock logic against the local API emulator.

Prints:
  * HTTP round trips (counted by the server) and latency of an uncontended
    acquire and release of a free lock (target: at most 2 round trips to acquire);
  * the first-use cost of API discovery (what a module pays with a cold cache);
  * the spread of wait times with N contender processes taking turns.

usage: .venv/bin/python benchmarks/cluster_lock.py [--iterations 200] [--contenders 20] [--rounds 3]
Not a test: numbers depend on the machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "standins"))
sys.path.insert(0, os.path.join(ROOT, ".cache", "collections"))
import conftest  # noqa: E402  (creates the ansible_collections link)

from ansible_collections.homelab.k3s.plugins.module_utils.cluster_lock import ClusterLock  # noqa: E402
from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import (  # noqa: E402
    KubernetesApi, SystemClock,
)
from k8s_emulator import EmulatorProcess, EmulatorThread  # noqa: E402


assert os.path.lexists(conftest.LINK)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def ms(v):
    return "%.1f ms" % (v * 1000)


def uncontended(iterations, workdir):
    with EmulatorThread() as emu:
        def served():
            return len(list(emu.handler))
        before = served()
        api = KubernetesApi.from_params({"host": emu.url}, discovery_cache_file=os.path.join(workdir, "d.json"))
        api.is_served("v1", "ConfigMap")
        discovery = served() - before
        lock = ClusterLock(api, SystemClock(), "kube-system", "bench")
        acq_rt, rel_rt, acq_t, rel_t = [], [], [], []
        for i in range(iterations):
            n, t = served(), time.perf_counter()
            lock.acquire("bench-holder", ttl=60)
            acq_t.append(time.perf_counter() - t)
            acq_rt.append(served() - n)
            n, t = served(), time.perf_counter()
            lock.release("bench-holder")
            rel_t.append(time.perf_counter() - t)
            rel_rt.append(served() - n)
        n = served()
        lock.delete("bench-holder")
        fresh = ClusterLock(api, SystemClock(), "kube-system", "bench-fresh")
        t = time.perf_counter()
        fresh.acquire("bench-holder", ttl=60)
        create_t = time.perf_counter() - t
        create_rt = served() - n - 2  # minus the delete's read + delete
    print("== uncontended (%d iterations, in-process emulator thread) ==" % iterations)
    print("discovery on a cold cache: %d requests (0 with a warm cache file)" % discovery)
    print("acquire free lock (ConfigMap exists): round trips max %d, latency p50 %s p95 %s"
          % (max(acq_rt), ms(pct(acq_t, .5)), ms(pct(acq_t, .95))))
    print("acquire free lock (ConfigMap created): round trips %d, latency %s" % (create_rt, ms(create_t)))
    print("release: round trips max %d, latency p50 %s p95 %s"
          % (max(rel_rt), ms(pct(rel_t, .5)), ms(pct(rel_t, .95))))
    return max(acq_rt)


def contended(contenders, rounds, workdir):
    contender = os.path.join(ROOT, "tests", "integration", "lock_contender.py")
    shared, log = os.path.join(workdir, "shared"), os.path.join(workdir, "turns.jsonl")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".cache", "collections"))
    with EmulatorProcess(workdir) as emu:
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, contender, emu.url, "c%02d" % i, str(rounds), shared, log],
                                  env=env) for i in range(contenders)]
        codes = [p.wait(300) for p in procs]
        total = time.perf_counter() - t0
    turns = [json.loads(line) for line in open(log)]
    waits = [t["waited"] for t in turns]
    print("== %d contender processes x %d rounds (emulator process, hold 20 ms, poll 50-500 ms) =="
          % (contenders, rounds))
    print("turns %d, violations %d, failed processes %d, wall time %.1f s (incl. ~%d python start-ups)"
          % (len(turns), sum(t["violation"] for t in turns), sum(1 for c in codes if c), total, contenders))
    print("wait for the lock: min %.2f s, p50 %.2f s, p90 %.2f s, max %.2f s, stdev %.2f s"
          % (min(waits), pct(waits, .5), pct(waits, .9), max(waits), statistics.pstdev(waits)))
    per = {}
    for t in turns:
        per.setdefault(t["holder"], []).append(t["waited"])
    worst = max(per.items(), key=lambda kv: sum(kv[1]))
    print("slowest contender %s waited %.2f s in total over %d turns" % (worst[0], sum(worst[1]), len(worst[1])))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--contenders", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        trips = uncontended(args.iterations, workdir)
        print("target <= 2 round trips to acquire a free lock: %s" % ("met" if trips <= 2 else "MISSED"))
        contended(args.contenders, args.rounds, workdir)


if __name__ == "__main__":
    main()
