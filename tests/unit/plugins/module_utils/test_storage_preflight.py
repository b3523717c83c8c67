"""Unit tests of the storage preflight checks (no disks: a fake inspector)."""
import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.storage_preflight import (
    StorageInputError, check_storage, parse_size, partition_path)

GIB = 1024 ** 3
MIB = 1024 ** 2


class FakeInspector:
    def __init__(self, devices=None, vgs=None, lvs=None, pvs=None, mounts=None, entries=None, tools=True):
        self.devices = devices or {}
        self._lvm = {"vgs": vgs or {}, "lvs": lvs or {}, "pvs": pvs or {}}
        self._mounts = mounts or {}
        self._entries = entries or {}
        self.tools = tools

    def device(self, path):
        if path not in self.devices:
            return {"path": path, "exists": False}
        dev = {"path": path, "exists": True, "block": True, "type": "disk", "size": 0, "fstype": "",
               "uuid": "", "pttype": "", "children": [], "realpath": path}
        dev.update(self.devices[path])
        return dev

    def lvm(self):
        return self._lvm if self.tools else None

    def mounts(self):
        return self._mounts

    def entries(self, path):
        return self._entries.get(path, [])

    @staticmethod
    def realpath(path):
        return path


def request(volumes=None, devices=("/dev/vdc",), plain=None, force=()):
    return {"volume_groups": [{"name": "data", "devices": list(devices)}],
            "volumes": volumes or [], "plain_disks": plain or [], "force_devices": list(force)}


@pytest.mark.parametrize("text, expected", [
    ("20G", ("bytes", 20 * GIB)), ("512m", ("bytes", 512 * MIB)), ("1.5GiB", ("bytes", int(1.5 * GIB))),
    ("50%VG", ("percent", 50, "VG")), ("100%FREE", ("percent", 100, "FREE")),
])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["20", "abc", "0%VG", "101%FREE", "10%PVS", "-1G"])
def test_parse_size_rejects(text):
    with pytest.raises(StorageInputError, match=text.replace("%", "%")):
        parse_size(text)


def test_partition_path():
    assert partition_path("/dev/sdb") == "/dev/sdb1"
    assert partition_path("/dev/nvme0n1") == "/dev/nvme0n1p1"
    assert partition_path("/dev/mmcblk0") == "/dev/mmcblk0p1"


def test_fresh_disk_new_vg_and_lv_pass():
    insp = FakeInspector(devices={"/dev/vdc": {"size": 2 * GIB}})
    out = check_storage(request([{"name": "k3s", "vg": "data", "size": "1G", "mount": "/var/lib/rancher"}]), insp)
    assert out["problems"] == []
    assert out["plan"]["wipe_devices"] == []


def test_missing_device_is_named():
    out = check_storage(request(devices=["/dev/vdz"]), FakeInspector())
    assert out["problems"] == ["device /dev/vdz (PV of VG data) does not exist"]


def test_existing_filesystem_refused_without_force_and_wiped_with_it():
    devices = {"/dev/vdc": {"size": 2 * GIB, "fstype": "ext4", "uuid": "u-1"}}
    out = check_storage(request(), FakeInspector(devices=devices))
    assert "device /dev/vdc holds a ext4 signature (UUID u-1)" in out["problems"][0]
    assert "storage_force_devices" in out["problems"][0]
    forced = check_storage(request(force=["/dev/vdc"]), FakeInspector(devices=devices))
    assert forced["problems"] == [] and forced["plan"]["wipe_devices"] == ["/dev/vdc"]


def test_pv_of_a_foreign_existing_vg_refused_even_when_forced():
    insp = FakeInspector(devices={"/dev/vdc": {"size": 2 * GIB, "fstype": "LVM2_member"}},
                         vgs={"other": {"size": GIB, "free": GIB, "extent": 4 * MIB}}, pvs={"/dev/vdc": "other"})
    out = check_storage(request(force=["/dev/vdc"]), insp)
    assert "belongs to the existing VG other" in out["problems"][0]


def test_size_larger_than_vg_names_numbers():
    insp = FakeInspector(devices={"/dev/vdc": {"size": 2 * GIB}})
    out = check_storage(request([{"name": "big", "vg": "data", "size": "5G"}]), insp)
    assert out["problems"] == ["LV data/big: creating with 5G needs 5.00 GiB but VG data has only 2.00 GiB free "
                               "(VG size 2.00 GiB)"]


def test_shrink_refused_and_grow_counted():
    insp = FakeInspector(devices={"/dev/vdc": {"size": 4 * GIB, "fstype": "LVM2_member"},
                                  "/dev/data/k3s": {"fstype": "ext4"}},
                         vgs={"data": {"size": 4 * GIB, "free": GIB, "extent": 4 * MIB}},
                         lvs={"data/k3s": {"size": 2 * GIB}}, pvs={"/dev/vdc": "data"})
    shrink = check_storage(request([{"name": "k3s", "vg": "data", "size": "1G"}]), insp)
    assert "LV data/k3s is 2.00 GiB; the requested size 1G (1.00 GiB) would shrink it" in shrink["problems"][0]
    grow = check_storage(request([{"name": "k3s", "vg": "data", "size": "3G"}]), insp)
    assert grow["problems"] == []
    too_much = check_storage(request([{"name": "k3s", "vg": "data", "size": "3100M"}]), insp)
    assert "needs 1.03 GiB but VG data has only 1.00 GiB free" in too_much["problems"][0]


def test_free_percent_kept_once_created_and_last_in_order():
    insp = FakeInspector(devices={"/dev/vdc": {"size": 4 * GIB, "fstype": "LVM2_member"}},
                         vgs={"data": {"size": 4 * GIB, "free": 0, "extent": 4 * MIB}},
                         lvs={"data/all": {"size": 4 * GIB}}, pvs={"/dev/vdc": "data"})
    out = check_storage(request([{"name": "all", "vg": "data", "size": "100%FREE"}]), insp)
    assert out["problems"] == [] and out["plan"]["keep_size_volumes"] == ["data/all"]


def test_reformat_of_existing_lv_refused():
    insp = FakeInspector(devices={"/dev/vdc": {"size": 4 * GIB, "fstype": "LVM2_member"},
                                  "/dev/data/k3s": {"fstype": "xfs"}},
                         vgs={"data": {"size": 4 * GIB, "free": GIB, "extent": 4 * MIB}},
                         lvs={"data/k3s": {"size": GIB}}, pvs={"/dev/vdc": "data"})
    out = check_storage(request([{"name": "k3s", "vg": "data", "size": "1G", "filesystem": "ext4"}]), insp)
    assert out["problems"] == ["LV data/k3s holds xfs, the request says ext4; refusing to reformat it"]


def test_nonempty_or_occupied_mount_point_refused():
    insp = FakeInspector(devices={"/dev/vdc": {"size": 4 * GIB}}, entries={"/var/lib/rancher": ["k3s"]},
                         mounts={"/srv/minio": "/dev/sdz1"})
    out = check_storage(request([{"name": "k3s", "vg": "data", "size": "1G", "mount": "/var/lib/rancher"},
                                 {"name": "minio", "vg": "data", "size": "1G", "mount": "/srv/minio"}]), insp)
    assert any("mount point /var/lib/rancher is not empty (1 entries, e.g. k3s)" in p for p in out["problems"])
    assert any("mount point /srv/minio already has /dev/sdz1 mounted" in p for p in out["problems"])


def test_plain_disk_partitioning():
    fresh = check_storage(request(devices=[], plain=[{"device": "/dev/vde", "partition": True, "mount": "/srv/usb"}]),
                          FakeInspector(devices={"/dev/vde": {"size": GIB}}))
    assert fresh["problems"] == [] and fresh["plan"]["create_partitions"] == ["/dev/vde"]
    ours = FakeInspector(devices={"/dev/vde": {"pttype": "gpt", "children": ["/dev/vde1"]},
                                  "/dev/vde1": {"fstype": "ext4"}})
    assert check_storage(request(devices=[], plain=[{"device": "/dev/vde", "partition": True}]), ours)["problems"] == []
    foreign = FakeInspector(devices={"/dev/vde": {"pttype": "dos", "children": ["/dev/vde1", "/dev/vde2"]}})
    out = check_storage(request(devices=[], plain=[{"device": "/dev/vde", "partition": True}]), foreign)
    assert "device /dev/vde holds a dos partition table with /dev/vde1, /dev/vde2" in out["problems"][0]


def test_inspector_reads_lsblk_flat_and_nested():
    from ansible_collections.homelab.k3s.plugins.module_utils.storage_preflight import BlockInspector
    flat = ('{"blockdevices": [{"path": "/dev/vde", "type": "disk", "size": 2048},'
            ' {"path": "/dev/vde1", "type": "part", "size": 1024}]}')
    nested = ('{"blockdevices": [{"path": "/dev/vde", "type": "disk", "size": 2048, "children":'
              ' [{"path": "/dev/vde1", "type": "part", "size": 1024}]}]}')
    for lsblk in (flat, nested):
        def run(argv, out=lsblk):
            if argv[0] == "lsblk":
                return 0, out, ""
            return 0, "DEVNAME=/dev/vde\nPTTYPE=gpt\n", ""
        insp = BlockInspector(run, lambda p: True, lambda p: p, lambda p: [], lambda p: "")
        dev = insp.device("/dev/vde")
        assert dev["children"] == ["/dev/vde1"] and dev["pttype"] == "gpt" and dev["size"] == 2048
