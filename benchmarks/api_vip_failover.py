"""Failover time of the K3s API VIP (homelab.k3s.api_vip) when the node holding it dies.

Pulls the plug on a lab node (SIGKILL to the node's own init, the child of its systemd-nspawn
process: the whole node dies at once, as with a power cut), then polls the VIP from the host and
prints how long it took until
  * a TCP connection to VIP:PORT is accepted again (the VIP moved, HAProxy listens there), and
  * an HTTPS GET of PATH through the VIP answers 200 (HAProxy reaches a live K3s server).

usage (as root, on the lab host):
  python3 benchmarks/api_vip_failover.py --lab vip --node vip-2 --vip 10.213.0.250 --port 8443
The last line is a JSON summary: {"node": ..., "tcp_s": ..., "api_s": ...}.
Not a test: numbers depend on the machine. Every probe goes to the VIP, a lab address; the loop
stops after --timeout seconds.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def node_init_pid(lab, node):
    """PID of the node's init: the child of the node's systemd-nspawn process."""
    status = json.loads(subprocess.run(
        [sys.executable, os.path.join(ROOT, "lab", "lab.py"), "status", "--json"],
        check=True, capture_output=True, text=True).stdout)
    info = status["labs"].get(lab, {}).get(node)
    if not info or not info["running"]:
        raise SystemExit("node %s of lab %s is not running" % (node, lab))
    children = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _ppid(pid) == info["pid"]]
    if len(children) != 1:
        raise SystemExit("expected one init under nspawn pid %d, found %s" % (info["pid"], children))
    return children[0]


def _ppid(pid):
    try:
        with open("/proc/%s/stat" % pid) as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def tcp_ok(vip, port, timeout):
    try:
        with socket.create_connection((vip, port), timeout=timeout):
            return True
    except OSError:
        return False


def https_ok(url, timeout):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only reachability is measured; the verify checks TLS
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def wait_for(probe, start, deadline, interval):
    while time.monotonic() < deadline:
        if probe():
            return time.monotonic() - start
        time.sleep(interval)
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", required=True)
    parser.add_argument("--node", required=True, help="the node to kill (it should hold the VIP)")
    parser.add_argument("--vip", required=True)
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--path", default="/readyz")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between probes")
    parser.add_argument("--probe-timeout", type=float, default=0.25)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    host = "[%s]" % args.vip if ":" in args.vip else args.vip
    url = "https://%s:%d%s" % (host, args.port, args.path)
    if not https_ok(url, 5):
        raise SystemExit("%s does not answer before the kill" % url)
    init = node_init_pid(args.lab, args.node)
    start = time.monotonic()
    os.kill(init, signal.SIGKILL)
    deadline = start + args.timeout
    # The kernel tears the node down asynchronously: until its init is gone, its HAProxy may
    # still accept connections on the VIP. Probe only once the node is dead.
    dead_s = wait_for(lambda: not os.path.exists("/proc/%d" % init), start, deadline, 0.01)
    tcp_s = wait_for(lambda: tcp_ok(args.vip, args.port, args.probe_timeout), start, deadline, args.interval)
    api_s = wait_for(lambda: https_ok(url, args.probe_timeout * 4), start, deadline, args.interval)
    print("killed %s (init pid %d) holding %s; node gone after %s" % (
        args.node, init, args.vip, "%.2f s" % dead_s if dead_s is not None else "never"))
    print("VIP accepts TCP on port %d again after: %s" % (args.port, "%.2f s" % tcp_s if tcp_s else "never"))
    print("GET %s answers 200 again after:        %s" % (args.path, "%.2f s" % api_s if api_s else "never"))
    print(json.dumps({"node": args.node, "vip": args.vip, "dead_s": dead_s, "tcp_s": tcp_s, "api_s": api_s}))
    return 0 if tcp_s is not None and api_s is not None else 1


if __name__ == "__main__":
    sys.exit(main())
