# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only inspection of disks, LVM and mounts, and the checks the storage
role runs before it changes anything.

``BlockInspector`` gathers facts through collaborators it is given (a command
runner and a few file-system callables), so tests need no disks.
``check_storage`` is pure: it compares the request with those facts and
returns every problem (naming the device and the numbers) plus a small plan.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

UNITS = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4, "P": 1024 ** 5}
SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)([KMGTP])(?:i?B)?$", re.IGNORECASE)
PERCENT_RE = re.compile(r"^(\d{1,3})%(VG|FREE)$")
DEFAULT_EXTENT = 4 * 1024 ** 2
PV_OVERHEAD = 1024 ** 2  # data alignment of a new PV


class StorageInputError(ValueError):
    """The request itself is wrong (not the node's state)."""


def parse_size(text):
    """Return ("bytes", n) or ("percent", pct, "VG"|"FREE") for an LV size."""
    value = str(text).strip()
    match = SIZE_RE.match(value)
    if match:
        return ("bytes", int(float(match.group(1)) * UNITS[match.group(2).upper()]))
    match = PERCENT_RE.match(value)
    if match and 0 < int(match.group(1)) <= 100:
        return ("percent", int(match.group(1)), match.group(2))
    raise StorageInputError(
        "size '%s' is not understood: use a number with a unit K, M, G, T or P (e.g. 20G), "
        "N%%VG or N%%FREE (1-100)" % value)


def human(num):
    """Bytes as GiB (or MiB below one GiB) with two decimals."""
    if abs(num) >= 1024 ** 3:
        return "%.2f GiB" % (num / 1024.0 ** 3)
    return "%.2f MiB" % (num / 1024.0 ** 2)


def partition_path(device, number=1):
    """/dev/sdb -> /dev/sdb1, /dev/nvme0n1 or /dev/mmcblk0 -> ...p1."""
    return "%s%s%d" % (device, "p" if device[-1].isdigit() else "", number)


def lv_path(vg, lv):
    return "/dev/%s/%s" % (vg, lv)


class BlockInspector:
    """Collects facts of devices, LVM and mounts, read-only.

    run(argv) -> (rc, stdout, stderr); exists(path), realpath(path),
    listdir(path) and read_text(path) are the file-system collaborators.
    """

    def __init__(self, run, exists, realpath, listdir, read_text):
        self.run = run
        self.exists = exists
        self.realpath = realpath
        self.listdir = listdir
        self.read_text = read_text

    def device(self, path):
        if not self.exists(path):
            return {"path": path, "exists": False}
        rc, out, err = self.run(["lsblk", "--json", "--bytes", "--output", "PATH,TYPE,SIZE", path])
        if rc != 0:
            return {"path": path, "exists": True, "block": False, "error": (err or out).strip()}
        entries = json.loads(out)["blockdevices"]
        tree = entries[0]
        # lsblk lists the device's descendants flat after it (or nested
        # under "children" with --tree); partitions are what matter here.
        descendants = list(entries[1:])
        pending = list(tree.get("children") or [])
        while pending:
            node = pending.pop(0)
            descendants.append(node)
            pending.extend(node.get("children") or [])
        rc, out, dummy = self.run(["blkid", "--probe", "--output", "export", path])
        probe = dict(line.split("=", 1) for line in out.splitlines() if "=" in line) if rc == 0 else {}
        return {
            "path": path,
            "exists": True,
            "block": True,
            "type": tree.get("type"),
            "size": int(tree.get("size") or 0),
            "fstype": probe.get("TYPE", ""),
            "uuid": probe.get("UUID", ""),
            "pttype": probe.get("PTTYPE", ""),
            "children": [d["path"] for d in descendants if d.get("type") == "part"],
            "realpath": self.realpath(path),
        }

    def lvm(self):
        """VGs, LVs and PVs; None when the LVM tools are not installed."""
        reports = {}
        for cmd, fields in (("vgs", "vg_name,vg_size,vg_free,vg_extent_size"),
                            ("lvs", "vg_name,lv_name,lv_size,lv_path"),
                            ("pvs", "pv_name,vg_name")):
            try:
                rc, out, err = self.run([cmd, "--reportformat", "json", "--units", "b", "--nosuffix",
                                         "--options", fields])
            except OSError:
                return None
            if rc != 0:
                raise RuntimeError("%s failed (rc %d): %s" % (cmd, rc, err.strip()))
            reports[cmd] = json.loads(out)["report"][0][cmd[:-1]]
        vgs = dict((v["vg_name"], {"size": int(v["vg_size"]), "free": int(v["vg_free"]),
                                   "extent": int(v["vg_extent_size"])}) for v in reports["vgs"])
        lvs = dict(("%s/%s" % (v["vg_name"], v["lv_name"]), {"size": int(v["lv_size"])})
                   for v in reports["lvs"])
        pvs = dict((self.realpath(p["pv_name"]), p["vg_name"]) for p in reports["pvs"])
        return {"vgs": vgs, "lvs": lvs, "pvs": pvs}

    def mounts(self):
        """Mount target -> real path of its source."""
        result = {}
        for line in self.read_text("/proc/self/mounts").splitlines():
            fields = line.split()
            if len(fields) >= 2:
                target = fields[1].replace("\\040", " ")
                result[target] = self.realpath(fields[0]) if fields[0].startswith("/") else fields[0]
        return result

    def entries(self, path):
        """Entries of a directory (lost+found ignored); [] when it does not exist."""
        if not self.exists(path):
            return []
        try:
            return [e for e in self.listdir(path) if e != "lost+found"]
        except OSError:
            return []


def _align_up(num, extent):
    return -(-num // extent) * extent


def _align_down(num, extent):
    return num // extent * extent


def _free_ordered(volumes):
    """Volumes with %FREE sizes last (they take what the others leave)."""
    return ([v for v in volumes if "FREE" not in str(v["size"])]
            + [v for v in volumes if "FREE" in str(v["size"])])


def check_storage(request, inspector):
    """Compare the request with the node; return problems, plan and facts."""
    problems = []
    force = set(request.get("force_devices") or [])
    vgs_req = request.get("volume_groups") or []
    volumes = request.get("volumes") or []
    plain = request.get("plain_disks") or []

    lvm = inspector.lvm()
    tools = lvm is not None
    lvm = lvm or {"vgs": {}, "lvs": {}, "pvs": {}}
    mounts = inspector.mounts()
    plan = {"wipe_devices": [], "keep_size_volumes": [], "create_partitions": []}
    facts = {"devices": {}, "lvm": lvm}

    def usable(dev, role):
        """Existence and signature checks of a device the role wants to take."""
        facts["devices"][dev["path"]] = dev
        if not dev["exists"]:
            problems.append("device %s (%s) does not exist" % (dev["path"], role))
            return False
        if not dev.get("block"):
            problems.append("%s (%s) is not a block device: %s" % (dev["path"], role, dev.get("error", "")))
            return False
        return True

    seen_devices = {}

    def claim(path, role):
        """Take a device for one role: refuse a device listed twice, then check it.
        Returns the inspected device, or None (the problem is recorded)."""
        if path in seen_devices:
            problems.append("device %s is listed twice (%s and %s)" % (path, seen_devices[path], role))
            return None
        seen_devices[path] = role
        dev = inspector.device(path)
        return dev if usable(dev, role) else None

    # Volume groups and their devices.
    vg_capacity = {}
    for vg in vgs_req:
        name = vg["name"]
        existing = lvm["vgs"].get(name)
        extent = existing["extent"] if existing else DEFAULT_EXTENT
        size = existing["size"] if existing else 0
        free = existing["free"] if existing else 0
        for path in vg["devices"]:
            role = "PV of VG %s" % name
            dev = claim(path, role)
            if dev is None:
                continue
            owner = lvm["pvs"].get(dev["realpath"])
            if owner == name:
                continue
            if owner:
                problems.append("device %s belongs to the existing VG %s; refusing to use it as %s "
                                "(remove it from that VG first: vgreduce)" % (path, owner, role))
                continue
            signatures = [s for s in (dev["fstype"] and "a %s signature%s" % (
                dev["fstype"], " (UUID %s)" % dev["uuid"] if dev["uuid"] else ""),
                dev["pttype"] and "a %s partition table" % dev["pttype"],
                dev["children"] and "partitions %s" % ", ".join(dev["children"])) if s]
            if dev["fstype"] == "LVM2_member" and not tools:
                problems.append("device %s holds an LVM signature but the LVM tools are not installed to "
                                "inspect it" % path)
                continue
            if signatures:
                if path not in force:
                    problems.append("device %s holds %s; refusing to wipe it for %s. If its data may be "
                                    "destroyed, add it to storage_force_devices" % (path, " and ".join(signatures), role))
                    continue
                plan["wipe_devices"].append(path)
            capacity = _align_down(dev["size"] - PV_OVERHEAD, extent)
            size += capacity
            free += capacity
        vg_capacity[name] = {"size": size, "free": free, "extent": extent, "exists": bool(existing)}

    # Logical volumes.
    mount_targets = {}
    needs = {}
    for vol in _free_ordered(volumes):
        key = "%s/%s" % (vol["vg"], vol["name"])
        vg = vg_capacity.get(vol["vg"])
        if vg is None:
            problems.append("LV %s: VG %s is not in storage_lvm_volume_groups" % (key, vol["vg"]))
            continue
        try:
            size = parse_size(vol["size"])
        except StorageInputError as exc:
            problems.append("LV %s: %s" % (key, exc))
            continue
        current = lvm["lvs"].get(key)
        if size[0] == "percent" and size[2] == "FREE":
            if current:
                plan["keep_size_volumes"].append(key)
                continue
            wanted = _align_down(vg["free"] * size[1] // 100, vg["extent"])
            if wanted <= 0:
                problems.append("LV %s (%s): VG %s has no free space left (%s free of %s)"
                                % (key, vol["size"], vol["vg"], human(vg["free"]), human(vg["size"])))
                continue
        elif size[0] == "percent":
            wanted = _align_down(vg["size"] * size[1] // 100, vg["extent"])
        else:
            wanted = _align_up(size[1], vg["extent"])
        grow = wanted - (current["size"] if current else 0)
        if current and grow < 0:
            if -grow >= vg["extent"]:
                problems.append(
                    "LV %s is %s; the requested size %s (%s) would shrink it, which this role never does: "
                    "set at least %s" % (key, human(current["size"]), vol["size"], human(wanted), human(current["size"])))
            continue
        if grow > vg["free"]:
            problems.append("LV %s: %s %s needs %s but VG %s has only %s free (VG size %s)" % (
                key, "growing to" if current else "creating with", vol["size"], human(grow), vol["vg"],
                human(vg["free"]), human(vg["size"])))
            continue
        vg["free"] -= grow
        needs[key] = grow
        if current:
            device = inspector.device(lv_path(vol["vg"], vol["name"]))
            facts["devices"][device["path"]] = device
            wanted_fs = vol.get("filesystem") or "ext4"
            if device.get("fstype") and device["fstype"] != wanted_fs:
                problems.append("LV %s holds %s, the request says %s; refusing to reformat it"
                                % (key, device["fstype"], wanted_fs))

    # Plain disks.
    for disk in plain:
        path = disk["device"]
        role = "plain disk for %s" % disk.get("mount", "?")
        dev = claim(path, role)
        if dev is None:
            continue
        target = dev
        if disk.get("partition"):
            part = partition_path(path)
            fresh = not dev["fstype"] and not dev["pttype"] and not dev["children"]
            ours = dev["pttype"] == "gpt" and dev["children"] == [part]
            if fresh:
                plan["create_partitions"].append(path)
                continue
            if not ours:
                if path not in force:
                    problems.append("device %s holds %s; refusing to partition it for %s. If its data may be "
                                    "destroyed, add it to storage_force_devices" % (
                                        path, "a %s partition table with %s" % (dev["pttype"], ", ".join(dev["children"]) or "no partitions")
                                        if dev["pttype"] else "a %s signature" % dev["fstype"], role))
                else:
                    plan["wipe_devices"].append(path)
                    plan["create_partitions"].append(path)
                continue
            target = inspector.device(part)
            facts["devices"][part] = target
        elif dev["pttype"] or dev["children"]:
            if path not in force:
                problems.append("device %s holds a %s partition table; refusing to put a filesystem on the whole "
                                "disk for %s (set partition: true to use a partition, or add it to "
                                "storage_force_devices to wipe it)" % (path, dev["pttype"] or "?", role))
            else:
                plan["wipe_devices"].append(path)
            continue
        wanted_fs = disk.get("filesystem") or "ext4"
        if target.get("fstype") and target["fstype"] != wanted_fs:
            if path not in force:
                problems.append("device %s holds a %s filesystem%s; refusing to reformat it as %s for %s. If its "
                                "data may be destroyed, add %s to storage_force_devices" % (
                                    target["path"], target["fstype"],
                                    " (UUID %s)" % target["uuid"] if target["uuid"] else "",
                                    wanted_fs, role, path))
            else:
                plan["wipe_devices"].append(target["path"])

    # Mount points: never hide data and never stack on another device.
    for item, device in ([(v, lv_path(v["vg"], v["name"])) for v in volumes]
                         + [(d, partition_path(d["device"]) if d.get("partition") else d["device"]) for d in plain]):
        target = item.get("mount")
        if not target:
            continue
        if target in mount_targets:
            problems.append("mount point %s is requested twice (%s and %s)" % (target, mount_targets[target], device))
            continue
        mount_targets[target] = device
        mounted = mounts.get(target)
        if mounted:
            if mounted != inspector.realpath(device):
                problems.append("mount point %s already has %s mounted, not %s; unmount it first" % (
                    target, mounted, device))
            continue
        entries = inspector.entries(target)
        if entries and not item.get("allow_nonempty_mount"):
            problems.append("mount point %s is not empty (%d entries, e.g. %s); mounting %s there would hide "
                            "them. Move them onto the new filesystem first, or set allow_nonempty_mount: true" % (
                                target, len(entries), ", ".join(sorted(entries)[:3]), device))

    return {"problems": problems, "plan": plan, "facts": facts, "lvm_tools": tools}
