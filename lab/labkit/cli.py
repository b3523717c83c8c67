# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `lab.py` command line."""

import argparse
import os
import sys

from .commands import cmd_down, cmd_kill, cmd_ssh, cmd_start, cmd_status, cmd_stop, cmd_up
from .common import DEFAULT_SUBNET4, DEFAULT_SUBNET6, LabError


def _up_parser(sub, key_dir):
    up = sub.add_parser("up", help="start (or keep) a lab's nodes; idempotent; powers on"
                        " nodes that are off")
    up.add_argument("--lab", default="lab", help="lab name (default: lab)")
    up.add_argument("--nodes", type=int, default=3, help="number of container nodes (default 3)")
    up.add_argument("--node", action="append", help="explicit node name (repeatable); overrides --nodes")
    up.add_argument("--servers", type=int, default=1,
                    help="how many of the container nodes the inventory puts in k3s_servers")
    up.add_argument("--vm", metavar="NAME", help="also boot one QEMU (TCG) VM node with this name")
    up.add_argument("--vm-disks", type=int, default=2, help="extra virtio data disks of the VM node")
    up.add_argument("--vm-disk-size", default="2G", help="size of each VM data disk")
    up.add_argument("--vm-memory", type=int, default=1024, help="VM memory in MiB")
    up.add_argument("--vm-package", action="append", metavar="PACKAGE",
                    help="preinstall this Debian package in the VM node's image (repeatable; each"
                         " set of packages is its own cached image)")
    up.add_argument("--subnet4", help="lab IPv4 subnet (default %s)" % DEFAULT_SUBNET4)
    up.add_argument("--subnet6", help="lab IPv6 subnet (default %s)" % DEFAULT_SUBNET6)
    up.add_argument("--inventory", help="write an Ansible inventory for the lab to this file")
    up.add_argument("--bind-ro", action="append", type=lambda s: tuple(s.split(":", 1)),
                    metavar="SRC:DST", help="bind a host directory read-only into every new node")
    up.add_argument("--timeout", type=int, default=600,
                    help="seconds to wait for SSH at most (a TCG VM on a loaded machine is slow)")
    up.add_argument("--key-dir", default=key_dir, help=argparse.SUPPRESS)
    up.set_defaults(func=cmd_up)


def _power_parsers(sub, key_dir):
    start = sub.add_parser("start", help="power nodes on again (same disk, same address)")
    start.add_argument("nodes", nargs="+", metavar="NODE")
    start.add_argument("--timeout", type=int, default=600, help="seconds to wait for SSH at most")
    start.add_argument("--key-dir", default=key_dir, help=argparse.SUPPRESS)
    start.set_defaults(func=cmd_start)

    stop = sub.add_parser("stop", help="clean poweroff of nodes (disk and address kept)")
    stop.add_argument("nodes", nargs="+", metavar="NODE")
    stop.add_argument("--timeout", type=int, default=120,
                      help="seconds a node has to power off before it is killed (default 120)")
    stop.set_defaults(func=cmd_stop)

    kill = sub.add_parser("kill", help="pull the plug of nodes (disk and address kept)")
    kill.add_argument("nodes", nargs="+", metavar="NODE")
    kill.set_defaults(func=cmd_kill, timeout=0)


def build_parser(doc, key_dir):
    parser = argparse.ArgumentParser(description=doc.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _up_parser(sub, key_dir)

    down = sub.add_parser("down", help="stop a lab and remove everything it made")
    down.add_argument("--lab", default="lab")
    down.add_argument("--all", action="store_true", help="every lab, the bridge and the proxy")
    down.add_argument("--timeout", type=int, default=10,
                      help="seconds nodes have to power off cleanly before they are killed")
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="what runs")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    ssh = sub.add_parser("ssh", help="log in to a node with the lab key")
    ssh.add_argument("node")
    ssh.add_argument("command", nargs=argparse.REMAINDER)
    ssh.add_argument("--key-dir", default=key_dir, help=argparse.SUPPRESS)
    ssh.set_defaults(func=cmd_ssh)

    _power_parsers(sub, key_dir)
    return parser


def main(doc, repo, argv=None):
    args = build_parser(doc, os.path.join(repo, ".lab")).parse_args(argv)
    try:
        return args.func(args) or 0
    except LabError as exc:
        print("lab: error: %s" % exc, file=sys.stderr)
        return 2
