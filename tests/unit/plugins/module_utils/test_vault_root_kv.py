"""Error paths of the root token session and the KV reader against a fake API (the real server is in
tests/integration/test_vault_secrets.py)."""
import base64
import json

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.vault_api import VaultClient
from ansible_collections.homelab.k3s.plugins.module_utils.vault_bootstrap import VaultInputError, VaultStateError
from ansible_collections.homelab.k3s.plugins.module_utils import vault_root
from ansible_collections.homelab.k3s.plugins.module_utils.vault_kv import VaultKvError, read_kv_secret


class Scripted(object):
    """Answers (status, body) per (method, path); records every call."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, method, url, headers, body):
        path = url.split("/v1/", 1)[1]
        self.calls.append((method, path, headers.get("X-Vault-Token"), json.loads(body) if body else None))
        status, data = self.answers[(method, path)]
        return status, json.dumps(data)


def encode(token, otp):
    return base64.b64encode(bytes(a ^ b for a, b in zip(token.encode(), otp.encode()))).decode().rstrip("=")


def test_decode_matches_upstream_raw_std_encoding_xor():
    otp = "IrJXiT7htEL6PM4w3f3hAHGcWZ"
    assert vault_root.decode_root_token(encode("s.abcdefghijklmnopqrstuvwx", otp), otp) == "s.abcdefghijklmnopqrstuvwx"
    with pytest.raises(VaultStateError, match="does not match the OTP length"):
        vault_root.decode_root_token(encode("s.short", "s.short"), otp)
    with pytest.raises(VaultStateError, match="not base64"):
        vault_root.decode_root_token("***", otp)


def test_vault_flavour_uses_the_unauthenticated_endpoints_without_a_token():
    otp, root = "0123456789abcdefghijklmnop", "hvs.generated-root-tokenXY"
    fake = Scripted({
        ("GET", "sys/generate-root/attempt"): (200, {"started": False}),
        ("PUT", "sys/generate-root/attempt"): (200, {"started": True, "nonce": "n1", "otp": otp, "required": 2}),
        ("PUT", "sys/generate-root/update"): (200, {"complete": True, "encoded_token": encode(root, otp)}),
    })
    assert vault_root.generate_root(VaultClient("https://v:8200", fake, token="ignored"), ["k1", "k2"],
                                    flavour="hashicorp") == root
    assert all(token is None for _m, _p, token, _b in fake.calls)
    assert fake.calls[2][3] == {"key": "k1", "nonce": "n1"}


def test_an_incomplete_ceremony_is_cancelled_and_says_why():
    fake = Scripted({
        ("GET", "sys/generate-root-token/attempt"): (200, {"data": {"started": False}}),
        ("PUT", "sys/generate-root-token/attempt"): (200, {"data": {"nonce": "n", "otp": "o" * 26, "required": 2}}),
        ("PUT", "sys/generate-root-token/update"): (200, {"data": {"complete": False, "progress": 1, "required": 2}}),
        ("DELETE", "sys/generate-root-token/attempt"): (204, {}),
    })
    with pytest.raises(VaultStateError, match="did not complete after 2 key share"):
        vault_root.generate_root(VaultClient("https://v:8200", fake, token="login"), ["k1", "k2"])
    assert fake.calls[-1][:2] == ("DELETE", "sys/generate-root-token/attempt")


def test_too_few_shares_and_unknown_flavour_are_refused():
    fake = Scripted({
        ("GET", "sys/generate-root-token/attempt"): (200, {"data": {"started": False}}),
        ("PUT", "sys/generate-root-token/attempt"): (200, {"data": {"nonce": "n", "otp": "o" * 26, "required": 3}}),
        ("DELETE", "sys/generate-root-token/attempt"): (204, {}),
    })
    with pytest.raises(VaultInputError, match="needs 3 key share"):
        vault_root.generate_root(VaultClient("https://v:8200", fake, token="login"), ["k1"])
    with pytest.raises(VaultInputError, match="vault_flavour is 'consul'"):
        vault_root.generate_root(VaultClient("https://v:8200", fake), ["k1"], flavour="consul")


def test_session_refusals_name_the_way_out():
    with pytest.raises(VaultInputError, match="PGP-encrypted root token; pass a token"):
        vault_root.RootTokenSession(None, {"root_token_pgp_encrypted": True}, None).open()
    revoked = {"custody": "ansible_vault", "root_token": "", "root_token_revoked": True, "unseal_keys_b64": ["k"]}
    with pytest.raises(VaultStateError, match="holds no root-generation login; pass vault_token"):
        vault_root.RootTokenSession(None, revoked, None).open()


KV = "https://v:8200"


@pytest.mark.parametrize("status,body,term,field,message", [
    (404, {"errors": []}, "homelab/k3s", "token", r"secret homelab/k3s not found at https://v:8200"),
    (403, {"errors": ["permission denied"]}, "homelab/k3s", "token",
     r"permission denied reading secret homelab/k3s .* lacks read on homelab/data/k3s"),
    (200, {"data": {"data": {"token": "x"}}}, "homelab/k3s", "password",
     r"secret homelab/k3s has no field 'password' \(its fields: token\)"),
    (404, {"data": {"data": None, "metadata": {"version": 3, "destroyed": True}}}, "homelab/k3s", None,
     r"secret homelab/k3s version 3 is destroyed"),
    (200, {"data": {"token": "kv-v1-shape"}}, "homelab/k3s", "token", r"is homelab a KV version 2 mount"),
])
def test_kv_errors(status, body, term, field, message):
    fake = Scripted({("GET", "homelab/data/k3s"): (status, body)})
    with pytest.raises(VaultKvError, match=message) as err:
        read_kv_secret(VaultClient(KV, fake, token="s.reader-token"), term, field=field)
    assert "s.reader-token" not in str(err.value) and "kv-v1-shape" not in str(err.value)


def test_kv_version_and_mount_option():
    fake = Scripted({("GET", "homelab/data/restic/nas?version=2"): (200, {"data": {"data": {"password": "p2"}}})})
    assert read_kv_secret(VaultClient(KV, fake, token="t"), "restic/nas", field="password", mount="homelab",
                          version=2) == "p2"
    with pytest.raises(VaultKvError, match="version is 0"):
        read_kv_secret(VaultClient(KV, fake, token="t"), "homelab/k3s", version=0)
