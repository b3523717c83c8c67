"""Unit tests of the vault role's init/unseal/configure logic against a fake Vault API."""
import json

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.vault_api import VaultApiError, VaultClient
from ansible_collections.homelab.k3s.plugins.module_utils import vault_bootstrap as vb

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


class FakeVault(object):
    """Just enough of the Vault/OpenBao HTTP API, with a request log."""

    def __init__(self, initialized=False, threshold=3, shares=5, join_delay=0):
        self.initialized = initialized
        self.sealed = True
        self.t, self.n = (threshold, shares) if initialized else (0, 0)
        self.progress = 0
        self.join_delay = join_delay  # seal-status calls during which a joining node stays sealed
        self.given = []
        self.keys = ["key%d" % i for i in range(shares)]
        self.root = "s.root-token"
        self.store = {}
        self.calls = []
        self.not_joined_for = 0

    def status(self):
        return {"initialized": self.initialized and self.not_joined_for <= 0, "sealed": self.sealed,
                "t": self.t, "n": self.n, "progress": self.progress}

    def __call__(self, method, url, headers, body):
        path = url.split("/v1/", 1)[1]
        data = json.loads(body) if body else None
        self.calls.append((method, path, headers.get("X-Vault-Token"), data))
        if path == "sys/init" and method == "GET":
            return 200, json.dumps({"initialized": self.initialized})
        if path == "sys/init":
            self.initialized, self.t, self.n = True, data["secret_threshold"], data["secret_shares"]
            self.keys = ["key%d" % i for i in range(self.n)]
            return 200, json.dumps({"keys": self.keys, "keys_base64": self.keys, "root_token": self.root})
        if path == "sys/seal-status":
            self.not_joined_for -= 1
            if self.sealed and self.join_delay and self.progress == 0 and self.given:
                self.join_delay -= 1
                if not self.join_delay:
                    self.sealed = False
            return 200, json.dumps(self.status())
        if path == "sys/unseal":
            if data.get("reset"):
                self.progress, self.given = 0, []
                return 200, json.dumps(self.status())
            if data["key"] not in self.keys:
                return 400, json.dumps({"errors": ["invalid key"]})
            self.given.append(data["key"])
            self.progress += 1
            if self.progress >= self.t:
                self.progress = 0
                if not self.join_delay:
                    self.sealed = False
            return 200, json.dumps(self.status())
        if headers.get("X-Vault-Token") != self.root:
            return 403, json.dumps({"errors": ["permission denied"]})
        if method == "GET":
            if path == "sys/mounts":
                return 200, json.dumps({"data": {k[len("mount:"):]: v for k, v in self.store.items()
                                                 if k.startswith("mount:")}})
            if path == "sys/auth":
                return 200, json.dumps({"data": {k[len("auth:"):]: v for k, v in self.store.items()
                                                 if k.startswith("auth:")}})
            if path in self.store:
                return 200, json.dumps({"data": self.store[path]})
            return 404, json.dumps({"errors": []})
        if path.startswith("sys/mounts/"):
            self.store["mount:" + path[len("sys/mounts/"):] + "/"] = {"type": data["type"],
                                                                      "options": data.get("options")}
            return 204, ""
        if path.startswith("sys/auth/"):
            self.store["auth:" + path[len("sys/auth/"):] + "/"] = {"type": data["type"]}
            return 204, ""
        if path.startswith("sys/policies/acl/"):
            self.store[path] = {"name": path.rsplit("/", 1)[1], "policy": data["policy"]}
            return 204, ""
        if path.endswith("/config") and path.startswith("auth/"):
            stored = {k: v for k, v in data.items() if k != "token_reviewer_jwt"}
            stored["token_reviewer_jwt_set"] = "token_reviewer_jwt" in data or \
                self.store.get(path, {}).get("token_reviewer_jwt_set", False)
            self.store[path] = stored
            return 204, ""
        if "/data/" in path:
            self.store[path] = {"data": data["data"], "metadata": {"version": 1}}
            return 200, json.dumps({"data": {"version": 1}})
        self.store[path] = data
        return 204, ""


class MemoryStore(object):
    path = "/controller/keys.vault.yml"

    def __init__(self, exists=False):
        self.present = exists
        self.document = None
        self.events = []

    def exists(self):
        return self.present

    def reserve(self):
        self.events.append("reserve")
        self.present = True

    def abort(self):
        self.events.append("abort")
        self.present = False

    def save(self, document):
        self.events.append("save")
        self.document = document


class FakeClock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def client(fake, token=None):
    return VaultClient("https://bao-1:8200", fake, token=token)


# --- input checks ------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    ((3, 5, "ansible_vault"), "vault_secret_threshold (5) is greater than vault_secret_shares (3)"),
    ((3, 1, "ansible_vault"), "threshold of at least 2"),
    ((0, 1, "ansible_vault"), "vault_secret_shares is 0"),
    ((300, 2, "ansible_vault"), "vault_secret_shares is 300"),
    ((3, 2, "pgp", ["a", "b"], "r"), "vault_pgp_keys has 2 key(s) but vault_secret_shares is 3"),
    ((2, 2, "pgp", ["a", "b"], ""), "vault_root_token_pgp_key is empty"),
    ((2, 2, "ansible_vault", ["a", "b"]), "set vault_key_custody: pgp"),
    ((2, 2, "paper"), "vault_key_custody is 'paper'"),
])
def test_bad_init_requests_are_refused_naming_the_field(args, message):
    with pytest.raises(vb.VaultInputError) as err:
        vb.validate_init_request(*args)
    assert message in str(err.value)


def test_single_share_and_pgp_with_matching_keys_are_accepted():
    vb.validate_init_request(1, 1, "ansible_vault")
    vb.validate_init_request(3, 2, "pgp", ["a", "b", "c"], "r")


# --- init --------------------------------------------------------------------------
def test_init_reserves_the_store_then_saves_the_keys():
    fake, store = FakeVault(), MemoryStore()
    result = vb.initialise(client(fake), store, 5, 3, "ansible_vault", "homelab")
    assert result == {"changed": True, "initialized": True}
    assert store.events == ["reserve", "save"]
    assert store.document["unseal_keys_b64"] == fake.keys and store.document["root_token"] == fake.root
    assert store.document["secret_threshold"] == 3 and not store.document["root_token_pgp_encrypted"]
    assert [c[:2] for c in fake.calls] == [("GET", "sys/init"), ("PUT", "sys/init")]


def test_custody_document_holds_plain_types_only():
    class Tagged(str):
        pass
    doc = vb.custody_document({"keys_base64": [Tagged("k")], "root_token": Tagged("r")}, 1, 1, "ansible_vault",
                              Tagged("homelab"))
    assert all(type(v) in (str, int, bool, list) for v in doc.values())
    assert type(doc["cluster_name"]) is str and type(doc["unseal_keys_b64"][0]) is str  # pylint: disable=unidiomatic-typecheck


def test_an_initialised_cluster_is_never_initialised_again():
    fake, store = FakeVault(initialized=True), MemoryStore(exists=True)
    assert vb.initialise(client(fake), store, 5, 3, "ansible_vault", "c") == {"changed": False, "initialized": True}
    assert store.events == [] and [c[:2] for c in fake.calls] == [("GET", "sys/init")]


def test_an_existing_custody_file_for_an_uninitialised_cluster_is_refused():
    fake, store = FakeVault(), MemoryStore(exists=True)
    with pytest.raises(vb.VaultStateError, match="custody file /controller/keys.vault.yml exists"):
        vb.initialise(client(fake), store, 5, 3, "ansible_vault", "c")
    assert not fake.initialized and store.events == []


def test_check_mode_reports_an_init_without_calling_it():
    fake, store = FakeVault(), MemoryStore()
    assert vb.initialise(client(fake), store, 5, 3, "ansible_vault", "c", check_mode=True)["changed"]
    assert not fake.initialized and store.events == []


def test_a_failed_init_call_releases_the_reserved_store():
    def broken(method, url, headers, body):
        if method == "PUT":
            return 500, json.dumps({"errors": ["boom"]})
        return 200, json.dumps({"initialized": False})
    store = MemoryStore()
    with pytest.raises(VaultApiError, match="boom"):
        vb.initialise(client(broken), store, 5, 3, "ansible_vault", "c")
    assert store.events == ["reserve", "abort"]


def test_an_init_call_without_answer_says_the_cluster_may_be_initialised():
    def lost(method, url, headers, body):
        if method == "PUT":
            raise VaultApiError("PUT %s: timed out" % url)
        return 200, json.dumps({"initialized": False})
    store = MemoryStore()
    with pytest.raises(vb.VaultStateError, match=r"did not answer sys/init .*timed out.*MAY NOW BE INITIALISED"):
        vb.initialise(client(lost), store, 5, 3, "ansible_vault", "c")
    assert store.events == ["reserve", "abort"]


def test_pgp_keys_are_sent_to_upstream():
    fake, store = FakeVault(), MemoryStore()
    vb.initialise(client(fake), store, 2, 2, "pgp", "c", ["pa", "pb"], "pr")
    body = fake.calls[1][3]
    assert body["pgp_keys"] == ["pa", "pb"] and body["root_token_pgp_key"] == "pr"
    assert store.document["root_token_pgp_encrypted"]
    with pytest.raises(vb.VaultInputError, match="PGP-encrypted"):
        vb.unseal_keys_from(store.document)


# --- unseal ------------------------------------------------------------------------
def test_unseal_gives_threshold_keys_and_stops():
    fake, clock = FakeVault(initialized=True), FakeClock()
    result = vb.unseal(client(fake), fake.keys, sleep=clock.sleep, clock=clock)
    assert result == {"changed": True, "sealed_before": True, "sealed": False}
    assert fake.given == fake.keys[:3]


def test_an_unsealed_node_is_left_alone():
    fake = FakeVault(initialized=True)
    fake.sealed = False
    assert not vb.unseal(client(fake), fake.keys)["changed"]
    assert not [c for c in fake.calls if c[1] == "sys/unseal"]


def test_a_joining_node_is_polled_until_it_reports_unsealed():
    fake, clock = FakeVault(initialized=True, join_delay=3), FakeClock()
    fake.not_joined_for = 2  # has not found its leader for two polls
    result = vb.unseal(client(fake), fake.keys, sleep=clock.sleep, clock=clock)
    assert not result["sealed"] and clock.now >= 4


def test_unseal_without_wait_returns_after_the_keys():
    fake, clock = FakeVault(initialized=True, join_delay=5), FakeClock()
    result = vb.unseal(client(fake), fake.keys, sleep=clock.sleep, clock=clock, wait=False)
    assert result["changed"] and result["sealed"] and clock.now == 0


def test_a_partial_unseal_is_reset_first():
    fake = FakeVault(initialized=True)
    fake.progress = 1
    vb.unseal(client(fake), fake.keys)
    assert fake.calls[1][3] == {"reset": True}


def test_too_few_keys_are_refused_before_sending_any():
    fake = FakeVault(initialized=True)
    with pytest.raises(vb.VaultInputError, match="2 unseal key.s. given but https://bao-1:8200 needs 3"):
        vb.unseal(client(fake), fake.keys[:2])
    assert not fake.given


def test_a_node_that_never_unseals_fails_after_the_timeout():
    fake, clock = FakeVault(initialized=True, join_delay=1000), FakeClock()
    with pytest.raises(vb.VaultStateError, match="still sealed"):
        vb.unseal(client(fake), fake.keys, timeout=10, sleep=clock.sleep, clock=clock)


def test_a_node_that_never_joins_fails_after_the_timeout():
    fake, clock = FakeVault(initialized=True), FakeClock()
    fake.not_joined_for = 1000
    with pytest.raises(vb.VaultStateError, match="still not initialised"):
        vb.unseal(client(fake), fake.keys, timeout=5, sleep=clock.sleep, clock=clock)


def test_wrong_keys_fail_without_echoing_them():
    fake = FakeVault(initialized=True)
    with pytest.raises(VaultApiError) as err:
        vb.unseal(client(fake), ["secret-wrong-key"] * 3)
    assert "secret-wrong-key" not in str(err.value) and err.value.status == 400


# --- configuration -----------------------------------------------------------------
def configured(fake):
    api = client(fake, token=fake.root)
    changes = vb.ensure_kv_mounts(api, [{"path": "homelab"}])
    changes += vb.ensure_policies(api, {"app-read": 'path "homelab/data/*" { capabilities = ["read"] }\n'})
    changes += vb.ensure_kubernetes_auth(api, "kubernetes", "https://10.0.0.1:6443", CA, "reviewer.jwt",
                                         [{"name": "app", "service_accounts": ["app"], "namespaces": ["apps"],
                                           "policies": ["app-read"], "ttl": 600}])
    changes += vb.ensure_kv_secrets(api, [{"mount": "homelab", "path": "k3s/token", "data": {"token": "t"}}])
    return changes


def test_configuration_is_applied_once_then_unchanged():
    fake = FakeVault(initialized=True)
    first = configured(fake)
    assert first == ["mount homelab/ (kv v2)", "policy app-read", "enable kubernetes auth at kubernetes/",
                     "kubernetes auth config at kubernetes", "kubernetes role app", "secret homelab/k3s/token"]
    assert fake.store["auth/kubernetes/config"]["kubernetes_host"] == "https://10.0.0.1:6443"
    assert fake.store["auth/kubernetes/role/app"]["token_policies"] == ["app-read"]
    writes = len([c for c in fake.calls if c[0] != "GET"])
    assert configured(fake) == []
    assert len([c for c in fake.calls if c[0] != "GET"]) == writes


def test_check_mode_writes_nothing():
    fake = FakeVault(initialized=True)
    api = client(fake, token=fake.root)
    assert vb.ensure_kv_mounts(api, [{"path": "homelab"}], check_mode=True) == ["mount homelab/ (kv v2)"]
    assert vb.ensure_policies(api, {"p": "x"}, check_mode=True) == ["policy p"]
    assert not [c for c in fake.calls if c[0] != "GET"]


def test_a_changed_policy_and_kubernetes_host_are_rewritten():
    fake = FakeVault(initialized=True)
    configured(fake)
    api = client(fake, token=fake.root)
    assert vb.ensure_policies(api, {"app-read": "other"}) == ["policy app-read"]
    changes = vb.ensure_kubernetes_auth(api, "kubernetes", "https://10.0.0.2:6443", CA, "", [])
    assert changes == ["kubernetes auth config at kubernetes"]
    assert fake.store["auth/kubernetes/config"]["token_reviewer_jwt_set"]


def test_an_existing_engine_of_another_kind_is_refused():
    fake = FakeVault(initialized=True)
    fake.store["mount:homelab/"] = {"type": "kv", "options": {"version": "1"}}
    fake.store["auth:kubernetes/"] = {"type": "userpass"}
    api = client(fake, token=fake.root)
    with pytest.raises(vb.VaultStateError, match="homelab/ is already mounted as kv .version 1."):
        vb.ensure_kv_mounts(api, [{"path": "homelab"}])
    with pytest.raises(vb.VaultStateError, match="already used by a userpass auth method"):
        vb.ensure_kubernetes_auth(api, "kubernetes", "https://k:6443", CA, "", [])


@pytest.mark.parametrize("host, ca, message", [
    ("http://10.0.0.1:6443", CA, "must be an https:// URL"),
    ("https://10.0.0.1:6443", "not a cert", "not a PEM certificate"),
])
def test_bad_kubernetes_auth_input_is_refused(host, ca, message):
    fake = FakeVault(initialized=True)
    with pytest.raises(vb.VaultInputError, match=message):
        vb.ensure_kubernetes_auth(client(fake, token=fake.root), "kubernetes", host, ca, "", [])


def test_a_wrong_token_is_an_api_error():
    fake = FakeVault(initialized=True)
    with pytest.raises(VaultApiError, match="permission denied") as err:
        vb.ensure_kv_mounts(client(fake, token="wrong"), [{"path": "x"}])
    assert err.value.status == 403


def test_the_token_travels_in_a_header_never_in_the_url():
    fake = FakeVault(initialized=True)
    configured(fake)
    assert all(fake.root not in c[1] for c in fake.calls)
    assert any(c[2] == fake.root for c in fake.calls)
