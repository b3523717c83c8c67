"""Unit tests of the whole-cluster shutdown/startup logic against the in-memory fake API.

The fake cluster has a tiny "controller" that runs whenever the procedure
sleeps: pods follow spec.replicas of their workload (asynchronously, as in a
real cluster) and a StatefulSet's VolumeAttachment disappears only one poll
after its last pod is gone. Crashes are injected before the n-th write (API
write or node command) for every n a full run makes.
"""
import copy

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.cluster_power import (
    ClusterPower, PowerBusy, PowerError, validate_settings,
)
from ansible_collections.homelab.k3s.plugins.module_utils.cluster_lock import ClusterLock
from fake_k8s import FakeApi, FakeClock

LOCK = ("v1", "ConfigMap", "kube-system", "homelab-k3s-power")
WORKLOADS = {
    ("Deployment", "apps", "web"): 3,
    ("Deployment", "apps", "worker"): 2,
    ("StatefulSet", "db", "postgres"): 2,
    ("Deployment", "tools", "idle"): 0,
    ("Deployment", "kube-system", "coredns"): 1,   # excluded by default
}
NODES = {"s1": "server", "s2": "server", "s3": "server", "a1": "agent"}


class Crash(Exception):
    pass


def _match(labels, selector):
    if not selector:
        return True
    for term in selector.split(","):
        key, value = term.split("=", 1)
        if (labels or {}).get(key) != value:
            return False
    return True


class ClusterApi(FakeApi):
    """FakeApi with label selectors, cluster-scoped kinds and a crash switch."""

    def __init__(self, clock):
        super(ClusterApi, self).__init__(clock, served=[
            ("v1", "ConfigMap"), ("v1", "Namespace"), ("v1", "Node"), ("v1", "Pod"), ("v1", "Service"),
            ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("storage.k8s.io/v1", "VolumeAttachment"),
        ])
        self.crash_at = None   # crash before this write number (1-based)
        self.writes = 0

    def count_write(self):
        self.writes += 1
        if self.crash_at is not None and self.writes >= self.crash_at:
            raise Crash("crash before write %d" % self.writes)

    def list(self, api_version, kind, namespace=None, label_selector=None):
        response = super(ClusterApi, self).list(api_version, kind, namespace)
        response.obj = [o for o in response.obj if _match(o["metadata"].get("labels"), label_selector)]
        return response

    def create(self, api_version, kind, body, namespace=None):
        self.count_write()
        return super(ClusterApi, self).create(api_version, kind, body, namespace)

    def replace(self, api_version, kind, body, namespace=None):
        self.count_write()
        return super(ClusterApi, self).replace(api_version, kind, body, namespace)

    def delete(self, api_version, kind, name, namespace=None, resource_version=None):
        self.count_write()
        return super(ClusterApi, self).delete(api_version, kind, name, namespace, resource_version)

    # -- what the cluster's controllers do between polls ----------------------
    def reconcile(self):
        for (av, kind, ns, name), obj in list(self.objects.items()):
            if kind not in ("Deployment", "StatefulSet"):
                continue
            want = obj["spec"].get("replicas", 1)
            label = obj["spec"]["selector"]["matchLabels"]
            pods = sorted(k for k, p in self.objects.items() if k[1] == "Pod" and k[2] == ns
                          and _match(p["metadata"].get("labels"), "app=%s" % label["app"]))
            for i in range(len(pods), want):
                self.put_object("v1", "Pod", {"metadata": {"name": "%s-%d" % (name, i), "namespace": ns,
                                                           "labels": dict(label)},
                                              "spec": {"nodeName": "a1"}})
            for key in pods[want:]:
                del self.objects[key]
            va_key = ("storage.k8s.io/v1", "VolumeAttachment", None, "va-%s" % name)
            if kind == "StatefulSet":
                if pods[:want]:
                    self.put_object("storage.k8s.io/v1", "VolumeAttachment", {
                        "metadata": {"name": "va-%s" % name},
                        "spec": {"nodeName": "a1", "source": {"persistentVolumeName": "pv-%s" % name}}})
                elif va_key in self.objects and not pods:
                    # detached one poll after the pods are gone
                    self.objects[va_key].setdefault("_polls", 0)
                    self.objects[va_key]["_polls"] += 1
                    if self.objects[va_key]["_polls"] > 1:
                        del self.objects[va_key]


def make_cluster():
    clock = FakeClock()
    api = ClusterApi(clock)
    for ns in ("default", "kube-system", "apps", "db", "tools"):
        api.put_object("v1", "Namespace", {"metadata": {"name": ns}})
    for index, (name, role) in enumerate(sorted(NODES.items())):
        labels = {"node-role.kubernetes.io/control-plane": "true"} if role == "server" else {}
        api.put_object("v1", "Node", {"metadata": {"name": name, "labels": labels}, "spec": {},
                                      "status": {"conditions": [{"type": "Ready", "status": "True"}],
                                                 "addresses": [{"type": "InternalIP",
                                                                "address": "10.0.0.%d" % (index + 1)}]}})
    for (kind, ns, name), replicas in WORKLOADS.items():
        api.put_object("apps/v1", kind, {"metadata": {"name": name, "namespace": ns},
                                         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}}})
    api.put_object("v1", "Service", {"metadata": {"name": "kube-dns", "namespace": "kube-system"},
                                     "spec": {"clusterIP": "10.43.0.10"}})
    api.put_object("v1", "Pod", {"metadata": {"name": "cilium-x", "namespace": "kube-system",
                                              "ownerReferences": [{"kind": "DaemonSet", "name": "cilium"}]},
                                 "spec": {"nodeName": "a1"}})
    api.reconcile()

    def sleep(seconds):
        clock.sleeps.append(seconds)
        clock.advance(seconds)
        api.reconcile()
    clock.sleep = sleep
    return api, clock


class Runner(object):
    def __init__(self, api):
        self.api = api
        self.calls = []

    def __call__(self, argv):
        self.api.count_write()   # a node command is a crash point too
        self.calls.append(" ".join(argv))
        return 0, "", ""


def replicas(api):
    return dict(((k[1], k[2], k[3]), o["spec"]["replicas"]) for k, o in api.objects.items()
                if k[1] in ("Deployment", "StatefulSet"))


def original():
    return dict(((kind, ns, name), r) for (kind, ns, name), r in WORKLOADS.items())


def power(api, clock, check_mode=False, holder="cp", **settings):
    settings.setdefault("poll_interval", 1)
    settings.setdefault("etcd_snapshot", True)
    return ClusterPower(api, clock, settings, holder, runner=Runner(api), check_mode=check_mode,
                        dns=lambda ip, name: ip == "10.43.0.10", probe=lambda addr, port: True)


def api_down(*args, **kwargs):
    raise OSError("connection refused")


def record(api):
    lock = ClusterLock(api, api.clock, "kube-system", "homelab-k3s-power")
    return lock.query()


def test_shutdown_records_then_scales_waits_and_taints():
    api, clock = make_cluster()
    p = power(api, clock)
    report = p.shutdown()
    rec = record(api)
    assert rec["held"] and rec["holder"] == "homelab-power@cp"
    assert rec["data"]["replicas"] == {"Deployment/apps/web": 3, "Deployment/apps/worker": 2,
                                       "StatefulSet/db/postgres": 2, "Deployment/tools/idle": 0}
    assert rec["data"]["phase"] == "nodes"
    assert set(rec["data"]["nodes"]) == set(NODES)
    now = replicas(api)
    assert now[("Deployment", "kube-system", "coredns")] == 1, "kube-system is excluded by default"
    assert all(v == 0 for k, v in now.items() if k[1] != "kube-system")
    assert not [k for k in api.objects if k[1] == "VolumeAttachment"]
    assert not [k for k in api.objects if k[1] == "Pod" and k[2] != "kube-system"]
    for name in NODES:
        node = api.objects[("v1", "Node", None, name)]
        assert node["spec"]["unschedulable"] is True
        assert {"key": "homelab.k3s/power-cycle", "value": "true", "effect": "NoSchedule"} in node["spec"]["taints"]
    assert p.runner.calls == ["k3s etcd-snapshot save --name homelab-pre-shutdown"]
    assert [s["step"] for s in report["steps"]] == [
        "lock", "etcd_snapshot", "gitops", "record", "scale_down", "pods_gone", "volumes_detached",
        "cordon_taint", "drain_agents", "release_agents"]
    assert report["plan"] == {"stop_first": ["a1"], "stop_together": ["s1", "s2", "s3"], "node_action": "poweroff"}
    assert ("v1", "Pod", "kube-system", "cilium-x") in api.objects, "DaemonSet pods are not drained"


def test_stateful_order_first_and_last():
    for order, first in (("last", "Deployment/apps/web"), ("first", "StatefulSet/db/postgres")):
        api, clock = make_cluster()
        report = power(api, clock, stateful_order=order).shutdown()
        scaled = [s for s in report["steps"] if s["step"] == "scale_down"][0]["scaled"]
        assert scaled[0].startswith(first), scaled


def test_second_shutdown_changes_nothing_and_keeps_counts():
    api, clock = make_cluster()
    power(api, clock).shutdown()
    before = copy.deepcopy(record(api)["data"])
    p = power(api, clock)
    report = p.shutdown()
    assert not report["changed"], [s for s in report["steps"] if s["changed"]]
    assert record(api)["data"] == before
    assert p.runner.calls == [], "the snapshot is not taken twice"


def test_startup_restores_exactly_and_releases():
    api, clock = make_cluster()
    power(api, clock).shutdown()
    report = power(api, clock, holder="boot-s1").startup()
    assert replicas(api) == original()
    rec = record(api)
    assert not rec["held"] and rec["data"] == {}
    for name in NODES:
        spec = api.objects[("v1", "Node", None, name)]["spec"]
        assert "taints" not in spec and "unschedulable" not in spec
    restored = [s for s in report["steps"] if s["step"] == "restore"][0]["restored"]
    assert sorted(restored) == ["Deployment/apps/web: 0 -> 3", "Deployment/apps/worker: 0 -> 2",
                                "StatefulSet/db/postgres: 0 -> 2"]
    assert all("seconds" in s for s in report["steps"])


def _full_run_writes(phase):
    api, clock = make_cluster()
    if phase == "startup":
        power(api, clock).shutdown()
    api.writes = 0
    p = power(api, clock)
    p.shutdown() if phase == "shutdown" else p.startup()
    return api.writes


@pytest.mark.parametrize("crash_at", range(1, _full_run_writes("shutdown") + 1))
def test_crash_at_every_shutdown_write_then_rerun_finishes(crash_at):
    api, clock = make_cluster()
    api.crash_at = crash_at
    with pytest.raises(Crash):
        power(api, clock).shutdown()
    api.crash_at = None
    rec = record(api)
    for key, count in (rec["data"].get("replicas") or {}).items():
        kind, ns, name = key.split("/")
        assert count == WORKLOADS[(kind, ns, name)], "a recorded count is never wrong"
    # the second run (same way in) finishes the job
    power(api, clock).shutdown()
    assert record(api)["data"]["phase"] == "nodes"
    assert all(v == 0 for k, v in replicas(api).items() if k[1] != "kube-system")
    power(api, clock, holder="boot-s1").startup()
    assert replicas(api) == original()
    assert not record(api)["held"]


@pytest.mark.parametrize("crash_at", range(1, _full_run_writes("startup") + 1))
def test_crash_at_every_startup_write_then_rerun_finishes(crash_at):
    api, clock = make_cluster()
    power(api, clock).shutdown()
    api.writes = 0
    api.crash_at = crash_at
    with pytest.raises(Crash):
        power(api, clock, holder="boot-s1").startup()
    api.crash_at = None
    power(api, clock, holder="boot-s1").startup()   # the unit runs again at the next boot
    assert replicas(api) == original()
    assert not record(api)["held"] and record(api)["data"] == {}


def test_shutdown_again_after_partial_startup_keeps_the_record():
    api, clock = make_cluster()
    power(api, clock).shutdown()
    p = power(api, clock, holder="boot")
    # crash right after the first workload was restored
    real_scale = p._scale
    calls = []

    def scale(key, count):
        calls.append(key)
        if len(calls) == 2:
            raise Crash("after one restore")
        return real_scale(key, count)
    p._scale = scale
    with pytest.raises(Crash):
        p.startup()
    now = replicas(api)
    assert now[("Deployment", "apps", "web")] == 3 and now[("Deployment", "apps", "worker")] == 0
    power(api, clock).shutdown()
    assert record(api)["data"]["replicas"]["Deployment/apps/web"] == 3
    power(api, clock).startup()
    assert replicas(api) == original()


def test_check_mode_plans_and_writes_nothing():
    api, clock = make_cluster()
    before = copy.deepcopy(api.objects)
    p = power(api, clock, check_mode=True)
    report = p.shutdown()
    assert api.objects == before and p.runner.calls == []
    scaled = [s for s in report["steps"] if s["step"] == "scale_down"][0]["scaled"]
    assert sorted(scaled) == ["Deployment/apps/web: 3 -> 0", "Deployment/apps/worker: 2 -> 0",
                              "StatefulSet/db/postgres: 2 -> 0"]
    assert report["record"]["replicas"]["StatefulSet/db/postgres"] == 2
    assert report["plan"]["stop_together"] == ["s1", "s2", "s3"]
    assert report["changed"]
    stop = power(api, clock, check_mode=True).stop_node("server")
    assert stop["steps"][0]["commands"][0] == "systemctl stop k3s"
    assert api.objects == before


def test_check_mode_startup_writes_nothing():
    api, clock = make_cluster()
    power(api, clock).shutdown()
    before = copy.deepcopy(api.objects)
    report = power(api, clock, check_mode=True, holder="boot").startup()
    assert api.objects == before
    assert len([s for s in report["steps"] if s["step"] == "restore"][0]["restored"]) == 3


def test_lock_held_by_someone_else_is_refused_before_anything():
    api, clock = make_cluster()
    ClusterLock(api, clock, "kube-system", "homelab-k3s-power").acquire("ssh-lock", ttl=600, reason="maintenance")
    before = copy.deepcopy(api.objects)
    with pytest.raises(PowerError, match="held by ssh-lock .*maintenance.*refusing to shut down"):
        power(api, clock).shutdown()
    assert api.objects == before
    with pytest.raises(PowerError, match="held by ssh-lock"):
        power(api, clock).startup()
    power(api, clock, force=True).shutdown()
    assert record(api)["holder"] == "homelab-power@cp"


def test_unknown_namespace_is_refused_before_anything():
    api, clock = make_cluster()
    before = copy.deepcopy(api.objects)
    with pytest.raises(PowerError, match="namespaces: nope do\\(es\\) not exist"):
        power(api, clock, namespaces=["apps", "nope"]).shutdown()
    assert api.objects == before


def test_no_servers_is_refused_before_anything():
    api, clock = make_cluster()
    for name in NODES:
        api.objects[("v1", "Node", None, name)]["metadata"]["labels"] = {}
    with pytest.raises(PowerError, match="no servers: no Node has the label"):
        power(api, clock, agents=[]).shutdown()
    with pytest.raises(PowerError, match="servers/agents: ghost are not Nodes"):
        power(api, clock, servers=["s1", "ghost"]).shutdown()
    assert not [k for k in api.objects if k[1] == "ConfigMap"]


@pytest.mark.parametrize("settings, message", [
    ({"node_action": "reboot"}, "node_action must be one of poweroff, halt, stop-k3s"),
    ({"stateful_order": "middle"}, "stateful_order must be"),
    ({"pods_timeout": -1}, "pods_timeout must be a number"),
    ({"namespaces": ["a"], "exclude_namespaces": ["a"]}, "namespaces and exclude_namespaces both name a"),
    ({"servers": ["x"], "agents": ["x"]}, "servers and agents both name x"),
    ({"label_selector": "a=b,=="}, "label_selector: cannot parse"),
    ({"taint_effect": "PreferNoSchedule"}, "taint_effect must be one of"),
    ({"bogus": 1}, "unknown setting"),
    ({"lock_ttl": 0}, "lock_ttl and startup_lock_ttl must be > 0"),
    ({"server_addresses": {"s1": None}}, "server_addresses must map server names to addresses"),
    ({"poll_interval": 0}, "poll_interval must be > 0 and max_poll_interval >= poll_interval"),
    ({"poll_interval": 5, "max_poll_interval": 2}, "poll_interval must be > 0 and max_poll_interval >= poll_interval"),
    ({"taint_key": ""}, "taint_key must not be empty"),
    ({"exclude_namespaces": ["kube-system", ""]}, "exclude_namespaces must be a list of non-empty names"),
    ({"agents": "a1"}, "agents must be a list of non-empty names"),
])
def test_bad_settings_name_the_field(settings, message):
    with pytest.raises(PowerError, match=message):
        validate_settings(settings)


def test_volume_attachment_timeout_lists_the_ones_left_or_goes_on():
    api, clock = make_cluster()
    api.put_object("storage.k8s.io/v1", "VolumeAttachment", {
        "metadata": {"name": "stuck"}, "spec": {"nodeName": "a1", "source": {"persistentVolumeName": "pv-x"}}})
    with pytest.raises(PowerError, match="VolumeAttachments left: stuck \\(pv-x on a1\\)"):
        power(api, clock, volume_attachments_timeout=5).shutdown()
    assert record(api)["data"]["phase"] == "scaled"
    report = power(api, clock, volume_attachments_timeout=5, ignore_volume_attachments=True).shutdown()
    assert [s for s in report["steps"] if s["step"] == "volumes_detached"][0]["left"] == ["stuck (pv-x on a1)"]


def test_pods_wait_is_bounded_with_the_pods_left():
    api, clock = make_cluster()
    api.reconcile = lambda: None   # a controller that never deletes pods
    with pytest.raises(PowerError, match="timed out after 7s waiting for the pods .*apps/web-0"):
        power(api, clock, pods_timeout=7).shutdown()
    assert record(api)["data"]["replicas"]["Deployment/apps/web"] == 3


def test_gitops_flux_suspended_and_resumed_argocd_scaled():
    api, clock = make_cluster()
    api.served |= {("kustomize.toolkit.fluxcd.io/v1", "Kustomization"), ("helm.toolkit.fluxcd.io/v2", "HelmRelease")}
    api.put_object("kustomize.toolkit.fluxcd.io/v1", "Kustomization",
                   {"metadata": {"name": "apps", "namespace": "flux-system"}, "spec": {}})
    api.put_object("kustomize.toolkit.fluxcd.io/v1", "Kustomization",
                   {"metadata": {"name": "paused", "namespace": "flux-system"}, "spec": {"suspend": True}})
    api.put_object("helm.toolkit.fluxcd.io/v2", "HelmRelease",
                   {"metadata": {"name": "db", "namespace": "db"}, "spec": {"suspend": False}})
    api.put_object("v1", "Namespace", {"metadata": {"name": "argocd"}})
    api.put_object("apps/v1", "StatefulSet", {"metadata": {"name": "argocd-application-controller",
                                                           "namespace": "argocd"},
                                              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "argo"}}}})
    power(api, clock).shutdown()
    ks = api.objects[("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "apps")]
    hr = api.objects[("helm.toolkit.fluxcd.io/v2", "HelmRelease", "db", "db")]
    argo = api.objects[("apps/v1", "StatefulSet", "argocd", "argocd-application-controller")]
    assert ks["spec"]["suspend"] is True and hr["spec"]["suspend"] is True and argo["spec"]["replicas"] == 0
    data = record(api)["data"]
    assert data["gitops_replicas"] == {"StatefulSet/argocd/argocd-application-controller": 1}
    assert "StatefulSet/argocd/argocd-application-controller" not in data["replicas"]
    report = power(api, clock).startup()
    assert api.objects[("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "apps")]["spec"]["suspend"] is False
    assert api.objects[("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "paused")]["spec"]["suspend"] is True, \
        "what was suspended before us stays suspended"
    assert api.objects[("apps/v1", "StatefulSet", "argocd", "argocd-application-controller")]["spec"]["replicas"] == 1
    resumed = [s for s in report["steps"] if s["step"] == "gitops_resume"][0]
    assert sorted(resumed["flux"]) == ["HelmRelease/db/db", "Kustomization/flux-system/apps"]


def test_cold_start_with_a_minority_of_servers_names_the_missing_ones():
    api, clock = make_cluster()
    power(api, clock).shutdown()
    addresses = dict((n, v["address"]) for n, v in record(api)["data"]["nodes"].items())
    up = {addresses["s1"]}
    p = ClusterPower(api, clock, {"servers_timeout": 30, "poll_interval": 1}, "boot", runner=Runner(api),
                     dns=lambda ip, name: True, probe=lambda addr, port: addr in up)
    started = clock.mono
    with pytest.raises(PowerError) as err:
        p.startup()
    assert clock.mono - started <= 30 + 1, "the wait is bounded by servers_timeout"
    msg = str(err.value)
    assert "1 of 3 servers are back (s1); missing: s2, s3" in msg
    assert "majority (2 of 3)" in msg and "never run k3s --cluster-reset on its own" in msg
    assert record(api)["data"]["replicas"], "nothing restored while only a minority is back"
    up.add(addresses["s2"])
    api.objects[("v1", "Node", None, "s3")]["status"]["conditions"][0]["status"] = "Unknown"
    started = clock.mono
    report = p.startup()
    assert clock.mono - started <= 2 * (30 + 1), "the servers' and the nodes' waits are bounded"
    assert p.missing == ["s3"]
    assert p.warnings == ["cold start: 2 of 3 servers are back (s1, s2); missing: s3. etcd has a majority: starting "
                          "without them; power them on (check their disks and network) or remove them from the "
                          "cluster on purpose: until then etcd tolerates no further failure"]
    servers = [s for s in report["steps"] if s["step"] == "servers"][0]
    assert servers["missing"] == ["s3"]
    assert replicas(api) == original(), "a majority back: the recorded counts are restored"
    assert not record(api)["holder"]


def test_cold_start_with_the_api_down_uses_the_inventory_addresses():
    api, clock = make_cluster()
    power(api, clock).shutdown()
    up = {"10.1.0.1"}
    p = ClusterPower(api, clock, {"servers_timeout": 20, "poll_interval": 1,
                                  "server_addresses": {"s1": "10.1.0.1", "s2": "10.1.0.2", "s3": "10.1.0.3"}},
                     "boot", runner=Runner(api), dns=lambda ip, name: True, probe=lambda addr, port: addr in up)
    api.list = api_down
    with pytest.raises(PowerError, match="1 of 3 servers are back \\(s1\\); missing: s2, s3"):
        p.startup()


def test_dns_must_answer_before_untaint():
    api, clock = make_cluster()
    power(api, clock).shutdown()
    p = ClusterPower(api, clock, {"dns_timeout": 5, "poll_interval": 1}, "boot", runner=Runner(api),
                     dns=lambda ip, name: False, probe=lambda addr, port: True)
    with pytest.raises(PowerError, match="cluster DNS .* no answer for kubernetes.default.svc.cluster.local "
                                         "from 10.43.0.10"):
        p.startup()
    assert api.objects[("v1", "Node", None, "s1")]["spec"]["unschedulable"] is True


def test_nodes_not_ready_wait_is_bounded():
    api, clock = make_cluster()
    power(api, clock).shutdown()
    api.objects[("v1", "Node", None, "a1")]["status"]["conditions"][0]["status"] = "False"
    with pytest.raises(PowerError, match="waiting for nodes to be Ready; still waiting for: a1"):
        power(api, clock, nodes_timeout=5).startup()


def test_stop_node_commands_per_role_and_action():
    api, clock = make_cluster()
    p = ClusterPower(api, clock, {}, "a1", runner=Runner(api), path_exists=lambda path: True)
    p.stop_node("agent")
    assert p.runner.calls == ["systemctl stop k3s-agent", "/usr/local/bin/k3s-killall.sh",
                              "systemctl poweroff --no-block"]
    killed = []
    p = ClusterPower(api, clock, {"node_action": "stop-k3s"}, "s1", runner=Runner(api),
                     path_exists=lambda path: False, shims=lambda: [41, 42], kill=killed.extend)
    p.stop_node("server")
    assert p.runner.calls == ["systemctl stop k3s"] and killed == [41, 42]
    assert p.steps[-1]["killed"] == 2
    with pytest.raises(PowerError, match="role must be server or agent"):
        p.stop_node("both")


def test_shim_trees_finds_shims_and_their_descendants(tmp_path):
    from ansible_collections.homelab.k3s.plugins.module_utils.cluster_power import shim_trees
    procs = {1: ("systemd", 0), 100: ("k3s-server", 1), 200: ("containerd-shim-runc-v2", 1),
             201: ("pause", 200), 202: ("postgres (main)", 200), 203: ("postgres", 202),
             300: ("sshd", 1), 301: ("bash", 300)}
    for pid, (comm, ppid) in procs.items():
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text("%d (%s) S %d 1 1 0 -1" % (pid, comm, ppid))
    (tmp_path / "self").mkdir()
    assert shim_trees(str(tmp_path)) == [200, 201, 202, 203]


def test_failing_node_command_is_reported():
    api, clock = make_cluster()
    p = ClusterPower(api, clock, {"etcd_snapshot": True}, "cp", runner=lambda argv: (1, "", "etcd is down"),
                     dns=None, probe=None)
    with pytest.raises(PowerError, match="etcd snapshot failed .*etcd is down"):
        p.shutdown()
    assert all(v != 0 for k, v in replicas(api).items() if k != ("Deployment", "tools", "idle")), \
        "nothing scaled when the snapshot fails"


def test_follower_waits_for_its_release_then_stops_anyway_on_timeout():
    api, clock = make_cluster()
    follower = power(api, clock, holder="a1", follower_timeout=8, poll_interval=2)
    clock.sleeps[:] = []
    assert follower.wait_for_stop_signal("a1") is False
    assert "stopping anyway" in follower.steps[-1]["warning"]
    assert clock.sleeps == [2, 2, 2, 2], "a follower polls every poll_interval (no back-off)"
    coordinator = power(api, clock, holder="s1")
    coordinator.shutdown()
    assert follower.wait_for_stop_signal("a1") is True
    assert power(api, clock, holder="s2", follower_timeout=2).wait_for_stop_signal("s2") is False
    coordinator.release_nodes("server")
    assert power(api, clock, holder="s2").wait_for_stop_signal("s2") is True
    power(api, clock, holder="boot").startup()
    assert "homelab.k3s/power-stop" not in (api.objects[("v1", "Node", None, "s2")]["metadata"].get("annotations") or {})


def test_a_running_shutdown_is_not_run_twice_but_a_finished_one_is_taken_over():
    api, clock = make_cluster()
    reconcile = api.reconcile
    api.reconcile = lambda: None
    with pytest.raises(PowerError):
        power(api, clock, holder="ansible", pods_timeout=2).shutdown()   # stuck in the middle
    with pytest.raises(PowerBusy, match="shutdown is already running \\(holder homelab-power@ansible, phase recorded"):
        power(api, clock, holder="ups-s1").shutdown()
    api.reconcile = reconcile
    power(api, clock, holder="ansible").shutdown()
    power(api, clock, holder="ups-s2").shutdown()   # phase nodes: taken over (resumed, nothing to do)
    assert record(api)["holder"] == "homelab-power@ups-s2"
    # a startup that died half-way blocks another startup, not a shutdown
    api.writes, api.crash_at = 0, 6
    with pytest.raises(Crash):
        power(api, clock, holder="boot-s1").startup()
    api.crash_at = None
    assert record(api)["data"]["phase"] == "starting"
    with pytest.raises(PowerBusy, match="startup is already running \\(holder homelab-power@boot-s1"):
        power(api, clock, holder="boot-s2").startup()
    power(api, clock, holder="ups-s1").shutdown()
    power(api, clock, holder="boot-s2").startup()
    assert replicas(api) == original()


def test_a_startup_says_starting_in_the_write_that_takes_the_lock():
    # Two servers' boot units start at once: the second must not take the lock over in the
    # moment between the first one's lock write and its next write (the phase was still "nodes").
    api, clock = make_cluster()
    power(api, clock, holder="ups-s1").shutdown()
    api.writes, api.crash_at = 0, 2   # stops right after its first write, the lock
    with pytest.raises(Crash):
        power(api, clock, holder="boot-s1").startup()
    api.crash_at = None
    assert record(api)["holder"] == "homelab-power@boot-s1"
    assert record(api)["data"]["phase"] == "starting"
    with pytest.raises(PowerBusy, match="startup is already running \\(holder homelab-power@boot-s1"):
        power(api, clock, holder="boot-s2").startup()


def test_an_expired_run_is_taken_over():
    api, clock = make_cluster()
    api.crash_at = 12
    with pytest.raises(Crash):
        power(api, clock, holder="ansible", lock_ttl=60).shutdown()
    api.crash_at = None
    with pytest.raises(PowerBusy):
        power(api, clock, holder="ups").shutdown()
    clock.advance(62)
    power(api, clock, holder="ups").shutdown()
    assert record(api)["holder"] == "homelab-power@ups"


def test_dns_query_speaks_dns(tmp_path):
    import socket
    import struct
    import threading
    from ansible_collections.homelab.k3s.plugins.module_utils.cluster_power import dns_query
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    seen = []

    def serve(answers, rcode):
        data, peer = sock.recvfrom(512)
        seen.append(data)
        qid = struct.unpack(">H", data[:2])[0]
        question = data[12:]
        reply = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, answers, 0, 0) + question
        if answers:
            reply += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 30, 4) + socket.inet_aton("10.43.0.1")
        sock.sendto(reply, peer)
    for answers, rcode, expected in ((1, 0, True), (0, 3, False)):
        thread = threading.Thread(target=serve, args=(answers, rcode))
        thread.start()
        assert dns_query("127.0.0.1", "kubernetes.default.svc.cluster.local", timeout=5, port=port) is expected
        thread.join()
    assert b"\x0akubernetes\x07default\x03svc\x07cluster\x05local\x00\x00\x01\x00\x01" in seen[0]
    sock.close()
    assert dns_query("127.0.0.1", "x.local", timeout=0.2, port=port) is False, "no answer is False"


def test_an_operators_cordon_survives_the_power_cycle():
    api, clock = make_cluster()
    api.objects[("v1", "Node", None, "a1")]["spec"]["unschedulable"] = True   # cordoned for a disk swap
    power(api, clock).shutdown()
    assert record(api)["data"]["cordoned"] == ["s1", "s2", "s3"]
    power(api, clock).startup()
    assert api.objects[("v1", "Node", None, "a1")]["spec"]["unschedulable"] is True
    assert "taints" not in api.objects[("v1", "Node", None, "a1")]["spec"]
    assert "unschedulable" not in api.objects[("v1", "Node", None, "s1")]["spec"]


def test_boot_without_a_recorded_shutdown_does_nothing():
    api, clock = make_cluster()
    api.objects[("v1", "Node", None, "s2")]["spec"]["unschedulable"] = True
    before = copy.deepcopy(api.objects)
    report = power(api, clock, holder="boot-s1").startup(only_after_shutdown=True)
    assert report["steps"][-1]["skipped"] == "no shutdown recorded: nothing to start"
    assert api.objects == before and not [k for k in api.objects if k[1] == "ConfigMap"]
    power(api, clock).shutdown()
    power(api, clock, holder="boot-s1").startup(only_after_shutdown=True)
    assert replicas(api) == original()


def test_boot_with_the_api_down_names_the_missing_servers():
    api, clock = make_cluster()
    api.list = api.get = api_down
    p = ClusterPower(api, clock, {"servers_timeout": 5, "poll_interval": 1,
                                  "server_addresses": {"s1": "10.1.0.1", "s2": "10.1.0.2"}},
                     "boot", runner=Runner(api), probe=lambda addr, port: addr == "10.1.0.1")
    started = clock.mono
    with pytest.raises(PowerError, match="cold start: 1 of 2 servers are back \\(s1\\); missing: s2"):
        p.startup(only_after_shutdown=True)
    assert clock.mono - started <= 5 + 1, "one bounded wait: the servers are probed once when the API did not come"
    p = ClusterPower(api, clock, {"servers_timeout": 5, "poll_interval": 1,
                                  "server_addresses": {"s1": "10.1.0.1", "s2": "10.1.0.2", "s3": "10.1.0.3"}},
                     "boot", runner=Runner(api), probe=lambda addr, port: addr != "10.1.0.3")
    with pytest.raises(PowerError, match="cold start: 2 of 3 servers are back \\(s1, s2\\); missing: s3. etcd should "
                                         "have a majority, but the API server did not answer"):
        p.startup(only_after_shutdown=True)


def test_an_empty_holder_is_refused():
    api, clock = make_cluster()
    with pytest.raises(PowerError, match="holder must be a non-empty name"):
        ClusterPower(api, clock, {}, "")


def test_an_object_that_keeps_changing_is_reported():
    from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import ConflictError
    api, clock = make_cluster()
    replace = api.replace
    attempts = []

    def conflicting(api_version, kind, body, namespace=None):
        if kind == "Deployment":
            attempts.append(body["metadata"]["name"])
            raise ConflictError("the object has been modified")
        return replace(api_version, kind, body, namespace)
    api.replace = conflicting
    with pytest.raises(PowerError, match="Deployment apps/web kept changing under us \\(40 conflicts in a row\\)"):
        power(api, clock).shutdown()
    assert len(attempts) == 40
    assert record(api)["data"]["replicas"]["Deployment/apps/web"] == 3, "the count was recorded before"


def test_a_run_that_lost_the_lock_stops():
    api, clock = make_cluster()
    p = power(api, clock, holder="ansible")
    original_sleep = clock.sleep

    def someone_forces(seconds):
        if record(api)["holder"] == "homelab-power@ansible":
            power(api, clock, holder="operator", force=True)._take_lock("maintenance")
        original_sleep(seconds)
    clock.sleep = someone_forces
    with pytest.raises(PowerError, match="lost the lock kube-system/homelab-k3s-power to homelab-power@operator "
                                         "while working; stopping"):
        p.shutdown()
    clock.sleep = original_sleep
    power(api, clock, holder="operator", force=True).shutdown()
    p = power(api, clock, holder="boot")
    p._take_lock("start the cluster", startup=True)
    power(api, clock, holder="operator", force=True)._take_lock("maintenance")
    with pytest.raises(PowerError, match="lost the lock to homelab-power@operator before releasing it"):
        p.lock.transact(p._release)


def test_startup_without_servers_is_refused():
    api, clock = make_cluster()
    for name in NODES:
        api.objects[("v1", "Node", None, name)]["metadata"]["labels"] = {}
    with pytest.raises(PowerError, match="no servers recorded or labelled; cannot check a cold start"):
        power(api, clock, agents=[]).startup()


def test_an_unrecorded_workload_is_not_scaled():
    api, clock = make_cluster()
    p = power(api, clock)
    p._take_lock("shut the cluster down")
    with pytest.raises(PowerError, match="Deployment/apps/web has no recorded replica count; not scaling it"):
        p._scale_down([("Deployment/apps/web", api.objects[("apps/v1", "Deployment", "apps", "web")])])
    assert api.objects[("apps/v1", "Deployment", "apps", "web")]["spec"]["replicas"] == 3


def test_servers_stop_together_once_every_server_acknowledged():
    api, clock = make_cluster()
    coordinator = power(api, clock, holder="s1")
    coordinator.shutdown()
    coordinator.release_nodes("server")
    clock.sleeps[:] = []
    assert power(api, clock, holder="s2", agents_stop_timeout=4, poll_interval=2).server_barrier("s2") is False
    assert clock.sleeps == [2, 2], "polled every poll_interval, bounded by agents_stop_timeout"
    annotations = api.objects[("v1", "Node", None, "s2")]["metadata"]["annotations"]
    assert annotations["homelab.k3s/power-stop-ack"] == "true"
    api.objects[("v1", "Node", None, "s3")]["status"]["conditions"][0]["status"] = "Unknown"
    s1 = power(api, clock, holder="s1", agents_stop_timeout=4)
    assert s1.server_barrier("s1") is True, "s3 is not Ready: not waited for"
    assert s1.steps[-1] == dict(step="servers_together", changed=False, seconds=0)
    api.objects[("v1", "Node", None, "s3")]["status"]["conditions"][0]["status"] = "True"
    api.list = api_down
    late = power(api, clock, holder="s3", agents_stop_timeout=30)
    started = clock.mono
    assert late.server_barrier("s3") is True, "the API gone after our ack: the others have stopped"
    assert clock.mono == started and "API gone after our acknowledgement" in late.steps[-1]["note"]
    del api.list
    get = api.get
    api.get = api_down
    unacked = power(api, clock, holder="s3", agents_stop_timeout=30)
    assert unacked.server_barrier("s3") is False, "cannot acknowledge: stops anyway"
    assert "stopping anyway" in unacked.steps[-1]["warning"]
    api.get = get
    power(api, clock, holder="boot").startup()
    for name in NODES:
        assert not api.objects[("v1", "Node", None, name)]["metadata"].get("annotations"), "startup removes both"
