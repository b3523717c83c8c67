# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `lab.py` subcommands: up, down, status, ssh and the power commands."""

import contextlib
import ipaddress
import json
import os

from .cgroups import remove_cgroup_tree
from .common import (ACNG_PORT, BRIDGE, CGROUP_PARENT, CGROUP_ROOTS, DEFAULT_SUBNET4,
                     DEFAULT_SUBNET6, NODES_DIR, RUN_DIR, LabError, log, wait_port)
from .hostcheck import (check_host, check_root, check_subnet_free, check_vm_host, parse_subnet,
                        valid_node_name)
from .aptproxy import proxy_pid
from .image import build_image, check_packages
from .inventory import write_inventory
from .network import allocate_indexes, bridge_exists, ensure_shared, teardown_shared
from .nodes import lab_key, node_files, ssh_cmd, wait_ssh, write_files
from .power import (node_booting_or_running, node_init, node_state, power_off, power_on, pull_plug, release, remove,
                    request_poweroff, wait_off)
from .state import (delete_lab_state, global_lock, labs_dir, load_labs, load_shared, save_lab)
from .vm import seed_disk


# --------------------------------------------------------------------------
# up
# --------------------------------------------------------------------------

def wanted_nodes(args):
    """[(name, kind)] that `up` asks for, validated (nothing changed yet)."""
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
    if args.vm_package and not args.vm:
        raise LabError("--vm-package needs --vm (the packages go into the VM node's image)")
    check_packages(args.vm_package or [])
    if not valid_node_name(args.lab):
        raise LabError("invalid lab name %r" % args.lab)
    if args.servers < 0:
        raise LabError("--servers must not be negative")
    return [(n, "container") for n in names] + ([(args.vm, "vm")] if args.vm else [])


def image_extra(kind, args):
    """The extra packages of a node's image: --vm-package, for the VM only."""
    return (args.vm_package or []) if kind == "vm" else []


def check_names_free(labs, lab_name, names):
    for other_name, other in labs.items():
        if other_name == lab_name:
            continue
        clash = set(other["nodes"]) & set(names)
        if clash:
            raise LabError("node name(s) %s already used by the lab %r"
                           % (", ".join(sorted(clash)), other_name))


def lab_subnets(args, labs):
    """The subnets to use: the running bridge's when other labs use it."""
    subnet4 = parse_subnet(args.subnet4 or DEFAULT_SUBNET4, 4)
    subnet6 = parse_subnet(args.subnet6 or DEFAULT_SUBNET6, 6)
    shared = load_shared()
    if shared and bridge_exists() and labs:
        running = (ipaddress.ip_network(shared["subnet4"]), ipaddress.ip_network(shared["subnet6"]))
        if (args.subnet4 and subnet4 != running[0]) or (args.subnet6 and subnet6 != running[1]):
            raise LabError("the lab bridge already runs with %s %s for other labs" % running)
        return running
    return check_subnet_free(subnet4), check_subnet_free(subnet6)


def new_node(name, kind, index, subnets, args):
    node = {"name": name, "kind": kind, "index": index, "pid": None, "power": "off",
            "ipv4": str(subnets[0].network_address + index),
            "ipv6": str(subnets[1].network_address + index),
            "dir": os.path.join(NODES_DIR, name),
            "image": build_image(kind, image_extra(kind, args))}
    if kind == "container":
        node["bind_ro"] = [list(b) for b in args.bind_ro or []]
    else:
        node.update({"vm_disks": args.vm_disks, "vm_disk_size": args.vm_disk_size,
                     "vm_memory": args.vm_memory})
    return node


def create_disk(node, lab, shared, pubkey):
    """A new node's disk with its node-specific files (a stale one is replaced)."""
    import shutil  # pylint: disable=import-outside-toplevel
    if not os.path.ismount(os.path.join(node["dir"], "merged")):
        shutil.rmtree(node["dir"], ignore_errors=True)
    files = node_files(node, lab, shared, pubkey)
    if node["kind"] == "container":
        write_files(os.path.join(node["dir"], "upper"), files)
    else:
        os.makedirs(node["dir"], exist_ok=True)
        seed_disk(node["dir"], files)


def boot_nodes(lab, to_boot, new_names, shared, key):
    """Create the new nodes' disks and power on every node of to_boot; on a
    failure the nodes booted here are undone (see undo_boot)."""
    with open(key + ".pub") as fh:
        pubkey = fh.read()
    booted = []
    try:
        for node in to_boot:
            if node["name"] in new_names:
                create_disk(node, lab, shared, pubkey)
            node.setdefault("image", build_image(node["kind"]))  # state of an older lab.py
            power_on(node)
            booted.append(node)
            save_lab(lab["name"], lab)
    except BaseException:
        undo_boot(lab, booted, new_names)
        raise


def undo_boot(lab, booted, new_names):
    """Power off what `up` booted; new nodes are removed, the lab too if empty."""
    power_off(booted, 0, clean=False)
    for node in booted:
        if node["name"] in new_names:
            remove(node)
            del lab["nodes"][node["name"]]
    if lab["nodes"]:
        save_lab(lab["name"], lab)
    else:
        delete_lab_state(lab["name"])
        if not load_labs():
            teardown_shared()


def print_lab(lab, key):
    print(json.dumps({"lab": lab["name"], "key": key,
                      "nodes": {n: {k: v for k, v in node.items() if k in
                                    ("ipv4", "ipv6", "kind", "disks")}
                                for n, node in lab["nodes"].items()}},
                     indent=2, sort_keys=True))


def check_up(args, wanted, labs):
    """Everything `up` checks against the labs that run; the subnets to use."""
    check_names_free(labs, args.lab, [n for n, _kind in wanted])
    subnets = lab_subnets(args, labs)
    lab = labs.get(args.lab) or {"name": args.lab, "nodes": {}}
    extra = set(lab["nodes"]) - {n for n, _kind in wanted}
    if extra:
        raise LabError("the lab %r also has %s; `lab.py down --lab %s` first to change its"
                       " nodes" % (args.lab, ", ".join(sorted(extra)), args.lab))
    return lab, subnets


def cmd_up(args):
    wanted = wanted_nodes(args)
    with global_lock():
        check_up(args, wanted, load_labs())
    # The slow parts run without the global lock, so other labs can start and
    # stop meanwhile: building an image (once) and waiting for the nodes' SSH.
    for kind in sorted({kind for _name, kind in wanted}):
        build_image(kind, image_extra(kind, args))
    with global_lock():
        lab, subnets = check_up(args, wanted, load_labs())
        # All checks passed: from here on things change.
        shared = ensure_shared(*subnets)
        key = lab_key(args.key_dir)
        lab.update({k: shared[k] for k in ("subnet4", "subnet6", "host4", "host6")})
        new = dict((n, kind) for n, kind in wanted if n not in lab["nodes"])
        for (name, kind), index in zip(new.items(), allocate_indexes(len(new))):
            lab["nodes"][name] = new_node(name, kind, index, subnets, args)
        # nodes that are off (stopped, killed, or powered off from inside) boot
        # again from their disk with their address, as after a power cycle
        to_boot = [node for node in lab["nodes"].values() if not node_init(node)]
        for node in to_boot:
            if node["name"] not in new:
                log("node %s is off; powering it on" % node["name"])
                release(node)
        boot_nodes(lab, to_boot, new, shared, key)
    try:
        # Hosts files of already running nodes are not rewritten: they know
        # their peers by address, and names only matter for new nodes.
        wait_ssh(list(lab["nodes"].values()), key, args.timeout, alive=node_booting_or_running)
    except BaseException:
        with global_lock():
            undo_boot(lab, to_boot, new)
        raise
    if args.inventory:
        write_inventory(args.inventory, lab, key, args.servers)
    print_lab(lab, key)
    summary = ", ".join("%s %s" % (n["name"], n["ipv4"]) for n in lab["nodes"].values())
    log("lab %s up: %s" % (args.lab, summary))


# --------------------------------------------------------------------------
# down
# --------------------------------------------------------------------------

def remove_lab(name, lab, timeout):
    nodes = list(lab["nodes"].values())
    power_off(nodes, timeout)
    for node in nodes:
        remove(node)
    delete_lab_state(name)
    log("lab %s down" % name)


def teardown_if_last():
    if load_labs():
        return
    teardown_shared()
    for root in CGROUP_ROOTS:
        remove_cgroup_tree(os.path.join(root, CGROUP_PARENT))
    with contextlib.suppress(OSError):
        os.rmdir(NODES_DIR)
    with contextlib.suppress(OSError):
        os.rmdir(labs_dir())
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(RUN_DIR, "last-index"))


def cmd_down(args):
    check_root()
    with global_lock():
        labs = load_labs()
        for name in list(labs) if args.all else [args.lab]:
            if name in labs:
                remove_lab(name, labs[name], args.timeout)
            else:
                log("lab %s is not running" % name)
        teardown_if_last()


# --------------------------------------------------------------------------
# status and ssh
# --------------------------------------------------------------------------

def status_report():
    shared = load_shared()
    report = {"bridge": BRIDGE if bridge_exists() else None,
              "proxy_pid": proxy_pid(), "shared": shared, "labs": {}}
    for name, lab in load_labs().items():
        report["labs"][name] = {}
        for node in lab["nodes"].values():
            info = node_state(node)
            info.update({"kind": node["kind"], "ipv4": node["ipv4"], "ipv6": node["ipv6"],
                         "pid": node["pid"], "disk": node["dir"],
                         "ssh": info["running"] and wait_port(node["ipv4"], 22, 0.5)})
            report["labs"][name][node["name"]] = info
    return report


def cmd_status(args):
    report = status_report()
    shared = report["shared"]
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    if not report["labs"] and not report["bridge"] and not report["proxy_pid"]:
        print("nothing runs: no lab, no bridge, no proxy")
        return 0
    print("bridge %s: %s   apt proxy: %s" % (
        BRIDGE, "up %s %s" % (shared["host4"], shared["host6"]) if report["bridge"] and shared
        else "absent", "pid %s on %s:%d" % (report["proxy_pid"], shared["host4"], ACNG_PORT)
        if report["proxy_pid"] and shared else "not running"))
    for name, nodes in report["labs"].items():
        print("lab %s:" % name)
        for node, info in sorted(nodes.items()):
            print("  %-16s %-9s %-15s %-24s %s%s" % (
                node, info["kind"], info["ipv4"], info["ipv6"], info["state"],
                ", ssh ok" if info["ssh"] else ", no ssh" if info["running"] else ""))
    return 0


def cmd_ssh(args):
    for lab in load_labs().values():
        node = lab["nodes"].get(args.node)
        if node:
            key = os.path.join(args.key_dir, "lab_key")
            os.execvp("ssh", ssh_cmd(node, key) + args.command)
    raise LabError("no lab node named %s (lab.py status)" % args.node)


# --------------------------------------------------------------------------
# power: start, stop, kill
# --------------------------------------------------------------------------

def find_nodes(labs, names):
    """{lab name: [node, ...]} for node names (unknown names are refused)."""
    found = {}
    for name in names:
        hits = [(lab_name, lab["nodes"][name]) for lab_name, lab in labs.items()
                if name in lab["nodes"]]
        if not hits:
            raise LabError("no lab node named %s (lab.py status)" % name)
        found.setdefault(hits[0][0], []).append(hits[0][1])
    return found


def _reload_nodes(targets):
    """The same nodes read again from the state (a lab may be gone meanwhile)."""
    labs = load_labs()
    fresh = {}
    for lab_name, nodes in targets.items():
        for node in nodes:
            if lab_name in labs and node["name"] in labs[lab_name]["nodes"]:
                fresh.setdefault(lab_name, []).append(labs[lab_name]["nodes"][node["name"]])
    return labs, fresh


def _power_down(args, clean):
    check_root()
    with global_lock():
        labs = load_labs()
        targets = find_nodes(labs, args.nodes)
        if clean:
            for nodes in targets.values():
                for node in nodes:
                    request_poweroff(node)
    if clean:  # the shutdown runs without the lock: other labs carry on meanwhile
        for node in wait_off([n for nodes in targets.values() for n in nodes], args.timeout):
            log("node %s did not power off within %d s: killing it" % (node["name"], args.timeout))
    with global_lock():
        labs, targets = _reload_nodes(targets)
        for lab_name, nodes in targets.items():
            for node in nodes:
                if not clean:
                    pull_plug(node)
                release(node)
                log("node %s %s (disk and address kept)"
                    % (node["name"], "powered off" if clean else "killed"))
            save_lab(lab_name, labs[lab_name])


def cmd_stop(args):
    _power_down(args, clean=True)


def cmd_kill(args):
    _power_down(args, clean=False)


def cmd_start(args):
    check_host()
    with global_lock():
        labs = load_labs()
        targets = find_nodes(labs, args.nodes)
        if not bridge_exists():
            raise LabError("the lab bridge is gone; `lab.py up` brings it back")
        shared = load_shared()
        ensure_shared(ipaddress.ip_network(shared["subnet4"]), ipaddress.ip_network(shared["subnet6"]))
        booted = []
        for lab_name, nodes in targets.items():
            for node in nodes:
                if node_init(node):
                    log("node %s is already running" % node["name"])
                    continue
                release(node)
                node.setdefault("image", build_image(node["kind"]))
                power_on(node)
                booted.append(node)
            save_lab(lab_name, labs[lab_name])
    key = lab_key(args.key_dir)
    wait_ssh(booted, key, args.timeout, alive=node_booting_or_running)
    for node in booted:
        log("node %s running again on %s" % (node["name"], node["ipv4"]))
