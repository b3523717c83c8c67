# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small HTTP client for the Vault / OpenBao API (both speak the same API).

Only what the vault role needs: ``sys/init``, ``sys/seal-status``,
``sys/unseal``, ``sys/health``, raft configuration, mounts, ACL policies,
auth methods and their config/roles. The transport is injectable: a callable
``transport(method, url, headers, body) -> (status, body_text)``; the default
one uses ``urllib`` with TLS verified against the CA file given. Tests pass a
fake transport and need no server.

Secrets (unseal keys, tokens) travel in request bodies or the
``X-Vault-Token`` header only, never in a URL, and are never part of an
exception message.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import ssl

try:
    from urllib.request import Request, build_opener, HTTPSHandler, HTTPHandler
    from urllib.error import HTTPError, URLError
except ImportError:  # pragma: no cover - Python 2 is not supported by the collection
    Request = build_opener = HTTPSHandler = HTTPHandler = HTTPError = URLError = None


class VaultApiError(Exception):
    """The API answered with an unexpected status, or could not be reached.

    ``status`` is the HTTP status (``None`` when nothing answered) and
    ``errors`` the ``errors`` list of the answer (Vault's error texts, which
    never contain the request's secrets).
    """

    def __init__(self, msg, status=None, errors=None):
        super(VaultApiError, self).__init__(msg)
        self.status = status
        self.errors = errors or []


def urllib_transport(ca_file=None, timeout=10, verify=True):
    """Return a transport that speaks HTTP(S) through urllib.

    ``ca_file`` is the PEM file of the CA that signed the servers' certificates;
    host names are checked against the certificate (the URL's host must be one
    of its SANs).
    """
    context = ssl.create_default_context(cafile=ca_file) if verify else ssl._create_unverified_context()
    opener = build_opener(HTTPSHandler(context=context), HTTPHandler())

    def transport(method, url, headers, body):
        data = body.encode("utf-8") if body is not None else None
        request = Request(url, data=data, headers=headers, method=method)
        try:
            response = opener.open(request, timeout=timeout)
            return response.getcode(), response.read().decode("utf-8")
        except HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace")
        except (URLError, OSError, ssl.SSLError) as err:
            reason = getattr(err, "reason", err)
            raise VaultApiError("%s %s: %s" % (method, _without_query(url), reason))

    return transport


def _without_query(url):
    return url.split("?", 1)[0]


class VaultClient(object):
    """One API endpoint (``https://node:8200``) with an optional token.

    Statuses listed in ``ok`` are returned to the caller; anything else
    raises :class:`VaultApiError`.
    """

    def __init__(self, url, transport, token=None):
        self.url = url.rstrip("/")
        self.transport = transport
        self.token = token

    def request(self, method, path, body=None, ok=(200, 204), token=True):
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token and self.token:
            headers["X-Vault-Token"] = self.token
        url = "%s/v1/%s" % (self.url, path.lstrip("/"))
        status, text = self.transport(method, url, headers, json.dumps(body) if body is not None else None)
        try:
            data = json.loads(text) if text and text.strip() else {}
        except ValueError:
            data = {"errors": [text.strip()[:200]]}
        if status not in ok:
            errors = data.get("errors", []) if isinstance(data, dict) else []
            raise VaultApiError("%s %s answered %s: %s" % (method, path, status, "; ".join(errors) or "no error text"),
                                status=status, errors=errors)
        return status, data

    # --- unauthenticated endpoints -------------------------------------------------
    def init_status(self):
        return self.request("GET", "sys/init", token=False)[1]["initialized"]

    def initialize(self, shares, threshold, pgp_keys=None, root_token_pgp_key=None):
        body = {"secret_shares": shares, "secret_threshold": threshold}
        if pgp_keys:
            body["pgp_keys"] = list(pgp_keys)
        if root_token_pgp_key:
            body["root_token_pgp_key"] = root_token_pgp_key
        return self.request("PUT", "sys/init", body, ok=(200,), token=False)[1]

    def seal_status(self):
        return self.request("GET", "sys/seal-status", token=False)[1]

    def unseal(self, key):
        return self.request("PUT", "sys/unseal", {"key": key}, ok=(200,), token=False)[1]

    def health(self):
        """``sys/health`` with every documented status accepted; returns (status, body)."""
        return self.request("GET", "sys/health", ok=(200, 429, 472, 473, 501, 503), token=False)

    # --- authenticated endpoints ---------------------------------------------------
    def read(self, path):
        """GET a path; ``None`` when it does not exist (404)."""
        status, data = self.request("GET", path, ok=(200, 404))
        return None if status == 404 else data

    def write(self, path, body):
        return self.request("POST", path, body, ok=(200, 204))[1]

    def raft_servers(self):
        data = self.request("GET", "sys/storage/raft/configuration")[1]
        return data["data"]["config"]["servers"]

    def mounts(self):
        data = self.request("GET", "sys/mounts")[1]
        return data.get("data", data)

    def auth_methods(self):
        data = self.request("GET", "sys/auth")[1]
        return data.get("data", data)
