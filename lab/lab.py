# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""homelab.k3s local lab: real Debian 12 nodes on one Linux machine.

Nodes are systemd-nspawn containers (full systemd + sshd) booted from one
read-only Debian image through a per-node overlayfs, attached to a private
host bridge with static IPv4 + IPv6 addresses. Optionally one QEMU VM node
(TCG) with extra virtio disks, for what containers cannot do (LVM needs
device-mapper). Nodes install Debian packages through an apt-cacher-ng proxy
bound only to the bridge address.

Several labs (one per Molecule scenario, plus the quick-start lab) share the
bridge, the proxy and the image; the shared pieces go away with the last lab.

    lab.py up     [--lab NAME] [--nodes N | --node NAME ...] [--vm NAME] ...
    lab.py down   [--lab NAME | --all]
    lab.py status [--json]
    lab.py ssh    NODE [COMMAND ...]
    lab.py stop   NODE ...     clean poweroff; disk and address are kept
    lab.py kill   NODE ...     pull the plug; disk and address are kept
    lab.py start  NODE ...     power on again, as after a power cycle

Run `lab.py COMMAND --help` for the options. Everything is validated before
anything is changed; a bad argument changes nothing. The code lives in the
package next to this file (labkit/).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from labkit.cli import main  # noqa: E402  pylint: disable=wrong-import-position

if __name__ == "__main__":
    sys.exit(main(__doc__, os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
