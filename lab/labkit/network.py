# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared lab bridge and the node addresses on it."""

import contextlib
import os

from .aptproxy import ensure_proxy, stop_proxy
from .common import BRIDGE, FIRST_HOST_INDEX, LAST_HOST_INDEX, RUN_DIR, LabError, run
from .state import labs_running, load_labs, load_shared, save_shared, shared_state_path


def bridge_exists():
    return run(["ip", "link", "show", BRIDGE], check=False, capture=True).returncode == 0


def ensure_shared(subnet4, subnet6):
    """The bridge (with the host's addresses) and the apt proxy, shared by every lab."""
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
    save_shared(shared)
    ensure_proxy(shared)
    return shared


def teardown_shared():
    stop_proxy()
    if bridge_exists():
        run(["ip", "link", "delete", BRIDGE])
    with contextlib.suppress(FileNotFoundError):
        os.unlink(shared_state_path())


def used_indexes():
    """Host indexes of every node in every lab, powered on or off."""
    used = set()
    for lab in load_labs().values():
        for node in lab["nodes"].values():
            used.add(node["index"])
    return used


def allocate_indexes(count):
    """Free host indexes, handed out round-robin after the last one given.

    A freshly removed node's address is not reused at once: the host's
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
