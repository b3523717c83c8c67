# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes API through ``kubectl`` (K3s's own ``k3s kubectl`` on a node).

Same methods and errors as :class:`KubernetesApi` (``get``, ``list``,
``create``, ``replace``, ``delete``, ``is_served``, ``refresh_discovery``), so
the logic in ``cluster_power`` and ``cluster_lock`` runs unchanged on a node
that has no ``kubernetes`` Python package: only Debian's ``python3`` and the
kubectl built into K3s.

Every call is a raw HTTP request (``kubectl get|create|replace|delete --raw``)
on the path the API server serves, with the JSON body on stdin, so the
semantics are those of the API itself: a PUT carries the ``resourceVersion``
that was read (409 Conflict when it changed), a create of an existing name is
409 AlreadyExists, and a DELETE can carry ``preconditions``. Kind-to-path
mapping comes from API discovery (``/api/v1``, ``/apis/<group>/<version>``).

kubectl does not show response headers, so responses carry no server time
(``server_time`` None): the lock then judges expiry by observation (see
``cluster_lock``) and writes times from the local clock.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import re
import subprocess

from urllib.parse import quote

from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import (
    ApiResponse, ConflictError, KindNotServedError, KubernetesApiError,
)

_ERROR = re.compile(r"Error from server \((?P<reason>[A-Za-z]+)\)")


def run_with_input(argv, stdin=None, timeout=None):
    """Default runner: ``argv`` without a shell, ``stdin`` text on standard input."""
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, "", "%s: %s" % (argv[0], exc)
    return proc.returncode, proc.stdout, proc.stderr


class KubectlApi(object):
    """``kubectl`` = the command as a list (default ``["k3s", "kubectl"]``),
    ``kubeconfig`` = path given with ``--kubeconfig`` (None: kubectl's default),
    ``runner(argv, stdin, timeout) -> (rc, stdout, stderr)``."""

    def __init__(self, kubectl=None, kubeconfig=None, runner=run_with_input, request_timeout=30):
        self.kubectl = list(kubectl or ["k3s", "kubectl"])
        self.kubeconfig = kubeconfig
        self.runner = runner
        self.request_timeout = request_timeout
        self.round_trips = 0
        self._discovery = {}

    # -- plumbing --------------------------------------------------------------
    def _kubectl(self, verb, path, body=None):
        argv = list(self.kubectl)
        if self.kubeconfig:
            argv += ["--kubeconfig", self.kubeconfig]
        argv += ["--request-timeout", "%ss" % self.request_timeout, verb, "--raw", path]
        if body is not None:
            argv += ["-f", "-"]
        self.round_trips += 1
        rc, out, err = self.runner(argv, None if body is None else json.dumps(body), self.request_timeout + 10)
        if rc == 0:
            return json.loads(out) if out.strip() else None
        match = _ERROR.search(err or "")
        reason = match.group("reason") if match else None
        message = (err or out or "").strip()[-500:]
        if reason in ("Conflict", "AlreadyExists"):
            raise ConflictError(message)
        if reason == "NotFound":
            raise _NotFound(message)
        raise KubernetesApiError("kubectl %s %s failed (exit %s): %s" % (verb, path, rc, message))

    def _group_path(self, api_version):
        return "/api/%s" % api_version if "/" not in api_version else "/apis/%s" % api_version

    def _resource(self, api_version, kind):
        if api_version not in self._discovery:
            try:
                listing = self._kubectl("get", self._group_path(api_version)) or {}
            except _NotFound:
                listing = {}
            self._discovery[api_version] = dict(
                (r["kind"], (r["name"], r.get("namespaced", False)))
                for r in listing.get("resources") or [] if "/" not in r["name"])
        found = self._discovery[api_version].get(kind)
        if found is None:
            raise KindNotServedError("%s %s is not served by the API server" % (api_version, kind))
        return found

    def _path(self, api_version, kind, namespace=None, name=None):
        plural, namespaced = self._resource(api_version, kind)
        path = self._group_path(api_version)
        if namespaced and namespace:
            path += "/namespaces/%s" % quote(namespace, safe="")
        path += "/" + plural
        if name:
            path += "/" + quote(name, safe="")
        return path

    # -- the KubernetesApi interface ---------------------------------------------
    def refresh_discovery(self):
        self._discovery = {}

    def is_served(self, api_version, kind):
        try:
            self._resource(api_version, kind)
            return True
        except KindNotServedError:
            return False

    def get(self, api_version, kind, name, namespace=None):
        try:
            return ApiResponse(self._kubectl("get", self._path(api_version, kind, namespace, name)))
        except _NotFound:
            return ApiResponse(None)

    def list(self, api_version, kind, namespace=None, label_selector=None):
        path = self._path(api_version, kind, namespace)
        if label_selector:
            path += "?labelSelector=" + quote(label_selector, safe="")
        return ApiResponse((self._kubectl("get", path) or {}).get("items") or [])

    def create(self, api_version, kind, body, namespace=None):
        return ApiResponse(self._kubectl("create", self._path(api_version, kind, namespace), body))

    def replace(self, api_version, kind, body, namespace=None):
        path = self._path(api_version, kind, namespace, body["metadata"]["name"])
        try:
            return ApiResponse(self._kubectl("replace", path, body))
        except _NotFound:
            raise ConflictError("%s %s was deleted meanwhile" % (kind, body["metadata"]["name"]))

    def delete(self, api_version, kind, name, namespace=None, resource_version=None):
        body = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if resource_version:
            body["preconditions"] = {"resourceVersion": resource_version}
        try:
            return ApiResponse(self._kubectl("delete", self._path(api_version, kind, namespace, name), body))
        except _NotFound:
            return ApiResponse(None)


class _NotFound(KubernetesApiError):
    """HTTP 404 (internal: turned into None or ConflictError by the callers)."""
