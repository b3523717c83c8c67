# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The K3s stand-in as an HA cluster on loopback: three servers, each with a real etcd member.

Shows what the cluster tests rely on: the API data lives in etcd (written through one server, read
through another); killing the first server leaves the API served by the others; a crashed node
turns NotReady; losing quorum makes the API unavailable and getting it back restores it; a server
with a changed token and an agent with a token for another CA are refused; ``k3s etcd-snapshot
save`` writes a real etcd (bbolt) database; deleting a Node removes its etcd member.

Needs Debian's ``etcd-server`` (``make deps``); each node runs under its own root directory
(``K3S_STANDIN_ROOT``) on its own loopback address (127.77.0.N) so ports do not collide.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
STANDINS = os.path.join(os.path.dirname(HERE), "standins")
sys.path.insert(0, STANDINS)

from k3s_standin.api import Api, ApiFailure  # noqa: E402  pylint: disable=wrong-import-position
from k3s_standin.etcd import EtcdClient  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.skipif(not shutil.which("etcd"), reason="needs Debian's etcd-server (make deps)")

TOKEN = "standin-ha-secret"
GRACE = "8s"


class StandinNode:
    def __init__(self, base, name, index, role="server", config=None):
        self.name, self.role = name, role
        self.ip = "127.77.0.%d" % index
        self.root = os.path.join(str(base), name)
        self.config = dict({"node-name": name, "node-ip": self.ip, "bind-address": self.ip, "token": TOKEN},
                           **(config or {}))
        if role == "server":
            self.config["kube-controller-manager-arg"] = ["node-monitor-grace-period=%s" % GRACE]
        self.process = None
        self.log = os.path.join(self.root, "journal.log")

    @property
    def url(self):
        return "https://%s:6443" % self.ip

    def write_config(self):
        path = os.path.join(self.root, "etc", "rancher", "k3s", "config.yaml")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            yaml.safe_dump(self.config, handle)

    def run(self, *args, timeout=30):
        env = dict(os.environ, K3S_STANDIN_ROOT=self.root, PYTHONPATH=STANDINS)
        return subprocess.run([sys.executable, "-m", "k3s_standin"] + list(args), env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def start(self):
        self.write_config()
        env = dict(os.environ, K3S_STANDIN_ROOT=self.root, PYTHONPATH=STANDINS)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "k3s_standin", self.role], env=env,
                                            stdout=log, stderr=log, start_new_session=True)
        return self

    def events(self):
        path = os.path.join(self.root, "var", "log", "k3s-standin", "events.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def wait_ready(self, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(e["event"] == "ready" and e["pid"] == self.process.pid for e in self.events()):
                return
            assert self.process.poll() is None, "%s exited: %s" % (self.name, self.journal()[-2000:])
            time.sleep(0.5)
        raise AssertionError("%s not ready: %s" % (self.name, self.journal()[-2000:]))

    def wait_exit(self, timeout=60):
        return self.process.wait(timeout)

    def journal(self):
        with open(self.log, errors="replace") as handle:
            return handle.read()

    def kill(self):
        """Crash: SIGKILL, no clean shutdown (its etcd dies with it)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def api(self, timeout=5.0):
        return Api(self.url, TOKEN, timeout=timeout)


def wait_for(check, timeout, what):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            result = check()
            if result:
                return result
        except (ApiFailure, AssertionError, KeyError) as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError("timed out waiting for %s (last: %s)" % (what, last))


def create_once(api, path, body):
    """POST that may be retried: while etcd elects a new leader an attempt can
    time out on the client side after the write landed, so the retry's 409
    AlreadyExists counts as done."""
    try:
        return api.call("POST", path, body)
    except ApiFailure as exc:
        if exc.status == 409:
            return True
        raise


def condition(node, kind):
    return {c["type"]: c for c in node["status"]["conditions"]}.get(kind, {})


def configmap(name, value):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}}


@pytest.fixture()
def cluster(tmp_path):
    nodes = []

    def make(*args, **kwargs):
        node = StandinNode(tmp_path, *args, **kwargs)
        nodes.append(node)
        return node
    yield make
    for node in reversed(nodes):
        node.kill()


def test_ha_cluster_on_real_etcd(cluster):
    first = cluster("sd-1", 1, config={"cluster-init": True}).start()
    first.wait_ready()
    joiners = [cluster("sd-%d" % i, i, config={"server": first.url}).start() for i in (2, 3)]
    for node in joiners:
        node.wait_ready()
    members = EtcdClient(["http://%s:2379" % first.ip]).members()
    assert sorted(m["name"].rsplit("-", 1)[0] for m in members) == ["sd-1", "sd-2", "sd-3"]
    assert not any(m["isLearner"] for m in members)

    # Every server reports its etcd membership the K3s way (label, annotations, EtcdIsVoter).
    def all_voters():
        items = first.api().get("/api/v1/nodes")["items"]
        return len(items) == 3 and all(
            condition(n, "EtcdIsVoter").get("status") == "True"
            and n["metadata"]["labels"].get("node-role.kubernetes.io/etcd") == "true"
            and n["metadata"]["annotations"]["etcd.k3s.cattle.io/node-name"].startswith(n["metadata"]["name"] + "-")
            for n in items)
    wait_for(all_voters, 30, "three etcd voters reported on their Nodes")

    # The data lives in etcd: written through one server, read through another.
    first.api().call("POST", "/api/v1/namespaces/default/configmaps", configmap("written-on-1", "a"))
    assert joiners[1].api().get("/api/v1/namespaces/default/configmaps/written-on-1")["data"] == {"v": "a"}
    assert first.api().get_text("/readyz/etcd") == "ok"

    # A real etcd snapshot (bbolt magic 0xED0CDAED after the 16-byte page header).
    saved = first.run("etcd-snapshot", "save", "--name", "pre-test")
    assert saved.returncode == 0, saved.stderr
    snapdir = os.path.join(first.root, "var", "lib", "rancher", "k3s", "server", "db", "snapshots")
    (snapshot,) = [os.path.join(snapdir, f) for f in os.listdir(snapdir) if f.startswith("pre-test-sd-1-")]
    with open(snapshot, "rb") as handle:
        assert handle.read(20)[16:20] == b"\xed\xda\x0c\xed"

    # Killing the first server leaves the API served by the others.
    first.kill()
    second, third = joiners
    wait_for(lambda: create_once(second.api(), "/api/v1/namespaces/default/configmaps",
                                 configmap("after-first-died", "b")), 40, "a write through sd-2")
    assert third.api().get("/api/v1/namespaces/default/configmaps/after-first-died")["data"] == {"v": "b"}
    # ...and the crashed node turns NotReady (it stopped heartbeating; no clean stop).
    wait_for(lambda: condition(third.api().get("/api/v1/nodes/sd-1"), "Ready")["status"] == "Unknown",
             40, "sd-1 Ready=Unknown after its crash")

    # Losing quorum makes the API unavailable...
    second.kill()

    def unavailable():
        try:
            third.api(timeout=8).get("/api/v1/namespaces/default/configmaps/after-first-died")
        except ApiFailure as exc:
            return exc.status == 503
        return False
    wait_for(unavailable, 30, "503 from sd-3 without quorum")
    with pytest.raises(ApiFailure) as failed:
        third.api(timeout=8).get_text("/readyz")
    assert failed.value.status == 500
    # ...and quorum back makes it available again.
    second.start()
    wait_for(lambda: third.api().get("/api/v1/namespaces/default/configmaps/written-on-1"), 60,
             "the API back on sd-3 once sd-2 is back")


def test_refused_tokens_and_node_delete_removes_member(cluster):
    first = cluster("sd-1", 1, config={"cluster-init": True}).start()
    first.wait_ready()
    ca_hash = open(os.path.join(first.root, "var/lib/rancher/k3s/server/token")).read().split("::")[0][3:]

    # A full token whose CA hash is not this cluster's is refused (K3s checks /cacerts against it).
    wrong = cluster("sd-9", 9, role="agent",
                    config={"server": first.url, "token": "K10%s::server:%s" % ("0" * 64, TOKEN)}).start()
    assert wrong.wait_exit() == 1
    assert "token CA hash does not match the Cluster CA certificate hash" in wrong.journal()
    # A wrong password is refused.
    bad = cluster("sd-8", 8, role="agent", config={"server": first.url, "token": "not-the-token"}).start()
    assert bad.wait_exit() == 1
    assert "token is not valid" in bad.journal()
    # The full token with the right hash is accepted.
    agent = cluster("sd-7", 7, role="agent",
                    config={"server": first.url, "token": "K10%s::server:%s" % (ca_hash, TOKEN)}).start()
    agent.wait_ready()

    joiners = [cluster("sd-%d" % i, i, config={"server": first.url}).start() for i in (2, 3)]
    for node in joiners:
        node.wait_ready()
    third = joiners[1]
    # A server restarted with a changed token is refused (the bootstrap data holds the old one).
    third.stop()
    third.config["token"] = "changed-token"
    third.start()
    assert third.wait_exit() == 1
    assert "bootstrap data already found and encrypted with different token" in third.journal()

    # Deleting the Node of that server removes its etcd member (K3s's etcd controller, with a finalizer).
    client = EtcdClient(["http://%s:2379" % first.ip])
    assert len(client.members()) == 3
    first.api().call("DELETE", "/api/v1/nodes/sd-3")
    wait_for(lambda: sorted(m["name"].rsplit("-", 1)[0] for m in client.members()) == ["sd-1", "sd-2"], 30,
             "sd-3's etcd member removed")
    wait_for(lambda: all(n["metadata"]["name"] != "sd-3" for n in first.api().get("/api/v1/nodes")["items"]),
             30, "the sd-3 Node gone once its finalizer is released")
