# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""K3s STAND-IN for the homelab.k3s tests. This is not K3s.

Served from the test mirror as the ``k3s`` release file, so the roles' download, checksum,
install, config and service logic runs unchanged. It understands:

``k3s server`` / ``k3s agent``
    reads ``/etc/rancher/k3s/config.yaml`` (+ ``config.yaml.d/*.yaml``) and ``--key=value`` flags;
    records start / ready / stop (with argv, config and version) in ``EVENT_LOG``; a server without
    ``server:`` serves the Kubernetes API (``tests/standins/k8s_emulator``) on :6443 with TLS and the join
    token as bearer token, writes the token files and the kubeconfig where K3s does and applies the
    auto-deploy manifests; a joining server forwards :6443 to its ``server:``; every node registers
    its Node (labels, taints, addresses, kubelet version) and keeps its Ready condition fresh; on
    SIGTERM the Node turns Ready=Unknown before the process exits.
``k3s kubectl``
    a small subset (see ``kubectl.py``).
``k3s etcd-snapshot save [--name N]``
    copies the API state into ``/var/lib/rancher/k3s/server/db/snapshots/``.
``k3s --version``
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import glob
import hashlib
import json
import os
import platform
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

import yaml

from .api import Api, ApiFailure

VERSION = os.environ.get("K3S_STANDIN_VERSION", "v0.0.0+standin")
CONFIG = "/etc/rancher/k3s/config.yaml"
DATA_DIR = "/var/lib/rancher/k3s"
EVENT_LOG = "/var/log/k3s-standin/events.jsonl"
API_PORT = 6443
HEARTBEAT = 3.0
CILIUM_CRDS = (("ciliumloadbalancerippools", "CiliumLoadBalancerIPPool", ["v2alpha1", "v2"]),
               ("ciliuml2announcementpolicies", "CiliumL2AnnouncementPolicy", ["v2alpha1"]))
ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}


def record(event, **fields):
    """Append one event (JSON line, epoch and ISO time) to the event log."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % int((now % 1) * 1000)
    entry = dict(fields, ts=now, time=stamp,
                 event=event, node=socket.gethostname(), pid=os.getpid(), version=VERSION)
    os.makedirs(os.path.dirname(EVENT_LOG), exist_ok=True)
    with open(EVENT_LOG, "a") as log:
        log.write(json.dumps(entry, sort_keys=True) + "\n")


def as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def load_config(argv, path=CONFIG):
    """config.yaml, then config.yaml.d/*.yaml in order, then --key=value flags (last wins)."""
    config = {}
    for name in [path] + sorted(glob.glob(path + ".d/*.yaml")):
        if os.path.exists(name):
            with open(name) as handle:
                config.update(yaml.safe_load(handle) or {})
    for arg in argv:
        if arg.startswith("--"):
            key, sep, value = arg[2:].partition("=")
            config[key] = value if sep else True
    return config


def write_file(path, content, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(content)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def sd_notify(message):
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


def password(token):
    """The password part of a full ``K10<hash>::server:<password>`` token."""
    return token.split("::", 1)[1].split(":", 1)[1] if "::" in token else token


class Node:
    """One stand-in node (server or agent) for the life of the process."""

    def __init__(self, role, argv):
        self.role = role
        self.argv = argv
        self.config = load_config(argv)
        self.name = str(self.config.get("node-name") or socket.gethostname()).lower()
        self.stopping = threading.Event()
        self.emulator = None
        self.api = None

    # -- token and certificates --------------------------------------------
    def token(self):
        token = self.config.get("token") or os.environ.get("K3S_TOKEN")
        if not token and self.config.get("token-file"):
            with open(self.config["token-file"]) as handle:
                token = handle.read().strip()
        stored = os.path.join(DATA_DIR, "server", "token")
        if not token and os.path.exists(stored):
            with open(stored) as handle:
                token = handle.read().strip()
        if not token:
            if self.role != "server" or self.config.get("server"):
                raise SystemExit("k3s stand-in: a token is required to join %s" % self.config.get("server"))
            token = secrets.token_hex(16)
        return password(str(token))

    def certificate(self):
        """A self-signed serving certificate with the node IPs and tls-san names (made with openssl)."""
        tls = os.path.join(DATA_DIR, "server", "tls")
        cert, key = os.path.join(tls, "serving-kube-apiserver.crt"), os.path.join(tls, "serving-kube-apiserver.key")
        names = ["127.0.0.1", "::1", "localhost", "kubernetes", "kubernetes.default", self.name]
        names += as_list(self.config.get("node-ip")) + as_list(self.config.get("tls-san"))
        sans = ",".join(sorted({("IP:" if _is_ip(n) else "DNS:") + n for n in names}))
        marker = os.path.join(tls, "sans")
        if os.path.exists(cert) and os.path.exists(marker) and open(marker).read() == sans:
            return cert, key
        os.makedirs(tls, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "3650", "-subj", "/CN=k3s-standin", "-addext", "subjectAltName=" + sans,
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        os.chmod(key, 0o600)
        write_file(marker, sans, 0o644)
        return cert, key

    def write_server_files(self, token, ca_pem):
        digest = hashlib.sha256(ca_pem.encode()).hexdigest()
        full = "K10%s::server:%s" % (digest, token)
        for name in ("token", "node-token"):
            write_file(os.path.join(DATA_DIR, "server", name), full + "\n", 0o600)
        kubeconfig = {
            "apiVersion": "v1", "kind": "Config", "current-context": "default", "preferences": {},
            "clusters": [{"name": "default", "cluster": {
                "server": "https://127.0.0.1:%d" % API_PORT,
                "certificate-authority-data": _b64(ca_pem)}}],
            "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
            "users": [{"name": "default", "user": {"token": token}}],
        }
        mode = int(str(self.config.get("write-kubeconfig-mode", "0600")), 8)
        write_file(self.config.get("write-kubeconfig", "/etc/rancher/k3s/k3s.yaml"),
                   yaml.safe_dump(kubeconfig, default_flow_style=False), mode)

    # -- the API -----------------------------------------------------------
    def start_api(self, token):
        """Serve the emulator (initialising server) or forward :6443 to the server we join."""
        upstream = self.config.get("server")
        if self.role == "server" and not upstream:
            sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            from k8s_emulator import EmulatorThread  # pylint: disable=import-outside-toplevel
            cert, key = self.certificate()
            db = os.path.join(DATA_DIR, "server", "db")
            os.makedirs(db, exist_ok=True)
            self.emulator = EmulatorThread(host="0.0.0.0", port=API_PORT, token=token, tls_cert=cert, tls_key=key,
                                           state_file=os.path.join(db, "standin-state.json"),
                                           establish_delay=2.0).__enter__()
            self.api = Api("https://127.0.0.1:%d" % API_PORT, token)
            with open(cert) as handle:
                return handle.read()
        self.api = Api(upstream, token)
        try:
            self.api.get("/api/v1/namespaces/kube-system")
        except ApiFailure as exc:
            record("exit-error", role=self.role, message="cannot join %s: %s" % (upstream, exc))
            raise SystemExit("k3s stand-in: cannot join %s: %s" % (upstream, exc))
        host, port = _host_port(upstream)
        ca_pem = ssl.get_server_certificate((host, port))
        if self.role == "server":
            threading.Thread(target=_forward, args=(API_PORT, host, port, self.stopping), daemon=True).start()
        return ca_pem

    # -- the Node ----------------------------------------------------------
    def node_object(self):
        labels = {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux",
                  "kubernetes.io/arch": ARCH.get(platform.machine(), platform.machine()),
                  "node.kubernetes.io/instance-type": "k3s"}
        if self.role == "server":
            labels.update({"node-role.kubernetes.io/control-plane": "true",
                           "node-role.kubernetes.io/master": "true"})
            if not self.config.get("datastore-endpoint"):
                labels["node-role.kubernetes.io/etcd"] = "true"
        for item in as_list(self.config.get("node-label")):
            key, value = (item.split("=", 1) + [""])[:2]
            labels[key] = value
        taints = []
        for item in as_list(self.config.get("node-taint")):
            keyvalue, effect = (item.split(":", 1) + [""])[:2]
            key, value = (keyvalue.split("=", 1) + [""])[:2]
            taints.append({"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect})
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.name, "labels": labels, "annotations": {
                    "k3s.io/node-args": json.dumps([self.role] + self.argv),
                    "k3s.io/node-config-hash": hashlib.sha256(
                        json.dumps(self.config, sort_keys=True).encode()).hexdigest()[:32]}},
                "spec": {"taints": taints}}

    def node_status(self, ready):
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        addresses = [{"type": "InternalIP", "address": ip} for ip in as_list(self.config.get("node-ip"))]
        addresses.append({"type": "Hostname", "address": self.name})
        return {"status": {
            "addresses": addresses,
            "nodeInfo": {"kubeletVersion": VERSION, "kubeProxyVersion": VERSION, "operatingSystem": "linux",
                         "architecture": ARCH.get(platform.machine(), platform.machine()),
                         "containerRuntimeVersion": "containerd://standin"},
            "conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": now, "lastTransitionTime": now,
                            "reason": "KubeletReady" if ready == "True" else "NodeStatusUnknown",
                            "message": "k3s stand-in" if ready == "True" else "k3s stand-in stopped"}]
            + ([{"type": "EtcdIsVoter", "status": ready, "lastHeartbeatTime": now, "lastTransitionTime": now,
                 "reason": "MemberNotLearner" if ready == "True" else "MemberIsUnhealthy",
                 "message": "k3s stand-in (not real etcd membership)"}]
               if self.role == "server" and not self.config.get("datastore-endpoint") else [])}}

    def register(self):
        path = "/api/v1/nodes/" + self.name
        obj = self.node_object()
        try:
            self.api.get(path)
            self.api.merge_patch(path, {"metadata": obj["metadata"], "spec": obj["spec"]})
        except ApiFailure as exc:
            if exc.status != 404:
                raise
            self.api.call("POST", "/api/v1/nodes", obj)
        self.api.merge_patch(path + "/status", self.node_status("True"))

    def heartbeat(self):
        manifests = {}
        while not self.stopping.wait(HEARTBEAT):
            try:
                self.api.merge_patch("/api/v1/nodes/%s/status" % self.name, self.node_status("True"))
                if self.role == "server":
                    self.deploy_manifests(manifests)
            except ApiFailure:
                continue  # the server we talk to is restarting: try again on the next beat

    # -- auto-deploy manifests and a minimal helm-controller ---------------
    def deploy_manifests(self, seen):
        directory = os.path.join(DATA_DIR, "server", "manifests")
        for path in sorted(glob.glob(os.path.join(directory, "*.y*ml"))):
            if os.path.basename(path).startswith("."):
                continue
            with open(path, "rb") as handle:
                raw = handle.read()
            digest = hashlib.sha256(raw).hexdigest()
            if seen.get(path) == digest:
                continue
            for doc in yaml.safe_load_all(raw):
                if doc:
                    self.api.apply(doc)
                    if doc.get("kind") == "HelmChart" and doc.get("spec", {}).get("chart") == "cilium":
                        self.install_cilium_crds()
            seen[path] = digest
            record("manifest-applied", role=self.role, file=path, sha256=digest)

    def install_cilium_crds(self):
        for plural, kind, versions in CILIUM_CRDS:
            crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "metadata": {"name": plural + ".cilium.io"},
                   "spec": {"group": "cilium.io", "scope": "Cluster",
                            "names": {"plural": plural, "singular": kind.lower(), "kind": kind,
                                      "listKind": kind + "List"},
                            "versions": [{"name": v, "served": True, "storage": v == versions[-1],
                                          "subresources": {"status": {}}} for v in versions]}}
            try:
                self.api.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
            except ApiFailure as exc:
                if exc.status != 409:
                    raise

    # -- life cycle ----------------------------------------------------------
    def wait_for_signal(self):
        """Stop on SIGTERM/SIGINT and record who sent it (pid and command line)."""
        info = signal.sigwaitinfo({signal.SIGTERM, signal.SIGINT})
        try:
            with open("/proc/%d/cmdline" % info.si_pid, "rb") as handle:
                sender = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            sender = ""
        record("signal", role=self.role, signal=info.si_signo, sender_pid=info.si_pid, sender=sender)
        self.stopping.set()

    def run(self):
        record("start", role=self.role, argv=self.argv, config=self.config)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        threading.Thread(target=self.wait_for_signal, daemon=True).start()
        token = self.token()
        ca_pem = self.start_api(token)
        if self.role == "server":
            self.write_server_files(token, ca_pem)
            os.makedirs(os.path.join(DATA_DIR, "server", "manifests"), exist_ok=True)
        deadline = time.time() + 60
        while True:
            try:
                self.register()
                break
            except ApiFailure as exc:
                if time.time() > deadline:
                    record("exit-error", role=self.role, message="cannot register node: %s" % exc)
                    raise SystemExit("k3s stand-in: cannot register node %s: %s" % (self.name, exc))
                time.sleep(1)
        if self.role == "server":
            self.deploy_manifests({})
        record("ready", role=self.role)
        sd_notify("READY=1")
        self.heartbeat()
        sd_notify("STOPPING=1")
        try:
            self.api.timeout = 2.0
            self.api.merge_patch("/api/v1/nodes/%s/status" % self.name, self.node_status("Unknown"))
        except ApiFailure:
            pass
        if self.emulator:
            self.emulator.__exit__(None, None, None)
        record("stop", role=self.role)


def _is_ip(name):
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, name)
            return True
        except OSError:
            continue
    return False


def _b64(text):
    import base64  # pylint: disable=import-outside-toplevel
    return base64.b64encode(text.encode()).decode()


def _host_port(url):
    rest = url.split("://", 1)[-1].split("/", 1)[0]
    if rest.startswith("["):
        host, port = (rest[1:].split("]:", 1) + [""])[:2]
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    else:
        host, port = rest, ""
    return host, int(port or 443)


def _forward(listen_port, host, port, stopping):
    """Forward TCP connections on listen_port to host:port (a joining server's API)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", listen_port))
    server.listen(64)
    server.settimeout(1.0)
    while not stopping.is_set():
        try:
            client = server.accept()[0]
        except socket.timeout:
            continue
        try:
            upstream = socket.create_connection((host, port), timeout=5)
        except OSError:
            client.close()
            continue
        for src, dst in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(src, dst), daemon=True).start()


def _pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def etcd_snapshot(argv):
    if not argv or argv[0] != "save":
        raise SystemExit("k3s stand-in: only `etcd-snapshot save [--name NAME]` is implemented")
    name = "etcd-snapshot"
    for index, arg in enumerate(argv):
        if arg.startswith("--name="):
            name = arg.split("=", 1)[1]
        elif arg == "--name" and index + 1 < len(argv):
            name = argv[index + 1]
    state = os.path.join(DATA_DIR, "server", "db", "standin-state.json")
    if not os.path.exists(state) and not os.path.exists(os.path.join(DATA_DIR, "server", "token")):
        raise SystemExit("k3s stand-in: no etcd data on this node")
    target = os.path.join(DATA_DIR, "server", "db", "snapshots",
                          "%s-%s-%d" % (name, socket.gethostname(), int(time.time())))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w") as out:
        if os.path.exists(state):
            with open(state) as src:
                out.write(src.read())
    record("etcd-snapshot", path=target)
    print("Snapshot %s saved." % os.path.basename(target))


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("--version", "-v", "version"):
        print("k3s version %s (k3s stand-in for homelab.k3s tests)" % VERSION)
        print("go version none")
        return 0
    command, rest = argv[0], argv[1:]
    if command in ("server", "agent"):
        Node(command, rest).run()
        return 0
    if command == "kubectl":
        from .kubectl import kubectl  # pylint: disable=import-outside-toplevel
        return kubectl(rest)
    if command == "etcd-snapshot":
        etcd_snapshot(rest)
        return 0
    print("k3s stand-in: command %r is not implemented" % command, file=sys.stderr)
    return 1
