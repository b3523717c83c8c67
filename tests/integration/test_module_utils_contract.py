"""The lock and the waiter driven over HTTP through the real kubernetes client."""
import threading
import time

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.cluster_lock import ClusterLock, LockError
from ansible_collections.homelab.k3s.plugins.module_utils.crd_wait import (
    CrdTarget, CrdWaiter, ResourceTarget, WaitTimeout,
)
from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import SystemClock
from k8s_emulator import EmulatorThread


def lock(api, **kw):
    kw.setdefault("poll_interval", 0.05)
    kw.setdefault("max_poll_interval", 0.2)
    return ClusterLock(api, SystemClock(), "kube-system", "shutdown-lock", **kw)


def test_acquire_free_lock_in_two_round_trips(emulator, make_api):
    api = make_api(emulator.url)
    api.is_served("v1", "ConfigMap")  # warm discovery
    changed, info, _ = lock(api).acquire("cp1", ttl=30, data={"replicas": {"db/pg": 2}})
    assert changed and info["holder"] == "cp1" and api.round_trips == 2
    cm = emulator.store.get("", "configmaps", "kube-system", "shutdown-lock", "v1")
    assert cm["data"]["holder"] == "cp1" and cm["data"]["leaseDurationSeconds"] == "30"


def test_full_cycle_and_preserved_metadata(emulator, make_api):
    api = make_api(emulator.url)
    emulator.store.create("", "configmaps", "kube-system", {
        "metadata": {"name": "shutdown-lock", "labels": {"keep": "me"}, "annotations": {"a": "b"}},
        "data": {"notes": "hello"}}, "v1")
    lock(api).acquire("cp1", ttl=30, reason="shutdown")
    with pytest.raises(LockError, match="held by cp1"):
        lock(api).acquire("w1", ttl=30, wait_timeout=0.3)
    with pytest.raises(LockError, match="not by w1"):
        lock(api).release("w1")
    assert lock(api).acquire("cp1", ttl=30, reason="shutdown")[0] is False
    assert lock(api).release("cp1")[0]
    assert lock(api).acquire("w1", ttl=30)[1]["holder"] == "w1"
    cm = emulator.store.get("", "configmaps", "kube-system", "shutdown-lock", "v1")
    assert cm["metadata"]["labels"] == {"keep": "me"} and cm["metadata"]["annotations"] == {"a": "b"}
    assert cm["data"]["notes"] == "hello"
    assert lock(api).delete("w1")[0]
    assert lock(api).query()["exists"] is False


def test_takeover_after_ttl_uses_server_clock_despite_skew(emulator, make_api):
    emulator.handler.clock_offset = -7200  # API server clock two hours behind this machine
    api = make_api(emulator.url)
    lock(api).acquire("dead", ttl=1)
    assert lock(api).query()["held"], "a fresh lock must not look expired because of clock skew"
    changed, info, waited = lock(api).acquire("next", ttl=30, wait_timeout=10)
    assert info["holder"] == "next" and 1.0 <= waited < 5
    assert info["transitions"] == 2


def test_concurrent_threads_never_share_the_lock(emulator, make_api):
    holders, overlaps, wins = [], [], []
    guard = threading.Lock()

    def contender(i):
        api = make_api(emulator.url)
        me = "t%d" % i
        for _ in range(3):
            lock(api).acquire(me, ttl=30, wait_timeout=30)
            with guard:
                if holders:
                    overlaps.append((me, list(holders)))
                holders.append(me)
            time.sleep(0.01)
            with guard:
                holders.remove(me)
            lock(api).release(me)
            wins.append(me)
    threads = [threading.Thread(target=contender, args=(i,)) for i in range(6)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert not overlaps and len(wins) == 18


def test_delete_precondition_protects_a_lock_taken_meanwhile(emulator, make_api):
    api = make_api(emulator.url)
    lock(api).acquire("cp1", ttl=30)
    lock(api).release("cp1")
    deleter = lock(api)
    real_delete = api.delete
    sneaky = make_api(emulator.url)

    def delete_after_race(*args, **kw):
        api.delete = real_delete
        lock(sneaky).acquire("w9", ttl=30)  # takes the free lock between read and delete
        return real_delete(*args, **kw)
    api.delete = delete_after_race
    with pytest.raises(LockError, match="held by w9"):
        deleter.delete("cp1")
    assert deleter.conflicts == 1


def test_waiter_waits_for_crd_creation_establishment_and_discovery(make_api, tmp_path):
    with EmulatorThread(establish_delay=0.6) as emu:
        api = make_api(emu.url)
        assert not api.is_served("example.com/v1", "Widget")  # discovery cache now lacks it

        def install_later():
            time.sleep(0.4)
            emu.store.create("apiextensions.k8s.io", "customresourcedefinitions", None, {
                "metadata": {"name": "widgets.example.com"},
                "spec": {"group": "example.com", "scope": "Namespaced",
                         "names": {"plural": "widgets", "kind": "Widget"},
                         "versions": [{"name": "v1", "served": True, "storage": True}]}}, "v1")
        threading.Thread(target=install_later).start()
        waiter = CrdWaiter(api, SystemClock(), poll_interval=0.1, max_poll_interval=0.3)
        result = waiter.wait([CrdTarget(group="example.com", kind="Widget")], [], timeout=10)
        assert result["crds"][0]["ready"] and result["elapsed"] >= 0.9
        assert api.is_served("example.com/v1", "Widget"), "next task can use the kind"
        api.create("example.com/v1", "Widget", {"apiVersion": "example.com/v1", "kind": "Widget",
                                                "metadata": {"name": "w"}, "spec": {}}, "default")


def test_waiter_ignores_stale_condition_over_http(emulator, make_api):
    api = make_api(emulator.url)
    emulator.store.create("helm.cattle.io", "helmcharts", "kube-system", {
        "metadata": {"name": "cilium"}, "spec": {"version": "1"}}, "v1")
    emulator.store.update("helm.cattle.io", "helmcharts", "kube-system", "cilium", {
        "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]}},
        "v1", "status")
    target = ResourceTarget("helm.cattle.io/v1", "HelmChart", "cilium", "kube-system", {"type": "Ready"})
    waiter = CrdWaiter(api, SystemClock(), poll_interval=0.05, max_poll_interval=0.1)
    assert waiter.wait([CrdTarget(name="helmcharts.helm.cattle.io")], [target], timeout=2)["resources"][0]["ready"]
    current = emulator.store.get("helm.cattle.io", "helmcharts", "kube-system", "cilium", "v1")
    current["spec"]["version"] = "2"
    emulator.store.update("helm.cattle.io", "helmcharts", "kube-system", "cilium", current, "v1")
    target = ResourceTarget("helm.cattle.io/v1", "HelmChart", "cilium", "kube-system", {"type": "Ready"})
    with pytest.raises(WaitTimeout, match="observedGeneration 1 < generation 2"):
        CrdWaiter(api, SystemClock(), 0.05, 0.1).wait([], [target], timeout=0.5)
