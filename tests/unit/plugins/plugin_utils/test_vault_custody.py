"""The controller custody file: encrypted before it touches the disk, 0600, never overwritten."""
import os
import stat

import pytest

from ansible.errors import AnsibleError
from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.homelab.k3s.plugins.plugin_utils.vault_custody import CustodyFile

DOC = {"unseal_keys_b64": ["c2hhcmUtb25l", "c2hhcmUtdHdv"], "root_token": "s.root-token-value",
       "custody": "ansible_vault", "secret_threshold": 2}


class Loader(object):
    def __init__(self, password=None):
        self._vault = VaultLib([("default", VaultSecret(password.encode()))] if password else [])


def test_ansible_vault_custody_is_encrypted_0600_and_reads_back(tmp_path):
    path = str(tmp_path / "sub" / "keys.vault.yml")
    store = CustodyFile(path, "ansible_vault", Loader("pw"))
    store.reserve()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    store.save(DOC)
    raw = open(path, "rb").read()
    assert raw.startswith(b"$ANSIBLE_VAULT;")
    for secret in [DOC["root_token"]] + DOC["unseal_keys_b64"]:
        assert secret.encode() not in raw
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert CustodyFile(path, None, Loader("pw")).load() == DOC


def test_no_vault_password_is_refused_before_anything_is_written(tmp_path):
    path = str(tmp_path / "keys.vault.yml")
    with pytest.raises(AnsibleError, match="no vault password"):
        CustodyFile(path, "ansible_vault", Loader()).reserve()
    assert not os.path.exists(path)


def test_an_existing_file_is_never_overwritten(tmp_path):
    path = tmp_path / "keys.vault.yml"
    path.write_text("old keys")
    with pytest.raises(OSError):
        CustodyFile(str(path), "ansible_vault", Loader("pw")).reserve()
    assert path.read_text() == "old keys"


def test_abort_removes_only_an_empty_reservation(tmp_path):
    path = str(tmp_path / "keys.vault.yml")
    store = CustodyFile(path, "pgp", Loader())
    store.reserve()
    store.abort()
    assert not os.path.exists(path)


def test_reading_an_encrypted_file_needs_the_password(tmp_path):
    path = str(tmp_path / "keys.vault.yml")
    store = CustodyFile(path, "ansible_vault", Loader("pw"))
    store.reserve()
    store.save(DOC)
    with pytest.raises(AnsibleError, match="give this run the vault password"):
        CustodyFile(path, None, Loader()).load()


def test_pgp_custody_is_written_as_is(tmp_path):
    path = str(tmp_path / "keys.yml")
    store = CustodyFile(path, "pgp", Loader())
    store.reserve()
    store.save(dict(DOC, custody="pgp"))
    assert CustodyFile(path, None, Loader()).load()["custody"] == "pgp"


def test_replace_rewrites_encrypted_0600_and_refuses_a_pgp_file(tmp_path):
    path = str(tmp_path / "keys.vault.yml")
    store = CustodyFile(path, "ansible_vault", Loader("pw"))
    store.reserve()
    store.save(DOC)
    later = CustodyFile(path, None, Loader("pw"))
    changed = dict(later.load(), root_token="", root_token_revoked=True)
    later.replace(changed)
    raw = open(path, "rb").read()
    assert raw.startswith(b"$ANSIBLE_VAULT;") and DOC["root_token"].encode() not in raw
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert CustodyFile(path, None, Loader("pw")).load() == changed
    assert os.listdir(str(tmp_path)) == ["keys.vault.yml"]
    with pytest.raises(AnsibleError, match="not ansible-vault encrypted"):
        CustodyFile(path, "pgp", Loader("pw")).replace(dict(DOC, custody="pgp"))
