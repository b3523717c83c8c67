# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image: one minbase Debian rootfs per recipe, cached and never modified."""

import hashlib
import os
import re
import shutil
import tempfile
import time

from .common import CACHE_DIR, SUITE, LabError, log, run

# Packages every node image carries: what Ansible needs to manage a Debian
# host (python3, python3-apt for the apt module, sudo), a real init, sshd,
# and netbase (nft and others need /etc/protocols and /etc/services).
NODE_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "netbase", "python3", "python3-apt",
    "sudo", "iproute2", "openssh-server", "ca-certificates", "procps",
    "iputils-ping", "libpam-systemd", "less",
]
VM_EXTRA_PACKAGES = ["linux-image-amd64", "initramfs-tools", "e2fsprogs", "udev", "kmod"]
IMAGE_VERSION = "4"  # bump to rebuild cached images after changing the recipe

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


# A Debian package name (Debian Policy 5.6.1): what `--vm-package` accepts.
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


def image_packages(kind, extra=()):
    """The image's packages: the node set, the VM's own, then the extra ones
    (sorted, so that the same set always makes the same image)."""
    return (NODE_PACKAGES + (VM_EXTRA_PACKAGES if kind == "vm" else [])
            + sorted(set(extra) - set(NODE_PACKAGES) - set(VM_EXTRA_PACKAGES)))


def check_packages(names):
    """Refuse a name that is not a Debian package name (before anything changes)."""
    bad = [n for n in names if not PACKAGE_NAME.match(n)]
    if bad:
        raise LabError("not a Debian package name: %s" % ", ".join(repr(n) for n in bad))


def image_key(kind, extra=()):
    digest = hashlib.sha256(("%s|%s|%s" % (IMAGE_VERSION, SUITE, ",".join(image_packages(kind, extra))))
                            .encode()).hexdigest()
    return "%s-%s-%s" % (SUITE, kind, digest[:12])


def _write(path, content):
    with open(path, "w") as fh:
        fh.write(content)
    return path


def customize_hooks(kind, tmp):
    """mmdebstrap hooks: what makes a plain minbase root a lab node image."""
    unit_path = _write(os.path.join(tmp, "lab-ssh-hostkeys.service"), SSH_HOSTKEY_UNIT)
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
        seed_unit = _write(os.path.join(tmp, "lab-seed.service"), SEED_UNIT)
        hooks += [
            'echo "/dev/vda / ext4 defaults 0 1" > "$1"/etc/fstab',
            # The VM boots the lab's own kernel and initrd (-kernel/-initrd from the
            # image's /boot): an initramfs rebuild inside it is never used, and a
            # package that triggers one (lvm2, ...) takes minutes under TCG.
            'sed -i "s/^update_initramfs=.*/update_initramfs=no/" '
            '"$1"/etc/initramfs-tools/update-initramfs.conf',
            'cp %s "$1"/etc/systemd/system/lab-seed.service' % seed_unit,
            'mkdir -p "$1"/etc/systemd/system/sysinit.target.wants && ln -sf '
            '/etc/systemd/system/lab-seed.service "$1"/etc/systemd/system/sysinit.target.wants/',
        ]
    return hooks


def build_image(kind, extra=()):
    """Build (once) and return the path of the rootfs for 'container' or 'vm',
    with the extra packages preinstalled (another set is another image)."""
    check_packages(extra)
    key = image_key(kind, extra)
    final = os.path.join(CACHE_DIR, "images", key)
    if os.path.isdir(os.path.join(final, "rootfs")):
        return os.path.join(final, "rootfs")
    os.makedirs(os.path.dirname(final), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=key + ".", dir=os.path.dirname(final))
    rootfs = os.path.join(tmp, "rootfs")
    cmd = ["mmdebstrap", "--variant=minbase", "--include=" + ",".join(image_packages(kind, extra)),
           "--aptopt=Acquire::Retries \"3\""]
    cmd += ["--customize-hook=" + hook for hook in customize_hooks(kind, tmp)]
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
    try:
        os.rename(tmp, final)
    except OSError:
        # another `lab.py up` built the same image meanwhile: keep that one
        shutil.rmtree(tmp, ignore_errors=True)
        if not os.path.isdir(os.path.join(final, "rootfs")):
            raise
    return os.path.join(final, "rootfs")
