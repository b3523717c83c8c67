# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab CLI: bad input is refused with a clear message and changes nothing;
`up` is idempotent, `status` tells what runs and `down` leaves nothing behind.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = [sys.executable, os.path.join(ROOT, "lab", "lab.py")]
LAB_NAME = "pytestlab"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("systemd-nspawn") is None,
    reason="the lab needs root and systemd-nspawn")


def lab(*args, env=None, user=None):
    cmd = LAB + list(args)
    if user:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=300)


def snapshot():
    """What a refused `up --lab pytestlab` could have changed on the host.

    Other labs (a developer's, or another checkout's) may start or stop while
    the test runs, so their nodes are left out; the shared bridge and proxy are
    compared only when no other lab runs before and after.
    """
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                           check=True).stdout
    status = json.loads(lab("status", "--json").stdout)
    others = sorted(name for name in status["labs"] if name != LAB_NAME)
    ours = ("vb-%s" % LAB_NAME, "vb-a", "vb-this-name")
    return {
        "our_links": sorted(line.split(":")[1].strip().split("@")[0] for line in links.splitlines()
                            if any(": %s" % name in line for name in ours)),
        "our_mounts": sorted(line for line in open("/proc/mounts").read().splitlines()
                             if "homelab-k3s-lab/nodes/%s" % LAB_NAME in line),
        "our_lab": LAB_NAME in status["labs"],
        "shared": None if others else (status["bridge"], status["proxy_pid"]),
    }


def unchanged(before, after):
    keys = ["our_links", "our_mounts", "our_lab"]
    if before["shared"] is not None and after["shared"] is not None:
        keys.append("shared")
    return all(before[k] == after[k] for k in keys)


def host_subnet():
    out = subprocess.run(["ip", "-j", "-4", "route", "show", "scope", "link"],
                         capture_output=True, text=True, check=True).stdout
    for route in json.loads(out):
        if route.get("dev") != "hlk3s0" and "/" in route.get("dst", ""):
            return route["dst"]
    pytest.skip("no directly connected IPv4 network on this host")


@pytest.mark.parametrize("args, env_kind, message", [
    (["--nodes", "0"], None, "--nodes must be at least 1"),
    (["--node", "this-name-is-too-long"], None, "invalid node name"),
    (["--node", "a", "--node", "a"], None, "node names must be unique"),
    (["--subnet4", "not-a-subnet"], None, "is not a valid network"),
    (["--subnet4", "8.8.8.0/24"], None, "is not a private network"),
    (["--subnet4", "10.99.0.0/28"], None, "too small"),
    (["--vm-package", "lvm2"], None, "--vm-package needs --vm"),
    (["--nodes", "0", "--vm", "pytestlab-vm", "--vm-package", "lvm2", "--vm-package", "Bad;name"], None,
     "not a Debian package name: 'Bad;name'"),
    ([], "no-nspawn", "missing on this machine: systemd-nspawn"),
    ([], "non-root", "must run as root"),
])
def test_bad_input_is_refused_and_changes_nothing(args, env_kind, message):
    before = snapshot()
    env, user = None, None
    if env_kind == "no-nspawn":
        # a PATH with every tool the lab uses except systemd-nspawn
        bindir = os.path.join(ROOT, ".cache", "pytest-no-nspawn-bin")
        os.makedirs(bindir, exist_ok=True)
        for tool in ("mmdebstrap", "ip", "apt-cacher-ng", "ssh-keygen", "ssh", "mount"):
            path = shutil.which(tool)
            link = os.path.join(bindir, tool)
            if path and not os.path.lexists(link):
                os.symlink(path, link)
        env = dict(os.environ, PATH=bindir)
    elif env_kind == "non-root":
        user = 65534
    res = lab("up", "--lab", LAB_NAME, *args, env=env, user=user)
    assert res.returncode == 2, res.stdout + res.stderr
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert unchanged(before, snapshot())


def test_subnet_that_collides_with_the_host_is_refused():
    status = json.loads(lab("status", "--json").stdout)
    if status["labs"]:
        pytest.skip("another lab runs: the bridge's subnet is already fixed")
    before = snapshot()
    subnet = host_subnet()
    res = lab("up", "--lab", LAB_NAME, "--subnet4", subnet)
    assert res.returncode == 2
    assert "collides with %s" % subnet in res.stderr
    assert unchanged(before, snapshot())


@pytest.mark.slow
def test_up_is_idempotent_status_reports_and_down_leaves_nothing():
    others = json.loads(lab("status", "--json").stdout)["labs"]
    res = lab("up", "--lab", LAB_NAME, "--node", "pyt-1", "--node", "pyt-2")
    assert res.returncode == 0, res.stderr
    first = json.loads(res.stdout)
    try:
        status = json.loads(lab("status", "--json").stdout)
        nodes = status["labs"][LAB_NAME]
        assert set(nodes) == {"pyt-1", "pyt-2"}
        assert all(n["running"] and n["ssh"] for n in nodes.values())
        pids = {n: info["pid"] for n, info in nodes.items()}

        # the second `up` keeps the same nodes (same processes, same addresses)
        again = lab("up", "--lab", LAB_NAME, "--node", "pyt-1", "--node", "pyt-2")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["nodes"] == first["nodes"]
        status = json.loads(lab("status", "--json").stdout)
        assert {n: i["pid"] for n, i in status["labs"][LAB_NAME].items()} == pids

        # the nodes reach each other over the bridge, over IPv4 and IPv6
        ssh = lab("ssh", "pyt-1", "ping -c1 -W2 %s && ping -c1 -W2 %s"
                  % (first["nodes"]["pyt-2"]["ipv4"], first["nodes"]["pyt-2"]["ipv6"]))
        assert ssh.returncode == 0, ssh.stdout + ssh.stderr
    finally:
        down = lab("down", "--lab", LAB_NAME)
    assert down.returncode == 0, down.stderr
    status = json.loads(lab("status", "--json").stdout)
    assert LAB_NAME not in status["labs"]
    for pid in pids.values():
        assert not os.path.exists("/proc/%d" % pid) or \
            open("/proc/%d/stat" % pid).read().split()[2] == "Z"
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                           check=True).stdout
    assert "vb-pyt-" not in links
    assert "/nodes/pyt-" not in open("/proc/mounts").read()
    for node in ("pyt-1", "pyt-2"):
        for root in ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"):
            assert not os.path.exists(os.path.join(root, "homelab-k3s-lab", node))
        assert not os.path.exists("/var/lib/homelab-k3s-lab/nodes/%s" % node)
    status = json.loads(lab("status", "--json").stdout)
    if not others and not status["labs"]:
        # it was the only lab: the bridge and the proxy are gone too
        assert status["bridge"] is None and status["proxy_pid"] is None
        assert "hlk3s0" not in links
