#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: cluster_power
short_description: Whole-cluster graceful shutdown and startup of a K3s cluster
version_added: 0.2.0
description:
  - Shuts a whole K3s cluster down and starts it again without losing a replica count, in the order of
    C(docs/power-cycle.md) of this collection. The same code runs on the nodes as C(homelab-cluster-shutdown) and
    C(homelab-cluster-startup) (installed by the C(homelab.k3s.cluster_power) role), for a UPS, a timer or a person
    when the controller is not there.
  - The procedure holds the cluster lock (M(homelab.k3s.cluster_lock), a ConfigMap) from the start of the shutdown
    to the end of the startup, and keeps its record in the lock's data. The replica counts of the selected
    Deployments and StatefulSets are written there B(before) any is scaled, and a count already recorded is never
    replaced, so running the shutdown again after a failure at any step finishes the job, and the startup restores
    exactly the recorded counts (not 1).
  - A lock held by someone else (for example an operator's maintenance lock) is refused unless O(force); another
    run of this procedure that is still at work is refused too (it is taken over once it finished its part, or its
    lease expired).
  - Every wait is bounded; a timeout names what is still waited for.
author:
  - homelab.k3s maintainers (@homelab-k3s)
extends_documentation_fragment:
  - homelab.k3s.k8s_connection
attributes:
  check_mode:
    support: full
    description: Reads the cluster and returns the plan (which workloads would be scaled from what to 0, which nodes
      are stopped in which order); nothing is written and no command is run.
  diff_mode:
    support: none
    description: The plan in RV(steps) shows what changes.
requirements:
  - "On the host that runs the module: the C(kubernetes) Python client (>= 24.2.0, < 38), or K3s's C(kubectl) (a K3s server)."
notes:
  - O(state=node_stopped) needs root on the node and ends with the node powering off (C(systemctl poweroff
    --no-block)), so the task returns before the connection drops.
  - The DNS check of O(state=startup) queries the kube-dns Service from the host that runs the module; run it on a
    server (with the K3s admin kubeconfig), not on the controller, or set O(dns_check=false).
options:
  state:
    description:
    - 'V(shutdown): steps 1-6 of the shutdown from this host (lock, etcd snapshot, suspend GitOps, record replica
      counts then scale to 0, wait for pods and VolumeAttachments, cordon and taint every node, drain agents). K3s
      keeps running; stop the nodes with V(node_stopped).'
    - 'V(startup): wait for the servers and the API, for every node Ready and for cluster DNS, remove the taint, uncordon,
      restore the recorded replica counts, resume GitOps, release the lock.'
    - 'V(servers_ready): only the first startup step (every server reachable, API answers); the startup playbook starts
      agents after it.'
    - 'V(node_stopped): on the node itself, stop K3s (C(k3s) or C(k3s-agent), see O(node_role)), run the kill-all
      script, then O(node_action).'
    type: str
    default: shutdown
    choices:
    - shutdown
    - startup
    - servers_ready
    - node_stopped
  api_client:
    description:
      - How to talk to the API. V(kubernetes) is the C(kubernetes) Python client with the connection options.
        V(kubectl) is K3s's own C(kubectl) (O(kubectl)) with O(kubeconfig) only, as the on-node commands do; a K3s
        server needs nothing else. V(auto) takes the Python client when it is installed, else kubectl.
    type: str
    choices: [auto, kubernetes, kubectl]
    default: auto
  kubectl:
    description: The kubectl command for O(api_client=kubectl).
    type: list
    elements: str
    default: [k3s, kubectl]
  holder:
    description: Who runs the procedure; stored as C(homelab-power@<holder>) in the lock. Use the same value to resume
      a run; the on-node commands use the node name.
    type: str
    default: ansible
  node_role:
    description: Role of this node, for O(state=node_stopped).
    type: str
    choices:
    - server
    - agent
  lock_name:
    description: ConfigMap of the lock (see M(homelab.k3s.cluster_lock)); it also holds the record.
    type: str
    default: homelab-k3s-power
  lock_namespace:
    description: Namespace of the lock ConfigMap.
    type: str
    default: kube-system
  lock_ttl:
    description: Lease of the lock during a shutdown, in seconds. It stays held while the cluster is off; an expired
      lease only lets another run of this procedure take over (the record is kept).
    type: int
    default: 7200
  startup_lock_ttl:
    description: Lease of the lock during a startup, in seconds; a startup that died is taken over by the next one
      after it.
    type: int
    default: 900
  force:
    description: Take the lock even when someone else holds it (for example an operator's maintenance lock), or take
      over a run of this procedure that is still alive.
    type: bool
    default: false
  etcd_snapshot:
    description: Take an on-demand etcd snapshot (C(k3s etcd-snapshot save)) on this host before anything changes.
      Only on a server of an embedded-etcd cluster. Taken once per shutdown, also when resumed.
    type: bool
    default: false
  etcd_snapshot_name:
    description: Base name of the snapshot (C(--name)).
    type: str
    default: homelab-pre-shutdown
  suspend_flux:
    description: Suspend Flux Kustomizations and HelmReleases (C(spec.suspend)) when Flux is installed; only those
      this procedure suspended are resumed.
    type: bool
    default: true
  argocd_namespace:
    description: Namespace of the Argo CD application controller StatefulSet, scaled to 0 first and restored last
      when it exists.
    type: str
    default: argocd
  argocd_controller:
    description: Name of that StatefulSet.
    type: str
    default: argocd-application-controller
  namespaces:
    description: Namespaces whose Deployments and StatefulSets are scaled down. Empty means every namespace minus
      O(exclude_namespaces). A namespace that does not exist is an error before anything is touched.
    type: list
    default: []
    elements: str
  exclude_namespaces:
    description: Namespaces never scaled down.
    type: list
    default:
    - kube-system
    elements: str
  label_selector:
    description: Only workloads with these labels (C(k=v), C(k!=v), C(k), C(!k), comma-separated), for example C(storage=rook-ceph).
    type: str
    default: ''
  stateful_order:
    description: Scale StatefulSets after (V(last)) or before (V(first)) the Deployments.
    type: str
    default: last
    choices:
    - first
    - last
  pods_timeout:
    description: Seconds to wait for the pods of scaled workloads to be gone.
    type: int
    default: 300
  volume_attachments_timeout:
    description: Seconds to wait until no VolumeAttachment is left (CSI volumes detached). On timeout the ones left
      are listed and the shutdown stops, unless O(ignore_volume_attachments).
    type: int
    default: 300
  ignore_volume_attachments:
    description: Go on after O(volume_attachments_timeout) with VolumeAttachments left.
    type: bool
    default: false
  taint_key:
    description: Key of the taint put on every node at shutdown and removed at startup once DNS answers.
    type: str
    default: homelab.k3s/power-cycle
  taint_effect:
    description: 'Effect of that taint. V(NoExecute) also evicts running pods that do not tolerate it, CoreDNS included,
      and the startup waits for DNS before it removes the taint: keep V(NoSchedule) unless your DNS pods tolerate
      the taint.'
    type: str
    default: NoSchedule
    choices:
    - NoSchedule
    - NoExecute
  drain_agents:
    description: Delete the pods on agents that no DaemonSet owns (mirror pods excepted) and wait for them to be gone.
    type: bool
    default: true
  drain_timeout:
    description: Seconds to wait for the drained pods to be gone.
    type: int
    default: 120
  agents_stop_timeout:
    description: 'On-node path: seconds the coordinating server waits for agents to be NotReady before it releases
      the servers.'
    type: int
    default: 180
  follower_timeout:
    description: 'On-node path: seconds a node that does not coordinate waits to be released before it stops anyway.'
    type: int
    default: 900
  node_action:
    description: 'What O(state=node_stopped) does after stopping K3s: power off, halt, or nothing (maintenance: only
      K3s is stopped).'
    type: str
    default: poweroff
    choices:
    - poweroff
    - halt
    - stop-k3s
  k3s_killall:
    description:
      - K3s's kill-all script, run after stopping K3s when it exists (the K3s install script installs it; K3s's unit
        uses C(KillMode=process), so stopping it leaves the containers running).
      - When it does not exist (this collection's k3s roles install the binary, not the script), the module kills the
        containerd shims and all their descendants with SIGKILL instead, which is what matters before a power-off.
    type: path
    default: /usr/local/bin/k3s-killall.sh
  servers:
    description: 'Names of the server Nodes. Empty: the Nodes labelled C(node-role.kubernetes.io/control-plane=true).
      No server at all is an error.'
    type: list
    default: []
    elements: str
  agents:
    description: Names of the agent Nodes (with O(servers)); empty with O(servers) set means every other Node is ignored.
    type: list
    default: []
    elements: str
  server_addresses:
    description: 'Server name to address, for the cold-start check while the API is still down (the inventory). Empty:
      the addresses recorded at shutdown, read once the API answers.'
    type: dict
    default: {}
  servers_timeout:
    description: 'Startup: seconds to wait for every server to answer on O(server_port) and for the API. On timeout
      the missing servers are named with what to do: with only a minority back the startup stops (embedded etcd
      has no quorum); with a majority back it goes on without them and warns.'
    type: int
    default: 600
  server_port:
    description: Port probed on each server (the K3s supervisor/API port).
    type: int
    default: 6443
  nodes_timeout:
    description: 'Startup: seconds to wait for every node to be Ready.'
    type: int
    default: 600
  dns_check:
    description: 'Startup: wait until the kube-dns Service answers an A query for O(dns_name), sent from this host
      (so run it on a node).'
    type: bool
    default: true
  dns_name:
    description: Name queried by the DNS check.
    type: str
    default: kubernetes.default.svc.cluster.local
  dns_timeout:
    description: Seconds to wait for DNS.
    type: int
    default: 300
  poll_interval:
    description: First interval between polls while waiting; grows by half up to O(max_poll_interval).
    type: float
    default: 2.0
  max_poll_interval:
    description: Longest interval between polls.
    type: float
    default: 10.0

'''

EXAMPLES = r'''
- name: Scale the cluster down, recording replica counts (on the first server)
  homelab.k3s.cluster_power:
    kubeconfig: /etc/rancher/k3s/k3s.yaml
    state: shutdown
    etcd_snapshot: true
    label_selector: storage=rook-ceph
  register: shutdown

- name: Stop agents first, then every server at once (one task over all servers)
  homelab.k3s.cluster_power:
    state: node_stopped
    node_role: "{{ 'server' if inventory_hostname in groups['k3s_servers'] else 'agent' }}"
    node_action: poweroff

- name: Bring the cluster back and restore the recorded counts
  homelab.k3s.cluster_power:
    kubeconfig: /etc/rancher/k3s/k3s.yaml
    state: startup
    server_addresses: "{{ dict(groups['k3s_servers'] | zip(groups['k3s_servers'] | map('extract', hostvars, 'ansible_host'))) }}"

- name: What would a shutdown do?
  homelab.k3s.cluster_power:
    kubeconfig: /etc/rancher/k3s/k3s.yaml
    state: shutdown
  check_mode: true
  register: plan
'''

RETURN = r'''
steps:
  description: The steps done (or planned, in check mode), in order, each with its duration.
  returned: always
  type: list
  elements: dict
  sample:
    - {step: record, changed: true, seconds: 0.04, recorded: {Deployment/apps/web: 3}}
    - {step: scale_down, changed: true, seconds: 0.08, scaled: ["Deployment/apps/web: 3 -> 0"]}
    - {step: restore, changed: true, seconds: 0.05, restored: ["Deployment/apps/web: 0 -> 3"]}
record:
  description: The record kept in the lock after the operation (empty once a startup released it).
  returned: always
  type: dict
  sample: {phase: nodes, replicas: {Deployment/apps/web: 3}, nodes: {cp1: {role: server, address: 192.168.1.10}}}
lock:
  description: The lock after the operation, as returned by M(homelab.k3s.cluster_lock).
  returned: always
  type: dict
  sample: {holder: homelab-power@ansible, held: true, reason: "homelab.k3s cluster power: shut the cluster down"}
plan:
  description: Node stop order after a shutdown.
  returned: when state is shutdown
  type: dict
  sample: {stop_first: [w1], stop_together: [cp1, cp2, cp3], node_action: poweroff}
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import (
    CONNECTION_ARG_SPEC, HAS_KUBERNETES, KUBERNETES_CLIENT_RANGE, KUBERNETES_IMPORT_ERROR, KubernetesApi,
    KubernetesApiError, SystemClock,
)
from ansible_collections.homelab.k3s.plugins.module_utils.cluster_power import ClusterPower, PowerError
from ansible_collections.homelab.k3s.plugins.module_utils.kubectl_api import KubectlApi

ARGUMENT_SPEC = dict(
    api_client=dict(type='str', default='auto', choices=['auto', 'kubernetes', 'kubectl']),
    kubectl=dict(type='list', elements='str', default=['k3s', 'kubectl']),
    state=dict(type='str', default='shutdown', choices=['shutdown', 'startup', 'servers_ready', 'node_stopped']),
    holder=dict(type='str', default='ansible'),
    node_role=dict(type='str', choices=['server', 'agent']),
    lock_name=dict(type='str', default='homelab-k3s-power'),
    lock_namespace=dict(type='str', default='kube-system'),
    lock_ttl=dict(type='int', default=7200),
    startup_lock_ttl=dict(type='int', default=900),
    force=dict(type='bool', default=False),
    etcd_snapshot=dict(type='bool', default=False),
    etcd_snapshot_name=dict(type='str', default='homelab-pre-shutdown'),
    suspend_flux=dict(type='bool', default=True),
    argocd_namespace=dict(type='str', default='argocd'),
    argocd_controller=dict(type='str', default='argocd-application-controller'),
    namespaces=dict(type='list', default=[], elements='str'),
    exclude_namespaces=dict(type='list', default=['kube-system'], elements='str'),
    label_selector=dict(type='str', default=''),
    stateful_order=dict(type='str', default='last', choices=['first', 'last']),
    pods_timeout=dict(type='int', default=300),
    volume_attachments_timeout=dict(type='int', default=300),
    ignore_volume_attachments=dict(type='bool', default=False),
    taint_key=dict(type='str', default='homelab.k3s/power-cycle', no_log=False),
    taint_effect=dict(type='str', default='NoSchedule', choices=['NoSchedule', 'NoExecute']),
    drain_agents=dict(type='bool', default=True),
    drain_timeout=dict(type='int', default=120),
    agents_stop_timeout=dict(type='int', default=180),
    follower_timeout=dict(type='int', default=900),
    node_action=dict(type='str', default='poweroff', choices=['poweroff', 'halt', 'stop-k3s']),
    k3s_killall=dict(type='path', default='/usr/local/bin/k3s-killall.sh'),
    servers=dict(type='list', default=[], elements='str'),
    agents=dict(type='list', default=[], elements='str'),
    server_addresses=dict(type='dict', default={}),
    servers_timeout=dict(type='int', default=600),
    server_port=dict(type='int', default=6443),
    nodes_timeout=dict(type='int', default=600),
    dns_check=dict(type='bool', default=True),
    dns_name=dict(type='str', default='kubernetes.default.svc.cluster.local'),
    dns_timeout=dict(type='int', default=300),
    poll_interval=dict(type='float', default=2.0),
    max_poll_interval=dict(type='float', default=10.0),
)
PROCEDURE_OPTIONS = ("state", "holder", "node_role", "api_client", "kubectl")


def main():
    argument_spec = dict(ARGUMENT_SPEC)
    argument_spec.update(CONNECTION_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("state", "node_stopped", ["node_role"])])
    p = module.params
    settings = dict((k, v) for k, v in p.items() if k in ARGUMENT_SPEC and k not in PROCEDURE_OPTIONS)

    def runner(argv):
        return module.run_command(argv)

    power = None
    try:
        if p["state"] == "node_stopped":
            power = ClusterPower(None, SystemClock(), settings, p["holder"], runner=runner,
                                 check_mode=module.check_mode)
            report = power.stop_node(p["node_role"])
        else:
            client = p["api_client"]
            if client == "auto":
                client = "kubernetes" if HAS_KUBERNETES else "kubectl"
            if client == "kubectl":
                given = [k for k in ("host", "api_key", "context", "ca_cert", "client_cert", "client_key") if p.get(k)]
                if given or isinstance(p["kubeconfig"], dict):
                    module.fail_json(msg="api_client kubectl takes only kubeconfig as a path; %s need(s) "
                                         "api_client kubernetes" % ", ".join(given or ["a kubeconfig dict"]))
                api = KubectlApi(kubectl=p["kubectl"], kubeconfig=p["kubeconfig"])
            else:
                if not HAS_KUBERNETES:
                    module.fail_json(msg=missing_required_lib("kubernetes%s" % KUBERNETES_CLIENT_RANGE),
                                     exception=KUBERNETES_IMPORT_ERROR)
                api = KubernetesApi.from_params(p)
            power = ClusterPower(api, SystemClock(), settings, p["holder"], runner=runner,
                                 check_mode=module.check_mode)
            if p["state"] == "shutdown":
                report = power.shutdown()
            elif p["state"] == "servers_ready":
                power.servers_ready()
                report = power.report()
            else:
                report = power.startup()
    except PowerError as exc:
        module.fail_json(msg=str(exc), **_result(exc.report or {}))
    except KubernetesApiError as exc:
        module.fail_json(msg="Kubernetes API error: %s" % exc)
    except Exception as exc:  # pylint: disable=broad-except  # connection, kubeconfig
        module.fail_json(msg="cannot talk to the Kubernetes API (%s): %s" % (type(exc).__name__, exc))
    for warning in power.warnings if power else []:
        module.warn(warning)
    module.exit_json(**_result(report))


def _result(report):
    result = dict(changed=bool(report.get("changed")), steps=report.get("steps") or [],
                  record=report.get("record") or {}, lock=report.get("lock") or {})
    if "plan" in report:
        result["plan"] = report["plan"]
    return result


if __name__ == "__main__":
    main()
