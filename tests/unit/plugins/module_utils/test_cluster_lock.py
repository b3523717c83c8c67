"""Unit tests of the ConfigMap lock logic against the in-memory fake API."""
import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.cluster_lock import ClusterLock, LockError
from fake_k8s import FakeApi

NS, NAME = "kube-system", "shutdown-lock"


def lock(api, clock, **kw):
    return ClusterLock(api, clock, NS, NAME, poll_interval=1, max_poll_interval=4, **kw)


def configmap(api):
    return api.objects[("v1", "ConfigMap", NS, NAME)]


def test_acquire_free_lock_takes_two_round_trips(api, clock):
    changed, info, waited = lock(api, clock).acquire("cp1-abc", ttl=60, reason="shutdown")
    assert changed and info["holder"] == "cp1-abc" and info["held"]
    assert info["reason"] == "shutdown" and info["ttl"] == 60
    assert api.calls == ["get", "create"]
    assert waited == 0


def test_reacquire_renews_without_change(api, clock):
    lock(api, clock).acquire("cp1", ttl=60)
    first = configmap(api)["data"]["renewTime"]
    clock.advance(10)
    changed, info, dummy = lock(api, clock).acquire("cp1", ttl=60)
    assert not changed
    assert configmap(api)["data"]["renewTime"] != first
    assert info["acquired_time"] != info["renew_time"]
    assert info["transitions"] == 1


def test_renew_with_new_data_is_a_change(api, clock):
    lock(api, clock).acquire("cp1", ttl=60, data={"a": 1})
    changed, info, dummy = lock(api, clock).acquire("cp1", ttl=60, data={"a": 2})
    assert changed and info["data"] == {"a": 2}


def test_contender_waits_then_fails_with_holder_in_message(api, clock):
    lock(api, clock).acquire("cp1", ttl=60, reason="scale down")
    with pytest.raises(LockError) as err:
        lock(api, clock).acquire("w1", ttl=60, wait_timeout=10)
    assert "held by cp1" in str(err.value) and "scale down" in str(err.value)
    assert err.value.lock["holder"] == "cp1"
    assert clock.sleeps[:3] == [1, 1.5, 2.25] and sum(clock.sleeps) == pytest.approx(10)


def test_contender_gets_lock_once_released(api, clock):
    lock(api, clock).acquire("cp1", ttl=60)

    def release_later(seconds):
        clock.advance(seconds)
        if clock.mono > 103:
            lock(api, clock).release("cp1")
    clock.sleep = release_later
    changed, info, waited = lock(api, clock).acquire("w1", ttl=60, wait_timeout=30)
    assert changed and info["holder"] == "w1" and 3 < waited < 10


def test_steal_after_expiry(api, clock):
    lock(api, clock).acquire("dead", ttl=30, data={"replicas": {"db": 3}})
    clock.advance(30)  # exactly at expiry plus less than the clock resolution: still held
    assert lock(api, clock).query()["held"]
    clock.advance(1.5)
    info = lock(api, clock).query()
    assert info["expired"] and not info["held"]
    changed, info, dummy = lock(api, clock).acquire("new", ttl=30)
    assert changed and info["holder"] == "new" and info["transitions"] == 2
    assert info["data"] == {"replicas": {"db": 3}}, "data of a dead holder survives a takeover"


def test_expiry_falls_back_to_observation_without_date_header(clock):
    api = FakeApi(clock, send_date=False)
    lock(api, clock).acquire("dead", ttl=20)
    clock.advance(1000)  # wall time says long expired, but no server clock: must observe
    observer = lock(api, clock)
    assert observer.query()["held"]
    clock.advance(21.5)
    assert observer.query()["expired"]
    changed, info, dummy = observer.acquire("new", ttl=20)
    assert info["holder"] == "new"


def test_release_by_non_holder_is_refused(api, clock):
    lock(api, clock).acquire("cp1", ttl=60)
    with pytest.raises(LockError, match="held by cp1, not by w1"):
        lock(api, clock).release("w1")
    assert configmap(api)["data"]["holder"] == "cp1"
    changed, info = lock(api, clock).release("w1", force=True)
    assert changed and info["holder"] is None


def test_release_keeps_or_drops_data(api, clock):
    lock(api, clock).acquire("cp1", ttl=60, data={"argocd": 1})
    changed, info = lock(api, clock).release("cp1")
    assert changed and info["data"] == {"argocd": 1} and not info["held"]
    changed, dummy = lock(api, clock).release("cp1")
    assert not changed, "releasing a free lock is a no-op"
    changed, info = lock(api, clock).release("cp1", keep_data=False)
    assert changed and info["data"] == {}


def test_data_round_trip_and_foreign_metadata_preserved(api, clock):
    api.put_object("v1", "ConfigMap", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NS, "labels": {"team": "ops"},
                     "annotations": {"note": "keep me"}},
        "data": {"other": "value"}})
    data = {"deployments": {"db/postgres": 2, "apps/web": 3}, "list": [1, "two"], "flag": True}
    lock(api, clock).acquire("cp1", ttl=60, data=data)
    cm = configmap(api)
    assert cm["metadata"]["labels"] == {"team": "ops"}
    assert cm["metadata"]["annotations"] == {"note": "keep me"}
    assert cm["data"]["other"] == "value"
    assert lock(api, clock).query()["data"] == data


def test_conflict_on_write_rereads_and_retries(api, clock):
    lock(api, clock).acquire("dead", ttl=10)
    clock.advance(20)
    racer = {"done": False}

    def someone_else_writes_first(op):
        if not racer["done"]:
            racer["done"] = True
            api.before_write = None
            lock(api, clock).acquire("fast", ttl=60)
            api.before_write = someone_else_writes_first
    api.before_write = someone_else_writes_first
    slow = lock(api, clock)
    with pytest.raises(LockError, match="held by fast"):
        slow.acquire("slow", ttl=60, wait_timeout=0)
    assert slow.conflicts == 1
    assert configmap(api)["data"]["holder"] == "fast"


def test_create_race_is_a_conflict_not_an_overwrite(api, clock):
    def creator_sneaks_in(op):
        api.before_write = None
        lock(api, clock).acquire("first", ttl=60)
    api.before_write = creator_sneaks_in
    second = lock(api, clock)
    with pytest.raises(LockError):
        second.acquire("second", ttl=60)
    assert configmap(api)["data"]["holder"] == "first"


def test_check_mode_writes_nothing(api, clock):
    changed, info, dummy = lock(api, clock, check_mode=True).acquire("cp1", ttl=60)
    assert changed and info["holder"] == "cp1"
    assert api.objects == {}
    lock(api, clock).acquire("cp1", ttl=60)
    before = dict(configmap(api))
    assert lock(api, clock, check_mode=True).release("cp1")[0]
    assert lock(api, clock, check_mode=True).delete("cp1")[0]
    assert configmap(api) == before


def test_delete_only_when_free_expired_ours_or_forced(api, clock):
    lock(api, clock).acquire("cp1", ttl=60)
    with pytest.raises(LockError, match="not deleting"):
        lock(api, clock).delete("w1")
    assert lock(api, clock).delete("cp1")[0]
    assert not lock(api, clock).delete("cp1")[0]
    lock(api, clock).acquire("cp1", ttl=60)
    clock.advance(62)
    assert lock(api, clock).delete("w1")[0], "expired lock may be deleted by anyone"
    lock(api, clock).acquire("cp1", ttl=60)
    assert lock(api, clock).delete("w1", force=True)[0]


def test_delete_uses_resource_version_precondition(api, clock):
    lock(api, clock).acquire("cp1", ttl=60)
    deleter = lock(api, clock)
    real_delete = api.delete
    seen = []

    def delete(*args, **kw):
        seen.append(kw.get("resource_version"))
        return real_delete(*args, **kw)
    api.delete = delete
    rv = configmap(api)["metadata"]["resourceVersion"]
    deleter.delete("cp1")
    assert seen == [rv]


def test_query_of_missing_lock(api, clock):
    info = lock(api, clock).query()
    assert info["exists"] is False and info["holder"] is None and info["data"] == {}


def test_empty_holder_is_refused(api, clock):
    with pytest.raises(LockError, match="holder"):
        lock(api, clock).acquire("", ttl=60)


def test_transact_decides_again_on_the_new_record_after_a_conflict(api, clock):
    lock(api, clock).acquire("cp1", ttl=60, data={"replicas": {"a": 3}})
    seen = []

    def other_writer_first(op):
        api.before_write = None
        lock(api, clock).acquire("cp1", ttl=60, data={"replicas": {"a": 3, "b": 2}})
    api.before_write = other_writer_first

    def add_c(record, info):
        seen.append(dict(info["data"]["replicas"]))
        data = {"replicas": dict(info["data"]["replicas"], c=1)}
        return dict(holder="cp1", ttl=60, reason="r", data=data)
    locker = lock(api, clock)
    info, wrote = locker.transact(add_c)
    assert wrote and locker.conflicts == 1
    assert seen == [{"a": 3}, {"a": 3, "b": 2}]
    assert info["data"] == {"replicas": {"a": 3, "b": 2, "c": 1}}, "no update is lost"
    assert lock(api, clock).transact(lambda record, info: None)[1] is False


def test_transact_check_mode_and_release(api, clock):
    lock(api, clock).acquire("cp1", ttl=60, data={"x": 1})
    before = dict(configmap(api))
    info, wrote = lock(api, clock, check_mode=True).transact(
        lambda record, info: dict(holder="cp2", ttl=60, reason=None, data={}))
    assert wrote and info["holder"] == "cp2" and configmap(api) == before
    info, wrote = lock(api, clock).transact(lambda record, info: dict(holder="", ttl=60, data={}))
    assert info["holder"] is None and info["data"] == {} and info["transitions"] == 1
