# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM node: one QEMU (TCG) machine per lab, for what containers cannot do."""

import contextlib
import json
import os
import shutil
import signal
import socket

from .cgroups import cgroup_paths
from .common import BRIDGE, log, pid_alive, run
from .nodes import write_files


def seed_disk(node_dir, files):
    """Node-specific files reach the VM on a tiny ext4 disk (LABEL=labseed) that
    a unit of the image copies at boot: nothing on the host can write into
    the guest's own disk."""
    seed_root = os.path.join(node_dir, "seed")
    shutil.rmtree(seed_root, ignore_errors=True)
    write_files(os.path.join(seed_root, "files"), files)
    img = os.path.join(node_dir, "seed.img")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(img)
    run(["mke2fs", "-q", "-t", "ext4", "-d", seed_root, "-L", "labseed", img, "8M"], capture=True)


def vm_disks(node):
    """Root (qcow2 over the image's raw disk), seed and data disks; made once,
    kept while the node exists (its disk survives a power cycle)."""
    node_dir = node["dir"]
    vm_base = os.path.join(os.path.dirname(node["image"]), "disk.raw")
    if not os.path.exists(vm_base):
        log("making the VM root disk from the VM image (once)")
        tmp = vm_base + ".tmp"
        run(["mke2fs", "-q", "-t", "ext4", "-d", node["image"], "-L", "labroot", tmp, "3G"],
            capture=True)
        os.rename(tmp, vm_base)
    root = os.path.join(node_dir, "root.qcow2")
    if not os.path.exists(root):
        run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", vm_base, "-F", "raw", root])
    drives = ["-drive", "file=%s,if=virtio,format=qcow2" % root,
              "-drive", "file=%s,if=virtio,format=raw" % os.path.join(node_dir, "seed.img")]
    node["disks"] = []
    for i in range(node["vm_disks"]):
        path = os.path.join(node_dir, "data%d.raw" % i)
        if not os.path.exists(path):
            run(["truncate", "-s", node["vm_disk_size"], path])
        drives += ["-drive", "file=%s,if=virtio,format=raw" % path]
        node["disks"].append("/dev/vd%s" % "cdefghij"[i])
    return drives


def start_vm(node):
    """Boot the VM node from its disks, inside its own cgroup, on a tap in the bridge."""
    node_dir = node["dir"]
    os.makedirs(node_dir, exist_ok=True)
    drives = vm_disks(node)
    tap = "hl%dt" % node["index"]
    run(["ip", "link", "delete", tap], check=False, capture=True)
    run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"])
    run(["ip", "link", "set", tap, "master", BRIDGE, "up"])
    boot = os.path.join(node["image"], "boot")
    kernel = sorted(f for f in os.listdir(boot) if f.startswith("vmlinuz-"))[-1]
    initrd = sorted(f for f in os.listdir(boot) if f.startswith("initrd.img-"))[-1]
    mac = "52:54:00:6b:33:%02x" % node["index"]
    qmp = os.path.join(node_dir, "qmp.sock")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(qmp)
    # One vCPU: with two, the guest kernel finds the TCG vCPUs' TSCs out of sync and
    # falls back to the HPET clocksource, whose every read is an emulated MMIO access;
    # with one it keeps the TSC. Measured on the 2-core host: an Ansible module run
    # (`command: true`) costs 5.5-6.7 s of QEMU CPU instead of 6.8-11.7 s, and the
    # Python that modules run is single-threaded anyway; CI runs a second Molecule
    # lane on the other core. (`-cpu max` was slower than the default CPU model, and
    # `cache=unsafe` on the drives or dpkg's force-unsafe-io changed nothing: the
    # VM is CPU-bound, not disk-bound, so the drives keep QEMU's default cache.)
    cmd = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-m", str(node["vm_memory"]),
           "-smp", "1", "-kernel", os.path.join(boot, kernel), "-initrd", os.path.join(boot, initrd),
           "-append", "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet",
           "-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % tap,
           "-device", "virtio-net-pci,netdev=n0,mac=%s" % mac,
           "-display", "none", "-serial", "file:%s" % os.path.join(node_dir, "console.log"),
           "-qmp", "unix:%s,server=on,wait=off" % qmp,
           "-pidfile", os.path.join(node_dir, "qemu.pid"), "-daemonize"] + drives
    cgroups = cgroup_paths(node["name"])
    for path in cgroups:
        os.makedirs(path, exist_ok=True)
    enter = "".join('echo $$ > "%s/cgroup.procs"; ' % p for p in cgroups)
    run(["sh", "-c", enter + 'exec "$@"', "qemu"] + cmd, capture=True)
    with open(os.path.join(node_dir, "qemu.pid")) as fh:
        pid = int(fh.read().strip())
    node.update({"pid": pid, "init_pid": pid, "tap": tap, "cgroups": cgroups, "power": "on"})


def qemu_pid(node):
    """The node's QEMU process, or None (a recycled pid is not taken for it)."""
    pid = node.get("pid")
    if not pid_alive(pid):
        return None
    with contextlib.suppress(OSError):
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            if node["dir"].encode() in fh.read():
                return pid
    return None


def qmp_command(node, command, timeout=5):
    """Run one QMP command on the node's QEMU; False when it has no QMP socket."""
    path = os.path.join(node["dir"], "qmp.sock")
    if not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        reader = sock.makefile("r")
        reader.readline()  # greeting
        for cmd in ("qmp_capabilities", command):
            sock.sendall(json.dumps({"execute": cmd}).encode() + b"\n")
            while True:
                reply = json.loads(reader.readline())
                if "return" in reply or "error" in reply:
                    break
            if "error" in reply:
                return False
    return True


def poweroff_vm(node):
    """Press the VM's ACPI power button (the guest shuts down cleanly); False
    when QEMU runs no more."""
    pid = qemu_pid(node)
    if not pid:
        return False
    try:
        pressed = qmp_command(node, "system_powerdown")
    except (OSError, ValueError):
        pressed = False
    if not pressed:
        # a VM started without a QMP socket: end QEMU (like a power cut)
        log("node %s has no QMP socket: stopping QEMU instead of an ACPI shutdown" % node["name"])
        os.kill(pid, signal.SIGTERM)
    return True


def kill_vm(node):
    pid = qemu_pid(node)
    if pid:
        os.kill(pid, signal.SIGKILL)
