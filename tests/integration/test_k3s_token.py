# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The K3s join token on the controller: created once, 0600 or ansible-vault encrypted, readable
by later runs, never printed (k3s_node tasks/token.yml, run on localhost only)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)

INVENTORY = """
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: {python}
  children:
    k3s_cluster:
      children:
        k3s_servers:
          hosts:
            localhost:
"""

PLAYBOOK = """
- hosts: k3s_servers
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: homelab.k3s.k3s_node
        tasks_from: facts.yml
    - ansible.builtin.include_role:
        name: homelab.k3s.k3s_node
        tasks_from: token.yml
      vars:
        k3s_node_token_vault: {vault}
        k3s_node_token_file: {token_file}
    - ansible.builtin.debug:
        msg: "token length {{{{ lookup('ansible.builtin.unvault', '{token_file}') | trim | length }}}}"
"""


def run(tmp_path, vault):
    token_file = tmp_path / "secrets" / "token"
    (tmp_path / "inventory.yml").write_text(INVENTORY.format(python=sys.executable))
    (tmp_path / "play.yml").write_text(PLAYBOOK.format(vault=str(vault).lower(), token_file=token_file))
    (tmp_path / "vault-pass").write_text("not-a-real-secret\n")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_VAULT_PASSWORD_FILE=str(tmp_path / "vault-pass"),
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    result = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"),
                             str(tmp_path / "play.yml")], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return token_file, result.stdout


@pytest.mark.parametrize("vault", [False, True], ids=["mode-0600", "ansible-vault"])
def test_token_is_created_once_private_and_never_printed(tmp_path, vault):
    token_file, first = run(tmp_path, vault)
    content = token_file.read_text()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    assert content.startswith("$ANSIBLE_VAULT;") == vault
    assert "token length 48" in first
    second = run(tmp_path, vault)[1]
    assert token_file.read_text() == content, "the token must not change on a second run"
    assert "changed=0" in second
    if not vault:
        assert content.strip() not in first + second
