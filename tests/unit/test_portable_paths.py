# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The repository names no absolute path of a development machine (issue 10)."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))

import portable_paths  # noqa: E402  pylint: disable=wrong-import-position


def test_tracked_files_name_no_development_machine_path():
    hits = portable_paths.scan(ROOT, portable_paths.tracked_files(ROOT))
    assert hits == [], "\n".join("%s:%d: %s" % hit for hit in hits)


@pytest.fixture(name="repo")
def fixture_repo(tmp_path):
    checkout = tmp_path / "dev" / "main"
    checkout.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    return checkout


@pytest.mark.parametrize("line", [
    'venv="${HOMELAB_MOTO_VENV:-%(checkout)s/.cache/venv-moto}"',
    "export PATH=%(parent)s/other-checkout/.venv/bin:$PATH",
    # written in pieces so that this file does not trip the guard itself
    "cd /" + "home/alice/src/homelab",
    "python=/" + "root/.pyenv/versions/3.11.7/bin/python",
    "open /" + "Users/bob/k3s/README.md",
])
def test_planted_machine_path_fails_the_guard(repo, line):
    (repo / "script.sh").write_text(
        "#!/bin/sh\n" + line % {"checkout": repo, "parent": repo.parent} + "\n")
    subprocess.run(["git", "add", "script.sh"], cwd=repo, check=True)
    hits = portable_paths.scan(str(repo), portable_paths.tracked_files(str(repo)))
    assert [(h[0], h[1]) for h in hits] == [("script.sh", 2)]
    assert portable_paths.main(["portable_paths.py", str(repo)]) == 1


@pytest.mark.parametrize("line", [
    "dest: /root/restore",
    "authorized_keys: /root/.ssh/authorized_keys",
    'here="$(cd "$(dirname "$0")" && pwd)"',
    "state: /tmp/lab/hosts.yml",
])
def test_node_paths_and_relative_paths_pass(repo, line):
    (repo / "ok.sh").write_text(line + "\n")
    subprocess.run(["git", "add", "ok.sh"], cwd=repo, check=True)
    assert portable_paths.scan(str(repo), portable_paths.tracked_files(str(repo))) == []
    assert portable_paths.main(["portable_paths.py", str(repo)]) == 0
