"""Unit tests of the CRD/condition waiter against the in-memory fake API."""
import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.crd_wait import (
    CrdTarget, CrdWaiter, ResourceTarget, WaitTimeout, condition_met,
)

CRD = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")


def crd(name="helmcharts.helm.cattle.io", group="helm.cattle.io", kind="HelmChart",
        established="True", names="True"):
    conds = []
    if names is not None:
        conds.append({"type": "NamesAccepted", "status": names, "reason": "NoConflicts"})
    if established is not None:
        conds.append({"type": "Established", "status": established, "reason": "InitialNamesAccepted"})
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {"group": group, "names": {"kind": kind, "plural": name.split(".")[0]},
                     "scope": "Namespaced", "versions": [{"name": "v1", "served": True, "storage": True}]},
            "status": {"conditions": conds}}


def waiter(api, clock):
    return CrdWaiter(api, clock, poll_interval=1, max_poll_interval=8)


def test_established_crd_is_ready_and_discovery_refreshed(api, clock):
    api.put_object(*CRD, crd())
    api.served.add(("helm.cattle.io/v1", "HelmChart"))
    result = waiter(api, clock).wait([CrdTarget(name="helmcharts.helm.cattle.io")], [], timeout=5)
    assert result["crds"][0]["ready"] and result["crds"][0]["kind"] == "HelmChart"
    assert api.discovery_refreshes == 1 and result["polls"] == 1


def test_absent_crd_is_waited_for_until_created(api, clock):
    def create_later(seconds):
        clock.advance(seconds)
        if clock.mono > 104 and not api.objects:
            api.put_object(*CRD, crd())
            api.served.add(("helm.cattle.io/v1", "HelmChart"))
    clock.sleep = create_later
    result = waiter(api, clock).wait([CrdTarget(group="helm.cattle.io", kind="HelmChart")], [], timeout=60)
    assert result["crds"][0]["name"] == "helmcharts.helm.cattle.io" and result["polls"] > 2


def test_absent_crd_times_out_with_reason(api, clock):
    with pytest.raises(WaitTimeout, match="does not exist") as err:
        waiter(api, clock).wait([CrdTarget(name="x.example.com")], [], timeout=10)
    assert err.value.crds[0]["exists"] is False


@pytest.mark.parametrize("established,names,why", [
    ("False", "True", "Established is False"),
    (None, "True", "no Established condition"),
    ("True", "False", "NamesAccepted is False"),
])
def test_not_yet_established_crd_is_not_ready(api, clock, established, names, why):
    api.put_object(*CRD, crd(established=established, names=names))
    with pytest.raises(WaitTimeout, match=why) as err:
        waiter(api, clock).wait([CrdTarget(name="helmcharts.helm.cattle.io")], [], timeout=3)
    assert "conditions:" in str(err.value)


def test_established_but_not_in_discovery_keeps_waiting(api, clock):
    api.put_object(*CRD, crd())
    with pytest.raises(WaitTimeout, match="discovery does not serve HelmChart"):
        waiter(api, clock).wait([CrdTarget(name="helmcharts.helm.cattle.io")], [], timeout=3)
    assert api.discovery_refreshes >= 2


def test_backoff_is_capped_and_never_sleeps_past_deadline(api, clock):
    with pytest.raises(WaitTimeout):
        waiter(api, clock).wait([CrdTarget(name="x.example.com")], [], timeout=30)
    assert clock.sleeps[:4] == [1, 1.5, 2.25, 3.375]
    assert max(clock.sleeps) <= 8 and sum(clock.sleeps) == pytest.approx(30)


def chart(generation, cond_status, observed_in_condition=None, observed_in_status=None, reason="Deployed"):
    cond = {"type": "Ready", "status": cond_status, "reason": reason}
    if observed_in_condition is not None:
        cond["observedGeneration"] = observed_in_condition
    status = {"conditions": [cond]}
    if observed_in_status is not None:
        status["observedGeneration"] = observed_in_status
    return {"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart",
            "metadata": {"name": "cilium", "namespace": "kube-system", "generation": generation},
            "status": status}


def test_stale_observed_generation_is_not_accepted():
    assert condition_met(chart(2, "True", observed_in_condition=2), "Ready")[0]
    met, why = condition_met(chart(3, "True", observed_in_condition=2), "Ready")
    assert not met and "stale" in why
    met, why = condition_met(chart(3, "True", observed_in_status=2), "Ready")
    assert not met and "observedGeneration 2 < generation 3" in why
    assert condition_met(chart(3, "True"), "Ready")[0], "no observedGeneration reported: accepted"
    assert not condition_met(chart(1, "True"), "Ready", reason="Other")[0]
    assert condition_met(chart(1, "False", reason="Failed"), "Ready", status="False", reason="Failed")[0]
    assert condition_met(None, "Ready") == (False, "does not exist")


def test_resource_waits_for_fresh_condition(api, clock):
    api.put_object(*CRD, crd())
    api.served.add(("helm.cattle.io/v1", "HelmChart"))
    api.put_object("helm.cattle.io/v1", "HelmChart", chart(2, "True", observed_in_status=1))

    def controller_catches_up(seconds):
        clock.advance(seconds)
        if clock.mono > 103:
            api.put_object("helm.cattle.io/v1", "HelmChart", chart(2, "True", observed_in_status=2))
    clock.sleep = controller_catches_up
    target = ResourceTarget("helm.cattle.io/v1", "HelmChart", "cilium", "kube-system", {"type": "Ready"})
    result = waiter(api, clock).wait([CrdTarget(name="helmcharts.helm.cattle.io")], [target], timeout=30)
    assert result["resources"][0]["ready"] and result["resources"][0]["observed_generation"] == 2


def test_timeout_reports_last_conditions_of_every_pending_object(api, clock):
    api.put_object(*CRD, crd())
    api.served.add(("helm.cattle.io/v1", "HelmChart"))
    api.put_object("helm.cattle.io/v1", "HelmChart", chart(1, "False", reason="Installing"))
    targets = [ResourceTarget("helm.cattle.io/v1", "HelmChart", "cilium", "kube-system"),
               ResourceTarget("helm.cattle.io/v1", "HelmChart", "traefik", "kube-system")]
    with pytest.raises(WaitTimeout) as err:
        waiter(api, clock).wait([], targets, timeout=5)
    msg = str(err.value)
    assert "kube-system/cilium: Ready is False, not True [conditions: Ready=False (Installing)]" in msg
    assert "kube-system/traefik: does not exist [conditions: none]" in msg


def test_unserved_kind_is_retried_with_discovery_refresh(api, clock):
    target = ResourceTarget("example.com/v1", "Widget", "w", "default")
    with pytest.raises(WaitTimeout, match="not served"):
        waiter(api, clock).wait([], [target], timeout=2)
    assert api.discovery_refreshes >= 1
