# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-node cgroups: a node is everything in its cgroup, whatever its parent.

Each node runs in its own cgroup (named systemd and unified hierarchies).
Nodes launched from one shared cgroup make their systemds interfere, and the
cgroup is also the only reliable record of what a node runs: when a node's
nspawn dies, its systemd and services are re-parented to the host's PID 1
and keep running, but they stay in the node's cgroup.
"""

import contextlib
import os
import signal
import time

from .common import CGROUP_PARENT, CGROUP_ROOTS


def cgroup_paths(name):
    return [os.path.join(root, CGROUP_PARENT, name) for root in CGROUP_ROOTS if os.path.isdir(root)]


def cgroup_pids(paths):
    """Every process in these cgroups and their sub-cgroups (zombies are not listed)."""
    pids = set()
    for path in paths or []:
        for dirpath, _dirs, files in os.walk(path):
            if "cgroup.procs" not in files:
                continue
            with contextlib.suppress(OSError, ValueError):
                with open(os.path.join(dirpath, "cgroup.procs")) as fh:
                    pids.update(int(line) for line in fh if line.strip())
    return pids


def kill_cgroups(paths, timeout=10.0):
    """SIGKILL everything in the cgroups until they are empty; the pids left over."""
    deadline = time.time() + timeout
    while True:
        pids = cgroup_pids(paths)
        if not pids or time.time() >= deadline:
            return pids
        for path in paths:
            # cgroup v2 (the unified hierarchy) kills a whole subtree at once
            with contextlib.suppress(OSError):
                with open(os.path.join(path, "cgroup.kill"), "w") as fh:
                    fh.write("1")
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def remove_cgroup_tree(path):
    if not os.path.isdir(path):
        return
    for dirpath, _dirs, _files in sorted(os.walk(path), key=lambda t: -t[0].count("/")):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)


def ns_pids(pid):
    """The pid of a process in each nested PID namespace (host's first), or []."""
    with contextlib.suppress(OSError):
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                if line.startswith("NSpid:"):
                    return [int(p) for p in line.split()[1:]]
    return []
