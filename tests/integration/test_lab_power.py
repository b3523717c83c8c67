# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lab power control: `stop`, `kill` and `start` keep a node's disk and
address as a power cycle would; `status` tells what really runs and `down`
leaves nothing, whatever died (the node's init, or only its nspawn).
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = [sys.executable, os.path.join(ROOT, "lab", "lab.py")]
LAB_NAME = "labtest"
NODES = ("lt-1", "lt-2")
CGROUP_ROOTS = ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("systemd-nspawn") is None,
    reason="the lab needs root and systemd-nspawn")


POWER_TASKS = os.path.join(ROOT, "molecule", "_shared", "include", "lab_power.yml")


def power_playbook(tmp_path, action, nodes):
    """Run molecule/_shared/include/lab_power.yml as a scenario's playbook would."""
    play = tmp_path / "power.yml"
    play.write_text(json.dumps([{
        "name": "Lab power", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Power", "ansible.builtin.include_tasks": POWER_TASKS,
                   "vars": {"lab_power_action": action, "lab_power_nodes": nodes}}]}]))
    env = dict(os.environ, MOLECULE_PROJECT_DIRECTORY=ROOT,
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                           str(play)], capture_output=True, text=True, check=False, env=env,
                          timeout=300)


def lab(*args, user=None):
    cmd = LAB + list(args)
    if user:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)


def ok(*args):
    res = lab(*args)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def info(node):
    return json.loads(ok("status", "--json").stdout)["labs"][LAB_NAME][node]


def on_node(node, command):
    return ok("ssh", node, command).stdout.strip()


def pid_gone(pid):
    if not pid or not os.path.exists("/proc/%d" % pid):
        return True
    with open("/proc/%d/stat" % pid) as fh:
        return fh.read().rsplit(")", 1)[1].split()[0] == "Z"


def node_cgroup_pids(node):
    pids = set()
    for root in CGROUP_ROOTS:
        for dirpath, _dirs, files in os.walk(os.path.join(root, "homelab-k3s-lab", node)):
            if "cgroup.procs" in files:
                with open(os.path.join(dirpath, "cgroup.procs")) as fh:
                    pids.update(int(p) for p in fh.read().split())
    return pids


def assert_off(node):
    state = info(node)
    assert state["state"] == "stopped" and not state["running"] and state["processes"] == 0
    assert not node_cgroup_pids(node)
    assert "/nodes/%s/" % node not in open("/proc/mounts").read()
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                           check=True).stdout
    assert "vb-%s" % node not in links


@pytest.mark.parametrize("command", ["stop", "start", "kill"])
def test_power_commands_refuse_an_unknown_node(command):
    res = lab(command, "lt-nosuchnode")
    assert res.returncode == 2
    assert "no lab node named lt-nosuchnode" in res.stderr
    assert "Traceback" not in res.stderr


def test_power_commands_need_root():
    res = lab("kill", "lt-1", user=65534)
    assert res.returncode == 2
    assert "must run as root" in res.stderr


@pytest.mark.parametrize("action, nodes", [("reboot", ["lt-1"]), ("stop", [])])
def test_power_include_refuses_a_bad_request(tmp_path, action, nodes):
    res = power_playbook(tmp_path, action, nodes)
    assert res.returncode != 0
    assert "lab_power_action must be stop, kill or start (got %s)" % action in res.stdout
    assert "Lab power: " not in res.stdout  # lab.py never ran


@pytest.mark.slow
def test_power_cycles_keep_disk_and_address_and_down_leaves_nothing(tmp_path):
    res = ok("up", "--lab", LAB_NAME, *["--node=%s" % n for n in NODES])
    addresses = json.loads(res.stdout)["nodes"]
    inits = set()
    try:
        on_node("lt-1", "echo kept > /root/disk-marker && sync")
        boot_id = on_node("lt-1", "cat /proc/sys/kernel/random/boot_id")
        other = info("lt-2")

        # a clean poweroff: nothing of the node runs, the other node is untouched
        inits.add(info("lt-1")["init_pid"])
        res = power_playbook(tmp_path, "stop", ["lt-1"])  # as a Molecule scenario does
        assert res.returncode == 0, res.stdout + res.stderr
        assert_off("lt-1")
        assert info("lt-2")["init_pid"] == other["init_pid"]

        # power on: same address, same disk, a new boot
        ok("start", "lt-1")
        state = info("lt-1")
        assert state["state"] == "running" and state["ssh"]
        assert (state["ipv4"], state["ipv6"]) == (addresses["lt-1"]["ipv4"], addresses["lt-1"]["ipv6"])
        assert on_node("lt-1", "cat /root/disk-marker") == "kept"
        assert on_node("lt-1", "cat /proc/sys/kernel/random/boot_id") != boot_id
        assert on_node("lt-1", "ip -4 -o addr show host0").split()[3].startswith(
            addresses["lt-1"]["ipv4"] + "/")

        # pull the plug, then `up` powers the node on again from its disk
        inits.add(state["init_pid"])
        ok("kill", "lt-1")
        assert_off("lt-1")
        assert pid_gone(state["init_pid"])
        again = json.loads(ok("up", "--lab", LAB_NAME, *["--node=%s" % n for n in NODES]).stdout)
        assert again["nodes"] == addresses
        assert on_node("lt-1", "cat /root/disk-marker") == "kept"

        # nspawn dies, the node does not: status says so instead of "stopped"
        os.kill(other["pid"], signal.SIGKILL)
        orphan = info("lt-2")
        assert orphan["running"] and not orphan["supervisor"] and orphan["ssh"]
        assert "orphaned" in orphan["state"]
        inits.update({orphan["init_pid"], info("lt-1")["init_pid"]})
        ok("kill", "lt-1")  # `down` after a pull of the plug, and of an orphaned node
    finally:
        down = lab("down", "--lab", LAB_NAME)
    assert down.returncode == 0, down.stderr
    # nothing left: no process (the orphaned node included), mount, link, cgroup or disk
    assert LAB_NAME not in json.loads(ok("status", "--json").stdout)["labs"]
    assert all(pid_gone(pid) for pid in inits)
    for node in NODES:
        assert not node_cgroup_pids(node)
        for root in CGROUP_ROOTS:
            assert not os.path.exists(os.path.join(root, "homelab-k3s-lab", node))
        assert "/nodes/%s/" % node not in open("/proc/mounts").read()
        assert not os.path.exists("/var/lib/homelab-k3s-lab/nodes/%s" % node)
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                           check=True).stdout
    assert "vb-lt-" not in links
