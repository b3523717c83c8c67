# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""homelab.k3s local lab: real Debian 12 nodes on one Linux machine.

Nodes are systemd-nspawn containers (full systemd + sshd) booted from one
read-only Debian image through a per-node overlayfs, attached to a private
host bridge with static IPv4 + IPv6 addresses. Optionally one QEMU VM node
(TCG) with extra virtio disks, for what containers cannot do (LVM needs
device-mapper). Nodes install Debian packages through an apt-cacher-ng proxy
bound only to the bridge address.

Several labs (one per Molecule scenario, plus the quick-start lab) share the
bridge, the proxy and the image; the shared pieces go away with the last lab.

    lab.py up     [--lab NAME] [--nodes N | --node NAME ...] [--vm NAME] ...
    lab.py down   [--lab NAME | --all]
    lab.py status [--json]
    lab.py ssh    NODE [COMMAND ...]

Run `lab.py COMMAND --help` for the options. Everything is validated before
anything is changed; a bad argument changes nothing.
"""

import argparse
import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

RUN_DIR = os.environ.get("HOMELAB_LAB_RUN_DIR", "/run/homelab-k3s-lab")
CACHE_DIR = os.environ.get("HOMELAB_LAB_CACHE_DIR", "/var/cache/homelab-k3s-lab")
NODES_DIR = os.environ.get("HOMELAB_LAB_NODES_DIR", "/var/lib/homelab-k3s-lab/nodes")
BRIDGE = "hlk3s0"
DEFAULT_SUBNET4 = "10.213.0.0/24"
DEFAULT_SUBNET6 = "fd42:6b33:2e00::/64"
ACNG_PORT = 3142
CGROUP_ROOTS = ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")
CGROUP_PARENT = "homelab-k3s-lab"
FIRST_HOST_INDEX = 10
LAST_HOST_INDEX = 250
SUITE = "bookworm"
# Packages every node image carries: what Ansible needs to manage a Debian
# host (python3, python3-apt for the apt module, sudo), a real init, sshd,
# and netbase (nft and others need /etc/protocols and /etc/services).
NODE_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "netbase", "python3", "python3-apt",
    "sudo", "iproute2", "openssh-server", "ca-certificates", "procps",
    "iputils-ping", "libpam-systemd", "less",
]
VM_EXTRA_PACKAGES = ["linux-image-amd64", "initramfs-tools", "e2fsprogs", "udev", "kmod"]
IMAGE_VERSION = "3"  # bump to rebuild cached images after changing the recipe


class LabError(Exception):
    """A problem the user has to fix; printed without a traceback."""


def log(msg):
    print("lab: %s" % msg, file=sys.stderr, flush=True)


def run(cmd, check=True, capture=False, **kwargs):
    """Run a command; on failure raise LabError with its output."""
    res = subprocess.run(cmd, check=False, text=True,
                         stdout=subprocess.PIPE if capture else None,
                         stderr=subprocess.PIPE if capture else None, **kwargs)
    if check and res.returncode != 0:
        detail = (res.stderr or res.stdout or "").strip() if capture else ""
        raise LabError("command failed (%d): %s\n%s" % (res.returncode, " ".join(cmd), detail))
    return res


# --------------------------------------------------------------------------
# State: one JSON file per lab under RUN_DIR/labs, guarded by a global lock.
# --------------------------------------------------------------------------

@contextlib.contextmanager
def global_lock():
    os.makedirs(RUN_DIR, exist_ok=True)
    with open(os.path.join(RUN_DIR, "lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def labs_dir():
    return os.path.join(RUN_DIR, "labs")


def load_labs():
    labs = {}
    if os.path.isdir(labs_dir()):
        for fname in sorted(os.listdir(labs_dir())):
            if fname.endswith(".json"):
                with open(os.path.join(labs_dir(), fname)) as fh:
                    labs[fname[:-5]] = json.load(fh)
    return labs


def save_lab(name, lab):
    os.makedirs(labs_dir(), exist_ok=True)
    path = os.path.join(labs_dir(), name + ".json")
    with open(path + ".tmp", "w") as fh:
        json.dump(lab, fh, indent=2, sort_keys=True)
    os.replace(path + ".tmp", path)


def delete_lab_state(name):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(labs_dir(), name + ".json"))


def shared_state_path():
    return os.path.join(RUN_DIR, "shared.json")


def load_shared():
    try:
        with open(shared_state_path()) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return None


# --------------------------------------------------------------------------
# Validation (nothing is changed until all of it passes)
# --------------------------------------------------------------------------

def host_networks():
    """Every address/route network the host already uses (both families)."""
    nets = []
    for fam in ("-4", "-6"):
        out = run(["ip", "-j", fam, "addr", "show"], capture=True).stdout
        for link in json.loads(out or "[]"):
            if link.get("ifname") == BRIDGE:
                continue
            for addr in link.get("addr_info", []):
                nets.append((link["ifname"], ipaddress.ip_interface(
                    "%s/%s" % (addr["local"], addr["prefixlen"])).network))
        out = run(["ip", "-j", fam, "route", "show"], capture=True).stdout
        for route in json.loads(out or "[]"):
            dst = route.get("dst")
            if dst in (None, "default") or route.get("dev") == BRIDGE:
                continue
            with contextlib.suppress(ValueError):
                nets.append((route.get("dev", "?"), ipaddress.ip_network(dst, strict=False)))
    return nets


def parse_subnet(text, version):
    """Syntax, family, size and privacy of a lab subnet (no host lookups)."""
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise LabError("subnet %r is not a valid network: %s" % (text, exc))
    if net.version != version:
        raise LabError("subnet %s is not an IPv%d network" % (text, version))
    if version == 4 and net.prefixlen > 24:
        raise LabError("subnet %s is too small: use a /24 or larger" % text)
    if version == 6 and net.prefixlen > 64:
        raise LabError("subnet %s is too small: use a /64" % text)
    if not net.is_private:
        raise LabError("subnet %s is not a private network" % text)
    return net


def check_subnet_free(net):
    """The subnet must not overlap any address or route the host already uses."""
    for dev, other in host_networks():
        if other.version == net.version and other.overlaps(net) and other.prefixlen > 0:
            raise LabError("subnet %s collides with %s already used on the host (dev %s);"
                           " choose another with --subnet4/--subnet6" % (net, other, dev))
    return net


def check_host():
    if os.geteuid() != 0:
        raise LabError("the lab must run as root (it creates a bridge, mounts and containers)")
    missing = [tool for tool in ("systemd-nspawn", "mmdebstrap", "ip", "apt-cacher-ng", "ssh-keygen")
               if shutil.which(tool) is None]
    if missing:
        raise LabError("missing on this machine: %s (install the Debian packages "
                       "systemd-container mmdebstrap iproute2 apt-cacher-ng openssh-client;"
                       " `make lab-deps` does it)" % ", ".join(missing))


def check_vm_host():
    missing = [tool for tool in ("qemu-system-x86_64", "qemu-img", "mke2fs")
               if shutil.which(tool) is None]
    if missing:
        raise LabError("the VM node needs %s (Debian packages qemu-system-x86 qemu-utils e2fsprogs)"
                       % ", ".join(missing))


def valid_node_name(name):
    # at most 12 characters: nspawn names the host end of a node's veth
    # "vb-NAME" and interface names are limited to 15 characters
    return (0 < len(name) <= 12 and name[0].isalpha()
            and all(c.isalnum() or c == "-" for c in name) and not name.endswith("-"))


# --------------------------------------------------------------------------
# Image: one minbase Debian rootfs per recipe, cached and never modified
# --------------------------------------------------------------------------

def debian_mirror():
    """The Debian mirror the host itself uses (apt-cacher-ng forwards to it)."""
    candidates = []
    for path in [os.path.join("/etc/apt/sources.list.d", f) for f in
                 sorted(os.listdir("/etc/apt/sources.list.d"))] + ["/etc/apt/sources.list"]:
        if not os.path.isfile(path):
            continue
        with open(path) as fh:
            for line in fh:
                line = line.strip()
                if line.startswith("URIs:"):
                    candidates.extend(line.split()[1:])
                elif line.startswith("deb "):
                    candidates.extend(w for w in line.split()[1:] if "://" in w)
    for uri in candidates:
        if uri.rstrip("/").endswith("/debian") and "security" not in uri:
            return uri.rstrip("/")
    return "http://deb.debian.org/debian"


def image_key(kind):
    pkgs = NODE_PACKAGES + (VM_EXTRA_PACKAGES if kind == "vm" else [])
    digest = hashlib.sha256(("%s|%s|%s" % (IMAGE_VERSION, SUITE, ",".join(pkgs))).encode()).hexdigest()
    return "%s-%s-%s" % (SUITE, kind, digest[:12])


SSH_HOSTKEY_UNIT = """\
# homelab.k3s lab only: every node gets its own SSH host keys at first boot
[Unit]
Description=Generate SSH host keys (lab node)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
"""


def build_image(kind):
    """Build (once) and return the path of the rootfs for 'container' or 'vm'."""
    key = image_key(kind)
    final = os.path.join(CACHE_DIR, "images", key)
    if os.path.isdir(os.path.join(final, "rootfs")):
        return os.path.join(final, "rootfs")
    os.makedirs(os.path.dirname(final), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=key + ".", dir=os.path.dirname(final))
    rootfs = os.path.join(tmp, "rootfs")
    pkgs = NODE_PACKAGES + (VM_EXTRA_PACKAGES if kind == "vm" else [])
    unit_path = os.path.join(tmp, "lab-ssh-hostkeys.service")
    with open(unit_path, "w") as fh:
        fh.write(SSH_HOSTKEY_UNIT)
    hooks = [
        # fresh host keys per node, generated at first boot
        'rm -f "$1"/etc/ssh/ssh_host_*',
        'cp %s "$1"/etc/systemd/system/lab-ssh-hostkeys.service' % unit_path,
        'ln -sf /etc/systemd/system/lab-ssh-hostkeys.service '
        '"$1"/etc/systemd/system/multi-user.target.wants/lab-ssh-hostkeys.service',
        'ln -sf /lib/systemd/system/systemd-networkd.service '
        '"$1"/etc/systemd/system/multi-user.target.wants/systemd-networkd.service',
        'rm -f "$1"/etc/hostname "$1"/etc/machine-id && touch "$1"/etc/machine-id',
        'printf "deb http://deb.debian.org/debian %s main\\n'
        'deb http://deb.debian.org/debian %s-updates main\\n'
        'deb http://deb.debian.org/debian-security %s-security main\\n" > "$1"/etc/apt/sources.list'
        % (SUITE, SUITE, SUITE),
    ]
    if kind == "vm":
        seed_unit = os.path.join(tmp, "lab-seed.service")
        with open(seed_unit, "w") as fh:
            fh.write(SEED_UNIT)
        hooks += [
            'echo "/dev/vda / ext4 defaults 0 1" > "$1"/etc/fstab',
            'cp %s "$1"/etc/systemd/system/lab-seed.service' % seed_unit,
            'mkdir -p "$1"/etc/systemd/system/sysinit.target.wants && ln -sf '
            '/etc/systemd/system/lab-seed.service "$1"/etc/systemd/system/sysinit.target.wants/',
        ]
    cmd = ["mmdebstrap", "--variant=minbase", "--include=" + ",".join(pkgs),
           "--aptopt=Acquire::Retries \"3\""]
    for hook in hooks:
        cmd.append("--customize-hook=" + hook)
    cmd += [SUITE, rootfs, debian_mirror()]
    log("building the %s image %s (once; about a minute)" % (kind, key))
    try:
        run(cmd, capture=True)
    except LabError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # mmdebstrap empties /var/lib/apt/lists last, leaving a fresh mtime: back-date
    # it so `apt: update_cache: true, cache_valid_time: N` in nodes really updates.
    old = time.mktime((2000, 1, 1, 0, 0, 0, 0, 0, 0))
    os.utime(os.path.join(rootfs, "var/lib/apt/lists"), (old, old))
    os.rename(tmp, final)
    return os.path.join(final, "rootfs")


# --------------------------------------------------------------------------
# Shared infrastructure: bridge + apt proxy
# --------------------------------------------------------------------------

def bridge_exists():
    return run(["ip", "link", "show", BRIDGE], check=False, capture=True).returncode == 0


def ensure_shared(subnet4, subnet6):
    shared = load_shared()
    if shared is not None and bridge_exists():
        if (shared["subnet4"], shared["subnet6"]) != (str(subnet4), str(subnet6)):
            if labs_running():
                raise LabError("the lab bridge already runs with %s %s; other labs use it"
                               " (lab.py status); run with the same subnets or take them down"
                               % (shared["subnet4"], shared["subnet6"]))
        else:
            ensure_proxy(shared)
            return shared
    host4 = next(subnet4.hosts())
    host6 = next(subnet6.hosts())
    shared = {"subnet4": str(subnet4), "subnet6": str(subnet6),
              "host4": str(host4), "host6": str(host6), "bridge": BRIDGE}
    if not bridge_exists():
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    run(["ip", "addr", "replace", "%s/%d" % (host4, subnet4.prefixlen), "dev", BRIDGE])
    run(["ip", "-6", "addr", "replace", "%s/%d" % (host6, subnet6.prefixlen), "dev", BRIDGE, "nodad"])
    run(["ip", "link", "set", BRIDGE, "up"])
    with open(shared_state_path(), "w") as fh:
        json.dump(shared, fh, indent=2)
    ensure_proxy(shared)
    return shared


def acng_dir():
    return os.path.join(RUN_DIR, "acng")


def proxy_pid():
    try:
        with open(os.path.join(acng_dir(), "pid")) as fh:
            pid = int(fh.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def wait_port(host, port, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(OSError):
            with socket.create_connection((host, port), timeout=1):
                return True
        time.sleep(0.2)
    return False


def ensure_proxy(shared):
    if proxy_pid():
        return
    conf = acng_dir()
    os.makedirs(os.path.join(conf, "log"), exist_ok=True)
    cache = os.path.join(CACHE_DIR, "apt-cacher-ng")
    os.makedirs(cache, exist_ok=True)
    mirror = debian_mirror()
    with open(os.path.join(conf, "backends_debian"), "w") as fh:
        fh.write(mirror + "/\n")
    with open(os.path.join(conf, "acng.conf"), "w") as fh:
        fh.write("\n".join([
            "# homelab.k3s lab apt proxy: bound to the lab bridge only",
            "CacheDir: %s" % cache,
            "LogDir: %s" % os.path.join(conf, "log"),
            "SupportDir: /usr/lib/apt-cacher-ng",
            "Port: %d" % ACNG_PORT,
            "BindAddress: %s" % shared["host4"],
            "PidFile: %s" % os.path.join(conf, "pid"),
            "Remap-debrep: file:deb_mirror*.gz /debian ; file:%s/backends_debian"
            % conf,
            "Remap-secdeb: security.debian.org security.debian.org/debian-security"
            " deb.debian.org/debian-security /debian-security ; deb.debian.org/debian-security",
            "ExThreshold: 4",
            "ForeGround: 0",
            "",
        ]))
    run(["apt-cacher-ng", "-c", conf], capture=True)
    if not wait_port(shared["host4"], ACNG_PORT, 10):
        raise LabError("apt-cacher-ng did not start; see %s/log" % conf)


def stop_proxy():
    pid = proxy_pid()
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _attempt in range(50):
            if not proxy_pid():
                break
            time.sleep(0.1)
    shutil.rmtree(acng_dir(), ignore_errors=True)


def labs_running():
    return bool(load_labs())


def teardown_shared():
    stop_proxy()
    if bridge_exists():
        run(["ip", "link", "delete", BRIDGE])
    with contextlib.suppress(FileNotFoundError):
        os.unlink(shared_state_path())


# --------------------------------------------------------------------------
# Nodes
# --------------------------------------------------------------------------

def used_indexes():
    used = set()
    for lab in load_labs().values():
        for node in lab["nodes"].values():
            used.add(node["index"])
    return used


def allocate_indexes(count):
    """Free host indexes, handed out round-robin after the last one given.

    A freshly stopped node's address is not reused at once: the host's
    neighbour cache and SSH control masters may still point at the old node.
    """
    used = used_indexes()
    span = list(range(FIRST_HOST_INDEX, LAST_HOST_INDEX))
    start = 0
    with contextlib.suppress(OSError, ValueError):
        with open(os.path.join(RUN_DIR, "last-index")) as fh:
            start = span.index(int(fh.read().strip())) + 1
    ordered = span[start:] + span[:start]
    free = [i for i in ordered if i not in used]
    if len(free) < count:
        raise LabError("no free addresses left on the lab bridge for %d more nodes" % count)
    if count:
        with open(os.path.join(RUN_DIR, "last-index"), "w") as fh:
            fh.write(str(free[count - 1]))
    return free[:count]


def forget_address(ipv4, ipv6):
    """Drop what the host remembers about a node address: neighbour entries and
    Ansible's SSH control masters (their path hashes user, host and port)."""
    for addr in (ipv4, ipv6):
        run(["ip", "neigh", "flush", "to", addr, "dev", BRIDGE], check=False, capture=True)
    control_path = os.path.join(os.path.expanduser("~"), ".ansible", "cp", "%C")
    run(["ssh", "-o", "ControlPath=" + control_path, "-O", "exit", "-p", "22", "root@" + ipv4],
        check=False, capture=True)


def lab_key(key_dir):
    os.makedirs(key_dir, mode=0o700, exist_ok=True)
    key = os.path.join(key_dir, "lab_key")
    if not os.path.exists(key):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "homelab-k3s-lab", "-f", key])
    return key


def node_files(node, lab, shared, pubkey):
    """Files written into a node's overlay before it boots (node-specific)."""
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
        "etc/apt/apt.conf.d/01lab-proxy": "\n".join([
            "// homelab.k3s lab: Debian packages through the host's apt-cacher-ng",
            'Acquire::http::Proxy "http://%s:%d";' % (shared["host4"], ACNG_PORT),
            'Acquire::http::Pipeline-Depth "0";',
            'Acquire::http::Timeout "30";',
            'Acquire::Retries "3";', "",
        ]),
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


def cgroup_paths(name):
    return [os.path.join(root, CGROUP_PARENT, name) for root in CGROUP_ROOTS if os.path.isdir(root)]


def remove_cgroup_tree(path):
    if not os.path.isdir(path):
        return
    for dirpath, _dirs, _files in sorted(os.walk(path), key=lambda t: -t[0].count("/")):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)


def start_container(node, image, node_dir, bind_ro):
    for sub in ("upper", "work", "merged"):
        os.makedirs(os.path.join(node_dir, sub), exist_ok=True)
    merged = os.path.join(node_dir, "merged")
    if not os.path.ismount(merged):
        run(["mount", "-t", "overlay", "overlay", "-o",
             "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (image, node_dir, node_dir), merged])
    # nspawn makes the veth pair (vb-NAME on the host); --network-interface
    # would need udev on the host, which a non-systemd host lacks.
    veth_host = "vb-" + node["name"]
    # One cgroup per node in the named systemd and the unified hierarchy:
    # nodes launched from one shared cgroup make their systemds interfere.
    cgroups = cgroup_paths(node["name"])
    for path in cgroups:
        os.makedirs(path, exist_ok=True)
    nspawn = ["systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit",
              "--console=passive", "--directory", merged, "--machine", node["name"],
              "--hostname", node["name"], "--network-bridge", BRIDGE,
              "--resolv-conf=off", "--timezone=off", "--link-journal=no"]
    for src, dst in bind_ro:
        nspawn.append("--bind-ro=%s:%s" % (src, dst))
    enter = "".join('echo $$ > "%s/cgroup.procs"; ' % p for p in cgroups)
    script = enter + 'exec "$@"'
    logf = open(os.path.join(node_dir, "console.log"), "ab")
    proc = subprocess.Popen(["sh", "-c", script, "nspawn"] + nspawn, stdin=subprocess.DEVNULL,
                            stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    node["pid"] = proc.pid
    node["veth"] = veth_host
    node["cgroups"] = cgroups


def start_vm(node, image, node_dir, disks, disk_size, memory):
    """Boot the QEMU (TCG) node from a qcow2 overlay of the VM image."""
    vm_base = os.path.join(os.path.dirname(image), "disk.raw")
    if not os.path.exists(vm_base):
        log("making the VM root disk from the VM image (once)")
        tmp = vm_base + ".tmp"
        run(["mke2fs", "-q", "-t", "ext4", "-d", image, "-L", "labroot", tmp, "3G"], capture=True)
        os.rename(tmp, vm_base)
    os.makedirs(node_dir, exist_ok=True)
    root = os.path.join(node_dir, "root.qcow2")
    if not os.path.exists(root):
        run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", vm_base, "-F", "raw", root])
    # node-specific files go in through a small seed: write them into the
    # overlay with guestless tooling is not possible, so the VM reads them from
    # a second tiny ext4 disk (LABEL=labseed) that a unit copies at boot.
    seed_dir = os.path.join(node_dir, "seed")
    os.makedirs(seed_dir, exist_ok=True)
    tap = "hl%dt" % node["index"]
    run(["ip", "link", "delete", tap], check=False, capture=True)
    run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"])
    run(["ip", "link", "set", tap, "master", BRIDGE, "up"])
    boot = os.path.join(image, "boot")
    kernel = sorted(f for f in os.listdir(boot) if f.startswith("vmlinuz-"))[-1]
    initrd = sorted(f for f in os.listdir(boot) if f.startswith("initrd.img-"))[-1]
    drives = ["-drive", "file=%s,if=virtio,format=qcow2" % root,
              "-drive", "file=%s,if=virtio,format=raw" % os.path.join(node_dir, "seed.img")]
    node["disks"] = []
    for i in range(disks):
        path = os.path.join(node_dir, "data%d.raw" % i)
        if not os.path.exists(path):
            run(["truncate", "-s", disk_size, path])
        drives += ["-drive", "file=%s,if=virtio,format=raw" % path]
        node["disks"].append("/dev/vd%s" % "cdefghij"[i])
    mac = "52:54:00:6b:33:%02x" % node["index"]
    cmd = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-m", str(memory), "-smp", "2",
           "-kernel", os.path.join(boot, kernel), "-initrd", os.path.join(boot, initrd),
           "-append", "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet",
           "-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % tap,
           "-device", "virtio-net-pci,netdev=n0,mac=%s" % mac,
           "-display", "none", "-serial", "file:%s" % os.path.join(node_dir, "console.log"),
           "-pidfile", os.path.join(node_dir, "qemu.pid"), "-daemonize"] + drives
    run(cmd, capture=True)
    with open(os.path.join(node_dir, "qemu.pid")) as fh:
        node["pid"] = int(fh.read().strip())
    node["tap"] = tap


SEED_UNIT = """\
# homelab.k3s lab VM only: copy node-specific files from the seed disk
[Unit]
Description=Apply lab seed (node-specific files)
DefaultDependencies=no
Before=systemd-networkd.service ssh.service lab-ssh-hostkeys.service
After=local-fs-pre.target
ConditionPathExists=/dev/disk/by-label/labseed

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'mkdir -p /run/labseed && mount -o ro LABEL=labseed /run/labseed \\
  && cp -a /run/labseed/files/. / && umount /run/labseed && hostname -F /etc/hostname'

[Install]
WantedBy=sysinit.target
"""


def make_seed_disk(node_dir, files):
    seed_root = os.path.join(node_dir, "seed")
    shutil.rmtree(seed_root, ignore_errors=True)
    write_files(os.path.join(seed_root, "files"), files)
    img = os.path.join(node_dir, "seed.img")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(img)
    run(["mke2fs", "-q", "-t", "ext4", "-d", seed_root, "-L", "labseed", img, "8M"], capture=True)


def pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    with contextlib.suppress(OSError):
        with open("/proc/%d/stat" % pid) as fh:
            if fh.read().split()[2] == "Z":
                return False
    return True


def wait_ssh(nodes, key, timeout):
    deadline = time.time() + timeout
    pending = {n["name"]: n for n in nodes}
    while pending and time.time() < deadline:
        for name, node in list(pending.items()):
            if not pid_alive(node["pid"]):
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


def ssh_cmd(node, key):
    return ["ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=3", "root@%s" % node["ipv4"]]


def stop_node(node):
    pid = node.get("pid")
    if pid_alive(pid):
        with contextlib.suppress(OSError):
            # nspawn turns SIGTERM into a clean poweroff of the container
            os.kill(pid, signal.SIGTERM)
        for _attempt in range(150):
            if not pid_alive(pid):
                break
            time.sleep(0.1)
        if pid_alive(pid):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    node_dir = node["dir"]
    merged = os.path.join(node_dir, "merged")
    if os.path.ismount(merged):
        run(["umount", "-l", merged], check=False)
    for link in (node.get("veth"), node.get("tap")):
        if link:
            run(["ip", "link", "delete", link], check=False, capture=True)
    for path in node.get("cgroups", []):
        remove_cgroup_tree(path)
    if bridge_exists():
        forget_address(node["ipv4"], node["ipv6"])
    shutil.rmtree(node_dir, ignore_errors=True)


# --------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------

def write_inventory(path, lab, key, servers):
    nodes = sorted(lab["nodes"].values(), key=lambda n: n["index"])
    containers = [n for n in nodes if n["kind"] == "container"]
    lines = ["---", "# Written by lab/lab.py for the lab %r; regenerated by `lab.py up`." % lab["name"],
             "all:", "  vars:",
             "    ansible_user: root",
             "    ansible_ssh_private_key_file: %s" % key,
             "    ansible_ssh_common_args: >-",
             "      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
             "    homelab_lab: true",
             "    homelab_lab_bridge_ipv4: %s" % lab["host4"],
             "    homelab_lab_bridge_ipv6: '%s'" % lab["host6"],
             "    homelab_lab_subnets: ['%s', '%s']" % (lab["subnet4"], lab["subnet6"]),
             "  hosts:"]
    for n in nodes:
        lines += ["    %s:" % n["name"], "      ansible_host: %s" % n["ipv4"],
                  "      k3s_node_ips: ['%s', '%s']" % (n["ipv4"], n["ipv6"])]
        if n["kind"] == "vm":
            lines.append("      homelab_lab_disks: %s" % json.dumps(n["disks"]))
    lines += ["  children:", "    k3s_cluster:", "      children:",
              "        k3s_servers:", "          hosts:"]
    lines += ["            %s:" % n["name"] for n in containers[:servers]]
    lines += ["        k3s_agents:", "          hosts:"]
    lines += ["            %s:" % n["name"] for n in containers[servers:]]
    if not containers[servers:]:
        lines[-1] = "          hosts: {}"
    vms = [n for n in nodes if n["kind"] == "vm"]
    if vms:
        lines += ["    lab_vms:", "      hosts:"] + ["        %s:" % n["name"] for n in vms]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------

def cmd_up(args):
    check_host()
    if args.vm:
        check_vm_host()
    names = list(args.node or [])
    if not names:
        if args.nodes < 0 or (args.nodes == 0 and not args.vm):
            raise LabError("--nodes must be at least 1 (got %d)" % args.nodes)
        names = ["%s-%d" % (args.lab, i) for i in range(1, args.nodes + 1)]
    if len(set(names)) != len(names):
        raise LabError("node names must be unique: %s" % ", ".join(names))
    for name in names + ([args.vm] if args.vm else []):
        if not valid_node_name(name):
            raise LabError("invalid node name %r: up to 12 letters, digits and '-', starting with"
                           " a letter" % name)
    if args.vm and args.vm in names:
        raise LabError("the VM node %r has the name of a container node" % args.vm)
    if not valid_node_name(args.lab):
        raise LabError("invalid lab name %r" % args.lab)
    if args.servers < 0:
        raise LabError("--servers must not be negative")
    with global_lock():
        labs = load_labs()
        for other_name, other in labs.items():
            if other_name == args.lab:
                continue
            clash = set(other["nodes"]) & set(names + ([args.vm] if args.vm else []))
            if clash:
                raise LabError("node name(s) %s already used by the lab %r"
                               % (", ".join(sorted(clash)), other_name))
        subnet4 = parse_subnet(args.subnet4 or DEFAULT_SUBNET4, 4)
        subnet6 = parse_subnet(args.subnet6 or DEFAULT_SUBNET6, 6)
        shared = load_shared()
        if shared and bridge_exists() and labs:
            running = (ipaddress.ip_network(shared["subnet4"]), ipaddress.ip_network(shared["subnet6"]))
            if (args.subnet4 and subnet4 != running[0]) or (args.subnet6 and subnet6 != running[1]):
                raise LabError("the lab bridge already runs with %s %s for other labs"
                               % running)
            subnet4, subnet6 = running
        else:
            check_subnet_free(subnet4)
            check_subnet_free(subnet6)
        wanted = [(n, "container") for n in names] + ([(args.vm, "vm")] if args.vm else [])
        lab = labs.get(args.lab) or {"name": args.lab, "nodes": {}}
        # Drop nodes of this lab whose process died (an earlier crash or reboot).
        for name, node in list(lab["nodes"].items()):
            if not pid_alive(node["pid"]):
                log("node %s is not running any more; restarting it" % name)
                stop_node(node)
                del lab["nodes"][name]
        extra = set(lab["nodes"]) - {n for n, _kind in wanted}
        if extra:
            raise LabError("the lab %r also runs %s; `lab.py down --lab %s` first to change its"
                           " nodes" % (args.lab, ", ".join(sorted(extra)), args.lab))
        # All checks passed: from here on things change.
        image = build_image("container") if names else None
        vm_image = build_image("vm") if args.vm else None
        shared = ensure_shared(subnet4, subnet6)
        key = lab_key(args.key_dir)
        with open(key + ".pub") as fh:
            pubkey = fh.read()
        lab.update({k: shared[k] for k in ("subnet4", "subnet6", "host4", "host6")})
        new = [(n, kind) for n, kind in wanted if n not in lab["nodes"]]
        indexes = allocate_indexes(len(new))
        for (name, kind), index in zip(new, indexes):
            lab["nodes"][name] = {
                "name": name, "kind": kind, "index": index, "pid": None,
                "ipv4": str(subnet4.network_address + index),
                "ipv6": str(subnet6.network_address + index),
                "dir": os.path.join(NODES_DIR, name),
            }
        started = []
        try:
            for name, kind in new:
                node = lab["nodes"][name]
                forget_address(node["ipv4"], node["ipv6"])
                files = node_files(node, lab, shared, pubkey)
                if kind == "container":
                    os.makedirs(os.path.join(node["dir"], "upper"), exist_ok=True)
                    write_files(os.path.join(node["dir"], "upper"), files)
                    start_container(node, image, node["dir"], args.bind_ro or [])
                else:
                    os.makedirs(node["dir"], exist_ok=True)
                    make_seed_disk(node["dir"], files)
                    start_vm(node, vm_image, node["dir"], args.vm_disks, args.vm_disk_size,
                             args.vm_memory)
                started.append(node)
                save_lab(args.lab, lab)
            # Hosts files of already running nodes are not rewritten: they know
            # their peers by address, and names only matter for new nodes.
            wait_ssh([lab["nodes"][n] for n, _kind in wanted], key, args.timeout)
        except BaseException:
            for node in started:
                stop_node(node)
                del lab["nodes"][node["name"]]
            if lab["nodes"]:
                save_lab(args.lab, lab)
            else:
                delete_lab_state(args.lab)
                if not load_labs():
                    teardown_shared()
            raise
        save_lab(args.lab, lab)
        lab["key"] = key
        if args.inventory:
            write_inventory(args.inventory, lab, key, args.servers)
        print(json.dumps({"lab": args.lab, "key": key,
                          "nodes": {n: {k: v for k, v in node.items() if k in
                                        ("ipv4", "ipv6", "kind", "disks")}
                                    for n, node in lab["nodes"].items()}},
                         indent=2, sort_keys=True))
        summary = ", ".join("%s %s" % (n["name"], n["ipv4"]) for n in lab["nodes"].values())
        log("lab %s up: %s" % (args.lab, summary))


def cmd_down(args):
    if os.geteuid() != 0:
        raise LabError("the lab must run as root")
    with global_lock():
        labs = load_labs()
        targets = list(labs) if args.all else [args.lab]
        for name in targets:
            lab = labs.get(name)
            if lab is None:
                log("lab %s is not running" % name)
                continue
            for node in lab["nodes"].values():
                stop_node(node)
            delete_lab_state(name)
            log("lab %s down" % name)
        if not load_labs():
            teardown_shared()
            for root in CGROUP_ROOTS:
                remove_cgroup_tree(os.path.join(root, CGROUP_PARENT))
            with contextlib.suppress(OSError):
                os.rmdir(NODES_DIR)
            with contextlib.suppress(OSError):
                os.rmdir(labs_dir())
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(RUN_DIR, "last-index"))


def cmd_status(args):
    labs = load_labs()
    shared = load_shared()
    report = {"bridge": BRIDGE if bridge_exists() else None,
              "proxy_pid": proxy_pid(), "shared": shared, "labs": {}}
    for name, lab in labs.items():
        report["labs"][name] = {}
        for node in lab["nodes"].values():
            alive = pid_alive(node["pid"])
            ssh_ok = alive and wait_port(node["ipv4"], 22, 0.5)
            report["labs"][name][node["name"]] = {
                "kind": node["kind"], "ipv4": node["ipv4"], "ipv6": node["ipv6"],
                "pid": node["pid"], "running": alive, "ssh": ssh_ok}
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    if not labs and not report["bridge"] and not report["proxy_pid"]:
        print("nothing runs: no lab, no bridge, no proxy")
        return 0
    print("bridge %s: %s   apt proxy: %s" % (
        BRIDGE, "up %s %s" % (shared["host4"], shared["host6"]) if report["bridge"] and shared
        else "absent", "pid %s on %s:%d" % (report["proxy_pid"], shared["host4"], ACNG_PORT)
        if report["proxy_pid"] and shared else "not running"))
    for name, nodes in report["labs"].items():
        print("lab %s:" % name)
        for node, info in sorted(nodes.items()):
            print("  %-16s %-9s %-15s %-24s %s" % (
                node, info["kind"], info["ipv4"], info["ipv6"],
                "running, ssh ok" if info["ssh"] else "running, no ssh" if info["running"]
                else "STOPPED"))
    return 0


def cmd_ssh(args):
    for lab in load_labs().values():
        node = lab["nodes"].get(args.node)
        if node:
            key = os.path.join(args.key_dir, "lab_key")
            os.execvp("ssh", ssh_cmd(node, key) + args.command)
    raise LabError("no lab node named %s (lab.py status)" % args.node)


def main(argv=None):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    key_dir = os.path.join(repo, ".lab")

    up = sub.add_parser("up", help="start (or keep) a lab's nodes; idempotent")
    up.add_argument("--lab", default="lab", help="lab name (default: lab)")
    up.add_argument("--nodes", type=int, default=3, help="number of container nodes (default 3)")
    up.add_argument("--node", action="append", help="explicit node name (repeatable); overrides --nodes")
    up.add_argument("--servers", type=int, default=1,
                    help="how many of the container nodes the inventory puts in k3s_servers")
    up.add_argument("--vm", metavar="NAME", help="also boot one QEMU (TCG) VM node with this name")
    up.add_argument("--vm-disks", type=int, default=2, help="extra virtio data disks of the VM node")
    up.add_argument("--vm-disk-size", default="2G", help="size of each VM data disk")
    up.add_argument("--vm-memory", type=int, default=1024, help="VM memory in MiB")
    up.add_argument("--subnet4", help="lab IPv4 subnet (default %s)" % DEFAULT_SUBNET4)
    up.add_argument("--subnet6", help="lab IPv6 subnet (default %s)" % DEFAULT_SUBNET6)
    up.add_argument("--inventory", help="write an Ansible inventory for the lab to this file")
    up.add_argument("--bind-ro", action="append", type=lambda s: tuple(s.split(":", 1)),
                    metavar="SRC:DST", help="bind a host directory read-only into every new node")
    up.add_argument("--timeout", type=int, default=600,
                    help="seconds to wait for SSH at most (a TCG VM on a loaded machine is slow)")
    up.add_argument("--key-dir", default=key_dir, help=argparse.SUPPRESS)
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop a lab and remove everything it made")
    down.add_argument("--lab", default="lab")
    down.add_argument("--all", action="store_true", help="every lab, the bridge and the proxy")
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="what runs")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    ssh = sub.add_parser("ssh", help="log in to a node with the lab key")
    ssh.add_argument("node")
    ssh.add_argument("command", nargs=argparse.REMAINDER)
    ssh.add_argument("--key-dir", default=key_dir, help=argparse.SUPPRESS)
    ssh.set_defaults(func=cmd_ssh)

    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except LabError as exc:
        print("lab: error: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
