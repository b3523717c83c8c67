# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for CRDs and for conditions on objects (logic of the crd_wait module).

A CRD is ready when it exists, its ``Established`` and ``NamesAccepted``
conditions are ``True`` and API discovery serves each of its served
group/version/kind (checked after dropping the discovery cache, so the next
task can use the new kinds). An object is ready when it has a condition of
the wanted type/status/reason that is not stale: the condition's
``observedGeneration`` (or else ``status.observedGeneration``) must be at
least ``metadata.generation`` when either is reported.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import (
    CRD_API_VERSION, CRD_KIND, KindNotServedError,
)


class WaitTimeout(Exception):
    """Raised with the last observed state of everything still waited on."""

    def __init__(self, msg, crds, resources):
        super(WaitTimeout, self).__init__(msg)
        self.crds = crds
        self.resources = resources


def _conditions(obj):
    return list(((obj or {}).get("status") or {}).get("conditions") or [])


def _condition(obj, cond_type):
    for cond in _conditions(obj):
        if cond.get("type") == cond_type:
            return cond
    return None


def _brief_conditions(obj):
    return [dict((k, c.get(k)) for k in ("type", "status", "reason", "message", "observedGeneration")
                 if c.get(k) is not None) for c in _conditions(obj)]


def condition_met(obj, cond_type, status="True", reason=None):
    """Return ``(met, why)`` for one object; ``why`` explains a miss."""
    if obj is None:
        return False, "does not exist"
    cond = _condition(obj, cond_type)
    if cond is None:
        return False, "has no %s condition" % cond_type
    if str(cond.get("status")) != str(status):
        return False, "%s is %s, not %s" % (cond_type, cond.get("status"), status)
    if reason is not None and cond.get("reason") != reason:
        return False, "%s reason is %s, not %s" % (cond_type, cond.get("reason"), reason)
    generation = ((obj.get("metadata") or {}).get("generation"))
    observed = cond.get("observedGeneration")
    if observed is None:
        observed = (obj.get("status") or {}).get("observedGeneration")
    if generation is not None and observed is not None and int(observed) < int(generation):
        return False, ("%s=%s is stale: observedGeneration %s < generation %s"
                       % (cond_type, cond.get("status"), observed, generation))
    return True, "%s=%s" % (cond_type, cond.get("status"))


class CrdTarget(object):
    def __init__(self, name=None, group=None, kind=None):
        self.name = name
        self.group = group
        self.kind = kind
        self.obj = None
        self.why = "not observed yet"
        self.ready = False

    def label(self):
        return self.name or "%s (group %s)" % (self.kind, self.group)

    def matches(self, crd):
        spec = crd.get("spec") or {}
        if self.name:
            return (crd.get("metadata") or {}).get("name") == self.name
        return spec.get("group") == self.group and (spec.get("names") or {}).get("kind") == self.kind

    def report(self):
        spec = (self.obj or {}).get("spec") or {}
        return dict(
            name=(self.obj or {}).get("metadata", {}).get("name") or self.name,
            group=spec.get("group") or self.group,
            kind=(spec.get("names") or {}).get("kind") or self.kind,
            versions=[v.get("name") for v in spec.get("versions") or [] if v.get("served", True)],
            exists=self.obj is not None,
            ready=self.ready,
            waiting_for=None if self.ready else self.why,
            conditions=_brief_conditions(self.obj),
        )


class ResourceTarget(object):
    def __init__(self, api_version, kind, name, namespace=None, condition=None):
        self.api_version = api_version
        self.kind = kind
        self.name = name
        self.namespace = namespace
        condition = condition or {}
        self.cond_type = condition.get("type") or "Ready"
        self.cond_status = condition.get("status") if condition.get("status") is not None else "True"
        self.cond_reason = condition.get("reason")
        self.obj = None
        self.why = "not observed yet"
        self.ready = False

    def label(self):
        where = "%s/%s" % (self.namespace, self.name) if self.namespace else self.name
        return "%s %s %s" % (self.api_version, self.kind, where)

    def report(self):
        meta = (self.obj or {}).get("metadata") or {}
        return dict(
            api_version=self.api_version, kind=self.kind, name=self.name, namespace=self.namespace,
            condition=dict(type=self.cond_type, status=self.cond_status, reason=self.cond_reason),
            exists=self.obj is not None,
            ready=self.ready,
            waiting_for=None if self.ready else self.why,
            generation=meta.get("generation"),
            observed_generation=((self.obj or {}).get("status") or {}).get("observedGeneration"),
            conditions=_brief_conditions(self.obj),
        )


class CrdWaiter(object):
    """Poll until every CRD target and then every resource target is ready.

    ``api`` is a :class:`KubernetesApi` (or fake), ``clock`` has
    ``monotonic()`` and ``sleep()``. The poll interval starts at
    ``poll_interval`` and grows by half each round up to ``max_poll_interval``.
    """

    def __init__(self, api, clock, poll_interval=1.0, max_poll_interval=10.0):
        self.api = api
        self.clock = clock
        self.poll_interval = poll_interval
        self.max_poll_interval = max(poll_interval, max_poll_interval)
        self.polls = 0

    def _check_crds(self, targets):
        pending = [t for t in targets if not t.ready]
        if not pending:
            return True
        crds = self.api.list(CRD_API_VERSION, CRD_KIND).obj
        discovery_refreshed = False
        for target in pending:
            found = [c for c in crds if target.matches(c)]
            target.obj = found[0] if found else None
            if target.obj is None:
                target.why = "CRD does not exist"
                continue
            ok = True
            for cond_type in ("NamesAccepted", "Established"):
                met, why = condition_met(target.obj, cond_type)
                if not met:
                    target.why, ok = why, False
                    break
            if not ok:
                continue
            spec = target.obj.get("spec") or {}
            kind = (spec.get("names") or {}).get("kind")
            versions = [v.get("name") for v in spec.get("versions") or [] if v.get("served", True)]
            if not discovery_refreshed:
                self.api.refresh_discovery()
                discovery_refreshed = True
            missing = [v for v in versions if not self.api.is_served("%s/%s" % (spec.get("group"), v), kind)]
            if missing:
                target.why = "Established, but discovery does not serve %s yet (%s)" % (kind, ", ".join(missing))
                continue
            target.ready, target.why = True, None
        return all(t.ready for t in targets)

    def _check_resources(self, targets):
        for target in targets:
            try:
                target.obj = self.api.get(target.api_version, target.kind, target.name, target.namespace).obj
            except KindNotServedError:
                target.obj = None
                target.why = "kind %s is not served (yet)" % target.kind
                self.api.refresh_discovery()
                continue
            met, why = condition_met(target.obj, target.cond_type, target.cond_status, target.cond_reason)
            target.ready, target.why = met, None if met else why
        return all(t.ready for t in targets)

    def wait(self, crd_targets, resource_targets, timeout):
        start = self.clock.monotonic()
        deadline = start + timeout
        interval = self.poll_interval
        while True:
            self.polls += 1
            if self._check_crds(crd_targets) and self._check_resources(resource_targets):
                return dict(crds=[t.report() for t in crd_targets],
                            resources=[t.report() for t in resource_targets],
                            elapsed=round(self.clock.monotonic() - start, 3), polls=self.polls)
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                waiting = [t for t in crd_targets + resource_targets if not t.ready]
                if any(not t.ready for t in crd_targets):
                    # resources were not checked this round; say why
                    for t in resource_targets:
                        if t.why == "not observed yet":
                            t.why = "not checked: CRDs not ready"
                lines = []
                for t in waiting:
                    conds = ", ".join("%s=%s%s" % (c.get("type"), c.get("status"),
                                                   " (%s)" % c["reason"] if c.get("reason") else "")
                                      for c in _brief_conditions(t.obj)) or "none"
                    lines.append("%s: %s [conditions: %s]" % (t.label(), t.why, conds))
                raise WaitTimeout("timed out after %ss waiting for: %s" % (timeout, "; ".join(lines)),
                                  [t.report() for t in crd_targets], [t.report() for t in resource_targets])
            self.clock.sleep(min(interval, remaining))
            interval = min(interval * 1.5, self.max_poll_interval)
