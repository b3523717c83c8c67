# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Power control of lab nodes, the same for containers and the VM.

A powered-off node keeps its disk (the overlay upper dir, or the VM's qcow2
and data disks) and its address, as a machine that is switched off would;
only `remove` (lab.py down) deletes them. What a node runs is read from its
cgroup, so the state stays true whatever died (nspawn, the node's init, QEMU).
"""

import os
import shutil
import time

from .cgroups import cgroup_pids, kill_cgroups, remove_cgroup_tree
from .common import log, pid_alive, run
from .network import bridge_exists, forget_address
from .nodes import container_init, ensure_host_limits, kill_container, poweroff_container, start_container
from .vm import kill_vm, poweroff_vm, qemu_pid, start_vm


def node_processes(node):
    pids = cgroup_pids(node.get("cgroups"))
    if node["kind"] == "vm" and qemu_pid(node):
        pids.add(node["pid"])  # a VM started before QEMU ran in the node's cgroup
    return pids


def node_init(node):
    """The process whose life is the node's: its init, or QEMU for the VM."""
    return container_init(node) if node["kind"] == "container" else qemu_pid(node)


def node_booting_or_running(node):
    """The node's init runs, or its nspawn/QEMU still starts it."""
    return bool(node_init(node) or (pid_alive(node.get("pid"))
                                    and node["pid"] in node_processes(node)))


def node_state(node):
    """What really runs: the node's init, its supervisor (nspawn), any process."""
    procs = node_processes(node)
    init = node_init(node)
    supervisor = bool(node.get("pid")) and node["pid"] in procs and pid_alive(node["pid"])
    if init and supervisor:
        state = "running"
    elif init:
        state = "running without its nspawn (orphaned)"
    elif procs:
        state = "stopping (%d processes left)" % len(procs)
    else:
        state = "stopped"
    return {"running": bool(init), "init_pid": init, "supervisor": supervisor,
            "processes": len(procs), "state": state}


def power_on(node):
    """Boot a node from its disk (a new node or one that is off)."""
    forget_address(node["ipv4"], node["ipv6"])
    if node["kind"] == "container":
        ensure_host_limits()
        start_container(node)
    else:
        start_vm(node)


def request_poweroff(node):
    """Start a clean shutdown; False when the node does not run."""
    return poweroff_container(node) if node["kind"] == "container" else poweroff_vm(node)


def pull_plug(node):
    """Cut the power: the node's init (or QEMU) is killed, then all it left."""
    if node["kind"] == "container":
        kill_container(node)
    else:
        kill_vm(node)
    return kill_cgroups(node.get("cgroups") or [])


def wait_off(nodes, timeout):
    """Wait until none of the nodes runs a process; the nodes still running."""
    deadline = time.time() + timeout
    pending = list(nodes)
    while pending:
        pending = [n for n in pending if node_processes(n)]
        if not pending or time.time() >= deadline:
            break
        time.sleep(0.2)
    return pending


def release(node):
    """After a node stopped: kill what is left, free its mount, links and cgroups;
    keep its disk and address."""
    left = pull_plug(node) if node_processes(node) else set()
    if left:
        log("node %s: processes %s survived SIGKILL" % (node["name"], sorted(left)))
    merged = os.path.join(node["dir"], "merged")
    if os.path.ismount(merged):
        if run(["umount", merged], check=False, capture=True).returncode != 0:
            run(["umount", "-l", merged], check=False, capture=True)
    for link in (node.get("veth"), node.get("tap")):
        if link:
            run(["ip", "link", "delete", link], check=False, capture=True)
    for path in node.get("cgroups", []):
        remove_cgroup_tree(path)
    if bridge_exists():
        forget_address(node["ipv4"], node["ipv6"])
    node.update({"pid": None, "init_pid": None, "power": "off"})


def power_off(nodes, timeout, clean=True):
    """Clean shutdown of the nodes in parallel (killed after timeout seconds),
    or, with clean=False, pull their plugs at once."""
    if clean:
        for node in nodes:
            request_poweroff(node)
        for node in wait_off(nodes, timeout):
            log("node %s did not power off within %d s: killing it" % (node["name"], timeout))
    for node in nodes:
        release(node)


def remove(node):
    """Delete a powered-off node: its disk and everything the host knows of it."""
    if bridge_exists():
        forget_address(node["ipv4"], node["ipv6"])
    shutil.rmtree(node["dir"], ignore_errors=True)
