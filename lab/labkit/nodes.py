# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container nodes: node files, boot, the node's init, and SSH."""

import ipaddress
import os
import signal
import subprocess
import time

from .aptproxy import node_apt_conf
from .cgroups import cgroup_paths, cgroup_pids, ns_pids
from .common import BRIDGE, NODES_DIR, LabError, log, pid_alive, run


# Every node's systemd, journald, networkd, logind... take inotify instances,
# all counted against root on the host: Debian's default of 128 ends at about
# 18 running nodes machine-wide, and the next node's systemd dies at boot
# ("Failed to allocate manager object: Too many open files").
INOTIFY_LIMITS = {"/proc/sys/fs/inotify/max_user_instances": 1024,
                  "/proc/sys/fs/inotify/max_user_watches": 524288}


def ensure_host_limits():
    """Raise (never lower) the host's inotify limits to what many nodes need."""
    for path, wanted in INOTIFY_LIMITS.items():
        with open(path) as fh:
            current = int(fh.read().strip())
        if current < wanted:
            with open(path, "w") as fh:
                fh.write(str(wanted))
            log("raised %s from %d to %d for the lab's nodes"
                % (path.replace("/proc/sys/", "").replace("/", "."), current, wanted))


def lab_key(key_dir):
    os.makedirs(key_dir, mode=0o700, exist_ok=True)
    key = os.path.join(key_dir, "lab_key")
    if not os.path.exists(key):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "homelab-k3s-lab", "-f", key])
    return key


def node_files(node, lab, shared, pubkey):
    """Files written into a new node's disk before its first boot (node-specific)."""
    s4 = ipaddress.ip_network(shared["subnet4"])
    s6 = ipaddress.ip_network(shared["subnet6"])
    # nspawn names the container end of its veth host0; the VM boots with
    # net.ifnames=0
    iface = "eth0" if node["kind"] == "vm" else "host0"
    hosts = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback",
             "127.0.1.1 %s" % node["name"]]
    for other in sorted(lab["nodes"].values(), key=lambda n: n["index"]):
        hosts.append("%s %s" % (other["ipv4"], other["name"]))
        hosts.append("%s %s" % (other["ipv6"], other["name"]))
    return {
        "etc/hostname": node["name"] + "\n",
        "etc/hosts": "\n".join(hosts) + "\n",
        "etc/systemd/network/10-lab.network": "\n".join([
            "# homelab.k3s lab: static addresses on the lab bridge",
            "[Match]", "Name=%s" % iface, "", "[Network]",
            "Address=%s/%d" % (node["ipv4"], s4.prefixlen),
            "Address=%s/%d" % (node["ipv6"], s6.prefixlen),
            "IPv6AcceptRA=no", "LinkLocalAddressing=ipv6", "",
        ]),
        "etc/apt/apt.conf.d/01lab-proxy": node_apt_conf(shared),
        "root/.ssh/authorized_keys": pubkey,
    }


def write_files(root, files):
    for rel, content in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(content)
        if rel.startswith("root/.ssh"):
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o600)


def mount_overlay(node):
    """The node's root: its own upper dir (its disk) over the read-only image."""
    node_dir = node["dir"]
    for sub in ("upper", "work", "merged"):
        os.makedirs(os.path.join(node_dir, sub), exist_ok=True)
    merged = os.path.join(node_dir, "merged")
    if not os.path.ismount(merged):
        run(["mount", "-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s/upper,workdir=%s/work"
             % (node["image"], node_dir, node_dir), merged])
    return merged


def start_container(node):
    """Boot a container node from its disk, detached, in its own cgroup."""
    merged = mount_overlay(node)
    # One cgroup per node in the named systemd and the unified hierarchy:
    # nodes launched from one shared cgroup make their systemds interfere.
    cgroups = cgroup_paths(node["name"])
    for path in cgroups:
        os.makedirs(path, exist_ok=True)
    if cgroup_pids(cgroups):
        raise LabError("node %s still has processes in its cgroup; `lab.py kill %s` first"
                       % (node["name"], node["name"]))
    # nspawn makes the veth pair (vb-NAME on the host); --network-interface
    # would need udev on the host, which a non-systemd host lacks.
    nspawn = ["systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit",
              "--console=passive", "--directory", merged, "--machine", node["name"],
              "--hostname", node["name"], "--network-bridge", BRIDGE,
              "--resolv-conf=off", "--timezone=off", "--link-journal=no"]
    nspawn += ["--bind-ro=%s:%s" % (src, dst) for src, dst in node.get("bind_ro", [])]
    enter = "".join('echo $$ > "%s/cgroup.procs"; ' % p for p in cgroups)
    with open(os.path.join(node["dir"], "console.log"), "ab") as logf:
        proc = subprocess.Popen(["sh", "-c", enter + 'exec "$@"', "nspawn"] + nspawn,
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True)
    node.update({"pid": proc.pid, "veth": "vb-" + node["name"], "cgroups": cgroups,
                 "power": "on"})
    node["init_pid"] = wait_container_init(node, 10)


def container_init(node):
    """The host pid of the node's init (PID 1 of its PID namespace), or None.

    Found in the node's cgroup, so it is found after nspawn died too.
    """
    pids = cgroup_pids(node.get("cgroups"))
    recorded = node.get("init_pid")
    if recorded in pids and pid_alive(recorded) and ns_pids(recorded)[-1:] == [1]:
        return recorded
    inits = [(len(ns_pids(pid)), pid) for pid in pids
             if len(ns_pids(pid)) > 1 and ns_pids(pid)[-1] == 1 and pid_alive(pid)]
    return min(inits)[1] if inits else None


def wait_container_init(node, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        init = container_init(node)
        if init or not pid_alive(node["pid"]):
            return init
        time.sleep(0.05)
    return None


def poweroff_container(node):
    """Ask the node's systemd for a clean poweroff (what nspawn does on SIGTERM,
    sent to the init itself so it works when nspawn is gone); False when no
    init runs."""
    init = container_init(node)
    if not init:
        return False
    os.kill(init, signal.SIGRTMIN + 4)  # systemd: start poweroff.target
    return True


def kill_container(node):
    """Pull the plug: SIGKILL the init, which ends its whole PID namespace at once."""
    init = container_init(node)
    if init:
        os.kill(init, signal.SIGKILL)


def ssh_cmd(node, key):
    return ["ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=3", "root@%s" % node["ipv4"]]


def wait_ssh(nodes, key, timeout, alive):
    """Wait until every node accepts the lab key; alive(node) tells a node still boots."""
    deadline = time.time() + timeout
    pending = {n["name"]: n for n in nodes}
    while pending and time.time() < deadline:
        for name, node in list(pending.items()):
            if not alive(node):
                raise LabError("node %s exited during boot; see %s/console.log"
                               % (name, node["dir"]))
            res = subprocess.run(ssh_cmd(node, key) + ["true"], capture_output=True, check=False,
                                 timeout=30)
            if res.returncode == 0:
                del pending[name]
        if pending:
            time.sleep(0.5)
    if pending:
        raise LabError("no SSH login to %s within %d s; see their console.log under %s"
                       % (", ".join(sorted(pending)), timeout, NODES_DIR))
