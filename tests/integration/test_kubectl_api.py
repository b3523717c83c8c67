"""KubectlApi (the on-node client: kubectl --raw) against the K8s API emulator,
and one whole shutdown/startup of cluster_power through it; with the real kubectl
(when installed) and with the K3s stand-in's ``k3s kubectl`` (what the lab nodes of
molecule/powercycle run), so both speak the same raw-request protocol."""
import os
import shutil
import sys
import time

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.cluster_lock import ClusterLock
from ansible_collections.homelab.k3s.plugins.module_utils.cluster_power import ClusterPower
from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import (
    ConflictError, KubernetesApiError, SystemClock,
)
from ansible_collections.homelab.k3s.plugins.module_utils.kubectl_api import KubectlApi
from power_cluster import WORKLOADS, Controllers, replicas, seed

KUBECTL = shutil.which("kubectl")
STANDINS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "standins")
# `k3s kubectl` of the K3s stand-in, run the way its launcher runs it (python3 -m k3s_standin kubectl)
STANDIN_KUBECTL = [sys.executable, "-c", "import sys; sys.path.insert(0, %r); from k3s_standin.kubectl import kubectl; "
                   "sys.exit(kubectl(sys.argv[1:]))" % STANDINS]
pytestmark = [pytest.mark.slow]


@pytest.fixture(params=["kubectl", "standin"])
def kubectl_argv(request):
    if request.param == "kubectl":
        if KUBECTL is None:
            pytest.skip("kubectl is not installed")
        return [KUBECTL]
    return STANDIN_KUBECTL


@pytest.fixture
def kapi(emulator, tmp_path, kubectl_argv):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: e\n"
        "clusters: [{name: e, cluster: {server: '%s'}}]\n"
        "users: [{name: u, user: {}}]\ncontexts: [{name: e, context: {cluster: e, user: u}}]\n" % emulator.url)
    os.chmod(str(kubeconfig), 0o600)
    return KubectlApi(kubectl=kubectl_argv, kubeconfig=str(kubeconfig), request_timeout=10)


def test_kubectl_api_has_the_api_semantics(kapi):
    assert kapi.get("v1", "ConfigMap", "x", "default").obj is None
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default",
                                                                  "labels": {"a": "b"}}, "data": {"k": "1"}}
    created = kapi.create("v1", "ConfigMap", body, "default").obj
    assert created["metadata"]["resourceVersion"]
    with pytest.raises(ConflictError):
        kapi.create("v1", "ConfigMap", body, "default")
    stale = dict(created, data={"k": "2"})
    fresh = kapi.replace("v1", "ConfigMap", stale, "default").obj
    assert fresh["data"] == {"k": "2"}
    with pytest.raises(ConflictError):
        kapi.replace("v1", "ConfigMap", stale, "default")   # carries the old resourceVersion
    assert [o["metadata"]["name"] for o in kapi.list("v1", "ConfigMap", "default", "a=b").obj] == ["x"]
    assert kapi.list("v1", "ConfigMap", "default", "a=c").obj == []
    with pytest.raises(ConflictError):
        kapi.delete("v1", "ConfigMap", "x", "default", resource_version=created["metadata"]["resourceVersion"])
    kapi.delete("v1", "ConfigMap", "x", "default", resource_version=fresh["metadata"]["resourceVersion"])
    assert kapi.get("v1", "ConfigMap", "x", "default").obj is None
    assert kapi.delete("v1", "ConfigMap", "x", "default").obj is None
    assert kapi.is_served("storage.k8s.io/v1", "VolumeAttachment")
    assert not kapi.is_served("kustomize.toolkit.fluxcd.io/v1", "Kustomization")
    assert kapi.list("apps/v1", "Deployment").obj == []


def test_kubectl_api_errors_are_reported(tmp_path, kubectl_argv):
    broken = KubectlApi(kubectl=kubectl_argv, kubeconfig=str(tmp_path / "missing"), request_timeout=2)
    with pytest.raises(KubernetesApiError, match="kubectl get /api/v1 failed"):
        broken.get("v1", "ConfigMap", "x", "default")


def test_lock_and_power_cycle_through_kubectl(emulator, kapi):
    seed(emulator.store)
    lock = ClusterLock(kapi, SystemClock(), "kube-system", "homelab-k3s-power")
    changed, info, dummy = lock.acquire("ssh-lock", ttl=600, reason="maintenance")
    assert info["holder"] == "ssh-lock" and info["server_time"] is None, "kubectl shows no Date header"
    lock.release("ssh-lock")
    calls = []
    settings = dict(poll_interval=0.2, max_poll_interval=0.5, pods_timeout=30, volume_attachments_timeout=30, drain_timeout=30,
                    server_port=int(emulator.url.rsplit(":", 1)[1]), dns_check=False, etcd_snapshot=True)
    with Controllers(emulator.store):
        started = time.monotonic()
        power = ClusterPower(kapi, SystemClock(), settings, "pc-s1",
                             runner=lambda argv: calls.append(argv) or (0, "", ""))
        power.shutdown()
        assert calls == [["k3s", "etcd-snapshot", "save", "--name", "homelab-pre-shutdown"]]
        counts = replicas(emulator.store)
        assert all(v == 0 for k, v in counts.items() if k[1] != "kube-system")
        assert emulator.store.list("storage.k8s.io", "volumeattachments")["items"] == []
        assert lock.query()["data"]["replicas"]["Deployment/apps/web"] == 3
        ClusterPower(kapi, SystemClock(), settings, "boot-pc-s1").startup()
        assert replicas(emulator.store) == WORKLOADS
        assert not lock.query()["held"]
        assert time.monotonic() - started < 120
