"""The HTTP face of the emulator: a kmock handler that serves the store.

kmock gives us the aiohttp plumbing, the request log (``handler.requests``
style iteration) and its DSL, so tests can still inject faults in front of
the emulation, e.g. ``emulator['put', kmock.resource('', 'v1', 'configmaps')] << 500``.
Everything Kubernetes-specific (paths, verbs, discovery, errors, Date) is here.
"""
import email.utils
import json
import time
import traceback

import aiohttp.web
import attrs
import kmock

from .store import ApiError, ObjectStore

SERVER_VERSION = {"major": "1", "minor": "33", "gitVersion": "v1.33.5+k3s1-emulator",
                  "gitCommit": "0000000", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                  "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64"}


def parse_path(path):
    """``(group, version, namespace, plural, name, subresource)`` or None.

    Unlike kmock's generic parser this knows that ``/api/v1/namespaces/x`` is
    the Namespace ``x`` and not the start of a namespaced path.
    """
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    sub = "/".join(rest[2:]) or None
    return group, version, namespace, plural, name, sub


@attrs.define(kw_only=True)
class KubernetesApiEmulator(kmock.RawHandler):
    """A Kubernetes API server emulator built on kmock.

    ``store`` holds the objects; ``token`` (if set) is required as a bearer
    token; ``clock`` is the server clock used for ``Date`` headers and
    timestamps (tests shift it to simulate clock skew).
    """

    store: ObjectStore = attrs.field(factory=ObjectStore)
    token: str | None = None
    clock_offset: float = 0.0
    # Extra endpoints (the K3s supervisor's, served on the same port): path -> (function(request)
    # returning (status, payload), public). Public ones need no token (K3s ``/cacerts``).
    routes: dict = attrs.field(factory=dict)
    # Paths served to requests without credentials (kube-apiserver's anonymous authenticator with
    # path conditions); a request that presents a wrong token is still refused.
    anonymous_paths: tuple = ()

    def __attrs_post_init__(self):
        self.store.clock = self.now
        self.fallback << self._serve

    def now(self):
        return time.time() + self.clock_offset

    def _date(self):
        return email.utils.formatdate(self.now(), usegmt=True)

    def _json(self, payload, status=200):
        return kmock.Response(status=status, headers={"Date": self._date()}, payload=payload)

    async def _render_error(self, exc):
        if isinstance(exc, ApiError):
            code, reason, message, details = exc.code, exc.reason, exc.message, exc.details
            if self._errors:  # expected API errors are answers, not test failures
                self._errors[-1][:] = [e for e in self._errors[-1] if e is not exc]
        else:
            code, reason, message = 500, "InternalError", repr(exc)
            details = {"causes": [{"message": traceback.format_exc()}]}
        body = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "details": details, "code": code}
        return aiohttp.web.json_response(body, status=code, headers={"Date": self._date()})

    async def __call__(self, raw_request):
        """Parse the request the Kubernetes way, then let kmock route it.

        kmock's own parser reads ``/api/v1/namespaces/x`` as a namespace
        prefix (and fails on ``/api/v1/namespaces``), so the request is built
        here with :func:`parse_path`; reactions, the request log and error
        rendering are kmock's.
        """
        body = await raw_request.read()
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        parsed = parse_path(raw_request.path)
        group, version, namespace, plural, name, sub = parsed or (None,) * 6
        action = None
        if parsed:
            method = raw_request.method.upper()
            if method == "GET":
                action = kmock.action.WATCH if raw_request.query.get("watch") == "true" else (
                    kmock.action.FETCH if name else kmock.action.LIST)
            else:
                action = {"POST": kmock.action.CREATE, "PUT": kmock.action.UPDATE,
                          "PATCH": kmock.action.UPDATE, "DELETE": kmock.action.DELETE}.get(method)
        request = kmock.Request(
            id=len(self._requests), raw_request=raw_request, url=raw_request.url, method=raw_request.method,
            params=dict(raw_request.query), headers=dict(raw_request.headers), cookies=dict(raw_request.cookies),
            body=body, text=body.decode("utf-8", "replace"), data=data, action=action,
            resource=kmock.resource(group=group, version=version, plural=plural) if parsed else None,
            namespace=namespace, name=name, subresource=sub)
        self._requests.append(request)
        try:
            return await self._handle(request)
        except Exception as exc:  # pylint: disable=broad-except
            if self._errors:
                self._errors[-1].append(exc)
            return await self._render_error(exc)

    # -- dispatch --------------------------------------------------------------
    def _serve(self, request):
        if len(self._requests) > 10000:  # bounded request log for long-running use
            del self._requests[:5000]
        path = request.url.path.rstrip("/") or "/"
        route = self.routes.get(path)
        if route and route[1]:
            return self._json(*reversed(route[0](request)))
        auth = request.headers.get("Authorization")
        anonymous = auth is None and path in self.anonymous_paths
        if self.token and auth != "Bearer " + self.token and not anonymous:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        if route:
            return self._json(*reversed(route[0](request)))
        method = str(request.method.value if hasattr(request.method, "value") else request.method).upper()
        if method == "GET" and path.split("/")[1:2] in (["healthz"], ["readyz"], ["livez"]):
            return self._health(path)
        if method == "GET":
            discovery = self._discovery(path)
            if discovery is not None:
                return self._json(discovery)
        parsed = parse_path(path)
        if parsed is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        group, version, namespace, plural, name, sub = parsed
        params = request.params
        store = self.store
        if method == "GET" and params.get("watch") in ("true", "1"):
            raise ApiError(405, "MethodNotAllowed", "watch is not supported by the emulator")
        if method == "GET" and name is None:
            return self._json(store.list(group, plural, namespace, version, params.get("labelSelector"),
                                         params.get("fieldSelector")))
        if method == "GET" and sub:
            return self._json(store.get_subresource(group, plural, namespace, name, sub, version))
        if method == "GET":
            return self._json(store.get(group, plural, namespace, name, version))
        if method == "POST" and name is None:
            return self._json(store.create(group, plural, namespace, request.data, version), 201)
        if method == "PUT" and name:
            return self._json(store.update(group, plural, namespace, name, request.data, version, sub))
        if method == "PATCH" and name:
            ctype = request.headers.get("Content-Type", "")
            return self._json(store.patch(group, plural, namespace, name, request.data, ctype, version, sub))
        if method == "DELETE" and name:
            return self._json(store.delete(group, plural, namespace, name, request.data, version))
        raise ApiError(405, "MethodNotAllowed", "%s is not supported on %s" % (method, path))

    def _health(self, path):
        """``/readyz``, ``/livez``, ``/healthz`` and their ``/etcd`` check, as kube-apiserver answers them."""
        check = getattr(self.store, "health", None)
        problem = check() if check else None
        parts = path.split("/")[2:]
        if parts not in ([], ["etcd"]):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if problem is None:
            return kmock.Response(status=200, headers={"Date": self._date()}, payload="ok")
        text = ("[-]etcd failed: %s\n%s check failed" % (problem, parts and "etcd" or path.strip("/")))
        return kmock.Response(status=500, headers={"Date": self._date()}, payload=text)

    def _discovery(self, path):
        types = self.store.served_types()
        if path == "/version":
            return SERVER_VERSION
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}
        groups = {}
        for t in types:
            if t.group:
                groups.setdefault(t.group, [])
                for v in t.versions:
                    if v not in groups[t.group]:
                        groups[t.group].append(v)

        def group_doc(name):
            versions = groups[name]
            return {"name": name, "versions": [{"groupVersion": "%s/%s" % (name, v), "version": v} for v in versions],
                    "preferredVersion": {"groupVersion": "%s/%s" % (name, versions[0]), "version": versions[0]}}
        if path == "/apis":
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group_doc(g) for g in sorted(groups)]}
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2 and parts[0] == "apis":
            if parts[1] not in groups:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return dict(group_doc(parts[1]), kind="APIGroup", apiVersion="v1")
        if (len(parts) == 2 and parts[0] == "api") or (len(parts) == 3 and parts[0] == "apis"):
            group = "" if parts[0] == "api" else parts[1]
            version = parts[-1]
            resources = [entry for t in types if t.group == group and version in t.versions
                         for entry in t.discovery()]
            if not resources:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            gv = "%s/%s" % (group, version) if group else version
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
        return None
