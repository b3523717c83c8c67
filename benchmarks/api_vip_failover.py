"""Failover time of the K3s API VIP (homelab.k3s.api_vip) when the node holding it dies.

Pulls the plug on a lab node with the lab's power control (``lab/lab.py kill NODE``: SIGKILL to
the node's own init, the whole node dies at once, as with a power cut), then polls the VIP from
the host and prints how long it took, counted from the moment the node's init is gone, until
  * a TCP connection to VIP:PORT is accepted again (the VIP moved, HAProxy listens there), and
  * an HTTPS GET of PATH through the VIP answers 200 (HAProxy reaches a live K3s server).

usage (as root, on the lab host):
  python3 benchmarks/api_vip_failover.py --lab vip --node vip-1 --vip 10.213.0.250 --port 8443
The last line is a JSON summary: {"node": ..., "dead_s": ..., "tcp_s": ..., "api_s": ...} (tcp_s and
api_s counted from the node's death, dead_s = from the start of lab.py kill to the death).
Not a test: numbers depend on the machine. Every probe goes to the VIP, a lab address; the loop
stops after --timeout seconds.
"""
import argparse
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def node_init_pid(lab, node):
    """PID of the node's init (PID 1 of its namespace), as ``lab.py status --json`` reports it."""
    status = json.loads(subprocess.run(
        [sys.executable, os.path.join(ROOT, "lab", "lab.py"), "status", "--json"],
        check=True, capture_output=True, text=True).stdout)
    info = status["labs"].get(lab, {}).get(node)
    if not info or not info.get("running") or not info.get("init_pid"):
        raise SystemExit("node %s of lab %s is not running" % (node, lab))
    return int(info["init_pid"])


def alive(pid):
    """False once the process is gone or a zombie (dead, waiting for its parent to reap it)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


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
    # lab.py kill may first wait for the machine-wide lab lock: time from the node's death, which is
    # seen here as its init turning into a zombie or leaving /proc (until then its HAProxy may
    # still answer on the VIP).
    kill_start = time.monotonic()
    kill = subprocess.Popen([sys.executable, os.path.join(ROOT, "lab", "lab.py"), "kill", args.node],
                            stdout=subprocess.DEVNULL)
    while alive(init) and kill.poll() is None:
        time.sleep(0.005)
    start = time.monotonic()
    if alive(init):
        raise SystemExit("node %s (init pid %d) still runs after lab.py kill (exit %s)"
                         % (args.node, init, kill.returncode))
    dead_s = start - kill_start
    deadline = start + args.timeout
    tcp_s = wait_for(lambda: tcp_ok(args.vip, args.port, args.probe_timeout), start, deadline, args.interval)
    api_s = wait_for(lambda: https_ok(url, args.probe_timeout * 4), start, deadline, args.interval)
    if kill.wait() != 0:
        raise SystemExit("lab.py kill %s failed (exit %d)" % (args.node, kill.returncode))
    print("killed %s (init pid %d) holding %s; node gone %.2f s after lab.py kill started" % (
        args.node, init, args.vip, dead_s))
    print("VIP accepts TCP on port %d again after: %s" % (args.port, "%.2f s" % tcp_s if tcp_s else "never"))
    print("GET %s answers 200 again after:        %s" % (args.path, "%.2f s" % api_s if api_s else "never"))
    print(json.dumps({"node": args.node, "vip": args.vip, "dead_s": dead_s, "tcp_s": tcp_s, "api_s": api_s}))
    return 0 if tcp_s is not None and api_s is not None else 1


if __name__ == "__main__":
    sys.exit(main())
