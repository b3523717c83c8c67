# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny Kubernetes API client for the K3s stand-in (standard library only)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import ssl
import urllib.error
import urllib.request


class ApiFailure(Exception):
    """An API call failed: ``status`` is the HTTP status (0 = not reachable)."""

    def __init__(self, status, message):
        super(ApiFailure, self).__init__("%s %s" % (status, message))
        self.status = status


class Api:
    """Bearer-token client; TLS is not verified (the stand-in's own certificate)."""

    def __init__(self, url, token, timeout=5.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE

    def call(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise ApiFailure(exc.code, exc.read().decode(errors="replace"))
        except (OSError, ValueError) as exc:
            raise ApiFailure(0, str(exc))
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return raw.decode(errors="replace")

    def get(self, path):
        return self.call("GET", path)

    def get_text(self, path):
        """GET a plain-text document (``/cacerts``)."""
        result = self.call("GET", path)
        return result if isinstance(result, str) else json.dumps(result)

    def merge_patch(self, path, body):
        return self.call("PATCH", path, body, "application/merge-patch+json")

    def resource_path(self, api_version, kind, namespace=None):
        """Find the plural of ``kind`` through discovery; return the collection path."""
        base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
        for resource in self.get(base).get("resources", []):
            if resource.get("kind") == kind and "/" not in resource["name"]:
                if resource.get("namespaced"):
                    return "%s/namespaces/%s/%s" % (base, namespace or "default", resource["name"])
                return "%s/%s" % (base, resource["name"])
        raise ApiFailure(404, "no resource of kind %s in %s" % (kind, api_version))

    def apply(self, obj):
        """Create ``obj`` or replace its spec/metadata (what the K3s deploy controller does)."""
        meta = obj.get("metadata", {})
        collection = self.resource_path(obj["apiVersion"], obj["kind"], meta.get("namespace"))
        try:
            current = self.get("%s/%s" % (collection, meta["name"]))
        except ApiFailure as exc:
            if exc.status != 404:
                raise
            return self.call("POST", collection, obj)
        body = dict(obj)
        body["metadata"] = dict(meta, resourceVersion=current["metadata"]["resourceVersion"])
        return self.call("PUT", "%s/%s" % (collection, meta["name"]), body)
