# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read one KV version 2 secret (the ``homelab.k3s.vault_kv`` lookup's logic).

API: ``GET /v1/<mount>/data/<path>[?version=N]`` answers
``{"data": {"data": {...}, "metadata": {...}}}``; a deleted or destroyed
version answers 404 with its metadata (upstream KV v2 API docs,
``website/content/docs/api/secret/kv/kv-v2.mdx`` "Read secret version").
Error messages name the secret and the field, never a value or the token.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class VaultKvError(Exception):
    """The secret or field cannot be read; the message says which and why."""


def split_term(term, mount=None):
    """``homelab/k3s`` -> (``homelab``, ``k3s``); with ``mount`` the whole term is the path."""
    term = (term or "").strip().strip("/")
    if mount:
        mount = mount.strip("/")
        if not mount or not term:
            raise VaultKvError("secret path %r in mount %r: both must be non-empty" % (term, mount))
        return mount, term
    if "/" not in term:
        raise VaultKvError("secret path %r has no mount: write it as <mount>/<path> (homelab/k3s) or give mount="
                           % term)
    first, rest = term.split("/", 1)
    return first, rest


def read_kv_secret(client, term, field=None, mount=None, version=None):
    """The data of a KV v2 secret, or one ``field`` of it; ``client`` is a VaultClient with a token."""
    mount, path = split_term(term, mount)
    name = "%s/%s" % (mount, path)
    if version is not None and (not isinstance(version, int) or version < 1):
        raise VaultKvError("secret %s: version is %r; it must be a whole number of at least 1" % (name, version))
    api_path = "%s/data/%s" % (mount, path)
    if version is not None:
        api_path += "?version=%d" % version
    status, answer = client.request("GET", api_path, ok=(200, 403, 404))
    if status == 403:
        raise VaultKvError("permission denied reading secret %s at %s: the token lacks read on %s/data/%s, or it "
                           "expired" % (name, client.url, mount, path))
    body = answer.get("data") if isinstance(answer, dict) else None
    if status == 404:
        metadata = (body or {}).get("metadata") or {}
        if metadata.get("destroyed"):
            raise VaultKvError("secret %s version %s is destroyed" % (name, metadata.get("version")))
        if metadata.get("deletion_time"):
            raise VaultKvError("secret %s version %s is deleted (since %s)"
                               % (name, metadata.get("version"), metadata["deletion_time"]))
        raise VaultKvError("secret %s not found at %s (no such path%s in KV v2 mount %s, or %s is not a KV v2 mount)"
                           % (name, client.url, " or version %d" % version if version else "", mount, mount))
    data = (body or {}).get("data")
    if not isinstance(data, dict):
        raise VaultKvError("secret %s: the answer has no data (is %s a KV version 2 mount?)" % (name, mount))
    if field is None:
        return data
    if field not in data:
        raise VaultKvError("secret %s has no field %r (its fields: %s)"
                           % (name, field, ", ".join(sorted(data)) or "none"))
    return data[field]
