"""An ``ObjectStore`` whose state lives in a key-value store with compare-and-swap (etcd).

Every API call is one optimistic transaction: read the state key (a linearizable read, so it needs
the etcd quorum), run the call on that state, and if it changed anything write the state back with
a compare on the revision that was read; on a conflict (another API server wrote in between) the
call is run again on the new state. So every API server backed by the same etcd serves the same
objects, and without quorum every call fails with 503.

The whole object set is one JSON value under one key (a real kube-apiserver stores one key per
object): simple and correct for the few hundred objects of a test cluster.

``kv`` needs ``get(key) -> (bytes or None, mod_revision)`` and ``put_if(key, bytes, mod_revision)
-> new revision or 0`` (mod_revision 0 = only if absent), and may raise an exception with an
``unavailable`` attribute (see ``k3s_standin.etcd.EtcdClient``).
"""
import json
import time

from .store import ApiError, BUILTIN_TYPES, CRD_GROUP, ObjectStore

STATE_KEY = "/registry/k3s-standin/state"
_ATOMIC = ("get", "list", "create", "update", "patch", "delete", "get_subresource", "served_types",
           "reconcile", "set_crd_established")


class KvObjectStore(ObjectStore):
    """The emulator's store, kept in ``kv`` (see the module docstring)."""

    def __init__(self, kv, clock=time.time, establish_delay=0.0, k3s=True, key=STATE_KEY, retries=20):
        self.kv = kv
        self.key = key
        self.retries = retries
        self._rev = None
        self._dirty = False
        self._depth = 1             # seeding the defaults below is local until written
        super().__init__(clock=clock, establish_delay=establish_delay, k3s=k3s, state_file=None)
        self._depth = 0
        with self.lock:
            value, rev = self._read()
            if value is None:
                rev = self._write(0)
                if not rev:              # another server seeded it first
                    self._rev = None
                    self._sync()
                    return
                self._rev = rev
            else:
                self._apply(value, rev)

    # -- state <-> kv --------------------------------------------------------
    def _state(self):
        return {"resourceVersion": self.rv, "pendingCrds": self.pending_crds,
                "objects": [{"key": list(k), "object": v} for k, v in self.objects.items()]}

    def _apply(self, value, rev):
        state = json.loads(value)
        self.objects = {}
        self.types = {(t.group, t.plural): t for t in BUILTIN_TYPES}
        self.rv = state["resourceVersion"]
        self.pending_crds = state.get("pendingCrds", {})
        for item in state["objects"]:
            group, plural, ns, name = item["key"]
            self.objects[(group, plural, ns, name)] = item["object"]
        for (group, plural, dummy_ns, dummy_name), obj in list(self.objects.items()):
            if (group, plural) == (CRD_GROUP, "customresourcedefinitions"):
                self._register_crd(obj)
        self._rev = rev

    def _unavailable(self, exc):
        if getattr(exc, "unavailable", True):
            return ApiError(503, "ServiceUnavailable", "etcd is unavailable: %s" % exc)
        return ApiError(500, "InternalError", "etcd refused the request: %s" % exc)

    def _read(self):
        try:
            return self.kv.get(self.key)
        except Exception as exc:  # pylint: disable=broad-except
            raise self._unavailable(exc) from exc

    def _write(self, rev):
        try:
            return self.kv.put_if(self.key, json.dumps(self._state()).encode(), rev)
        except Exception as exc:  # pylint: disable=broad-except
            self._rev = None
            raise self._unavailable(exc) from exc

    def _sync(self):
        value, rev = self._read()
        if value is None:
            raise ApiError(503, "ServiceUnavailable", "the cluster state is missing from etcd")
        if rev != self._rev:
            self._apply(value, rev)

    def _save(self):
        self._dirty = True          # written at the end of the transaction (see _atomic)

    def health(self):
        """None when the state can be read with quorum, else the reason."""
        try:
            with self.lock:
                self._sync()
        except ApiError as exc:
            return exc.message
        return None


def _atomic(name):
    base = getattr(ObjectStore, name)

    def method(self, *args, **kwargs):
        with self.lock:
            if self._depth:
                return base(self, *args, **kwargs)
            for dummy in range(self.retries):
                self._sync()
                self._dirty = False
                self._depth += 1
                try:
                    result = base(self, *args, **kwargs)
                except Exception:
                    if self._dirty:
                        self._rev = None    # half-applied: reload on the next call
                    raise
                finally:
                    self._depth -= 1
                if not self._dirty:
                    return result
                rev = self._write(self._rev)
                if rev:
                    self._rev = rev
                    return result
                self._rev = None            # lost the race: run the call again on fresh state
            raise ApiError(409, "Conflict", "too many concurrent writers, try again")
    method.__name__ = name
    method.__doc__ = base.__doc__
    return method


for _name in _ATOMIC:
    setattr(KvObjectStore, _name, _atomic(_name))
