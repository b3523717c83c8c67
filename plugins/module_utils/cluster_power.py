# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whole-cluster graceful shutdown and startup (logic of the cluster_power module
and of the on-node commands ``homelab-cluster-shutdown`` / ``homelab-cluster-startup``).

Everything talks to the cluster through an ``api`` object with the methods of
:class:`KubernetesApi` (``get``, ``list``, ``create``, ``replace``, ``delete``,
``is_served``): the kubernetes-client adapter on the controller, the
``kubectl`` adapter (:mod:`kubectl_api`) on a node. Commands on the local node
(``k3s etcd-snapshot save``, ``systemctl``, ``k3s-killall.sh``) go through a
``runner(argv) -> (rc, stdout, stderr)``; time through ``clock``
(``monotonic``, ``sleep``, ``wall``); the DNS probe and the TCP probe are
injectable too, so every step is unit-tested without a cluster.

The record. The procedure keeps its state in the data of the cluster lock
(:class:`ClusterLock`, a ConfigMap), written with a write conditional on the
record just read (:meth:`ClusterLock.transact`), so no update is ever lost:

``phase``
    last finished shutdown step (``locked``, ``snapshot``, ``gitops``,
    ``recorded``, ``scaled``, ``detached``, ``nodes``) or ``starting``.
``replicas``
    ``{"Deployment/ns/name": count}``: recorded **before** anything is scaled,
    and a count already recorded is never replaced (a re-run after a crash
    sees 0 replicas and must not record that).
``gitops_replicas``
    the same for the Argo CD application controller (scaled first, restored last).
``flux``
    Flux objects this procedure suspended (only those are resumed).
``nodes``
    ``{name: {"role": "server"|"agent", "address": ip}}`` seen at shutdown, so
    a cold start can name the servers that did not come back.

Every step is idempotent and the record says what is left, so running
shutdown again after a crash at any step finishes the job, and startup after
a partial shutdown restores exactly what was recorded.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import random
import re
import socket
import struct
import subprocess

from ansible_collections.homelab.k3s.plugins.module_utils.cluster_lock import ClusterLock, LockError
from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import (
    ConflictError, KubernetesApiError,
)

HOLDER_PREFIX = "homelab-power@"
RECORD_VERSION = 1
SHUTDOWN_PHASES = ("locked", "snapshot", "gitops", "recorded", "scaled", "detached", "nodes")

APPS = "apps/v1"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
FLUX_KINDS = (("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
              ("helm.toolkit.fluxcd.io/v2", "HelmRelease"))
SERVER_ROLE_LABEL = "node-role.kubernetes.io/control-plane"
STOP_ANNOTATION = "homelab.k3s/power-stop"
ACK_ANNOTATION = "homelab.k3s/power-stop-ack"
# Read-modify-replace attempts before an object that keeps changing stops the run. A Node's status
# is written by its kubelet (every 3 s by the K3s stand-in); on a loaded machine the read and the
# replace (two kubectl calls) can take longer than that, so a few conflicts in a row are normal.
UPDATE_ATTEMPTS = 40
NODE_ACTIONS = ("poweroff", "halt", "stop-k3s")
TAINT_EFFECTS = ("NoSchedule", "NoExecute")

DEFAULTS = dict(
    lock_name="homelab-k3s-power",
    lock_namespace="kube-system",
    lock_ttl=7200,
    startup_lock_ttl=900,
    force=False,
    etcd_snapshot=False,
    etcd_snapshot_name="homelab-pre-shutdown",
    suspend_flux=True,
    argocd_namespace="argocd",
    argocd_controller="argocd-application-controller",
    namespaces=[],
    exclude_namespaces=["kube-system"],
    label_selector="",
    stateful_order="last",
    pods_timeout=300,
    volume_attachments_timeout=300,
    ignore_volume_attachments=False,
    taint_key="homelab.k3s/power-cycle",
    taint_effect="NoSchedule",
    drain_agents=True,
    drain_timeout=120,
    agents_stop_timeout=180,
    follower_timeout=900,
    node_action="poweroff",
    k3s_killall="/usr/local/bin/k3s-killall.sh",
    servers=[],
    agents=[],
    server_addresses={},
    servers_timeout=600,
    server_port=6443,
    nodes_timeout=600,
    dns_check=True,
    dns_name="kubernetes.default.svc.cluster.local",
    dns_timeout=300,
    poll_interval=2.0,
    max_poll_interval=10.0,
)

_LABEL_TERM = re.compile(r"^!?[A-Za-z0-9./_-]+((==|!=|=)[A-Za-z0-9._-]*)?$")


class PowerError(Exception):
    """The procedure stopped; ``report`` says how far it got."""

    def __init__(self, msg, report=None):
        super(PowerError, self).__init__(msg)
        self.report = report


class PowerBusy(PowerError):
    """Another run of the procedure (another way in) is at work right now."""


def validate_settings(given):
    """Return complete settings or raise PowerError naming the field and the conflict."""
    settings = copy.deepcopy(DEFAULTS)
    unknown = sorted(set(given or {}) - set(DEFAULTS))
    if unknown:
        raise PowerError("unknown setting(s): %s" % ", ".join(unknown))
    settings.update(dict((k, v) for k, v in (given or {}).items() if v is not None))
    s = settings
    for key in ("lock_ttl", "startup_lock_ttl", "follower_timeout", "pods_timeout", "volume_attachments_timeout", "drain_timeout",
                "agents_stop_timeout", "servers_timeout", "nodes_timeout", "dns_timeout"):
        if not isinstance(s[key], (int, float)) or isinstance(s[key], bool) or s[key] < 0:
            raise PowerError("%s must be a number of seconds >= 0, got %r" % (key, s[key]))
    if s["lock_ttl"] <= 0 or s["startup_lock_ttl"] <= 0:
        raise PowerError("lock_ttl and startup_lock_ttl must be > 0 seconds")
    if s["poll_interval"] <= 0 or s["max_poll_interval"] < s["poll_interval"]:
        raise PowerError("poll_interval must be > 0 and max_poll_interval >= poll_interval")
    if s["stateful_order"] not in ("first", "last"):
        raise PowerError("stateful_order must be 'first' or 'last', got %r" % s["stateful_order"])
    if s["node_action"] not in NODE_ACTIONS:
        raise PowerError("node_action must be one of %s, got %r" % (", ".join(NODE_ACTIONS), s["node_action"]))
    if s["taint_effect"] not in TAINT_EFFECTS:
        raise PowerError("taint_effect must be one of %s, got %r" % (", ".join(TAINT_EFFECTS), s["taint_effect"]))
    if not s["taint_key"]:
        raise PowerError("taint_key must not be empty")
    for key in ("namespaces", "exclude_namespaces", "servers", "agents"):
        if not isinstance(s[key], list) or not all(isinstance(x, str) and x for x in s[key]):
            raise PowerError("%s must be a list of non-empty names" % key)
    both = sorted(set(s["namespaces"]) & set(s["exclude_namespaces"]))
    if both:
        raise PowerError("namespaces and exclude_namespaces both name %s" % ", ".join(both))
    if not isinstance(s["server_addresses"], dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) and v for k, v in s["server_addresses"].items()):
        raise PowerError("server_addresses must map server names to addresses")
    both = sorted(set(s["servers"]) & set(s["agents"]))
    if both:
        raise PowerError("servers and agents both name %s" % ", ".join(both))
    if s["label_selector"]:
        for term in s["label_selector"].split(","):
            if not _LABEL_TERM.match(term.strip()):
                raise PowerError("label_selector: cannot parse %r (use k=v, k!=v, k or !k, comma-separated)" % term)
    return settings


def workload_key(kind, namespace, name):
    return "%s/%s/%s" % (kind, namespace, name)


def split_key(key):
    kind, namespace, name = key.split("/", 2)
    return kind, namespace, name


def node_ready(node):
    for cond in ((node or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def node_address(node):
    for addr in ((node or {}).get("status") or {}).get("addresses") or []:
        if addr.get("type") == "InternalIP":
            return addr.get("address")
    return None


def _selector_string(match_labels):
    return ",".join("%s=%s" % kv for kv in sorted((match_labels or {}).items()))


def run_command(argv, timeout=None):
    """The default runner: a local command without a shell."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, "", str(exc)
    return proc.returncode, proc.stdout, proc.stderr


def dns_query(server, name, timeout=2.0, port=53):
    """True when ``server`` answers an A query for ``name`` with at least one address."""
    qid = random.randint(0, 0xffff)
    question = b"".join(struct.pack("B", len(p)) + p.encode("ascii") for p in name.strip(".").split("."))
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question + b"\x00" + struct.pack(">HH", 1, 1)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.settimeout(timeout)
        sock.sendto(packet, (server, port))
        reply = sock.recv(4096)
    except (OSError, socket.timeout):
        return False
    finally:
        sock.close()
    if len(reply) < 12:
        return False
    rid, flags, dummy_qd, answers = struct.unpack(">HHHH", reply[:8])
    return rid == qid and (flags & 0x000f) == 0 and answers > 0


def shim_trees(proc_root="/proc"):
    """PIDs of the containerd shims and all their descendants (the containers).

    K3s's unit uses KillMode=process, so stopping K3s leaves them running; they
    are what K3s's kill-all script kills. Used when that script is not
    installed (this collection's k3s roles install the binary, not the script).
    """
    import os  # pylint: disable=import-outside-toplevel
    parents = {}
    shims = set()
    for entry in os.listdir(proc_root):
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc_root, entry, "stat")) as stat:
                text = stat.read()
        except (IOError, OSError):
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        ppid = int(text[text.rindex(")") + 2:].split()[1])
        parents[int(entry)] = ppid
        if comm.startswith("containerd-shim"):
            shims.add(int(entry))
    found = set(shims)
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return sorted(found)


def kill_pids(pids):
    import os  # pylint: disable=import-outside-toplevel
    import signal  # pylint: disable=import-outside-toplevel
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def tcp_reachable(address, port, timeout=2.0):
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


class ClusterPower(object):
    """Shutdown and startup of the whole cluster; see the module docstring."""

    def __init__(self, api, clock, settings, holder, runner=run_command, check_mode=False,
                 dns=dns_query, probe=tcp_reachable, log=None, shims=shim_trees, kill=kill_pids,
                 path_exists=None):
        if not holder:
            raise PowerError("holder must be a non-empty name")
        self.api = api
        self.clock = clock
        self.s = validate_settings(settings)
        self.holder = holder if holder.startswith(HOLDER_PREFIX) else HOLDER_PREFIX + holder
        self.runner = runner
        self.check_mode = check_mode
        self.dns = dns
        self.probe = probe
        self.log = log or (lambda msg: None)
        self.shims = shims
        self.kill = kill
        if path_exists is None:
            import os.path  # pylint: disable=import-outside-toplevel
            path_exists = os.path.exists
        self.path_exists = path_exists
        self.lock = ClusterLock(api, clock, self.s["lock_namespace"], self.s["lock_name"],
                                check_mode=check_mode)
        self.steps = []
        self.changed = False
        self._record = None  # last record description seen
        self.missing = []  # servers a cold start went on without (a majority was back)
        self.warnings = []

    # -- helpers -------------------------------------------------------------
    def _step(self, name, changed, started, **detail):
        entry = dict(step=name, changed=bool(changed), seconds=round(self.clock.monotonic() - started, 3))
        entry.update(detail)
        self.steps.append(entry)
        self.changed = self.changed or bool(changed)
        self.log("%s: %s%s" % (name, "changed" if changed else "ok",
                               "".join(" %s=%s" % kv for kv in sorted(detail.items()))))
        return entry

    def _wait(self, what, timeout, check, backoff=True):
        """Poll ``check()`` -> (done, pending_description) until done or timeout; the interval
        grows from poll_interval to max_poll_interval unless ``backoff`` is False."""
        start = self.clock.monotonic()
        interval = self.s["poll_interval"]
        while True:
            done, pending = check()
            if done:
                return self.clock.monotonic() - start
            remaining = start + timeout - self.clock.monotonic()
            if remaining <= 0:
                raise PowerError("timed out after %ss waiting for %s; still waiting for: %s"
                                 % (timeout, what, pending), self.report())
            self.clock.sleep(min(interval, remaining))
            if backoff:
                interval = min(interval * 1.5, self.s["max_poll_interval"])

    def _run(self, argv, what):
        rc, out, err = self.runner(argv)
        if rc != 0:
            detail = (err or out or "").strip()[-500:]
            raise PowerError("%s failed (%s exited %s): %s" % (what, " ".join(argv), rc, detail), self.report())
        return out

    def _update_object(self, api_version, kind, namespace, name, mutate):
        """Read-modify-replace with the read resourceVersion; retried on conflict.
        ``mutate(obj)`` returns True when it changed ``obj``. Returns changed."""
        for dummy in range(UPDATE_ATTEMPTS):
            obj = self.api.get(api_version, kind, name, namespace).obj
            if obj is None:
                return False
            if not mutate(obj):
                return False
            if self.check_mode:
                return True
            try:
                self.api.replace(api_version, kind, obj, namespace)
                return True
            except ConflictError:
                continue
        raise PowerError("%s %s/%s kept changing under us (%d conflicts in a row)"
                         % (kind, namespace, name, UPDATE_ATTEMPTS), self.report())

    def report(self):
        record = self._record or {}
        return dict(steps=list(self.steps), changed=self.changed, check_mode=self.check_mode,
                    lock=record, record=(record.get("data") or {}))

    # -- the record (in the lock) -----------------------------------------------
    def _is_ours(self, info):
        return bool(info["holder"]) and info["holder"].startswith(HOLDER_PREFIX)

    def _take_lock(self, purpose, startup=False):
        """Acquire the lock for this procedure (or resume it); returns changed.

        Anyone else's lock that is still held is refused unless ``force``. The
        lock of another run of this procedure (another way in: the controller,
        a UPS on another server) is taken over when that run is finished with
        the cluster or dead: for a shutdown when it reached phase ``nodes`` or
        was a startup; for a startup when it was a shutdown; always when its
        lease expired. Otherwise :class:`PowerBusy` is raised.
        """
        reason = "homelab.k3s cluster power: %s" % purpose
        ttl = self.s["startup_lock_ttl"] if startup else self.s["lock_ttl"]

        def decide(record, info):
            if info["held"] and not self._is_ours(info) and not self.s["force"]:
                raise PowerError("lock %s/%s is held by %s (reason: %s) until %s; refusing to %s "
                                 "(wait until it is released, or force)"
                                 % (info["namespace"], info["name"], info["holder"], info["reason"] or "-",
                                    info["expires"], purpose), self.report())
            phase = (info["data"] or {}).get("phase")
            if info["held"] and self._is_ours(info) and info["holder"] != self.holder and not self.s["force"]:
                free = phase in SHUTDOWN_PHASES if startup else phase in ("nodes", "starting")
                if not free:
                    raise PowerBusy("%s is already running (holder %s, phase %s, lease until %s); not running "
                                    "it twice (force takes over)" % ("startup" if startup else "shutdown",
                                                                     info["holder"], phase or "-",
                                                                     info["expires"]), self.report())
            data = copy.deepcopy(info["data"] or {})
            data.setdefault("version", RECORD_VERSION)
            if startup:
                # in the same write as the lock: another server's boot unit reading the lock
                # between two writes would otherwise see a finished shutdown and take it over
                data["phase"] = "starting"
            # always written: it renews the lease (a renewal alone is not reported as a change)
            return dict(holder=self.holder, ttl=ttl, reason=reason, data=data)

        before = self.lock.query()
        self._record, dummy = self.lock.transact(decide)
        changed = before["holder"] != self.holder or before["reason"] != self._record["reason"]
        return changed

    def _update_record(self, mutate):
        """Apply ``mutate(data)`` (returns True when it changed data) to the record
        of the lock we hold, conditionally on the record read."""
        def decide(record, info):
            if info["holder"] != self.holder:
                raise PowerError("lost the lock %s/%s to %s while working; stopping"
                                 % (info["namespace"], info["name"], info["holder"]), self.report())
            data = copy.deepcopy(info["data"] or {})
            if not mutate(data):
                return None
            return dict(holder=self.holder, ttl=info["ttl"] or self.s["lock_ttl"], reason=info["reason"], data=data)
        if self.check_mode:
            # check mode never took the lock: apply to the previewed record only
            data = copy.deepcopy(self._record["data"] or {})
            changed = mutate(data)
            self._record = dict(self._record, data=data)
            return changed
        self._record, wrote = self.lock.transact(decide)
        return wrote

    def _set_phase(self, phase):
        """Advance the shutdown phase; never moves it back (a re-run resumes)."""
        def mutate(data):
            current = data.get("phase")
            if current in SHUTDOWN_PHASES and SHUTDOWN_PHASES.index(current) >= SHUTDOWN_PHASES.index(phase):
                return False
            data["phase"] = phase
            return True
        return self._update_record(mutate)

    @property
    def data(self):
        return (self._record or {}).get("data") or {}

    # -- selection ---------------------------------------------------------------
    def _namespaces(self):
        existing = set(n["metadata"]["name"] for n in self.api.list("v1", "Namespace").obj)
        missing = sorted(set(self.s["namespaces"]) - existing)
        if missing:
            raise PowerError("namespaces: %s do(es) not exist (existing: %s)"
                             % (", ".join(missing), ", ".join(sorted(existing))), self.report())
        wanted = self.s["namespaces"] or sorted(existing)
        return [n for n in wanted if n not in self.s["exclude_namespaces"]]

    def _workloads(self):
        """Selected Deployments and StatefulSets in scale order (Argo CD's controller excluded)."""
        namespaces = self._namespaces()
        argocd = workload_key("StatefulSet", self.s["argocd_namespace"], self.s["argocd_controller"])
        found = []
        for kind in WORKLOAD_KINDS:
            for ns in namespaces:
                for obj in self.api.list(APPS, kind, ns, self.s["label_selector"] or None).obj:
                    key = workload_key(kind, ns, obj["metadata"]["name"])
                    if key != argocd:
                        found.append((key, obj))
        stateful = [w for w in found if w[0].startswith("StatefulSet/")]
        stateless = [w for w in found if not w[0].startswith("StatefulSet/")]
        return stateful + stateless if self.s["stateful_order"] == "first" else stateless + stateful

    def _role(self, node):
        """server, agent or None (not selected) of a Node object, from settings or labels."""
        name = node["metadata"]["name"]
        if self.s["servers"] or self.s["agents"]:
            return "server" if name in self.s["servers"] else "agent" if name in self.s["agents"] else None
        labels = node["metadata"].get("labels") or {}
        return "server" if labels.get(SERVER_ROLE_LABEL) == "true" else "agent"

    def _nodes(self):
        """{name: {"role", "address", "ready"}} from the API, roles from settings or labels."""
        nodes = {}
        for node in self.api.list("v1", "Node").obj:
            role = self._role(node)
            if role:
                nodes[node["metadata"]["name"]] = dict(role=role, address=node_address(node), ready=node_ready(node))
        return nodes

    # ============================================================================
    # Shutdown
    # ============================================================================
    def preflight_shutdown(self):
        """Everything that can be refused before anything is touched."""
        nodes = self._nodes()
        servers = sorted(n for n, v in nodes.items() if v["role"] == "server")
        if not servers:
            raise PowerError("no servers: %s" % (
                "none of the servers %s is a Node of this cluster" % ", ".join(self.s["servers"])
                if self.s["servers"] else
                "no Node has the label %s=true (name them in servers)" % SERVER_ROLE_LABEL), self.report())
        missing = sorted(set(self.s["servers"] + self.s["agents"]) - set(nodes))
        if missing:
            raise PowerError("servers/agents: %s are not Nodes of this cluster" % ", ".join(missing), self.report())
        workloads = self._workloads()
        info = self.lock.query()
        if info["held"] and not self._is_ours(info) and not self.s["force"]:
            raise PowerError("lock %s/%s is held by %s (reason: %s) until %s; refusing to shut down "
                             "(wait until it is released, or force)"
                             % (info["namespace"], info["name"], info["holder"], info["reason"] or "-",
                                info["expires"]), self.report())
        return nodes, workloads, info

    def shutdown(self):
        """Steps 1-6 of the shutdown (everything up to stopping K3s on the nodes).

        Returns the report; in check mode it is the plan and nothing is written.
        """
        nodes, workloads, info = self.preflight_shutdown()
        t = self.clock.monotonic()
        self._step("lock", self._take_lock("shut the cluster down"), t, holder=self.holder)
        self._update_record(lambda d: _merge_nodes(d, nodes))
        done = set(SHUTDOWN_PHASES[:SHUTDOWN_PHASES.index(self.data["phase"]) + 1]) if \
            self.data.get("phase") in SHUTDOWN_PHASES else set()
        self._set_phase("locked")

        t = self.clock.monotonic()
        if self.s["etcd_snapshot"] and "snapshot" not in done:
            argv = ["k3s", "etcd-snapshot", "save", "--name", self.s["etcd_snapshot_name"]]
            if not self.check_mode:
                self._run(argv, "etcd snapshot")
            self._step("etcd_snapshot", True, t, command=" ".join(argv))
        else:
            self._step("etcd_snapshot", False, t, skipped="done before" if "snapshot" in done else "disabled")
        self._set_phase("snapshot")

        t = self.clock.monotonic()
        changed, detail = self._suspend_gitops()
        self._step("gitops", changed, t, **detail)
        self._set_phase("gitops")

        t = self.clock.monotonic()
        changed, added = self._record_replicas(workloads)
        self._step("record", changed, t, recorded=added)
        self._set_phase("recorded")

        t = self.clock.monotonic()
        changed, scaled = self._scale_down(workloads)
        self._step("scale_down", changed, t, scaled=scaled)
        t = self.clock.monotonic()
        if not self.check_mode:
            self._wait("the pods of scaled workloads to be gone", self.s["pods_timeout"],
                       lambda: self._pods_gone(workloads))
        self._step("pods_gone", False, t)
        self._set_phase("scaled")

        t = self.clock.monotonic()
        left = self._volume_attachments_left()
        if left and not self.check_mode:
            try:
                self._wait("VolumeAttachments to be removed (CSI volumes detached)",
                           self.s["volume_attachments_timeout"],
                           lambda: _done_when_empty(self._volume_attachments_left()))
                left = []
            except PowerError:
                left = self._volume_attachments_left()
                if not self.s["ignore_volume_attachments"]:
                    raise PowerError("timed out after %ss waiting for CSI volumes to detach; VolumeAttachments "
                                     "left: %s (find their pods, or set ignore_volume_attachments to go on)"
                                     % (self.s["volume_attachments_timeout"], ", ".join(left)), self.report())
        self._step("volumes_detached", False, t, left=left)
        self._set_phase("detached")

        t = self.clock.monotonic()
        changed = self._cordon_and_taint(nodes)
        self._step("cordon_taint", changed, t, nodes=sorted(nodes))
        t = self.clock.monotonic()
        changed, evicted = self._drain_agents(nodes)
        self._step("drain_agents", changed, t, evicted=evicted)
        t = self.clock.monotonic()
        self._step("release_agents", self.release_nodes("agent"), t)
        self._set_phase("nodes")
        report = self.report()
        report["plan"] = self.node_plan(nodes)
        return report

    def node_plan(self, nodes=None):
        nodes = nodes or self.data.get("nodes") or {}
        agents = sorted(n for n, v in nodes.items() if v["role"] == "agent")
        servers = sorted(n for n, v in nodes.items() if v["role"] == "server")
        return dict(stop_first=agents, stop_together=servers, node_action=self.s["node_action"])

    def _suspend_gitops(self):
        detail = dict(flux=[], argocd=None)
        changed = False
        flux = []
        if self.s["suspend_flux"]:
            for api_version, kind in FLUX_KINDS:
                if not self.api.is_served(api_version, kind):
                    continue
                for obj in self.api.list(api_version, kind).obj:
                    if not (obj.get("spec") or {}).get("suspend"):
                        flux.append(dict(api_version=api_version, kind=kind,
                                         namespace=obj["metadata"].get("namespace"),
                                         name=obj["metadata"]["name"]))

        def remember(data):
            known = data.setdefault("flux", [])
            new = [f for f in flux if f not in known]
            known.extend(new)
            return bool(new)
        self._update_record(remember)
        for item in self.data.get("flux", []) if not self.check_mode else flux:
            def suspend(obj):
                if (obj.get("spec") or {}).get("suspend"):
                    return False
                obj.setdefault("spec", {})["suspend"] = True
                return True
            if self._update_object(item["api_version"], item["kind"], item["namespace"], item["name"], suspend):
                changed = True
                detail["flux"].append("%s/%s/%s" % (item["kind"], item["namespace"], item["name"]))
        ns, name = self.s["argocd_namespace"], self.s["argocd_controller"]
        controller = self.api.get(APPS, "StatefulSet", name, ns).obj
        key = workload_key("StatefulSet", ns, name)
        if controller is not None:
            count = (controller.get("spec") or {}).get("replicas", 1)
            self._update_record(lambda d: _record_once(d, "gitops_replicas", key, count))
            if self._scale(key, 0):
                changed = True
                detail["argocd"] = "%s: %s -> 0" % (key, count)
        return changed, detail

    def _record_replicas(self, workloads):
        added = {}

        def mutate(data):
            for key, obj in workloads:
                count = (obj.get("spec") or {}).get("replicas", 1)
                if _record_once(data, "replicas", key, count):
                    added[key] = count
            return bool(added)
        return self._update_record(mutate), added

    def _scale(self, key, count):
        kind, namespace, name = split_key(key)

        def mutate(obj):
            if (obj.get("spec") or {}).get("replicas", 1) == count:
                return False
            obj.setdefault("spec", {})["replicas"] = count
            return True
        return self._update_object(APPS, kind, namespace, name, mutate)

    def _scale_down(self, workloads):
        scaled = []
        recorded = self.data.get("replicas") or {}
        for key, obj in workloads:
            if key not in recorded and not self.check_mode:
                raise PowerError("%s has no recorded replica count; not scaling it" % key, self.report())
            if self._scale(key, 0):
                scaled.append("%s: %s -> 0" % (key, recorded.get(key)))
        return bool(scaled), scaled

    def _pods_gone(self, workloads):
        left = []
        for key, obj in workloads:
            kind, namespace, name = split_key(key)
            match = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels")
            if not match:
                continue
            pods = self.api.list("v1", "Pod", namespace, _selector_string(match)).obj
            left.extend("%s/%s (%s)" % (namespace, p["metadata"]["name"], key) for p in pods)
        return not left, ", ".join(left)

    def _volume_attachments_left(self):
        if not self.api.is_served("storage.k8s.io/v1", "VolumeAttachment"):
            return []
        left = []
        for va in self.api.list("storage.k8s.io/v1", "VolumeAttachment").obj:
            spec = va.get("spec") or {}
            pv = (spec.get("source") or {}).get("persistentVolumeName") or "inline volume"
            left.append("%s (%s on %s)" % (va["metadata"]["name"], pv, spec.get("nodeName")))
        return sorted(left)

    def _cordon_and_taint(self, nodes):
        """Record which nodes were schedulable (only those are uncordoned at startup:
        an operator's own cordon survives the power cycle), then cordon and taint."""
        taint = dict(key=self.s["taint_key"], value="true", effect=self.s["taint_effect"])
        live = dict((n["metadata"]["name"], n) for n in self.api.list("v1", "Node").obj)

        def remember(data):
            known = data.setdefault("cordoned", [])
            new = [n for n in sorted(nodes) if n not in known and n in live
                   and not (live[n].get("spec") or {}).get("unschedulable")]
            known.extend(new)
            return bool(new)
        self._update_record(remember)
        changed = False
        for name in sorted(nodes):
            def mutate(obj):
                spec = obj.setdefault("spec", {})
                taints = spec.get("taints") or []
                did = False
                if not any(x.get("key") == taint["key"] and x.get("effect") == taint["effect"] for x in taints):
                    spec["taints"] = taints + [dict(taint)]
                    did = True
                if not spec.get("unschedulable"):
                    spec["unschedulable"] = True
                    did = True
                return did
            changed = self._update_object("v1", "Node", None, name, mutate) or changed
        return changed

    def _drain_agents(self, nodes):
        """Delete the pods on agents that no DaemonSet owns and that are not mirror pods."""
        agents = set(n for n, v in nodes.items() if v["role"] == "agent")
        if not self.s["drain_agents"] or not agents:
            return False, []

        def victims():
            found = []
            for pod in self.api.list("v1", "Pod").obj:
                meta = pod["metadata"]
                if (pod.get("spec") or {}).get("nodeName") not in agents:
                    continue
                if any(o.get("kind") == "DaemonSet" for o in meta.get("ownerReferences") or []):
                    continue
                if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
                    continue
                found.append((meta.get("namespace"), meta["name"]))
            return found
        evicted = ["%s/%s" % v for v in victims()]
        if self.check_mode:
            return bool(evicted), evicted
        for namespace, name in victims():
            self.api.delete("v1", "Pod", name, namespace)
        self._wait("pods on agents to be gone (drain)", self.s["drain_timeout"],
                   lambda: _done_when_empty(["%s/%s" % v for v in victims()]))
        return bool(evicted), evicted

    # -- the node-local half (steps 6-7), run on each node -------------------------
    def stop_node(self, role):
        """Stop K3s on this node (then kill-all), then power off / halt / nothing."""
        if role not in ("server", "agent"):
            raise PowerError("role must be server or agent, got %r" % role)
        service = "k3s" if role == "server" else "k3s-agent"
        killall = self.s["k3s_killall"] if self.path_exists(self.s["k3s_killall"]) else None
        commands = [["systemctl", "stop", service]] + ([[killall]] if killall else [])
        power = []
        if self.s["node_action"] == "poweroff":
            power = [["systemctl", "poweroff", "--no-block"]]
        elif self.s["node_action"] == "halt":
            power = [["systemctl", "halt", "--no-block"]]
        t = self.clock.monotonic()
        killed = []
        if not self.check_mode:
            for argv in commands:
                self._run(argv, "stopping %s" % role)
            if not killall:
                killed = self.shims()
                self.kill(killed)
            for argv in power:
                self._run(argv, "node_action %s" % self.s["node_action"])
        self._step("stop_node", True, t, commands=[" ".join(c) for c in commands + power],
                   killed=len(killed) if not killall else None,
                   kill_all=killall or "built-in: SIGKILL to containerd shims and their children")
        return self.report()

    def release_nodes(self, role):
        """Tell the nodes of ``role`` (agents, then servers) that they may stop:
        the annotation STOP_ANNOTATION on their own Node object, which a node can
        read with its own kubelet credentials (agents have no admin kubeconfig)."""
        nodes = self.data.get("nodes") or {}
        changed = False
        for name in sorted(n for n, v in nodes.items() if v["role"] == role):
            def mutate(obj):
                annotations = obj["metadata"].setdefault("annotations", {})
                if annotations.get(STOP_ANNOTATION) == "true":
                    return False
                annotations[STOP_ANNOTATION] = "true"
                return True
            changed = self._update_object("v1", "Node", None, name, mutate) or changed
        return changed

    def wait_for_stop_signal(self, node_name):
        """A node that does not coordinate waits until the coordinator releases it.
        Bounded by follower_timeout; on timeout it returns False and the node
        stops anyway (on battery, waiting forever is worse)."""
        def check():
            try:
                node = self.api.get("v1", "Node", node_name).obj
            except (KubernetesApiError, OSError) as exc:
                return False, "API: %s" % exc
            if node is None:
                return False, "Node %s does not exist" % node_name
            annotations = node["metadata"].get("annotations") or {}
            return annotations.get(STOP_ANNOTATION) == "true", "%s not released yet" % node_name
        t = self.clock.monotonic()
        try:
            # every poll_interval, no back-off: the servers are released together and stop right
            # away; a server that polls late finds etcd without a quorum and waits the whole timeout
            self._wait("the coordinator to release %s" % node_name, self.s["follower_timeout"], check,
                       backoff=False)
        except PowerError as exc:
            self._step("stop_signal", False, t, warning="%s; stopping anyway" % exc)
            return False
        self._step("stop_signal", False, t, node=node_name)
        return True

    def server_barrier(self, node_name):
        """On-node path, every server once released: acknowledge the release on its own Node,
        then wait until every Ready server has acknowledged before stopping. No server stops (and
        takes part of etcd's quorum away) before all of them have read their release, so a
        server that polls late is not left without an API until follower_timeout. Bounded by
        agents_stop_timeout; returns False (and the node stops anyway) on timeout. When the
        API stops answering after this server's acknowledgement, the others have stopped:
        nothing is left to wait for."""
        t = self.clock.monotonic()

        def ack(obj):
            annotations = obj["metadata"].setdefault("annotations", {})
            if annotations.get(ACK_ANNOTATION) == "true":
                return False
            annotations[ACK_ANNOTATION] = "true"
            return True

        api_gone = []

        def check():
            try:
                nodes = self.api.list("v1", "Node").obj
            except (KubernetesApiError, OSError) as exc:
                # after our acknowledgement: the others saw every server acknowledge and stopped
                # (etcd lost its quorum); nobody is left who could still read a release
                api_gone.append(str(exc))
                return True, ""
            waiting = sorted(n["metadata"]["name"] for n in nodes if self._role(n) == "server" and node_ready(n)
                             and (n["metadata"].get("annotations") or {}).get(ACK_ANNOTATION) != "true")
            return not waiting, ", ".join(waiting)
        try:
            self._update_object("v1", "Node", None, node_name, ack)
            self._wait("every server to acknowledge its release", self.s["agents_stop_timeout"], check,
                       backoff=False)
        except (PowerError, KubernetesApiError, OSError) as exc:
            self._step("servers_together", False, t, warning="%s; stopping anyway" % exc)
            return False
        if api_gone:
            self._step("servers_together", False, t, note="API gone after our acknowledgement: %s" % api_gone[0][:200])
        else:
            self._step("servers_together", False, t)
        return True

    def wait_agents_stopped(self):
        """A server waits (bounded) until every agent is NotReady before stopping itself."""
        def check():
            nodes = self._nodes()
            up = sorted(n for n, v in nodes.items() if v["role"] == "agent" and v["ready"])
            return not up, ", ".join(up)
        t = self.clock.monotonic()
        try:
            self._wait("agents to stop", self.s["agents_stop_timeout"], check)
            self._step("agents_stopped", False, t)
        except PowerError as exc:
            self._step("agents_stopped", False, t, warning=str(exc))

    # ============================================================================
    # Startup
    # ============================================================================
    def wait_servers(self, nodes):
        """Step 1: every recorded server answers on its API port (bounded by servers_timeout).

        Returns the servers still missing when the wait ends with a majority of
        them back (embedded etcd has a quorum: the startup goes on and says which
        are missing); raises PowerError naming the missing ones when only a
        minority is back."""
        servers = dict((n, v) for n, v in nodes.items() if v["role"] == "server")
        if not servers:
            raise PowerError("no servers recorded or labelled; cannot check a cold start", self.report())

        def check():
            missing = sorted(set(servers) - set(self._reachable(servers)))
            return not missing, ", ".join(missing)
        try:
            self._wait("every server to answer on port %s" % self.s["server_port"], self.s["servers_timeout"], check)
            return []
        except PowerError:
            up = self._reachable(servers)
            missing = sorted(set(servers) - set(up))
            if len(up) < len(servers) // 2 + 1:
                raise self._cold_start_error(servers, up)
            warning = ("cold start: %d of %d servers are back (%s); missing: %s. etcd has a majority: starting "
                       "without them; power them on (check their disks and network) or remove them from the "
                       "cluster on purpose: until then etcd tolerates no further failure"
                       % (len(up), len(servers), ", ".join(up), ", ".join(missing)))
            if warning not in self.warnings:
                self.warnings.append(warning)
            self.log(warning)
            return missing

    def _reachable(self, servers):
        return sorted(n for n, v in servers.items() if v.get("address") and
                      self.probe(v["address"], self.s["server_port"]))

    def _cold_start_error(self, servers, up, api_down=False):
        """The PowerError of a cold start: which servers are back, which are missing, what to do."""
        missing = sorted(set(servers) - set(up))
        majority = len(servers) // 2 + 1
        if len(up) < majority:
            advice = ("an embedded-etcd cluster needs a majority (%d of %d) of servers to start: power on "
                      "the missing servers (check their disks and network); never run k3s --cluster-reset "
                      "on its own, it throws the other members away" % (majority, len(servers)))
        elif api_down:
            advice = ("etcd should have a majority, but the API server did not answer within servers_timeout: "
                      "read the K3s journal on the servers (journalctl -u k3s)")
        else:
            advice = ""
        return PowerError(("cold start: %d of %d servers are back (%s); missing: %s. %s"
                           % (len(up), len(servers), ", ".join(up) or "none", ", ".join(missing) or "none",
                              advice)).strip(), self.report())

    def servers_ready(self):
        """Startup step 1 alone: every server reachable, then the API (and so etcd) answers.

        The servers are ``server_addresses`` when given (the inventory: works
        while the API is down), else those recorded at shutdown (read once the
        API answers). Returns every node to wait for (recorded, or found now).
        """
        t = self.clock.monotonic()

        def api_answers():
            try:
                self.api.list("v1", "Node")
                return True, ""
            except (KubernetesApiError, OSError) as exc:
                return False, "API: %s" % exc
        given = dict((n, dict(role="server", address=a)) for n, a in self.s["server_addresses"].items())
        missing = self.wait_servers(given) if given else []
        try:
            self._wait("the API server (and etcd) to answer", self.s["servers_timeout"], api_answers)
        except PowerError:
            if given:
                raise self._cold_start_error(given, self._reachable(given), api_down=True)
            raise
        info = self.lock.query()
        nodes = (info["data"] or {}).get("nodes") or {}
        if not nodes:
            nodes = dict((n, dict(role=v["role"], address=v["address"])) for n, v in self._nodes().items())
        if not given:
            missing = self.wait_servers(nodes)
        self.missing = [n for n in missing if n in nodes]
        self._step("servers", False, t, servers=sorted(n for n, v in nodes.items() if v["role"] == "server"),
                   missing=self.missing)
        return nodes

    def shutdown_recorded(self):
        """At boot: is there a shutdown (or an unfinished startup) to finish?

        Waits (bounded) for the API to read the record. When the API does not
        come, the servers of the inventory are checked to say which are missing."""
        def api_answers():
            try:
                return True, self.lock.query()
            except (KubernetesApiError, OSError) as exc:
                return False, "API: %s" % exc
        result = {}

        def check():
            ok, value = api_answers()
            if ok:
                result["lock"] = value
                return True, ""
            return False, value
        try:
            self._wait("the API server (and etcd) to answer", self.s["servers_timeout"], check)
        except PowerError:
            # servers_timeout has passed already: say at once which servers are back
            given = dict((n, dict(role="server", address=a)) for n, a in self.s["server_addresses"].items())
            if given:
                raise self._cold_start_error(given, self._reachable(given), api_down=True)
            raise
        phase = (result["lock"]["data"] or {}).get("phase")
        return phase in SHUTDOWN_PHASES + ("starting",)

    def startup(self, start_agents=None, only_after_shutdown=False):
        """Steps 1-3 of the startup. ``start_agents(agent_names)`` starts K3s on agents
        (the controller path does it with Ansible; nodes that boot start it themselves).
        With ``only_after_shutdown`` (the unit at boot), an ordinary reboot with no
        shutdown recorded does nothing."""
        if only_after_shutdown:
            t = self.clock.monotonic()
            if not self.shutdown_recorded():
                self._step("startup", False, t, skipped="no shutdown recorded: nothing to start")
                return self.report()
        nodes = self.servers_ready()

        t = self.clock.monotonic()
        changed = self._take_lock("start the cluster", startup=True)
        self._step("lock", changed, t, holder=self.holder)

        agents = sorted(n for n, v in nodes.items() if v["role"] == "agent")
        t = self.clock.monotonic()
        if start_agents and agents and not self.check_mode:
            start_agents(agents)

        def ready():
            live = self._nodes()
            waiting = sorted(n for n in nodes if n not in self.missing and not live.get(n, {}).get("ready"))
            return not waiting, ", ".join(waiting)
        if not self.check_mode:
            self._wait("nodes to be Ready", self.s["nodes_timeout"], ready)
        self._step("nodes_ready", False, t, nodes=sorted(set(nodes) - set(self.missing)))

        t = self.clock.monotonic()
        if self.s["dns_check"] and not self.check_mode:
            self._wait("cluster DNS (%s) to answer" % self.s["dns_name"], self.s["dns_timeout"], self._dns_answers)
        self._step("dns", False, t, checked=bool(self.s["dns_check"]))

        t = self.clock.monotonic()
        changed = self._untaint(nodes)
        self._step("untaint_uncordon", changed, t, nodes=sorted(nodes))

        t = self.clock.monotonic()
        changed, restored = self._restore("replicas")
        self._step("restore", changed, t, restored=restored)
        t = self.clock.monotonic()
        changed, resumed = self._resume_gitops()
        self._step("gitops_resume", changed, t, **resumed)

        t = self.clock.monotonic()
        if self.check_mode:
            self._record = dict(self._record, holder=None, held=False, reason=None, data={})
            wrote = True
        else:
            self._record, wrote = self.lock.transact(self._release)
        self._step("unlock", wrote, t)
        return self.report()

    def _release(self, record, info):
        if info["holder"] != self.holder:
            raise PowerError("lost the lock to %s before releasing it" % info["holder"], self.report())
        return dict(holder="", ttl=info["ttl"] or self.s["lock_ttl"], reason="", data={})

    def _dns_answers(self):
        svc = self.api.get("v1", "Service", "kube-dns", "kube-system").obj
        ip = ((svc or {}).get("spec") or {}).get("clusterIP")
        if not ip:
            return False, "Service kube-system/kube-dns has no clusterIP"
        if self.dns(ip, self.s["dns_name"]):
            return True, ""
        return False, "no answer for %s from %s" % (self.s["dns_name"], ip)

    def _untaint(self, nodes):
        changed = False
        cordoned = set(self.data.get("cordoned") or [])
        for name in sorted(nodes):
            def mutate(obj):
                spec = obj.setdefault("spec", {})
                taints = spec.get("taints") or []
                kept = [x for x in taints if x.get("key") != self.s["taint_key"]]
                uncordon = obj["metadata"]["name"] in cordoned and bool(spec.get("unschedulable"))
                did = len(kept) != len(taints) or uncordon
                if kept:
                    spec["taints"] = kept
                else:
                    spec.pop("taints", None)
                if uncordon:
                    spec.pop("unschedulable", None)
                annotations = obj["metadata"].get("annotations") or {}
                for key in (STOP_ANNOTATION, ACK_ANNOTATION):
                    if key in annotations:
                        del annotations[key]
                        did = True
                return did
            changed = self._update_object("v1", "Node", None, name, mutate) or changed
        return changed

    def _restore(self, section):
        restored = []
        missing = []
        for key, count in sorted((self.data.get(section) or {}).items()):
            kind, namespace, name = split_key(key)
            if self.api.get(APPS, kind, name, namespace).obj is None:
                missing.append(key)
                continue
            if self._scale(key, count):
                restored.append("%s: 0 -> %s" % (key, count))
        if missing:
            self.log("recorded but gone (not restored): %s" % ", ".join(missing))
        return bool(restored), restored

    def _resume_gitops(self):
        changed, restored = self._restore("gitops_replicas")
        resumed = []
        for item in self.data.get("flux") or []:
            def resume(obj):
                if not (obj.get("spec") or {}).get("suspend"):
                    return False
                obj["spec"]["suspend"] = False
                return True
            if self.api.is_served(item["api_version"], item["kind"]) and \
                    self._update_object(item["api_version"], item["kind"], item["namespace"], item["name"], resume):
                resumed.append("%s/%s/%s" % (item["kind"], item["namespace"], item["name"]))
        return changed or bool(resumed), dict(argocd=restored, flux=resumed)


def _record_once(data, section, key, count):
    """Record ``count`` for ``key`` unless a count is already recorded (never lose one)."""
    known = data.setdefault(section, {})
    if key in known:
        return False
    known[key] = count
    return True


def _merge_nodes(data, nodes):
    known = data.setdefault("nodes", {})
    changed = False
    for name, info in nodes.items():
        entry = dict(role=info["role"], address=info["address"] or (known.get(name) or {}).get("address"))
        if known.get(name) != entry:
            known[name] = entry
            changed = True
    return changed


def _set(data, key, value):
    if data.get(key) == value:
        return False
    data[key] = value
    return True


def _done_when_empty(items):
    return not items, ", ".join(items)


__all__ = ["ClusterPower", "PowerError", "PowerBusy", "STOP_ANNOTATION", "ACK_ANNOTATION", "LockError", "validate_settings", "DEFAULTS", "HOLDER_PREFIX"]
