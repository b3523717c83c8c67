#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: cluster_lock
short_description: Take turns through a lease-style lock kept in a ConfigMap
version_added: 0.1.0
description:
  - Acquires, renews, releases, queries or deletes a lock stored in a ConfigMap, so that nodes and playbooks
    take turns. Example: during a cluster shutdown the control plane holds the lock while it scales workloads
    down and records their replica counts in O(data); workers wait until it is released.
  - Every write is conditional on the C(resourceVersion) last read (create, or replace with that version);
    when another writer got there first the API server answers 409 Conflict and the module reads again and
    decides again. An expired lock is taken over the same way, so two callers can never both win.
  - Expiry is judged on the API server's clock. The renew time is written in server time (taken from the
    C(Date) header of the API responses) and compared with the C(Date) of the response that returned the
    record, so clocks of nodes and controller do not matter (Raspberry Pis have no RTC and may boot with a
    wrong clock). If a server sends no C(Date) header, a lock counts as expired only after this caller has
    seen it unchanged for a whole TTL.
  - Labels, annotations and other data keys of the ConfigMap are preserved.
author:
  - homelab.k3s maintainers
extends_documentation_fragment:
  - homelab.k3s.k8s_connection
attributes:
  check_mode:
    support: full
    description: Reads the lock and reports what would happen, without writing.
  diff_mode:
    support: full
    description: Shows the lock record before and after.
  action:
    support: full
    description: An action plugin fills in the default O(holder) from the inventory hostname.
options:
  name:
    description: Name of the ConfigMap that holds the lock.
    type: str
    default: homelab-k3s-lock
  namespace:
    description: Namespace of the ConfigMap.
    type: str
    default: kube-system
  state:
    description:
      - V(acquired) takes the lock, waiting up to O(wait_timeout) while someone else holds it; taking a lock
        you already hold renews it.
      - V(released) releases the lock if O(holder) holds it (or with O(force)).
      - V(absent) deletes the ConfigMap if the lock is free, expired, held by O(holder), or with O(force).
      - V(query) only reads the lock.
    type: str
    choices: [acquired, released, absent, query]
    default: acquired
  holder:
    description:
      - Unique identity of the caller.
      - When omitted, the action plugin uses C(<inventory_hostname>-<run id>). The run id is the variable
        C(homelab_k3s_lock_run_id) when set, otherwise an 8-character id derived from the
        C(ansible-playbook) process, stable for one run and different for the next.
      - Set it (or C(homelab_k3s_lock_run_id)) explicitly when one identity must span several runs, for
        example acquire in one playbook and release in another.
    type: str
  ttl:
    description:
      - Lease duration in seconds. A holder that does not renew within it loses the lock to the next caller.
    type: int
    default: 300
  wait_timeout:
    description: Seconds to wait for a lock held by someone else (V(acquired) only). V(0) tries once.
    type: float
    default: 300
  poll_interval:
    description: Seconds between the first attempts while waiting; grows by half up to 5 seconds.
    type: float
    default: 1
  reason:
    description: Free text stored with the lock (why it is held), shown to waiters.
    type: str
  data:
    description:
      - Data stored with the lock (any JSON value in a dictionary), for example replica counts recorded before
        a scale-down. When omitted, data already in the lock is kept, also when a lock of a holder that died is
        taken over.
    type: dict
  keep_data:
    description: With V(released), keep the stored O(data) (V(true)) or drop it.
    type: bool
    default: true
  force:
    description: Release or delete a lock held by someone else.
    type: bool
    default: false
notes:
  - Acquiring a lock you already hold renews it; that is reported as changed only when O(reason), O(data) or
    O(ttl) change, not for the renew time alone, so re-runs are idempotent.
  - Acquiring a free lock takes two API round trips (read, then conditional write).
'''

EXAMPLES = r'''
- name: Take the shutdown lock and record replica counts
  homelab.k3s.cluster_lock:
    kubeconfig: /etc/rancher/k3s/k3s.yaml
    name: shutdown-lock
    ttl: 900
    reason: scaling workloads down for shutdown
    data:
      replicas: "{{ replica_counts }}"

- name: Wait until the control plane has released the shutdown lock
  homelab.k3s.cluster_lock:
    name: shutdown-lock
    state: acquired
    wait_timeout: 1200
  register: worker_turn

- name: Release it again
  homelab.k3s.cluster_lock:
    name: shutdown-lock
    state: released
    holder: "{{ worker_turn.lock.holder }}"

- name: Use one identity for all tasks of a run (set once per play)
  ansible.builtin.set_fact:
    homelab_k3s_lock_run_id: "{{ lookup('ansible.builtin.password', '/dev/null', chars=['ascii_lowercase', 'digits'], length=8) }}"
  run_once: true

- name: Read the replica counts at startup
  homelab.k3s.cluster_lock:
    name: shutdown-lock
    state: query
  register: shutdown_lock
'''

RETURN = r'''
lock:
  description: The lock after the operation (in check mode, as it would be).
  returned: always
  type: dict
  contains:
    name: {description: ConfigMap name., type: str, returned: always, sample: shutdown-lock}
    namespace: {description: ConfigMap namespace., type: str, returned: always, sample: kube-system}
    exists: {description: Whether the ConfigMap exists., type: bool, returned: always, sample: true}
    holder: {description: Current holder, null when free., type: str, returned: always, sample: cp1-3f9a1c2e}
    held: {description: Held by someone and not expired., type: bool, returned: always, sample: true}
    expired: {description: Has a holder whose lease ran out., type: bool, returned: always, sample: false}
    acquired_time: {description: When the holder took it (server clock, RFC 3339)., type: str, returned: always, sample: "2026-11-22T01:00:00.000000Z"}
    renew_time: {description: Last renewal (server clock)., type: str, returned: always, sample: "2026-11-22T01:05:00.000000Z"}
    expires: {description: renew_time + ttl., type: str, returned: always, sample: "2026-11-22T01:10:00.000000Z"}
    ttl: {description: Lease duration in seconds., type: int, returned: always, sample: 300}
    transitions: {description: How many times the lock changed hands., type: int, returned: always, sample: 3}
    reason: {description: Why it is held., type: str, returned: always, sample: shutdown}
    data: {description: Data stored with the lock., type: dict, returned: always, sample: {replicas: {db/postgres: 2}}}
    resource_version: {description: resourceVersion of the ConfigMap., type: str, returned: always, sample: "4711"}
    server_time: {description: API server clock at the last response., type: str, returned: always, sample: "2026-11-22T01:05:00.000000Z"}
waited:
  description: Seconds spent waiting for the lock (V(acquired) only).
  returned: when state is acquired
  type: float
  sample: 12.5
conflicts:
  description: Number of 409 Conflicts met (lost races) before the operation succeeded.
  returned: always
  type: int
  sample: 0
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import (
    CONNECTION_ARG_SPEC, HAS_KUBERNETES, KUBERNETES_IMPORT_ERROR, KubernetesApi, KubernetesApiError, SystemClock,
)
from ansible_collections.homelab.k3s.plugins.module_utils.cluster_lock import ClusterLock, LockError


def main():
    argument_spec = dict(
        name=dict(type="str", default="homelab-k3s-lock"),
        namespace=dict(type="str", default="kube-system"),
        state=dict(type="str", default="acquired", choices=["acquired", "released", "absent", "query"]),
        holder=dict(type="str"),
        ttl=dict(type="int", default=300),
        wait_timeout=dict(type="float", default=300),
        poll_interval=dict(type="float", default=1),
        reason=dict(type="str"),
        data=dict(type="dict"),
        keep_data=dict(type="bool", default=True),
        force=dict(type="bool", default=False),
    )
    argument_spec.update(CONNECTION_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("state", "acquired", ["holder"]), ("state", "released", ["holder"])])
    p = module.params
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    if p["ttl"] <= 0:
        module.fail_json(msg="ttl must be a positive number of seconds")
    if p["wait_timeout"] < 0 or p["poll_interval"] <= 0:
        module.fail_json(msg="wait_timeout must be >= 0 and poll_interval > 0")

    result = dict(changed=False)
    lock = None
    try:
        api = KubernetesApi.from_params(p)
        lock = ClusterLock(api, SystemClock(), p["namespace"], p["name"], poll_interval=p["poll_interval"],
                           check_mode=module.check_mode)
        if p["state"] == "acquired":
            changed, info, waited = lock.acquire(p["holder"], p["ttl"], p["wait_timeout"], p["reason"], p["data"])
            result.update(waited=round(waited, 3))
        elif p["state"] == "released":
            changed, info = lock.release(p["holder"], p["force"], p["keep_data"])
        elif p["state"] == "absent":
            changed, info = lock.delete(p["holder"], p["force"])
        else:
            changed, info = False, lock.query()
    except LockError as exc:
        module.fail_json(msg=str(exc), lock=exc.lock, conflicts=lock.conflicts if lock else 0)
    except KubernetesApiError as exc:
        module.fail_json(msg="Kubernetes API error: %s" % exc)
    except Exception as exc:  # pylint: disable=broad-except  # connection, kubeconfig
        module.fail_json(msg="cannot talk to the Kubernetes API (%s): %s" % (type(exc).__name__, exc))
    result.update(changed=changed, lock=info, conflicts=lock.conflicts)
    if module._diff and lock.before is not None:
        result["diff"] = dict(before=_diffable(lock.before), after=_diffable(info))
    module.exit_json(**result)


def _diffable(info):
    return dict((k, v) for k, v in info.items() if k not in ("server_time", "resource_version", "held", "expired"))


if __name__ == "__main__":
    main()
