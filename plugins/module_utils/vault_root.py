# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Root token life cycle of the vault role: revoke after bootstrap, regenerate on demand.

With ``vault_revoke_root_token`` the initial root token is revoked
(``auth/token/revoke-self``) once the cluster is configured, and a later run
that must configure obtains a short-lived root token with the *generate root*
flow from the key shares it already keeps, uses it, and revokes it at the end.

Upstream endpoints (recorded sources):

* OpenBao >= 2.5.3 refuses the legacy unauthenticated ``sys/generate-root/*``
  endpoints by default (listener ``disable_unauthed_generate_root_endpoints``,
  default true; HCSEC-2026-08 / CVE-2026-5807, openbao/openbao GH-2912) and
  offers the authenticated ``sys/generate-root-token/attempt`` and
  ``.../update`` instead (GH-3041; website/content/docs/api/system/
  generate-root-token.mdx; their answers are wrapped in ``data``). A token is
  needed to call them, so before the root token is revoked the role creates a
  *root-generation login*: a userpass user whose tokens may only use
  ``sys/generate-root-token/*`` (its random password is kept in the encrypted
  custody file beside the key shares; alone it can start a ceremony, never
  finish one). Vault keeps the unauthenticated ``sys/generate-root/*``
  endpoints; the ``hashicorp`` flavour uses them and needs no login.
* Decoding: ``sdk/helper/roottoken/decode.go`` ``DecodeToken`` with a non-zero
  OTP length (openbao/openbao at 828e75a6): ``base64.RawStdEncoding`` decode of
  ``encoded_token``, then XOR with the OTP's bytes (``xor.XORBytes``, same
  length).

Nothing here returns a token to a caller other than the action plugin that
uses it, and no error message carries a token, an OTP or a key share.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import binascii
import secrets

from ansible_collections.homelab.k3s.plugins.module_utils.vault_api import VaultApiError
from ansible_collections.homelab.k3s.plugins.module_utils.vault_bootstrap import (
    VaultInputError, VaultStateError, ensure_auth_method, unseal_keys_from)

FLAVOUR_OPENBAO = "openbao"
FLAVOUR_VAULT = "hashicorp"
ROOT_GENERATION_PATH = "homelab-root-generation"
ROOT_GENERATION_USER = "root-generation"
ROOT_GENERATION_POLICY = "homelab-root-generation"
ROOT_GENERATION_POLICY_HCL = (
    '# homelab.k3s vault role: may only run a generate-root ceremony (the key shares are still needed)\n'
    'path "sys/generate-root-token/*" {\n'
    '  capabilities = ["create", "read", "update", "delete"]\n'
    '}\n')


def decode_root_token(encoded, otp):
    """Undo the one-time pad of a generated root token (upstream ``DecodeToken``, OTP length > 0)."""
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise VaultStateError("generate-root completed but its encoded_token is not base64; a root token now exists "
                              "that nobody holds: revoke it (list auth/token/accessors)")
    pad = otp.encode("utf-8")
    if len(raw) != len(pad):
        raise VaultStateError("generate-root completed but its encoded_token (%d bytes) does not match the OTP length "
                              "(%d); revoke the orphan root token (list auth/token/accessors)" % (len(raw), len(pad)))
    return bytes(bytearray(a ^ b for a, b in zip(bytearray(raw), bytearray(pad)))).decode("utf-8")


def _generate_root_prefix(flavour):
    if flavour == FLAVOUR_OPENBAO:
        return "sys/generate-root-token", True
    if flavour == FLAVOUR_VAULT:
        return "sys/generate-root", False
    raise VaultInputError("vault_flavour is %r; expected openbao or hashicorp" % (flavour,))


def _answer(data, wrapped):
    return (data.get("data") or {}) if wrapped else data


def generate_root(client, keys, flavour=FLAVOUR_OPENBAO):
    """Run a generate-root ceremony with ``keys`` (base64 shares); return the decoded root token.

    ``client`` carries the root-generation login token (OpenBao) or none
    (Vault). An attempt already in progress is someone else's ceremony: it
    is refused, not cancelled. Any failure after our attempt started cancels
    it, so no half-done ceremony is left behind.
    """
    prefix, wrapped = _generate_root_prefix(flavour)
    auth = wrapped
    status = _answer(client.request("GET", "%s/attempt" % prefix, ok=(200,), token=auth)[1], wrapped)
    if status.get("started"):
        raise VaultStateError(
            "a generate-root attempt is already in progress on %s (progress %s of %s): another operator's ceremony? "
            "Nothing was cancelled; cancel it (DELETE %s/attempt) if it is stale, then run again"
            % (client.url, status.get("progress"), status.get("required"), prefix))
    started = _answer(client.request("PUT", "%s/attempt" % prefix, {}, ok=(200,), token=auth)[1], wrapped)
    otp, nonce = started.get("otp"), started.get("nonce")
    try:
        if not otp or not nonce:
            raise VaultStateError("%s/attempt answered without an OTP or nonce" % prefix)
        required = int(started.get("required") or 0)
        if len(keys) < required:
            raise VaultInputError("generate-root needs %d key share(s) but the custody file holds %d"
                                  % (required, len(keys)))
        answer = started
        for key in keys[:required]:
            answer = _answer(client.request("PUT", "%s/update" % prefix, {"key": key, "nonce": nonce},
                                            ok=(200,), token=auth)[1], wrapped)
            if answer.get("complete"):
                break
        if not answer.get("complete") or not answer.get("encoded_token"):
            raise VaultStateError("generate-root did not complete after %d key share(s) (progress %s of %s): are "
                                  "the custody file's shares those of this cluster?"
                                  % (required, answer.get("progress"), answer.get("required")))
    except Exception:
        try:
            client.request("DELETE", "%s/attempt" % prefix, ok=(200, 204), token=auth)
        except VaultApiError:
            pass
        raise
    return decode_root_token(answer["encoded_token"], otp)


def revoke_self(client):
    """Revoke the client's own token (``auth/token/revoke-self``)."""
    client.request("POST", "auth/token/revoke-self", ok=(200, 204))


def login(client, credentials):
    """Log in with the root-generation userpass credentials; return the token."""
    path = credentials["path"].strip("/")
    try:
        data = client.request("POST", "auth/%s/login/%s" % (path, credentials["username"]),
                              {"password": credentials["password"]}, ok=(200,), token=False)[1]
    except VaultApiError as err:
        raise VaultStateError("the root-generation login (auth/%s, user %s) was refused (%s): the root token was "
                              "revoked and the role cannot regenerate one; pass vault_token to configure"
                              % (path, credentials["username"], err))
    return data["auth"]["client_token"]


def ensure_root_generation_login(client, password):
    """With the root token: the narrow policy, the userpass method and its user; returns the credentials."""
    client.request("PUT", "sys/policies/acl/%s" % ROOT_GENERATION_POLICY, {"policy": ROOT_GENERATION_POLICY_HCL})
    ensure_auth_method(client, ROOT_GENERATION_PATH, "userpass")
    client.write("auth/%s/users/%s" % (ROOT_GENERATION_PATH, ROOT_GENERATION_USER), {
        "password": password, "token_policies": [ROOT_GENERATION_POLICY], "token_ttl": "10m",
        "token_max_ttl": "15m"})
    return {"path": ROOT_GENERATION_PATH, "username": ROOT_GENERATION_USER, "password": password}


def new_password():
    return secrets.token_urlsafe(32)


class RootTokenSession(object):
    """The token a configuration run uses, and what happens to it at the end.

    ``make_client(token)`` returns a :class:`VaultClient` for the node;
    ``save(document)`` rewrites the custody file (encrypted). Use
    :meth:`open` to get the token, then :meth:`close` with ``succeeded``.
    """

    def __init__(self, make_client, document, save, revoke_root=False, flavour=FLAVOUR_OPENBAO,
                 password_factory=new_password):
        self.make_client = make_client
        self.document = dict(document)
        self.save = save
        self.revoke_root = revoke_root
        self.flavour = flavour
        self.password_factory = password_factory
        self.generated = False
        self.token = None
        self._login_token = None

    @property
    def root_revoked(self):
        return bool(self.document.get("root_token_revoked"))

    def open(self):
        if self.document.get("root_token_pgp_encrypted"):
            raise VaultInputError("the custody file holds a PGP-encrypted root token; pass a token (vault_token) to "
                                  "configure the cluster")
        if not self.root_revoked:
            self.token = self.document["root_token"]
            return self.token
        keys = unseal_keys_from(self.document)
        if self.flavour == FLAVOUR_OPENBAO:
            credentials = self.document.get("root_generation")
            if not credentials:
                raise VaultStateError("the custody file says the root token was revoked but holds no root-generation "
                                      "login; pass vault_token to configure")
            self._login_token = login(self.make_client(None), credentials)
        self.token = generate_root(self.make_client(self._login_token), keys, self.flavour)
        self.generated = True
        return self.token

    def close(self, succeeded, check_mode=False):
        """Revoke what must not outlive the run; returns the names of what changed."""
        changes = []
        if self.generated:
            try:
                revoke_self(self.make_client(self.token))
            finally:
                if self._login_token:
                    revoke_self(self.make_client(self._login_token))
            return changes
        if not (self.revoke_root and succeeded and self.token and not self.root_revoked):
            return changes
        changes.append("revoke the initial root token")
        if check_mode:
            return changes
        root = self.make_client(self.token)
        if self.flavour == FLAVOUR_OPENBAO:
            # the way back in is saved before the root token goes
            self.document["root_generation"] = ensure_root_generation_login(root, self.password_factory())
            self.save(dict(self.document))
        revoke_self(root)
        self.document["root_token"] = ""
        self.document["root_token_revoked"] = True
        self.save(dict(self.document))
        return changes
