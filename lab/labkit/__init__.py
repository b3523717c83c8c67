# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The homelab.k3s lab as a small package; `lab/lab.py` is its command line.

    common     settings, errors, running commands
    state      the per-lab JSON state files and the global lock
    hostcheck  validation of the host and of the arguments
    image      the cached Debian root filesystems
    network    the shared bridge, node addresses and the apt proxy
    cgroups    the per-node cgroups: what runs in a node, killing all of it
    nodes      container nodes: files, boot, power control
    vm         the QEMU (TCG) VM node
    power      one interface over both kinds: start, stop, kill, state
    inventory  the Ansible inventory of a lab
    commands   the `lab.py` subcommands
"""
