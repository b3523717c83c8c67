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
    a real snapshot of the local etcd member into ``/var/lib/rancher/k3s/server/db/snapshots/``,
    uploaded to the bucket of the ``etcd-s3-*`` keys of config.yaml when ``etcd-s3`` is on (``s3.py``).
``k3s --version``
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import calendar
import glob
import hashlib
import json
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time

import yaml

from . import charts, s3, validate
from .version import VERSION, VERSION_ARGS, print_version
from .api import Api, ApiFailure
from .etcd import EtcdClient, EtcdError, EtcdMember, local_config

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from k8s_emulator import EmulatorThread  # noqa: E402  pylint: disable=wrong-import-position
from k8s_emulator.kvstore import KvObjectStore  # noqa: E402  pylint: disable=wrong-import-position
from k8s_emulator.store import ApiError, ObjectStore  # noqa: E402  pylint: disable=wrong-import-position

# Tests run several stand-in nodes on one machine: every absolute path is under this prefix.
ROOT = os.environ.get("K3S_STANDIN_ROOT", "")
CONFIG = ROOT + "/etc/rancher/k3s/config.yaml"
DATA_DIR = ROOT + "/var/lib/rancher/k3s"
EVENT_LOG = ROOT + "/var/log/k3s-standin/events.jsonl"
API_PORT = 6443
HEARTBEAT = 3.0
# kube-controller-manager --node-monitor-grace-period: 50s by default since Kubernetes v1.32
# (kubernetes/kubernetes#125962); a node that has not posted status for that long turns Unknown.
NODE_MONITOR_GRACE = 50.0
ETCD_BINARIES = ("/opt/k3s-standin/bin/etcd", "/usr/bin/etcd")
CILIUM_CRDS = (("ciliumloadbalancerippools", "CiliumLoadBalancerIPPool", ["v2alpha1", "v2"]),
               ("ciliuml2announcementpolicies", "CiliumL2AnnouncementPolicy", ["v2alpha1"]))
ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}
ETCD_NAME_ANNOTATION = "etcd.k3s.cattle.io/node-name"        # K3s pkg/etcd/etcd.go NodeNameAnnotation
ETCD_ADDRESS_ANNOTATION = "etcd.k3s.cattle.io/node-address"  # NodeAddressAnnotation
ETCD_FINALIZER = "wrangler.cattle.io/managed-etcd-controller"
BOOTSTRAP_KEY = "/k3s-standin/bootstrap"


class Refused(Exception):
    """The stand-in refuses to start (K3s would exit with a fatal error)."""


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


def truthy(value):
    return str(value).lower() in ("1", "t", "true")


def write_file(path, content, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(content)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def read_file(path):
    with open(path) as handle:
        return handle.read()


def sd_notify(message):
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


def parse_token(token):
    """``(ca_hash or None, password)`` of a K3s token.

    The full form is ``K10<sha256 of the cluster CA bundle>::<user>:<password>``; a short token is the
    password alone (K3s pkg/clientaccess/token.go). A ``K10`` token whose hash part is malformed is
    refused, as K3s does.
    """
    token = str(token).strip()
    if token.startswith("K10") and "::" in token:
        ca_hash, creds = token[3:].split("::", 1)
        if not re.match(r"^[0-9a-f]{64}$", ca_hash):
            raise Refused("invalid token format: the CA hash of a K10 token must be 64 hex digits")
        if ":" not in creds:
            raise Refused("invalid token format: expected K10<hash>::<username>:<password>")
        return ca_hash, creds.split(":", 1)[1]
    return None, token


def password(token):
    """The password part of a full ``K10<hash>::server:<password>`` token (or the token itself)."""
    return parse_token(token)[1]


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def _first_ip(config):
    ips = as_list(config.get("node-ip"))
    return ips[0] if ips else "127.0.0.1"


class Node:
    """One stand-in node (server or agent) for the life of the process."""

    def __init__(self, role, argv, config_path=CONFIG):
        self.role = role
        self.argv = argv
        self.config, problems = validate.load_config(role, argv, config_path)
        problems += validate.check_kubelet(self.config)
        if problems:
            raise Refused("; ".join(problems))
        self.name = str(self.config.get("node-name") or socket.gethostname()).lower()
        self.data_dir = ROOT + str(self.config.get("data-dir", "/var/lib/rancher/k3s")) if ROOT and \
            self.config.get("data-dir") else str(self.config.get("data-dir") or DATA_DIR)
        self.server_dir = os.path.join(self.data_dir, "server")
        self.tls_dir = os.path.join(self.server_dir, "tls")
        self.port = int(self.config.get("https-listen-port", API_PORT))
        self.bind = str(self.config.get("bind-address") or "0.0.0.0")
        self.ip = _first_ip(self.config)
        self.stopping = threading.Event()
        self.emulator = None
        self.api = None
        self.etcd = None
        self.store = None
        self.token_password = None
        self.grace = NODE_MONITOR_GRACE
        for arg in as_list(self.config.get("kube-controller-manager-arg")):
            key, dummy, value = arg.lstrip("-").partition("=")
            if key == "node-monitor-grace-period":
                self.grace = _seconds(value)

    # -- mode --------------------------------------------------------------
    @property
    def uses_etcd(self):
        if self.role != "server" or self.config.get("datastore-endpoint"):
            return False
        return bool(truthy(self.config.get("cluster-init", False)) or self.config.get("server")
                    or os.path.isdir(os.path.join(self.server_dir, "db", "etcd", "member")))

    # -- token -------------------------------------------------------------
    def token(self):
        token = self.config.get("token") or os.environ.get("K3S_TOKEN")
        if not token and self.config.get("token-file"):
            token = read_file(self.config["token-file"]).strip()
        stored = os.path.join(self.server_dir, "token")
        if not token and os.path.exists(stored):
            token = read_file(stored).strip()
        if not token:
            if self.role != "server" or self.config.get("server"):
                raise Refused("a token is required to join %s" % self.config.get("server"))
            token = secrets.token_hex(16)
        return str(token)

    # -- certificates --------------------------------------------------------
    def ca_paths(self):
        return os.path.join(self.tls_dir, "server-ca.crt"), os.path.join(self.tls_dir, "server-ca.key")

    def ensure_ca(self, bundle=None):
        """Write the cluster CA from ``bundle`` ({cert, key}), or make one if there is none yet."""
        cert, key = self.ca_paths()
        os.makedirs(self.tls_dir, exist_ok=True)
        if bundle:
            if not os.path.exists(cert) or read_file(cert) != bundle["cert"]:
                write_file(key, bundle["key"], 0o600)
                write_file(cert, bundle["cert"], 0o644)
        elif not os.path.exists(cert):
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "3650", "-subj", "/CN=k3s-server-ca@%d" % int(time.time()),
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                    "-keyout", key, "-out", cert)
            os.chmod(key, 0o600)
        return {"cert": read_file(cert), "key": read_file(key)}

    def certificate(self):
        """The serving certificate, signed by the cluster CA, with node IPs and tls-san names."""
        ca_cert, ca_key = self.ca_paths()
        cert = os.path.join(self.tls_dir, "serving-kube-apiserver.crt")
        key = os.path.join(self.tls_dir, "serving-kube-apiserver.key")
        names = ["127.0.0.1", "::1", "localhost", "kubernetes", "kubernetes.default", self.name]
        names += as_list(self.config.get("node-ip")) + as_list(self.config.get("tls-san"))
        sans = ",".join(sorted({("IP:" if _is_ip(n) else "DNS:") + n for n in names}))
        marker = os.path.join(self.tls_dir, "sans")
        stamp = sans + "|" + hashlib.sha256(read_file(ca_cert).encode()).hexdigest()
        if os.path.exists(cert) and os.path.exists(marker) and read_file(marker) == stamp:
            return cert, key
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-days", "3650", "-subj", "/CN=kube-apiserver", "-addext", "subjectAltName=" + sans,
                "-CA", ca_cert, "-CAkey", ca_key, "-keyout", key, "-out", cert)
        os.chmod(key, 0o600)
        write_file(marker, stamp, 0o644)
        return cert, key

    def write_server_files(self, token, ca_pem):
        digest = hashlib.sha256(ca_pem.encode()).hexdigest()
        full = "K10%s::server:%s" % (digest, token)
        for name in ("token", "node-token"):
            write_file(os.path.join(self.server_dir, name), full + "\n", 0o600)
        kubeconfig = {
            "apiVersion": "v1", "kind": "Config", "current-context": "default", "preferences": {},
            "clusters": [{"name": "default", "cluster": {
                "server": "https://127.0.0.1:%d" % self.port,
                "certificate-authority-data": _b64(ca_pem)}}],
            "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
            "users": [{"name": "default", "user": {"token": token}}],
        }
        mode = int(str(self.config.get("write-kubeconfig-mode", "0600")), 8)
        path = self.config.get("write-kubeconfig") or "/etc/rancher/k3s/k3s.yaml"
        write_file(ROOT + str(path) if ROOT else str(path), yaml.safe_dump(kubeconfig, default_flow_style=False), mode)

    def write_kubelet_kubeconfig(self, ca_pem):
        """``<data-dir>/agent/kubelet.kubeconfig``, the kubelet's credentials, which K3s writes on every
        node (pkg/daemons/config: ``KubeConfigKubelet``); the on-node power-cycle command of an agent
        reads its own Node with it. K3s points it at the node's local load balancer with a client
        certificate; the stand-in has neither, so it names the API server (the agent's ``server``)
        and carries the token."""
        server = "https://127.0.0.1:%d" % self.port if self.role == "server" else str(self.config["server"])
        kubeconfig = {
            "apiVersion": "v1", "kind": "Config", "current-context": "default", "preferences": {},
            "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)}}],
            "contexts": [{"name": "default", "context": {"cluster": "local", "user": "user"}}],
            "users": [{"name": "user", "user": {"token": self.token_password}}],
        }
        write_file(os.path.join(self.data_dir, "agent", "kubelet.kubeconfig"),
                   yaml.safe_dump(kubeconfig, default_flow_style=False), 0o600)

    # -- joining: /cacerts and the bootstrap data, as K3s's supervisor serves them ------------
    def fetch_cacerts(self, upstream, ca_hash):
        """The server's CA bundle; refused when a full token's hash does not match it (K3s does the same)."""
        try:
            ca_pem = Api(upstream, "").get_text("/cacerts")
        except ApiFailure as exc:
            raise Refused("failed to get CA certs from %s: %s" % (upstream, exc))
        if ca_hash and hashlib.sha256(ca_pem.encode()).hexdigest() != ca_hash:
            raise Refused("token CA hash does not match the Cluster CA certificate hash: %s != %s"
                          % (ca_hash, hashlib.sha256(ca_pem.encode()).hexdigest()))
        return ca_pem

    def fetch_bootstrap(self, upstream, token_password):
        try:
            return Api(upstream, token_password).get("/v1-k3s/server-bootstrap")
        except ApiFailure as exc:
            if exc.status == 401:
                raise Refused("token is not valid for %s (401 Unauthorized)" % upstream)
            raise Refused("failed to get bootstrap data from %s: %s" % (upstream, exc))

    # -- etcd -----------------------------------------------------------------
    def etcd_binary(self):
        for path in (os.environ.get("K3S_STANDIN_ETCD"),) + ETCD_BINARIES:
            if path and os.access(path, os.X_OK):
                return path
        raise Refused("no etcd binary (Debian package etcd-server) at %s" % ", ".join(ETCD_BINARIES))

    def member_name(self):
        """``<node name>-<8 hex>``, kept in db/etcd/name like K3s (pkg/etcd/etcd.go nameFile)."""
        path = os.path.join(self.server_dir, "db", "etcd", "name")
        if os.path.exists(path):
            return read_file(path).strip()
        name = "%s-%s" % (self.name, secrets.token_hex(4))
        write_file(path, name, 0o600)
        return name

    def start_etcd(self, upstream, token_password):
        os.makedirs(os.path.join(self.server_dir, "db", "etcd"), mode=0o700, exist_ok=True)
        member = EtcdMember(self.data_dir, self.member_name(), self.ip, self.etcd_binary())
        self.etcd = member
        if member.initialised:
            record("etcd", action="start-existing", member=member.name)
            member.start({member.name: member.peer_url}, "existing")
        elif not upstream:
            record("etcd", action="new-cluster", member=member.name)
            member.start({member.name: member.peer_url}, "new")
        else:
            self.join_etcd(member, upstream, token_password)
        member.wait_serving(timeout=120, stop=self.stopping)
        self.wait_voter(member, upstream, token_password)

    def join_etcd(self, member, upstream, token_password):
        """Add this server as a learner through a current member, then start etcd (K3s ``join``)."""
        deadline = time.time() + 120
        while True:
            try:
                info = Api(upstream, token_password).get("/db/info")
                members = info.get("members") or []
                client = EtcdClient([u for m in members for u in m.get("clientURLs", [])])
                cluster = {}
                add = True
                for item in members:
                    peer = (item.get("peerURLs") or [""])[0]
                    name = item.get("name") or (member.name if peer == member.peer_url else "")
                    if name == member.name or peer == member.peer_url:
                        add = False
                        name = member.name
                    elif name.rsplit("-", 1)[0] == self.name:
                        raise Refused("duplicate node name found, please use a unique name for this node")
                    if name:
                        cluster[name] = peer
                if add:
                    client.add_learner(member.peer_url)
                    record("etcd", action="member-add-learner", member=member.name, via=upstream)
                cluster[member.name] = member.peer_url
                break
            except (ApiFailure, EtcdError) as exc:
                if exc.__class__ is ApiFailure and exc.status in (401, 403):
                    raise Refused("token is not valid for %s" % upstream)
                if exc.__class__ is ApiFailure and exc.status == 404:
                    raise Refused("%s does not run embedded etcd: cannot join it as a server" % upstream)
                if time.time() > deadline or self.stopping.is_set():
                    raise Refused("etcd cluster join failed: %s" % exc)
                time.sleep(2)  # K3s waits too (too many learners, member list not available)
        record("etcd", action="join", member=member.name, cluster=cluster)
        member.start(cluster, "existing")

    def wait_voter(self, member, upstream, token_password):
        """Promote this member once it has caught up (etcd refuses earlier), as K3s's learner manager does.

        A learner answers no member list, so the voters are asked (found through the server we join).
        """
        deadline = time.time() + 120
        while not self.stopping.is_set():
            try:
                urls = [member.client_url]
                if upstream:
                    try:
                        info = Api(upstream, token_password).get("/db/info")
                        urls += [u for m in info.get("members") or [] if not m.get("isLearner")
                                 for u in m.get("clientURLs") or []]
                    except ApiFailure:
                        pass
                client = EtcdClient([u for u in urls if u != member.client_url] + [member.client_url])
                me = [m for m in client.members() if m["name"] == member.name]
                if me and not me[0]["isLearner"]:
                    return
                if me:
                    client.promote(me[0]["ID"])
                    record("etcd", action="promoted", member=member.name)
                    return
            except EtcdError as exc:
                if time.time() > deadline:
                    raise Refused("etcd member %s was not promoted: %s" % (member.name, exc))
            time.sleep(1)

    def etcd_status(self):
        """(status for EtcdIsVoter, member) of this node: voter, learner, unjoined, unhealthy."""
        if self.etcd is None:
            return None, None
        try:
            for item in self.etcd.client(timeout=2.0).members():
                if item["name"] == self.etcd.name:
                    return ("learner" if item["isLearner"] else "voter"), item
            return "unjoined", None
        except EtcdError:
            return "unhealthy", None

    def check_bootstrap(self, token_password, ca_bundle):
        """Keep the CA and the token's hash in etcd; a server started with another token is refused."""
        client = self.etcd.client()
        token_hash = hashlib.sha256(token_password.encode()).hexdigest()
        deadline = time.time() + 60
        while True:
            try:
                value, rev = client.get(BOOTSTRAP_KEY)
                if value is None:
                    if client.put_if(BOOTSTRAP_KEY, json.dumps(dict(ca_bundle, token_sha256=token_hash)), 0):
                        return ca_bundle
                    continue
                data = json.loads(value)
                if data["token_sha256"] != token_hash:
                    raise Refused("bootstrap data already found and encrypted with different token")
                return {"cert": data["cert"], "key": data["key"]}
            except EtcdError as exc:
                if time.time() > deadline or self.stopping.is_set():
                    raise Refused("cannot read the bootstrap data from etcd: %s" % exc)
                time.sleep(1)

    # -- the API -----------------------------------------------------------
    def anonymous_paths(self):
        """Paths open to anonymous requests, as kube-apiserver reads them from the
        ``AuthenticationConfiguration`` named by ``kube-apiserver-arg: authentication-config=FILE``.

        K3s runs kube-apiserver with ``anonymous-auth=false`` unless such a file is given; then the
        file's ``anonymous`` block decides (enabled with path conditions = only those paths).
        """
        files = [arg.split("=", 1)[1] for arg in as_list(self.config.get("kube-apiserver-arg"))
                 if arg.lstrip("-").startswith("authentication-config=")]
        if not files:
            return ()
        path = ROOT + files[-1] if ROOT else files[-1]
        try:
            doc = yaml.safe_load(read_file(path)) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise Refused("failed to load the authentication configuration %s: %s" % (files[-1], exc))
        if doc.get("kind") != "AuthenticationConfiguration" or not str(doc.get("apiVersion", "")).startswith(
                "apiserver.config.k8s.io/"):
            raise Refused("%s is not an AuthenticationConfiguration" % files[-1])
        anonymous = doc.get("anonymous")
        if anonymous is not None and any(arg.lstrip("-").startswith("anonymous-auth=") for arg in
                                         as_list(self.config.get("kube-apiserver-arg"))):
            # kube-apiserver (KEP-4633) refuses both; K3s leaves its own anonymous-auth=false out
            # when an authentication-config file is given (k3s-io/k3s#12245, v1.33.1+).
            raise Refused("anonymous: Forbidden: --anonynous-auth flag cannot be set when anonymous field "
                          "is configured in authentication configuration file")
        anonymous = anonymous or {}
        if not anonymous.get("enabled"):
            return ()
        conditions = anonymous.get("conditions") or []
        if not conditions:
            raise Refused("anonymous access to every path is not emulated (%s)" % files[-1])
        return tuple(str(c["path"]) for c in conditions)

    def routes(self):
        ca_cert = self.ca_paths()[0]

        def cacerts(dummy_request):
            return 200, read_file(ca_cert)

        def bootstrap(dummy_request):
            cert, key = self.ca_paths()
            return 200, {"cert": read_file(cert), "key": read_file(key)}

        def db_info(dummy_request):
            if self.etcd is None:
                raise ApiError(404, "NotFound", "this server does not run embedded etcd")
            try:
                return 200, {"members": self.etcd.client().members()}
            except EtcdError as exc:
                raise ApiError(503, "ServiceUnavailable", "failed to get MemberList from server: %s" % exc)

        return {"/cacerts": (cacerts, True), "/v1-k3s/server-bootstrap": (bootstrap, False),
                "/db/info": (db_info, False)}

    def start_server(self, token):
        """Start etcd (or the SQLite-like file store) and serve the API; return the CA bundle PEM."""
        ca_hash, token_password = parse_token(token)
        anonymous_paths = self.anonymous_paths()
        upstream = self.config.get("server")
        bundle = None
        if upstream and not os.path.exists(self.ca_paths()[0]):
            self.fetch_cacerts(upstream, ca_hash)
            bundle = self.fetch_bootstrap(upstream, token_password)
        if self.uses_etcd:
            self.start_etcd(upstream, token_password)
            bundle = self.check_bootstrap(token_password, self.ensure_ca(bundle))
            self.ensure_ca(bundle)
            self.store = KvObjectStore(self.etcd.client(), establish_delay=2.0)
        else:
            self.ensure_ca(bundle)
            db = os.path.join(self.server_dir, "db")
            os.makedirs(db, exist_ok=True)
            self.store = ObjectStore(establish_delay=2.0, state_file=os.path.join(db, "standin-state.json"))
        for kind in charts.KINDS:
            self.store.validators[kind] = charts.check_document
        cert, key = self.certificate()
        self.emulator = EmulatorThread(host=self.bind, port=self.port, token=token_password, tls_cert=cert,
                                       tls_key=key, store=self.store, routes=self.routes(),
                                       anonymous_paths=anonymous_paths).__enter__()
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "::") else self.bind
        self.api = Api("https://%s:%d" % (_url_host(host), self.port), token_password)
        self.token_password = token_password
        return read_file(self.ca_paths()[0])

    def start_agent(self, token):
        ca_hash, token_password = parse_token(token)
        upstream = self.config.get("server")
        if not upstream:
            raise Refused("--server is required for k3s agent")
        ca_pem = self.fetch_cacerts(upstream, ca_hash)
        self.api = Api(upstream, token_password)
        try:
            self.api.get("/api/v1/namespaces/kube-system")
        except ApiFailure as exc:
            if exc.status == 401:
                raise Refused("token is not valid for %s (401 Unauthorized)" % upstream)
            raise Refused("cannot join %s: %s" % (upstream, exc))
        self.token_password = token_password
        return ca_pem

    # -- the Node ----------------------------------------------------------
    def node_object(self):
        labels = {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux",
                  "kubernetes.io/arch": ARCH.get(platform.machine(), platform.machine()),
                  "node.kubernetes.io/instance-type": "k3s"}
        annotations = {"k3s.io/node-args": json.dumps([self.role] + self.argv),
                       "k3s.io/node-config-hash": hashlib.sha256(
                           json.dumps(self.config, sort_keys=True).encode()).hexdigest()[:32]}
        if self.role == "server":
            labels.update({"node-role.kubernetes.io/control-plane": "true",
                           "node-role.kubernetes.io/master": "true"})
        for item in as_list(self.config.get("node-label")):
            key, value = (item.split("=", 1) + [""])[:2]
            labels[key] = value
        taints = []
        for item in as_list(self.config.get("node-taint")):
            keyvalue, effect = (item.split(":", 1) + [""])[:2]
            key, value = (keyvalue.split("=", 1) + [""])[:2]
            taints.append({"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect})
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.name, "labels": labels, "annotations": annotations},
                "spec": {"taints": taints}}

    def etcd_metadata(self):
        """Labels/annotations/finalizer that follow this node's real etcd membership."""
        status, member = self.etcd_status()
        if status is None:
            return {}, None
        if status in ("voter", "learner"):
            meta = {"labels": {"node-role.kubernetes.io/etcd": "true"},
                    "annotations": {ETCD_NAME_ANNOTATION: member["name"], ETCD_ADDRESS_ANNOTATION: self.ip},
                    "finalizers": [ETCD_FINALIZER]}
        elif status == "unjoined":
            meta = {"labels": {"node-role.kubernetes.io/etcd": None}}
        else:
            meta = {}
        return meta, status

    def node_status(self, ready, etcd_status=None):
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        addresses = [{"type": "InternalIP", "address": ip} for ip in as_list(self.config.get("node-ip"))]
        addresses.append({"type": "Hostname", "address": self.name})
        conditions = [{"type": "Ready", "status": ready, "lastHeartbeatTime": now, "lastTransitionTime": now,
                       "reason": "KubeletReady" if ready == "True" else "NodeStatusUnknown",
                       "message": "k3s stand-in" if ready == "True" else "k3s stand-in stopped"}]
        if etcd_status:
            conditions.append(dict(ETCD_CONDITIONS[etcd_status], type="EtcdIsVoter", lastHeartbeatTime=now,
                                   lastTransitionTime=now))
        return {"status": {
            "addresses": addresses,
            "nodeInfo": {"kubeletVersion": VERSION, "kubeProxyVersion": VERSION, "operatingSystem": "linux",
                         "architecture": ARCH.get(platform.machine(), platform.machine()),
                         "containerRuntimeVersion": "containerd://standin"},
            "conditions": conditions}}

    def register(self):
        path = "/api/v1/nodes/" + self.name
        obj = self.node_object()
        etcd_meta, etcd_status = self.etcd_metadata()
        try:
            current = self.api.get(path)
            if current["metadata"].get("deletionTimestamp"):
                raise ApiFailure(409, "node %s is being deleted" % self.name)
            meta = _merge(obj["metadata"], etcd_meta)
            if "finalizers" in meta:
                meta["finalizers"] = sorted(set(current["metadata"].get("finalizers", []) + meta["finalizers"]))
            self.api.merge_patch(path, {"metadata": meta, "spec": obj["spec"]})
        except ApiFailure as exc:
            if exc.status != 404:
                raise
            obj["metadata"] = _merge(obj["metadata"], etcd_meta)
            obj["metadata"]["labels"] = {k: v for k, v in obj["metadata"]["labels"].items() if v is not None}
            self.api.call("POST", "/api/v1/nodes", obj)
        self.api.merge_patch(path + "/status", self.node_status("True", etcd_status))

    def heartbeat(self):
        manifests = {}
        while not self.stopping.wait(HEARTBEAT):
            try:
                if self.etcd is not None:
                    etcd_meta, etcd_status = self.etcd_metadata()
                    if etcd_meta:
                        self.api.merge_patch("/api/v1/nodes/" + self.name, {"metadata": etcd_meta})
                    self.api.merge_patch("/api/v1/nodes/%s/status" % self.name, self.node_status("True", etcd_status))
                else:
                    self.api.merge_patch("/api/v1/nodes/%s/status" % self.name, self.node_status("True"))
                if self.role == "server":
                    self.deploy_manifests(manifests)
                    self.node_lifecycle()
                    self.etcd_member_controller()
            except ApiFailure:
                continue  # the API or etcd is unavailable: try again on the next beat
            if self.etcd is not None and self.etcd.process.poll() is not None:
                record("exit-error", role=self.role, message="etcd exited with status %s"
                       % self.etcd.process.returncode)
                raise Refused("etcd exited with status %s (removed from the cluster?)" % self.etcd.process.returncode)

    # -- controllers (kube-controller-manager's node lifecycle, K3s's etcd member controller) ------
    def node_lifecycle(self):
        """Nodes that stopped posting status for the grace period turn Ready=Unknown."""
        now = time.time()
        for node in self.api.get("/api/v1/nodes").get("items", []):
            for cond in node.get("status", {}).get("conditions", []):
                if cond.get("type") != "Ready" or cond.get("status") == "Unknown":
                    continue
                beat = _epoch(cond.get("lastHeartbeatTime"))
                if beat and now - beat > self.grace:
                    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
                    unknown = dict(cond, status="Unknown", reason="NodeStatusUnknown", lastTransitionTime=stamp,
                                   message="Kubelet stopped posting node status.")
                    others = [c for c in node["status"]["conditions"] if c.get("type") != "Ready"]
                    self.api.merge_patch("/api/v1/nodes/%s/status" % node["metadata"]["name"],
                                         {"status": {"conditions": others + [unknown]}})
                    record("node-not-ready", target=node["metadata"]["name"], last_heartbeat=cond.get("lastHeartbeatTime"))

    def etcd_member_controller(self):
        """A deleted Node with an etcd member: remove the member, then release the finalizer (K3s does)."""
        if self.etcd is None:
            return
        for node in self.api.get("/api/v1/nodes").get("items", []):
            meta = node["metadata"]
            if not meta.get("deletionTimestamp") or ETCD_FINALIZER not in meta.get("finalizers", []):
                continue
            member_name = meta.get("annotations", {}).get(ETCD_NAME_ANNOTATION)
            try:
                client = self.etcd.client()
                for member in client.members():
                    if member["name"] == member_name:
                        client.remove(member["ID"])
                        record("etcd", action="member-remove", member=member_name, node=meta["name"])
            except EtcdError:
                continue
            finalizers = [f for f in meta["finalizers"] if f != ETCD_FINALIZER]
            self.api.merge_patch("/api/v1/nodes/" + meta["name"], {"metadata": {"finalizers": finalizers}})

    # -- auto-deploy manifests and a minimal helm-controller ---------------
    def deploy_manifests(self, seen):
        directory = os.path.join(self.server_dir, "manifests")
        for path in sorted(glob.glob(os.path.join(directory, "*.y*ml"))):
            if os.path.basename(path).startswith("."):
                continue
            with open(path, "rb") as handle:
                raw = handle.read()
            digest = hashlib.sha256(raw).hexdigest()
            if seen.get(path) == digest:
                continue
            docs = [doc for doc in yaml.safe_load_all(raw) if doc]
            problems = [p for doc in docs for p in charts.check_document(doc)]
            if problems:
                if seen.get(path) != "refused:" + digest:
                    record("manifest-refused", role=self.role, file=path, problems=problems)
                    print("k3s stand-in: %s refused: %s" % (path, "; ".join(problems)), file=sys.stderr)
                seen[path] = "refused:" + digest
                continue
            for doc in docs:
                if doc.get("kind") == "HelmChart" and doc.get("spec", {}).get("chart") == "cilium":
                    self.install_cilium_crds()
                self.api.apply(doc)
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
        record("start", role=self.role, argv=self.argv, config=_redacted(self.config))
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        threading.Thread(target=self.wait_for_signal, daemon=True).start()
        try:
            self._run()
        finally:
            if self.emulator:
                self.emulator.__exit__(None, None, None)
            if self.etcd:
                self.etcd.stop()

    def _run(self):
        token = self.token()
        ca_pem = self.start_server(token) if self.role == "server" else self.start_agent(token)
        if self.role == "server":
            self.write_server_files(self.token_password, ca_pem)
            os.makedirs(os.path.join(self.server_dir, "manifests"), exist_ok=True)
        self.write_kubelet_kubeconfig(ca_pem)
        deadline = time.time() + 60
        while True:
            try:
                self.register()
                break
            except ApiFailure as exc:
                if time.time() > deadline or self.stopping.is_set():
                    raise Refused("cannot register node %s: %s" % (self.name, exc))
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
        record("stop", role=self.role)


ETCD_CONDITIONS = {  # K3s pkg/etcd/etcd.go setEtcdStatusCondition
    "voter": {"status": "True", "reason": "MemberNotLearner", "message": "Node is a voting member of the etcd cluster"},
    "learner": {"status": "False", "reason": "MemberIsLearner",
                "message": "Node has not been promoted to voting member of the etcd cluster"},
    "unhealthy": {"status": "False", "reason": "Unhealthy", "message": "Node is unhealthy"},
    "unjoined": {"status": "False", "reason": "NotAMember", "message": "Node is not a member of the etcd cluster"},
}


def _redacted(config):
    return {k: ("<redacted>" if "token" in k or "secret" in k or k == "etcd-s3-access-key" else v)
            for k, v in config.items()}


def _merge(base, extra):
    result = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = dict(result[key], **value)
        else:
            result[key] = value
    return result


def _epoch(stamp):
    try:
        return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return None


def _seconds(text):
    total = 0.0
    for number, unit in re.findall(r"([\d.]+)(ms|s|m|h)", str(text)):
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total or NODE_MONITOR_GRACE


def _url_host(host):
    return "[%s]" % host if ":" in host else host


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


def etcd_snapshot(argv, config_path=CONFIG):
    """``k3s etcd-snapshot save [--name N] [--etcd-snapshot-dir D]``: a real snapshot of the local etcd member."""
    args = list(argv)
    if args[:1] == ["save"]:
        args = args[1:]
    elif args[:1] and not args[0].startswith("-"):
        raise Refused("only `etcd-snapshot save` is implemented by the stand-in, not %r" % args[0])
    name, directory = "etcd-snapshot", None
    index = 0
    while index < len(args):
        key, sep, value = args[index].lstrip("-").partition("=")
        if not sep and index + 1 < len(args):
            value, index = args[index + 1], index + 1
        index += 1
        if key == "name":
            name = value
        elif key in ("etcd-snapshot-dir", "dir"):
            directory = value
        elif key not in ("node-name", "data-dir", "d", "etcd-snapshot-compress", "config", "c"):
            raise Refused("flag provided but not defined: -%s" % key)
    config, problems = validate.load_config("server", [], config_path)
    if problems:
        raise Refused("; ".join(problems))
    data_dir = str(config.get("data-dir") or DATA_DIR)
    local = local_config(data_dir)
    if local is None:
        raise Refused("etcd database not found in %s/server/db/etcd: this server does not run embedded etcd"
                      % data_dir)
    try:
        s3_settings = s3.settings(config)
    except s3.S3Failure as exc:
        raise Refused("etcd-s3: %s" % exc)
    directory = directory or config.get("etcd-snapshot-dir") or os.path.join(data_dir, "server", "db", "snapshots")
    node = str(config.get("node-name") or socket.gethostname()).lower()
    target = os.path.join(str(directory), "%s-%s-%d" % (name, node, int(time.time())))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        size = EtcdClient([local["client-url"]], timeout=10).snapshot(target)
    except EtcdError as exc:
        raise Refused("etcd snapshot failed: %s" % exc)
    os.chmod(target, 0o600)
    record("etcd-snapshot", path=target, size=size)
    print("Snapshot %s saved." % os.path.basename(target))
    if s3_settings:
        try:
            key = s3.upload(s3_settings, target, node)
        except s3.S3Failure as exc:
            record("etcd-snapshot-s3-failed", bucket=s3_settings["etcd-s3-bucket"], message=str(exc))
            raise Refused("etcd-s3: snapshot %s saved locally, upload failed: %s" % (os.path.basename(target), exc))
        record("etcd-snapshot-s3", bucket=s3_settings["etcd-s3-bucket"], key=key, size=size)
        print("Snapshot %s uploaded to s3://%s/%s." % (os.path.basename(target), s3_settings["etcd-s3-bucket"], key))


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in VERSION_ARGS:
        return print_version()
    command, rest = argv[0], argv[1:]
    try:
        if command in ("server", "agent"):
            Node(command, rest).run()
            return 0
        if command == "etcd-snapshot":
            etcd_snapshot(rest)
            return 0
    except Refused as exc:
        # K3s logs a fatal error and exits 1; systemd keeps the message in the journal.
        try:
            record("exit-error", role=command, message=str(exc))
        except OSError:
            pass
        print("k3s stand-in: level=fatal msg=%s" % json.dumps(str(exc)), file=sys.stderr)
        return 1
    if command == "kubectl":
        from .kubectl import kubectl  # pylint: disable=import-outside-toplevel
        return kubectl(rest)
    print("k3s stand-in: command %r is not implemented" % command, file=sys.stderr)
    return 1
