#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: crd_wait
short_description: Wait for CRDs to exist and be Established, and for objects to reach a condition
version_added: 0.1.0
description:
  - Waits until the named CustomResourceDefinitions exist, are C(Established) and have their names
    accepted (C(NamesAccepted)), then refreshes API discovery and waits until discovery serves their kinds,
    so that the next task can use them. Unlike C(kubectl wait), a CRD that does not exist yet is waited for
    instead of failing at once.
  - Optionally waits until given objects (custom resources or any other kind) have a condition with the
    wanted type, status and reason. A condition only counts when it is current, that is when the reported
    C(observedGeneration) (of the condition, or else C(status.observedGeneration)) is at least
    C(metadata.generation); a C(True) from before the last spec change is ignored.
  - Polls with a growing interval (factor 1.5, from O(poll_interval) up to O(max_poll_interval)).
    On timeout the error lists every object still waited on with its last observed conditions.
author:
  - homelab.k3s maintainers
extends_documentation_fragment:
  - homelab.k3s.k8s_connection
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
options:
  names:
    description:
      - Names of CRDs to wait for, for example V(helmcharts.helm.cattle.io).
    type: list
    elements: str
    default: []
  group:
    description:
      - API group of the CRDs given by O(kinds), for example V(cilium.io).
    type: str
  kinds:
    description:
      - Kinds of CRDs in O(group) to wait for, for example V(CiliumLoadBalancerIPPool). Requires O(group).
    type: list
    elements: str
    default: []
  resources:
    description:
      - Objects to wait for after the CRDs are ready.
    type: list
    elements: dict
    default: []
    suboptions:
      api_version:
        description: API version of the object, for example V(helm.cattle.io/v1).
        type: str
        required: true
      kind:
        description: Kind of the object.
        type: str
        required: true
      name:
        description: Name of the object.
        type: str
        required: true
      namespace:
        description: Namespace of the object (omit for cluster-scoped kinds).
        type: str
      condition:
        description: The condition to wait for. Defaults to O(condition).
        type: dict
        suboptions:
          type:
            description: Condition type.
            type: str
            required: true
          status:
            description: Wanted status.
            type: str
            default: "True"
            choices: ["True", "False", "Unknown"]
          reason:
            description: Wanted reason; any reason when omitted.
            type: str
  condition:
    description:
      - Default condition for entries of O(resources) that give none.
    type: dict
    default: {type: Ready, status: "True"}
    suboptions:
      type:
        description: Condition type.
        type: str
        required: true
      status:
        description: Wanted status.
        type: str
        default: "True"
        choices: ["True", "False", "Unknown"]
      reason:
        description: Wanted reason; any reason when omitted.
        type: str
  timeout:
    description: Seconds to wait in total before failing.
    type: float
    default: 120
  poll_interval:
    description: Seconds between the first polls; grows by half each poll.
    type: float
    default: 1
  max_poll_interval:
    description: Upper bound of the poll interval in seconds.
    type: float
    default: 10
'''

EXAMPLES = r'''
- name: Wait for the HelmChart CRD of K3s before creating HelmCharts
  homelab.k3s.crd_wait:
    kubeconfig: /etc/rancher/k3s/k3s.yaml
    names:
      - helmcharts.helm.cattle.io

- name: Wait for Cilium's CRDs by kind, then for its IP pool to be usable
  homelab.k3s.crd_wait:
    group: cilium.io
    kinds: [CiliumLoadBalancerIPPool, CiliumL2AnnouncementPolicy]
    timeout: 300

- name: Wait until cert-manager's ClusterIssuer is Ready for its current spec
  homelab.k3s.crd_wait:
    names: [clusterissuers.cert-manager.io]
    resources:
      - api_version: cert-manager.io/v1
        kind: ClusterIssuer
        name: letsencrypt
        condition: {type: Ready, status: "True"}
'''

RETURN = r'''
crds:
  description: One entry per CRD waited for.
  returned: always
  type: list
  elements: dict
  sample:
    - name: helmcharts.helm.cattle.io
      group: helm.cattle.io
      kind: HelmChart
      versions: [v1]
      exists: true
      ready: true
      waiting_for: null
      conditions: [{type: NamesAccepted, status: "True"}, {type: Established, status: "True"}]
resources:
  description: One entry per object waited for, with its generation and conditions.
  returned: always
  type: list
  elements: dict
  sample:
    - api_version: helm.cattle.io/v1
      kind: HelmChart
      name: cilium
      namespace: kube-system
      ready: true
      generation: 2
      observed_generation: 2
      conditions: [{type: Ready, status: "True"}]
elapsed:
  description: Seconds spent waiting.
  returned: success
  type: float
  sample: 2.5
polls:
  description: Number of polls made.
  returned: success
  type: int
  sample: 3
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import (
    CONNECTION_ARG_SPEC, HAS_KUBERNETES, KUBERNETES_IMPORT_ERROR, KubernetesApi, KubernetesApiError, SystemClock,
)
from ansible_collections.homelab.k3s.plugins.module_utils.crd_wait import (
    CrdTarget, CrdWaiter, ResourceTarget, WaitTimeout,
)

CONDITION_SPEC = dict(
    type=dict(type="str", required=True),
    status=dict(type="str", default="True", choices=["True", "False", "Unknown"]),
    reason=dict(type="str"),
)


def main():
    argument_spec = dict(
        names=dict(type="list", elements="str", default=[]),
        group=dict(type="str"),
        kinds=dict(type="list", elements="str", default=[]),
        resources=dict(type="list", elements="dict", default=[], options=dict(
            api_version=dict(type="str", required=True),
            kind=dict(type="str", required=True),
            name=dict(type="str", required=True),
            namespace=dict(type="str"),
            condition=dict(type="dict", options=CONDITION_SPEC),
        )),
        condition=dict(type="dict", options=CONDITION_SPEC, default=dict(type="Ready", status="True")),
        timeout=dict(type="float", default=120),
        poll_interval=dict(type="float", default=1),
        max_poll_interval=dict(type="float", default=10),
    )
    argument_spec.update(CONNECTION_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    if p["kinds"] and not p["group"]:
        module.fail_json(msg="kinds: needs group (the API group the kinds belong to)")
    if not (p["names"] or p["kinds"] or p["resources"]):
        module.fail_json(msg="nothing to wait for: give names, group and kinds, or resources")
    if p["timeout"] < 0 or p["poll_interval"] <= 0:
        module.fail_json(msg="timeout must be >= 0 and poll_interval > 0")

    crds = [CrdTarget(name=n) for n in p["names"]] + [CrdTarget(group=p["group"], kind=k) for k in p["kinds"]]
    resources = [ResourceTarget(r["api_version"], r["kind"], r["name"], r["namespace"],
                                r["condition"] or p["condition"]) for r in p["resources"]]
    try:
        api = KubernetesApi.from_params(p)
        waiter = CrdWaiter(api, SystemClock(), p["poll_interval"], p["max_poll_interval"])
        result = waiter.wait(crds, resources, p["timeout"])
    except WaitTimeout as exc:
        module.fail_json(msg=str(exc), crds=exc.crds, resources=exc.resources)
    except KubernetesApiError as exc:
        module.fail_json(msg="Kubernetes API error: %s" % exc)
    except Exception as exc:  # pylint: disable=broad-except  # connection, kubeconfig
        module.fail_json(msg="cannot talk to the Kubernetes API (%s): %s" % (type(exc).__name__, exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
