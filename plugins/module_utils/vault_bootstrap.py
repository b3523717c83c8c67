# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Init, unseal and configuration logic of the vault role (Vault or OpenBao).

Everything here takes a :class:`~vault_api.VaultClient` (so a fake transport
tests it without a server) and, where it waits, a ``sleep`` and a ``clock``.

Key custody: :func:`initialise` hands the answer of ``sys/init`` to a
*store* object (``exists()``, ``reserve()``, ``save(document)``,
``abort()``); the action plugin's store encrypts it with ansible-vault into a
0600 file on the controller. Nothing in this module returns or logs a key
share or a token.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import time

from ansible_collections.homelab.k3s.plugins.module_utils.vault_api import VaultApiError

CUSTODY_ANSIBLE_VAULT = "ansible_vault"
CUSTODY_PGP = "pgp"
CUSTODY_CHOICES = (CUSTODY_ANSIBLE_VAULT, CUSTODY_PGP)
MAX_SHARES = 255  # Shamir over GF(256): upstream refuses more


class VaultInputError(ValueError):
    """Bad input; the message names the field and the conflict."""


class VaultStateError(Exception):
    """The cluster is not in a state the operation can work with."""


# --- input checks -----------------------------------------------------------------
def validate_init_request(shares, threshold, custody, pgp_keys=None, root_token_pgp_key=None):
    """Refuse an init request upstream would refuse, or one we cannot keep safe."""
    pgp_keys = list(pgp_keys or [])
    if custody not in CUSTODY_CHOICES:
        raise VaultInputError("vault_key_custody is %r; expected one of %s" % (custody, ", ".join(CUSTODY_CHOICES)))
    if not isinstance(shares, int) or not 1 <= shares <= MAX_SHARES:
        raise VaultInputError("vault_secret_shares is %r; it must be a whole number from 1 to %d" % (shares, MAX_SHARES))
    if not isinstance(threshold, int) or threshold < 1:
        raise VaultInputError("vault_secret_threshold is %r; it must be a whole number of at least 1" % (threshold,))
    if threshold > shares:
        raise VaultInputError(
            "vault_secret_threshold (%d) is greater than vault_secret_shares (%d): the keys could never unseal"
            % (threshold, shares))
    if shares > 1 and threshold < 2:
        raise VaultInputError(
            "vault_secret_threshold is 1 with vault_secret_shares %d: upstream needs a threshold of at least 2 "
            "when the key is split" % shares)
    if custody == CUSTODY_PGP:
        if len(pgp_keys) != shares:
            raise VaultInputError(
                "vault_pgp_keys has %d key(s) but vault_secret_shares is %d: PGP custody needs exactly one "
                "public key per share" % (len(pgp_keys), shares))
        if not root_token_pgp_key:
            raise VaultInputError("vault_key_custody is pgp but vault_root_token_pgp_key is empty: the root token "
                                  "would be returned in clear")
    elif pgp_keys or root_token_pgp_key:
        raise VaultInputError("vault_pgp_keys/vault_root_token_pgp_key are set but vault_key_custody is %s; "
                              "set vault_key_custody: pgp to use them" % custody)


def custody_document(answer, shares, threshold, custody, cluster_name):
    """What is kept on the controller after init (encrypted as a whole, or PGP-encrypted parts)."""
    # plain built-in types only: the document is serialised with yaml.safe_dump
    return {
        "cluster_name": str(cluster_name),
        "custody": str(custody),
        "secret_shares": int(shares),
        "secret_threshold": int(threshold),
        # with PGP custody these are base64 PGP messages, one per operator key
        "unseal_keys_b64": [str(key) for key in answer["keys_base64"]],
        "root_token": str(answer["root_token"]),
        "root_token_pgp_encrypted": custody == CUSTODY_PGP,
    }


def unseal_keys_from(document):
    """The keys an unseal can use from a custody document (refuses PGP-encrypted ones)."""
    if document.get("custody") == CUSTODY_PGP:
        raise VaultInputError("the custody file holds PGP-encrypted key shares; decrypt your shares and pass them as "
                              "vault_unseal_keys")
    keys = document.get("unseal_keys_b64") or []
    if not keys:
        raise VaultInputError("the custody file holds no unseal_keys_b64")
    return keys


# --- init ---------------------------------------------------------------------------
def initialise(client, store, shares, threshold, custody, cluster_name, pgp_keys=None, root_token_pgp_key=None,
               check_mode=False):
    """Initialise the cluster through ``client`` unless it reports it already is.

    Returns ``{"changed": bool, "initialized": True}``. The store is reserved
    before ``sys/init`` is called (so a key answer is never left without a
    place to go) and refused if it already exists while the cluster is not
    initialised (the keys of an earlier cluster would be overwritten).
    """
    validate_init_request(shares, threshold, custody, pgp_keys, root_token_pgp_key)
    if client.init_status():
        return {"changed": False, "initialized": True}
    if store.exists():
        raise VaultStateError(
            "%s reports it is not initialised, but the custody file %s exists (keys of an earlier cluster?); "
            "move it away if that cluster is gone, nothing was initialised" % (client.url, store.path))
    if check_mode:
        return {"changed": True, "initialized": False}
    store.reserve()
    try:
        answer = client.initialize(shares, threshold, pgp_keys, root_token_pgp_key)
    except VaultApiError as err:
        store.abort()
        if err.status is None:
            # No answer (time-out, connection lost): the server may have done
            # the init and its keys are gone with the lost answer.
            raise VaultStateError(
                "%s did not answer sys/init (%s): the cluster MAY NOW BE INITIALISED with unseal keys and a root "
                "token nobody received. Check with `bao status` (or `vault status`) on the node: if it says "
                "Initialized true, those keys are lost; stop the service, empty its data directory on every node "
                "and run again. If it says Initialized false, just run again." % (client.url, err))
        raise
    except Exception:
        store.abort()
        raise
    store.save(custody_document(answer, shares, threshold, custody, cluster_name))
    return {"changed": True, "initialized": True}


# --- unseal -------------------------------------------------------------------------
def unseal(client, keys, timeout=60.0, interval=1.0, sleep=time.sleep, clock=time.monotonic, check_mode=False,
           wait=True):
    """Unseal the node behind ``client`` with ``keys`` (base64 shares); wait until it reports unsealed.

    A node that has not found its raft leader yet reports ``initialized:
    false``: it is polled until it does. A joining node stays sealed for a
    moment after the last key (it is fetching the keyring from the leader): it
    is polled too (unless ``wait`` is false: a node of a cluster that was
    all sealed may only report unsealed once enough of its peers are).
    Returns ``{"changed", "sealed_before", "sealed"}``.
    """
    deadline = clock() + timeout
    status = client.seal_status()
    while not status.get("initialized") and clock() < deadline:
        sleep(interval)
        status = client.seal_status()
    if not status.get("initialized"):
        raise VaultStateError("%s is still not initialised after %ss (not joined to the raft cluster?)"
                              % (client.url, timeout))
    if not status.get("sealed"):
        return {"changed": False, "sealed_before": False, "sealed": False}
    threshold = int(status.get("t") or 0)
    if len(keys) < threshold:
        raise VaultInputError("%d unseal key(s) given but %s needs %d" % (len(keys), client.url, threshold))
    if check_mode:
        return {"changed": True, "sealed_before": True, "sealed": True}
    if status.get("progress"):
        status = client.request("PUT", "sys/unseal", {"reset": True}, ok=(200,), token=False)[1]
    for key in keys:
        status = client.unseal(key)
        if not status.get("sealed") or not status.get("progress"):
            break
    while wait and status.get("sealed") and clock() < deadline:
        sleep(interval)
        status = client.seal_status()
    if wait and status.get("sealed"):
        raise VaultStateError("%s is still sealed %ss after the unseal keys were given (progress %s of %s)"
                              % (client.url, timeout, status.get("progress"), status.get("t")))
    return {"changed": True, "sealed_before": True, "sealed": bool(status.get("sealed"))}


# --- configuration after init ------------------------------------------------------------
def _mount_key(path):
    return path.strip("/") + "/"


def ensure_kv_mounts(client, mounts, check_mode=False):
    """Mount each ``{"path", "description"}`` as KV version 2; a different engine there is refused."""
    existing = client.mounts()
    changes = []
    for mount in mounts:
        key = _mount_key(mount["path"])
        current = existing.get(key)
        if current is not None:
            version = str((current.get("options") or {}).get("version", "1"))
            if current.get("type") != "kv" or version != "2":
                raise VaultStateError("vault_kv_mounts: %s is already mounted as %s (version %s), not kv version 2; "
                                      "nothing was changed there" % (key, current.get("type"), version))
            continue
        changes.append("mount %s (kv v2)" % key)
        if not check_mode:
            client.write("sys/mounts/%s" % key.rstrip("/"),
                         {"type": "kv", "options": {"version": "2"}, "description": mount.get("description", "")})
    return changes


def ensure_policies(client, policies, check_mode=False):
    """Write each ``{name: hcl}`` ACL policy whose text differs."""
    changes = []
    for name in sorted(policies):
        text = policies[name]
        current = client.read("sys/policies/acl/%s" % name)
        current_text = ((current or {}).get("data") or {}).get("policy")
        if current_text is not None and current_text.strip() == text.strip():
            continue
        changes.append("policy %s" % name)
        if not check_mode:
            client.request("PUT", "sys/policies/acl/%s" % name, {"policy": text})
    return changes


def ensure_auth_method(client, path, method_type, check_mode=False):
    """Enable an auth method at ``path``; another type already there is refused."""
    key = _mount_key(path)
    current = client.auth_methods().get(key)
    if current is not None:
        if current.get("type") != method_type:
            raise VaultStateError("auth path %s is already used by a %s auth method, not %s"
                                  % (key, current.get("type"), method_type))
        return []
    if not check_mode:
        client.write("sys/auth/%s" % key.rstrip("/"), {"type": method_type})
    return ["enable %s auth at %s" % (method_type, key)]


def ensure_kubernetes_auth(client, path, host, ca_cert, reviewer_jwt, roles, check_mode=False, force_jwt=False):
    """Kubernetes auth at ``path``: config (API address, CA, reviewer JWT) and roles.

    Upstream never returns the reviewer JWT (only ``token_reviewer_jwt_set``),
    so the JWT is written when the config changes, when none is set, or when
    ``force_jwt`` asks for a rotation.
    """
    if not host.startswith("https://"):
        raise VaultInputError("vault_kubernetes_auth.host is %r; the Kubernetes API must be an https:// URL" % host)
    if "BEGIN CERTIFICATE" not in (ca_cert or ""):
        raise VaultInputError("vault_kubernetes_auth.ca_cert is not a PEM certificate")
    changes = ensure_auth_method(client, path, "kubernetes", check_mode)
    base = "auth/%s" % path.strip("/")
    current = None if changes else ((client.read("%s/config" % base) or {}).get("data") or {})
    wanted = {"kubernetes_host": host, "kubernetes_ca_cert": ca_cert.strip() + "\n", "disable_local_ca_jwt": True}
    differs = current is None or any(
        (current.get(k) or "").strip() != v.strip() if isinstance(v, str) else current.get(k) != v
        for k, v in wanted.items())
    if differs or force_jwt or (reviewer_jwt and not current.get("token_reviewer_jwt_set")):
        changes.append("kubernetes auth config at %s" % path)
        if not check_mode:
            body = dict(wanted)
            if reviewer_jwt:
                body["token_reviewer_jwt"] = reviewer_jwt
            client.write("%s/config" % base, body)
    for role in roles:
        wanted_role = {
            "bound_service_account_names": sorted(role["service_accounts"]),
            "bound_service_account_namespaces": sorted(role["namespaces"]),
            "token_policies": sorted(role.get("policies", [])),
            "token_ttl": int(role.get("ttl", 3600)),
        }
        current_role = None if changes and changes[0].startswith("enable") else client.read(
            "%s/role/%s" % (base, role["name"]))
        data = (current_role or {}).get("data") or {}
        same = current_role is not None and all(
            (sorted(data.get(k) or []) if isinstance(v, list) else data.get(k)) == v for k, v in wanted_role.items())
        if same:
            continue
        changes.append("kubernetes role %s" % role["name"])
        if not check_mode:
            client.write("%s/role/%s" % (base, role["name"]), wanted_role)
    return changes


def ensure_kv_secrets(client, secrets, check_mode=False):
    """Write each ``{"mount", "path", "data"}`` KV v2 secret whose current version differs."""
    changes = []
    for secret in secrets:
        api_path = "%s/data/%s" % (secret["mount"].strip("/"), secret["path"].strip("/"))
        current = client.read(api_path)
        if current is not None and ((current.get("data") or {}).get("data") or {}) == secret["data"]:
            continue
        changes.append("secret %s/%s" % (secret["mount"].strip("/"), secret["path"].strip("/")))
        if not check_mode:
            client.write(api_path, {"data": secret["data"]})
    return changes


def wait_for_kv(client, mount, sleep=time.sleep, clock=time.monotonic, timeout=30.0):
    """A new KV v2 mount answers 'upgrading' for a moment; wait until its config path reads."""
    deadline = clock() + timeout
    while True:
        try:
            client.read("%s/config" % mount.strip("/"))
            return
        except VaultApiError:
            if clock() >= deadline:
                raise
            sleep(0.5)
