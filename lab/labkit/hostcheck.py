# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of the host and of the arguments (nothing is changed here)."""

import contextlib
import ipaddress
import json
import os
import shutil

from .common import BRIDGE, LabError, run


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
        raise LabError("subnet %r is not a valid network: %s" % (text, exc)) from None
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


def check_root():
    if os.geteuid() != 0:
        raise LabError("the lab must run as root (it creates a bridge, mounts and containers)")


def check_host():
    check_root()
    missing = [tool for tool in ("systemd-nspawn", "mmdebstrap", "ip", "apt-cacher-ng", "ssh-keygen")
               if shutil.which(tool) is None]
    if missing:
        raise LabError("missing on this machine: %s (install the Debian packages "
                       "systemd-container mmdebstrap iproute2 apt-cacher-ng openssh-client;"
                       " `make deps` does it)" % ", ".join(missing))


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
