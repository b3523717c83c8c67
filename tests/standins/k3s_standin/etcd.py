# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real etcd member for the K3s stand-in, and a client for etcd's v3 JSON gateway.

Each stand-in server runs Debian's ``etcd`` (etcd-server 3.4) as a child process, as K3s runs its
embedded etcd: data in ``<data-dir>/server/db/etcd``, client port 2379, peer port 2380, heartbeat
500 ms and election timeout 5000 ms (the values K3s sets, ``pkg/etcd/etcd.go``). A joining server is
added to the cluster as a *learner* through an existing member and promoted to voter once it has
caught up (K3s does the same since v1.20). Unlike K3s the traffic is plain HTTP, not mutual TLS.

The client speaks etcd's gRPC gateway (``/v3/kv/range``, ``/v3/kv/txn``, ``/v3/cluster/member/*``,
``/v3/maintenance/*``) with the standard library only.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import ctypes
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

CLIENT_PORT = 2379
PEER_PORT = 2380
HEARTBEAT_MS = 500      # K3s pkg/etcd: HeartbeatInterval 500
ELECTION_MS = 5000      # K3s pkg/etcd: ElectionTimeout 5000


class EtcdError(Exception):
    """An etcd call failed (``unavailable`` when no member answered or there was no quorum)."""

    def __init__(self, message, unavailable=True):
        super(EtcdError, self).__init__(message)
        self.unavailable = unavailable


def _b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def _unb64(text):
    return base64.b64decode(text or "")


def url_host(ip):
    return "[%s]" % ip if ":" in ip else ip


class EtcdClient:
    """etcd v3 JSON gateway client; tries ``endpoints`` in order."""

    def __init__(self, endpoints, timeout=3.0):
        self.endpoints = [e.rstrip("/") for e in ([endpoints] if isinstance(endpoints, str) else endpoints)]
        self.timeout = timeout

    def call(self, path, body=None):
        errors = []
        for endpoint in self.endpoints:
            request = urllib.request.Request(endpoint + path, data=json.dumps(body or {}).encode(), method="POST")
            request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    payload = json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as exc:
                text = exc.read().decode(errors="replace")
                try:
                    message = json.loads(text).get("error") or text
                except ValueError:
                    message = text
                # etcd answers 4xx for requests it refuses (a learner not in sync, an unknown member).
                raise EtcdError("%s: %s" % (endpoint, message), unavailable=exc.code >= 500)
            except (OSError, ValueError) as exc:
                errors.append("%s: %s" % (endpoint, exc))
                continue
            if "error" in payload and "result" not in payload:
                raise EtcdError("%s: %s" % (endpoint, payload["error"]))
            return payload
        raise EtcdError("no etcd member answered (%s)" % "; ".join(errors))

    # -- key/value ---------------------------------------------------------
    def get(self, key):
        """``(value bytes, mod_revision)``; ``(None, 0)`` when absent. A linearizable read (needs quorum)."""
        kvs = self.call("/v3/kv/range", {"key": _b64(key)}).get("kvs") or []
        if not kvs:
            return None, 0
        return _unb64(kvs[0].get("value")), int(kvs[0].get("mod_revision", 0))

    def put_if(self, key, value, mod_revision):
        """Write ``value`` if ``key`` still has ``mod_revision`` (0 = absent): the new revision, or 0."""
        compare = ({"key": _b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(mod_revision)}
                   if mod_revision else
                   {"key": _b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"})
        answer = self.call("/v3/kv/txn", {"compare": [compare],
                                          "success": [{"request_put": {"key": _b64(key), "value": _b64(value)}}]})
        return int(answer.get("header", {}).get("revision", 0)) if answer.get("succeeded") else 0

    # -- cluster -----------------------------------------------------------
    def members(self):
        members = self.call("/v3/cluster/member/list", {}).get("members") or []
        return [dict(m, isLearner=bool(m.get("isLearner")), peerURLs=m.get("peerURLs") or [],
                     clientURLs=m.get("clientURLs") or [], name=m.get("name", "")) for m in members]

    def add_learner(self, peer_url):
        return self.call("/v3/cluster/member/add", {"peerURLs": [peer_url], "isLearner": True})

    def promote(self, member_id):
        return self.call("/v3/cluster/member/promote", {"ID": str(member_id)})

    def remove(self, member_id):
        return self.call("/v3/cluster/member/remove", {"ID": str(member_id)})

    def status(self):
        return self.call("/v3/maintenance/status", {})

    def snapshot(self, path):
        """Stream a snapshot of this member's database to ``path``; returns its size."""
        endpoint = self.endpoints[0]
        request = urllib.request.Request(endpoint + "/v3/maintenance/snapshot", data=b"{}", method="POST")
        request.add_header("Content-Type", "application/json")
        size = 0
        tmp = path + ".part"
        try:
            with urllib.request.urlopen(request, timeout=30) as response, open(tmp, "wb") as out:
                for line in response:
                    line = line.strip()
                    if not line:
                        continue
                    chunk = json.loads(line)
                    if "error" in chunk:
                        raise EtcdError("%s: %s" % (endpoint, chunk["error"]))
                    blob = _unb64(chunk.get("result", {}).get("blob"))
                    out.write(blob)
                    size += len(blob)
        except (OSError, ValueError) as exc:
            raise EtcdError("%s: snapshot failed: %s" % (endpoint, exc))
        if not size:
            raise EtcdError("%s: empty snapshot" % endpoint)
        os.replace(tmp, path)
        return size


def _die_with_parent():
    """Child side of fork: get SIGKILL when the stand-in dies (a crash must not leave etcd running)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class EtcdMember:
    """The local etcd member of one stand-in server (a child process)."""

    def __init__(self, data_dir, name, ip, binary="etcd"):
        self.dir = os.path.join(data_dir, "server", "db", "etcd")
        self.ip = ip
        self.name = name
        self.binary = binary
        self.process = None
        host = url_host(ip)
        self.client_url = "http://%s:%d" % (host, CLIENT_PORT)
        self.peer_url = "http://%s:%d" % (host, PEER_PORT)

    @property
    def initialised(self):
        return os.path.isdir(os.path.join(self.dir, "member"))

    def client(self, timeout=3.0):
        return EtcdClient([self.client_url], timeout=timeout)

    def start(self, initial_cluster, state):
        """Start etcd; ``initial_cluster`` = {name: peer_url} (ignored by etcd once data exists)."""
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        listen = [self.client_url]
        if not self.ip.startswith("127.") and self.ip != "::1":
            listen.append("http://127.0.0.1:%d" % CLIENT_PORT)
        args = [self.binary, "--name", self.name, "--data-dir", self.dir,
                "--listen-client-urls", ",".join(listen), "--advertise-client-urls", self.client_url,
                "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", ",".join("%s=%s" % kv for kv in sorted(initial_cluster.items())),
                "--initial-cluster-state", state, "--initial-cluster-token", "k3s-standin",
                "--heartbeat-interval", str(HEARTBEAT_MS), "--election-timeout", str(ELECTION_MS),
                "--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000",
                "--logger", "zap", "--log-level", "warn"]
        with open(os.path.join(self.dir, "config"), "w") as handle:
            json.dump({"name": self.name, "client-url": self.client_url, "peer-url": self.peer_url}, handle)
        # etcd would tell systemd READY=1 itself: only the stand-in may (the unit is Type=notify).
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        self.process = subprocess.Popen(args, preexec_fn=_die_with_parent,  # pylint: disable=subprocess-popen-preexec-fn
                                        stdin=subprocess.DEVNULL, env=env)
        return self.process

    def wait_serving(self, timeout=60.0, stop=None):
        """Wait until this member answers its status endpoint (learners included)."""
        deadline = time.time() + timeout
        client = self.client(timeout=2.0)
        while time.time() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EtcdError("etcd exited with status %s" % self.process.returncode)
            try:
                return client.status()
            except EtcdError:
                if stop is not None and stop.is_set():
                    raise
                time.sleep(0.3)
        raise EtcdError("etcd member %s did not start within %ds" % (self.name, timeout))

    def stop(self, timeout=10.0):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def local_config(data_dir):
    """The local member's name and URLs as written by :meth:`EtcdMember.start` (None if absent)."""
    path = os.path.join(data_dir, "server", "db", "etcd", "config")
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return json.load(handle)
