# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Settings shared by the whole lab, its error type and command helpers."""

import contextlib
import os
import socket
import subprocess
import sys
import time

# A second, separate lab instance on the same machine (its own state, bridge,
# proxy and cgroups; used by benchmarks/lab_apt_update.py) sets these.
RUN_DIR = os.environ.get("HOMELAB_LAB_RUN_DIR", "/run/homelab-k3s-lab")
CACHE_DIR = os.environ.get("HOMELAB_LAB_CACHE_DIR", "/var/cache/homelab-k3s-lab")
NODES_DIR = os.environ.get("HOMELAB_LAB_NODES_DIR", "/var/lib/homelab-k3s-lab/nodes")
BRIDGE = os.environ.get("HOMELAB_LAB_BRIDGE", "hlk3s0")
DEFAULT_SUBNET4 = "10.213.0.0/24"
DEFAULT_SUBNET6 = "fd42:6b33:2e00::/64"
ACNG_PORT = 3142
CGROUP_ROOTS = ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")
CGROUP_PARENT = os.environ.get("HOMELAB_LAB_CGROUP", "homelab-k3s-lab")
FIRST_HOST_INDEX = 10
LAST_HOST_INDEX = 250
SUITE = "bookworm"


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


def pid_alive(pid):
    """True when the process exists and is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    with contextlib.suppress(OSError):
        with open("/proc/%d/stat" % pid) as fh:
            # the command name (field 2) may hold spaces: the state follows its ')'
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    return True


def wait_port(host, port, timeout):
    deadline = time.time() + timeout
    while True:
        with contextlib.suppress(OSError):
            with socket.create_connection((host, port), timeout=1):
                return True
        if time.time() >= deadline:
            return False
        time.sleep(0.2)


def wait_until(predicate, timeout, interval=0.2):
    """Poll predicate() until it is true or timeout seconds passed; its last value."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() >= deadline:
            return value
        time.sleep(interval)
