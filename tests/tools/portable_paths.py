# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guard: no tracked file may name an absolute path of a development machine.

A path of one checkout baked into a script passes CI on the machine that has
that checkout and fails everywhere else (issue: moto's venv at a fixed path).
Flagged, in every file ``git ls-files`` lists:

* the checkout's own absolute path and any sibling of it in the folder it
  sits in (another developer's checkout), whatever they are on the machine
  that runs the check;
* home directories of developers (``home/<user>/``, ``Users/<user>/`` at the
  root) and root's per-user tool caches (``.pyenv``, ``.cache`` ... in root's
  home).

Paths on the managed nodes (``/root/restore``, ``/root/.ssh/authorized_keys``)
are not development-machine paths and stay allowed.

Usage: python3 tests/tools/portable_paths.py [CHECKOUT]   (exit 1 when found)
"""
import os
import re
import subprocess
import sys

GENERIC = [
    r"/home/[A-Za-z0-9._-]+/",
    r"/Users/[A-Za-z0-9._-]+/",
    r"/root/\.(?:pyenv|cache|local|venv|virtualenvs|ansible/collections)\b",
]


# Folders that hold many unrelated things: a checkout sitting in one of them
# does not make every path under it a development path.
SYSTEM_DIRS = {"", "/", "/tmp", "/var/tmp", "/opt", "/srv", "/var", "/usr", "/mnt", "/media",
               "/run", "/etc", "/root", "/home"}


def patterns_for(checkout):
    """Regexes for the machine paths that must not appear, given the checkout path."""
    checkout = os.path.realpath(checkout).rstrip("/")
    pats = list(GENERIC)
    parent = os.path.dirname(checkout)
    pats.append(re.escape(checkout) + r"(?![A-Za-z0-9._-])")
    if parent not in SYSTEM_DIRS:
        # the folder that holds checkouts: another developer's checkout beside this one
        pats.append(r"(?<![A-Za-z0-9._/-])" + re.escape(parent) + r"/[A-Za-z0-9._-]+")
    return [re.compile(p) for p in pats]


def scan(checkout, files):
    """Return (path, line number, line) for every hit in the given files."""
    pats = patterns_for(checkout)
    hits = []
    for rel in files:
        path = os.path.join(checkout, rel)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                lines = handle.readlines()
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(lines, 1):
            if any(p.search(line) for p in pats):
                hits.append((rel, number, line.rstrip("\n")))
    return hits


def tracked_files(checkout):
    out = subprocess.run(["git", "ls-files", "-z"], cwd=checkout, check=True,
                         capture_output=True).stdout
    return [f for f in out.decode().split("\0") if f]


def main(argv):
    checkout = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))
    hits = scan(checkout, tracked_files(checkout))
    for rel, number, line in hits:
        print("%s:%d: absolute path of a development machine: %s" % (rel, number, line.strip()))
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
