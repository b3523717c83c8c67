"""In-memory stand-ins for KubernetesApi and the clock used by unit tests.

FakeApi enforces resourceVersion like the API server: POST of an existing
name and PUT/DELETE with a stale resourceVersion raise ConflictError.
FakeClock advances only when something sleeps (or a test calls advance()).
"""
import copy

from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import (
    ApiResponse, ConflictError, KindNotServedError,
)


class FakeClock(object):
    def __init__(self, wall=1_800_000_000.0):
        self.mono = 100.0
        self.wall0 = wall
        self.sleeps = []

    def monotonic(self):
        return self.mono

    def wall(self):
        return self.wall0 + self.mono

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds):
        self.mono += seconds


class FakeApi(object):
    def __init__(self, clock, served=None, send_date=True):
        self.clock = clock
        self.objects = {}
        self.rv = 0
        self.calls = []
        self.served = set(served or [("v1", "ConfigMap"), ("apiextensions.k8s.io/v1", "CustomResourceDefinition")])
        self.discovery_refreshes = 0
        self.send_date = send_date
        self.before_write = None  # hook: called before a write is applied (to simulate a race)

    def _resp(self, obj):
        return ApiResponse(copy.deepcopy(obj), self.clock.wall() if self.send_date else None)

    def _check_kind(self, api_version, kind):
        if (api_version, kind) not in self.served:
            raise KindNotServedError("%s %s" % (api_version, kind))

    def put_object(self, api_version, kind, obj):
        """Test helper: store an object as the server would (stamps rv)."""
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
        obj["metadata"].setdefault("generation", 1)
        key = (api_version, kind, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        self.objects[key] = obj
        return obj

    def get(self, api_version, kind, name, namespace=None):
        self.calls.append("get")
        self._check_kind(api_version, kind)
        return self._resp(self.objects.get((api_version, kind, namespace, name)))

    def list(self, api_version, kind, namespace=None, label_selector=None):
        self.calls.append("list")
        self._check_kind(api_version, kind)
        items = [o for (av, k, ns, _), o in sorted(self.objects.items(), key=lambda kv: str(kv[0]))
                 if av == api_version and k == kind and (namespace is None or ns == namespace)]
        return self._resp(items)

    def create(self, api_version, kind, body, namespace=None):
        self.calls.append("create")
        if self.before_write:
            self.before_write("create")
        key = (api_version, kind, namespace, body["metadata"]["name"])
        if key in self.objects:
            raise ConflictError("already exists")
        return self._resp(self.put_object(api_version, kind, body))

    def replace(self, api_version, kind, body, namespace=None):
        self.calls.append("replace")
        if self.before_write:
            self.before_write("replace")
        key = (api_version, kind, namespace, body["metadata"]["name"])
        current = self.objects.get(key)
        if current is None:
            raise ConflictError("deleted meanwhile")
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise ConflictError("stale resourceVersion")
        return self._resp(self.put_object(api_version, kind, body))

    def delete(self, api_version, kind, name, namespace=None, resource_version=None):
        self.calls.append("delete")
        key = (api_version, kind, namespace, name)
        current = self.objects.get(key)
        if current is None:
            return self._resp(None)
        if resource_version and resource_version != current["metadata"]["resourceVersion"]:
            raise ConflictError("precondition failed")
        del self.objects[key]
        return self._resp(current)

    def refresh_discovery(self):
        self.discovery_refreshes += 1

    def is_served(self, api_version, kind):
        return (api_version, kind) in self.served
