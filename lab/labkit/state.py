# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""State: one JSON file per lab under RUN_DIR/labs, guarded by a global lock.

A node stays in its lab's file while it is powered off: its address, disk
and settings are kept for `lab.py start`.
"""

import contextlib
import fcntl
import json
import os

from .common import RUN_DIR


@contextlib.contextmanager
def global_lock():
    os.makedirs(RUN_DIR, exist_ok=True)
    with open(os.path.join(RUN_DIR, "lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def labs_dir():
    return os.path.join(RUN_DIR, "labs")


def load_labs():
    labs = {}
    if os.path.isdir(labs_dir()):
        for fname in sorted(os.listdir(labs_dir())):
            if fname.endswith(".json"):
                with open(os.path.join(labs_dir(), fname)) as fh:
                    labs[fname[:-5]] = json.load(fh)
    return labs


def save_lab(name, lab):
    os.makedirs(labs_dir(), exist_ok=True)
    path = os.path.join(labs_dir(), name + ".json")
    with open(path + ".tmp", "w") as fh:
        json.dump(lab, fh, indent=2, sort_keys=True)
    os.replace(path + ".tmp", path)


def delete_lab_state(name):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(labs_dir(), name + ".json"))


def find_node(node_name):
    """(lab name, lab, node) of the node with this name in any lab, or None."""
    for lab_name, lab in load_labs().items():
        node = lab["nodes"].get(node_name)
        if node:
            return lab_name, lab, node
    return None


def shared_state_path():
    return os.path.join(RUN_DIR, "shared.json")


def load_shared():
    try:
        with open(shared_state_path()) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return None


def save_shared(shared):
    with open(shared_state_path(), "w") as fh:
        json.dump(shared, fh, indent=2)


def labs_running():
    return bool(load_labs())
