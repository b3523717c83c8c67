"""A small cluster in the K8s API emulator for the cluster_power tests.

``seed(store, port)`` creates namespaces, three nodes (``pc-s1``/``pc-s2``
servers, ``pc-a1`` agent) whose InternalIP is 127.0.0.1 (so the cold-start
probe of the servers' API port reaches the emulator), workloads with replica
counts and the kube-dns Service. ``Controllers`` is a background thread that
does what kube-controller-manager, the kubelet and a CSI driver would:
pods follow spec.replicas asynchronously (bound to a schedulable node, or
Pending when every node is cordoned), and a StatefulSet's
VolumeAttachment disappears only some time after its last pod is gone.
"""
import threading

WORKLOADS = {
    ("Deployment", "apps", "web"): 3,
    ("Deployment", "apps", "worker"): 2,
    ("StatefulSet", "db", "postgres"): 2,
    ("Deployment", "tools", "idle"): 0,
    ("Deployment", "kube-system", "metrics"): 1,
}
NODES = {"pc-s1": "server", "pc-s2": "server", "pc-a1": "agent"}
PLURAL = {"Deployment": "deployments", "StatefulSet": "statefulsets"}


def seed(store):
    for ns in ("apps", "db", "tools"):
        store.create("", "namespaces", None, {"metadata": {"name": ns}})
    for name, role in sorted(NODES.items()):
        labels = {"node-role.kubernetes.io/control-plane": "true"} if role == "server" else {}
        store.create("", "nodes", None, {
            "metadata": {"name": name, "labels": labels}, "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}})
    for (kind, ns, name), replicas in WORKLOADS.items():
        store.create("apps", PLURAL[kind], ns, {
            "apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": []}}}})
    store.create("", "services", "kube-system", {
        "metadata": {"name": "kube-dns", "namespace": "kube-system"}, "spec": {"clusterIP": "10.43.0.10"}})


def replicas(store):
    found = {}
    for kind, plural in PLURAL.items():
        for obj in store.list("apps", plural)["items"]:
            found[(kind, obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj["spec"]["replicas"]
    return found


class Controllers(threading.Thread):
    """Pods follow their workload every ``tick`` seconds; a VolumeAttachment
    goes ``detach_ticks`` ticks after the last pod of its StatefulSet."""

    def __init__(self, store, tick=0.2, detach_ticks=3):
        super(Controllers, self).__init__(daemon=True)
        self.store = store
        self.tick = tick
        self.detach_ticks = detach_ticks
        self.stop = threading.Event()
        self.podless = {}
        self.vas_seen = set()

    def reconcile(self):
        store = self.store
        for kind, plural in PLURAL.items():
            for obj in store.list("apps", plural)["items"]:
                ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
                want = obj["spec"].get("replicas", 1)
                pods = sorted(p["metadata"]["name"] for p in store.list("", "pods", ns, label_selector="app=" + name)["items"])
                schedulable = sorted(n["metadata"]["name"] for n in store.list("", "nodes")["items"]
                                     if not n["spec"].get("unschedulable"))
                for i in range(len(pods), want):
                    # the scheduler binds new pods to a schedulable node only (Pending otherwise)
                    spec = {"nodeName": schedulable[-1]} if schedulable else {}
                    store.create("", "pods", ns, {"metadata": {"name": "%s-%d" % (name, i), "namespace": ns,
                                                               "labels": {"app": name}}, "spec": spec})
                for pod in pods[want:]:
                    store.delete("", "pods", ns, pod)
                if kind != "StatefulSet":
                    continue
                va = "csi-" + name
                exists = any(v["metadata"]["name"] == va for v in store.list("storage.k8s.io", "volumeattachments")["items"])
                if want and not exists:
                    store.create("storage.k8s.io", "volumeattachments", None, {
                        "metadata": {"name": va},
                        "spec": {"attacher": "csi.example", "nodeName": "pc-a1",
                                 "source": {"persistentVolumeName": "pv-" + name}}})
                    self.vas_seen.add(va)
                if not want and exists:
                    gone_for = self.podless.get(va, 0) + (0 if pods[want:] else 1)
                    self.podless[va] = gone_for
                    if gone_for > self.detach_ticks:
                        store.delete("storage.k8s.io", "volumeattachments", None, va)
                        self.podless.pop(va)

    def run(self):
        while not self.stop.wait(self.tick):
            try:
                self.reconcile()
            except Exception:  # pylint: disable=broad-except  # a race with a test's own write: next tick
                pass

    def __enter__(self):
        self.reconcile()
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.join(5)
