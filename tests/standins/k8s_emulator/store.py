"""In-memory Kubernetes object store with the API server semantics the tests need.

Pure Python (no HTTP): resourceVersion stamping, conditional writes (409 on a
stale resourceVersion), delete preconditions, generation bumps on spec
changes, status and scale subresources, CRDs that become Established and
register their kinds, label/field selectors, and optional JSON persistence.
"""
import copy
import json
import os
import re
import threading
import time
import uuid

import jsonpatch

CRD_GROUP = "apiextensions.k8s.io"


class ApiError(Exception):
    """An error the HTTP layer renders as a Kubernetes ``Status``."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}


class ResourceType:
    def __init__(self, group, version, plural, kind, namespaced, subresources=(), versions=None,
                 short_names=(), crd_name=None):
        self.group = group
        self.version = version          # preferred/storage version
        self.versions = list(versions or [version])
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.subresources = tuple(subresources)
        self.short_names = list(short_names)
        self.crd_name = crd_name

    def api_version(self, version=None):
        version = version or self.version
        return "%s/%s" % (self.group, version) if self.group else version

    def discovery(self):
        verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update"]
        entries = [{"name": self.plural, "singularName": self.kind.lower(), "namespaced": self.namespaced,
                    "kind": self.kind, "verbs": verbs, "shortNames": self.short_names}]
        for sub in self.subresources:
            entry = {"name": "%s/%s" % (self.plural, sub), "singularName": "", "namespaced": self.namespaced,
                     "kind": self.kind, "verbs": ["get", "patch", "update"]}
            if sub == "scale":
                entry.update(kind="Scale", group="autoscaling", version="v1")
            entries.append(entry)
        return entries


BUILTIN_TYPES = [
    ResourceType("", "v1", "namespaces", "Namespace", False, ["status"], short_names=["ns"]),
    ResourceType("", "v1", "nodes", "Node", False, ["status"], short_names=["no"]),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, short_names=["cm"]),
    ResourceType("", "v1", "secrets", "Secret", True),
    ResourceType("", "v1", "services", "Service", True, ["status"], short_names=["svc"]),
    ResourceType("", "v1", "pods", "Pod", True, ["status"], short_names=["po"]),
    ResourceType("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["status"], short_names=["pvc"]),
    ResourceType("", "v1", "persistentvolumes", "PersistentVolume", False, ["status"], short_names=["pv"]),
    ResourceType("apps", "v1", "deployments", "Deployment", True, ["status", "scale"], short_names=["deploy"]),
    ResourceType("apps", "v1", "statefulsets", "StatefulSet", True, ["status", "scale"], short_names=["sts"]),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, ["status"], short_names=["ds"]),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
    ResourceType("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", False, ["status"]),
    ResourceType(CRD_GROUP, "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
                 ["status"], short_names=["crd"]),
]

# Objects without a metadata.generation in a real API server.
NO_GENERATION = {"", "coordination.k8s.io"}
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def k3s_crds():
    """The CRDs K3s installs itself (helm-controller)."""
    def crd(plural, kind):
        return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "%s.helm.cattle.io" % plural},
                "spec": {"group": "helm.cattle.io", "scope": "Namespaced",
                         "names": {"plural": plural, "singular": kind.lower(), "kind": kind,
                                   "listKind": kind + "List"},
                         "versions": [{"name": "v1", "served": True, "storage": True,
                                       "subresources": {"status": {}}}]}}
    return [crd("helmcharts", "HelmChart"), crd("helmchartconfigs", "HelmChartConfig")]


def _rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _spec_part(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _match_labels(labels, selector):
    for term in filter(None, (t.strip() for t in (selector or "").split(","))):
        m = re.match(r"^(!?)([\w./-]+)\s*(?:(==|=|!=)\s*(.*))?$", term)
        if not m:
            raise ApiError(400, "BadRequest", "unable to parse requirement: %s" % term)
        neg, key, op, value = m.groups()
        if op is None:
            if bool(neg) == (key in labels):
                return False
        elif op == "!=":
            if labels.get(key) == value:
                return False
        elif labels.get(key) != value:
            return False
    return True


class ObjectStore:
    """Thread-safe object store. ``clock`` returns epoch seconds (the API
    server's clock: used for timestamps and CRD establishment)."""

    def __init__(self, clock=time.time, establish_delay=0.0, k3s=True, state_file=None):
        self.clock = clock
        self.establish_delay = establish_delay
        self.state_file = state_file
        self.lock = threading.RLock()
        self.rv = 0
        self.objects = {}          # (group, plural, namespace, name) -> obj
        self.pending_crds = {}     # crd name -> epoch when it becomes Established
        self.types = {(t.group, t.plural): t for t in BUILTIN_TYPES}
        # kind -> function(object) -> [problems]: schema checks a real API server would make (422 Invalid).
        self.validators = {}
        if state_file and os.path.exists(state_file):
            self._load()
        else:
            for ns in DEFAULT_NAMESPACES:
                self.create("", "namespaces", None, {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": ns}, "status": {"phase": "Active"}})
            if k3s:
                delay, self.establish_delay = self.establish_delay, 0
                for crd in k3s_crds():
                    self.create(CRD_GROUP, "customresourcedefinitions", None, crd)
                self.establish_delay = delay

    # -- persistence -------------------------------------------------------
    def _load(self):
        with open(self.state_file) as f:
            state = json.load(f)
        self.rv = state["resourceVersion"]
        self.pending_crds = state.get("pendingCrds", {})
        for item in state["objects"]:
            group, plural, ns, name = item["key"]
            self.objects[(group, plural, ns, name)] = item["object"]
        for (group, plural, dummy_ns, dummy_name), obj in list(self.objects.items()):
            if (group, plural) == (CRD_GROUP, "customresourcedefinitions"):
                self._register_crd(obj)

    def _save(self):
        if not self.state_file:
            return
        state = {"resourceVersion": self.rv, "pendingCrds": self.pending_crds,
                 "objects": [{"key": list(k), "object": v} for k, v in self.objects.items()]}
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, self.state_file)

    # -- types -------------------------------------------------------------
    def resource_type(self, group, version, plural):
        rtype = self.types.get((group, plural))
        if rtype is None or version not in rtype.versions:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return rtype

    def served_types(self):
        with self.lock:
            self.reconcile()
            return list(self.types.values())

    def _register_crd(self, crd):
        conds = {c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions") or []}
        spec = crd["spec"]
        key = (spec["group"], spec["names"]["plural"])
        if conds.get("Established") != "True":
            return
        versions = [v["name"] for v in spec.get("versions", []) if v.get("served", True)]
        storage = [v["name"] for v in spec.get("versions", []) if v.get("storage")] or versions
        subs = []
        for v in spec.get("versions", []):
            subs.extend((v.get("subresources") or {}).keys())
        self.types[key] = ResourceType(spec["group"], storage[0], spec["names"]["plural"], spec["names"]["kind"],
                                       spec.get("scope", "Namespaced") == "Namespaced", sorted(set(subs)),
                                       versions=versions, short_names=spec["names"].get("shortNames", []),
                                       crd_name=crd["metadata"]["name"])

    def _crd_status(self, crd, established):
        spec = crd["spec"]
        names = spec["names"]
        conflict = any(other["spec"]["group"] == spec["group"] and other["metadata"]["name"] != crd["metadata"]["name"]
                       and (other["spec"]["names"]["plural"] == names["plural"]
                            or other["spec"]["names"]["kind"] == names["kind"])
                       for (g, p, dummy_ns, dummy_name), other in self.objects.items()
                       if (g, p) == (CRD_GROUP, "customresourcedefinitions"))
        now = _rfc3339(self.clock())
        accepted = {"type": "NamesAccepted", "status": "False" if conflict else "True", "lastTransitionTime": now,
                    "reason": "NameConflict" if conflict else "NoConflicts",
                    "message": "name conflict" if conflict else "no conflicts found"}
        est = {"type": "Established", "status": "True" if established and not conflict else "False",
               "lastTransitionTime": now,
               "reason": "InitialNamesAccepted" if established and not conflict else "Installing",
               "message": "the initial names have been accepted" if established else "the CRD is being installed"}
        crd["status"] = {"conditions": [accepted, est], "acceptedNames": names if not conflict else {},
                         "storedVersions": [v["name"] for v in spec.get("versions", []) if v.get("storage")]}

    def reconcile(self):
        """Promote CRDs whose establish delay has passed (called on every request)."""
        now = self.clock()
        for name, when in list(self.pending_crds.items()):
            if when is not None and when <= now:
                self.set_crd_established(name)

    def set_crd_established(self, name, established=True):
        """Test hook: mark a CRD Established (or not) now."""
        with self.lock:
            key = (CRD_GROUP, "customresourcedefinitions", None, name)
            crd = self.objects[key]
            self._crd_status(crd, established)
            self.pending_crds.pop(name, None)
            self._stamp(crd)
            if established:
                self._register_crd(crd)
            self._save()

    # -- helpers -------------------------------------------------------------
    def _validate(self, rtype, obj):
        check = self.validators.get(rtype.kind)
        problems = check(dict(obj, apiVersion=obj.get("apiVersion") or rtype.api_version(), kind=rtype.kind)) \
            if check else []
        if problems:
            name = (obj.get("metadata") or {}).get("name")
            raise ApiError(422, "Invalid", '%s.%s "%s" is invalid: %s'
                           % (rtype.kind, rtype.group, name, "; ".join(problems)))

    def _stamp(self, obj):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)

    def _view(self, rtype, obj, version=None):
        out = copy.deepcopy(obj)
        out["apiVersion"] = rtype.api_version(version)
        out["kind"] = rtype.kind
        return out

    def _key(self, rtype, namespace, name):
        return (rtype.group, rtype.plural, namespace if rtype.namespaced else None, name)

    def _existing(self, rtype, namespace, name):
        obj = self.objects.get(self._key(rtype, namespace, name))
        if obj is None:
            raise ApiError(404, "NotFound", '%s "%s" not found' % (rtype.plural, name),
                           {"name": name, "group": rtype.group, "kind": rtype.plural})
        return obj

    def _check_namespace(self, rtype, namespace):
        if rtype.namespaced:
            if not namespace:
                raise ApiError(400, "BadRequest", "a namespace is required for %s" % rtype.plural)
            if ("", "namespaces", None, namespace) not in self.objects:
                raise ApiError(404, "NotFound", 'namespaces "%s" not found' % namespace,
                               {"name": namespace, "kind": "namespaces"})

    # -- verbs ---------------------------------------------------------------
    def get(self, group, plural, namespace, name, version=None):
        with self.lock:
            self.reconcile()
            rtype = self.resource_type(group, version or self.types.get((group, plural), BUILTIN_TYPES[0]).version, plural)
            return self._view(rtype, self._existing(rtype, namespace, name), version)

    def list(self, group, plural, namespace=None, version=None, label_selector=None, field_selector=None):
        with self.lock:
            self.reconcile()
            rtype = self.resource_type(group, version or self.types.get((group, plural), BUILTIN_TYPES[0]).version, plural)
            fields = dict(t.split("=", 1) for t in (field_selector or "").replace("==", "=").split(",") if "=" in t)
            items = []
            for (g, p, ns, name), obj in sorted(self.objects.items(), key=lambda kv: str(kv[0])):
                if (g, p) != (rtype.group, rtype.plural) or (namespace and ns != namespace):
                    continue
                if not _match_labels(obj["metadata"].get("labels") or {}, label_selector):
                    continue
                if fields.get("metadata.name", name) != name or fields.get("metadata.namespace", ns) != ns:
                    continue
                items.append(self._view(rtype, obj, version))
            return {"apiVersion": rtype.api_version(version), "kind": rtype.kind + "List",
                    "metadata": {"resourceVersion": str(self.rv)}, "items": items}

    def create(self, group, plural, namespace, body, version=None):
        with self.lock:
            self.reconcile()
            rtype = self.resource_type(group, version or self.types.get((group, plural), BUILTIN_TYPES[0]).version, plural)
            obj = copy.deepcopy(body or {})
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            if not meta.get("name"):
                raise ApiError(422, "Invalid", "%s: metadata.name: Required value" % rtype.kind)
            if rtype.namespaced:
                if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                    raise ApiError(400, "BadRequest", "the namespace of the provided object does not match "
                                   "the namespace sent on the request")
                namespace = namespace or meta.get("namespace")
                self._check_namespace(rtype, namespace)
                meta["namespace"] = namespace
            else:
                meta.pop("namespace", None)
            key = self._key(rtype, namespace, meta["name"])
            if key in self.objects:
                raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (rtype.plural, meta["name"]),
                               {"name": meta["name"], "group": rtype.group, "kind": rtype.plural})
            if meta.get("resourceVersion"):
                raise ApiError(422, "Invalid", "resourceVersion should not be set on objects to be created")
            self._validate(rtype, obj)
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=_rfc3339(self.clock()))
            for transient in ("deletionTimestamp", "managedFields"):
                meta.pop(transient, None)
            if rtype.group not in NO_GENERATION:
                meta["generation"] = 1
            obj["apiVersion"], obj["kind"] = rtype.api_version(), rtype.kind
            if (group, plural) == (CRD_GROUP, "customresourcedefinitions"):
                self.objects[key] = obj
                established = self.establish_delay is not None and self.establish_delay <= 0
                self._crd_status(obj, established)
                if not established:
                    self.pending_crds[meta["name"]] = (None if self.establish_delay is None
                                                       else self.clock() + self.establish_delay)
            if rtype.kind in ("Deployment", "StatefulSet"):
                self._run_workload_controller(obj)
            self._stamp(obj)
            self.objects[key] = obj
            if (group, plural) == (CRD_GROUP, "customresourcedefinitions"):
                self._register_crd(obj)
            self._save()
            return self._view(rtype, obj, version)

    def _run_workload_controller(self, obj):
        """Deployments/StatefulSets: pretend the controller converged at once."""
        replicas = (obj.get("spec") or {}).get("replicas", 1)
        obj.setdefault("spec", {})["replicas"] = replicas
        obj["status"] = dict(obj.get("status") or {}, replicas=replicas, readyReplicas=replicas,
                             availableReplicas=replicas, updatedReplicas=replicas,
                             observedGeneration=obj["metadata"].get("generation", 1))

    def update(self, group, plural, namespace, name, body, version=None, subresource=None):
        """PUT semantics: the body replaces the object (or its status/scale)."""
        with self.lock:
            self.reconcile()
            rtype = self.resource_type(group, version or self.types.get((group, plural), BUILTIN_TYPES[0]).version, plural)
            if subresource and subresource not in rtype.subresources:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            current = self._existing(rtype, namespace, name)
            body = copy.deepcopy(body or {})
            meta = body.get("metadata") or {}
            if meta.get("name") and meta["name"] != name:
                raise ApiError(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)"
                               % (meta["name"], name))
            sent_rv = meta.get("resourceVersion")
            if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict",
                               'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                               "please apply your changes to the latest version and try again" % (rtype.plural, name),
                               {"name": name, "group": rtype.group, "kind": rtype.plural})
            new = copy.deepcopy(current)
            if subresource == "status":
                new["status"] = body.get("status")
            elif subresource == "scale":
                new.setdefault("spec", {})["replicas"] = int((body.get("spec") or {}).get("replicas", 0))
            else:
                keep_meta = {k: current["metadata"][k] for k in ("uid", "creationTimestamp", "generation",
                                                                 "deletionTimestamp", "namespace", "name")
                             if k in current["metadata"]}
                new = {k: v for k, v in body.items() if k != "status"}
                new["metadata"] = dict(meta, **keep_meta)
                if "status" in rtype.subresources:
                    if "status" in current:
                        new["status"] = current["status"]
                elif "status" in body:
                    new["status"] = body["status"]
            if rtype.group not in NO_GENERATION and _spec_part(new) != _spec_part(current):
                new["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
            if rtype.kind in ("Deployment", "StatefulSet") and subresource != "status":
                self._run_workload_controller(new)
            new["apiVersion"], new["kind"] = rtype.api_version(), rtype.kind
            if subresource is None:
                self._validate(rtype, new)
            self._stamp(new)
            key = self._key(rtype, namespace, name)
            if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
                del self.objects[key]
            else:
                self.objects[key] = new
            if rtype.kind == "CustomResourceDefinition":
                self._register_crd(new)
            self._save()
            if subresource == "scale":
                return self.scale_view(rtype, new)
            return self._view(rtype, new, version)

    def patch(self, group, plural, namespace, name, patch, content_type, version=None, subresource=None):
        with self.lock:
            rtype = self.resource_type(group, version or self.types.get((group, plural), BUILTIN_TYPES[0]).version, plural)
            current = self._existing(rtype, namespace, name)
            base = self.scale_view(rtype, current) if subresource == "scale" else self._view(rtype, current, version)
            if "json-patch" in (content_type or ""):
                try:
                    patched = jsonpatch.apply_patch(base, patch)
                except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                    raise ApiError(422, "Invalid", "json patch failed: %s" % exc)
            else:  # merge-patch and strategic-merge-patch (treated as merge patch)
                patched = _merge_patch(base, patch)
            if not (isinstance(patch, dict) and (patch.get("metadata") or {}).get("resourceVersion")):
                patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            return self.update(group, plural, namespace, name, patched, version, subresource)

    def scale_view(self, rtype, obj):
        meta = obj["metadata"]
        return {"apiVersion": "autoscaling/v1", "kind": "Scale",
                "metadata": {"name": meta["name"], "namespace": meta.get("namespace"), "uid": meta["uid"],
                             "resourceVersion": meta["resourceVersion"],
                             "creationTimestamp": meta.get("creationTimestamp")},
                "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0), "selector": ""}}

    def get_subresource(self, group, plural, namespace, name, subresource, version=None):
        with self.lock:
            rtype = self.resource_type(group, version or self.types.get((group, plural), BUILTIN_TYPES[0]).version, plural)
            if subresource not in rtype.subresources:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            obj = self._existing(rtype, namespace, name)
            return self.scale_view(rtype, obj) if subresource == "scale" else self._view(rtype, obj, version)

    def delete(self, group, plural, namespace, name, options=None, version=None):
        with self.lock:
            self.reconcile()
            rtype = self.resource_type(group, version or self.types.get((group, plural), BUILTIN_TYPES[0]).version, plural)
            current = self._existing(rtype, namespace, name)
            pre = (options or {}).get("preconditions") or {}
            if pre.get("resourceVersion") and pre["resourceVersion"] != current["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict",
                               "Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object "
                               "meta: %s" % (pre["resourceVersion"], current["metadata"]["resourceVersion"]),
                               {"name": name, "group": rtype.group, "kind": rtype.plural})
            if pre.get("uid") and pre["uid"] != current["metadata"]["uid"]:
                raise ApiError(409, "Conflict", "Precondition failed: UID in precondition: %s" % pre["uid"])
            key = self._key(rtype, namespace, name)
            if current["metadata"].get("finalizers"):
                if not current["metadata"].get("deletionTimestamp"):
                    current["metadata"]["deletionTimestamp"] = _rfc3339(self.clock())
                    self._stamp(current)
                    self._save()
                return self._view(rtype, current, version)
            del self.objects[key]
            if rtype.kind == "Namespace":
                for k in [k for k in self.objects if k[2] == name]:
                    del self.objects[k]
            if rtype.kind == "CustomResourceDefinition":
                spec = current["spec"]
                self.types.pop((spec["group"], spec["names"]["plural"]), None)
                self.pending_crds.pop(name, None)
                for k in [k for k in self.objects if (k[0], k[1]) == (spec["group"], spec["names"]["plural"])]:
                    del self.objects[k]
            self.rv += 1
            self._save()
            return self._view(rtype, current, version)
