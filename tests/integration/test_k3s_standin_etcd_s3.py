# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""K3s etcd snapshots to a bucket on the S3 server, end to end on loopback, with the test stand-ins.

The MinIO stand-in (tests/standins/minio, the same packaged "release" the minio scenario installs)
gets a bucket and a user limited to it through the collection's minio_admin reconcile (what the
minio role's module does); the K3s stand-in runs one server with a real etcd member, its
config.yaml carrying the etcd-s3-* keys made by the homelab.k3s.etcd_s3_config filter (what
homelab.k3s.k3s_server writes for k3s_server_etcd_s3), and ``k3s etcd-snapshot save`` must put
the snapshot into that bucket with that user's key. Also: what K3s refuses (etcd-s3 without a
bucket, a bucket that does not exist, an endpoint with a scheme) and a bucket the user's policy
does not name, and the secret key never in the stand-in's output or event log.

Needs Debian's ``etcd-server`` and ``/usr/bin/python3`` with pip (the stand-in's runtime is
installed on first use into the checkout's .cache/, like the minio scenario does).
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

from ansible_collections.homelab.k3s.plugins.module_utils.etcd_s3 import etcd_s3_config
from ansible_collections.homelab.k3s.plugins.module_utils.minio_admin import reconcile

from minio_server import ROOT_SECRET, ROOT_USER, make_pki, minio_standin

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
STANDINS = os.path.join(TESTS, "standins")

pytestmark = pytest.mark.skipif(not shutil.which("etcd") or not os.path.exists("/usr/bin/python3"),
                                reason="needs Debian's etcd-server and python3")

IP = "127.78.0.1"
USER_SECRET = "etcd-user-secret-Zq81"
TOKEN = "etcd-s3-test-token"


def wait_for(check, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    with minio_standin(tmp_path_factory.mktemp("minio"), IP) as (endpoint, client):
        reconcile(client(), client,
                  buckets=[{"name": "etcd-snapshots"}, {"name": "other"}],
                  users=[{"access_key": "etcd", "secret_key": USER_SECRET, "buckets": ["etcd-snapshots"]}],
                  policies=[])
        yield endpoint, client


TLS_IP = "127.78.0.3"


@pytest.fixture(scope="module")
def s3_tls_server(tmp_path_factory):
    """The stand-in serving HTTPS from its --certs-dir (public.crt, private.key) as MinIO does."""
    certs = str(tmp_path_factory.mktemp("certs"))
    pki = make_pki(certs, TLS_IP)
    with minio_standin(tmp_path_factory.mktemp("minio-tls"), TLS_IP, certs_dir=certs, ca_file=pki["ca"]) as (
            endpoint, client):
        reconcile(client(), client, buckets=[{"name": "etcd-snapshots"}],
                  users=[{"access_key": "etcd", "secret_key": USER_SECRET, "buckets": ["etcd-snapshots"]}],
                  policies=[])
        yield endpoint, client, pki["ca"]


@pytest.fixture(scope="module")
def k3s_server(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("k3s"))
    config_path = os.path.join(root, "etc", "rancher", "k3s", "config.yaml")
    os.makedirs(os.path.dirname(config_path))
    base = {"node-name": "es3-1", "node-ip": "127.78.0.2", "bind-address": "127.78.0.2", "token": TOKEN,
            "cluster-init": True, "etcd-snapshot-schedule-cron": "0 */12 * * *", "etcd-snapshot-retention": 5}
    env = dict(os.environ, K3S_STANDIN_ROOT=root, PYTHONPATH=STANDINS)

    def write(extra):
        with open(config_path, "w") as handle:
            yaml.safe_dump(dict(base, **extra), handle)
        os.chmod(config_path, 0o600)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "k3s_standin"] + list(args), env=env, capture_output=True,
                              text=True, timeout=120, check=False)

    def events():
        path = os.path.join(root, "var", "log", "k3s-standin", "events.jsonl")
        with open(path) as handle:
            return handle.read()

    write({})
    with open(os.path.join(root, "journal.log"), "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "k3s_standin", "server"], env=env, stdout=log, stderr=log,
                                start_new_session=True)
    try:
        wait_for(lambda: any(json.loads(line)["event"] == "ready" for line in events().splitlines()), 120,
                 "the K3s stand-in server")
        yield write, run, events
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_etcd_snapshot_lands_in_the_bucket(s3_server, k3s_server):
    endpoint, client = s3_server
    write, run, events = k3s_server
    keys = etcd_s3_config({"endpoint": endpoint, "bucket": "etcd-snapshots", "folder": "homelab/",
                           "access_key": "etcd", "secret_key": USER_SECRET})
    assert keys["etcd-s3-insecure"] is True and keys["etcd-s3-endpoint"] == endpoint[len("http://"):]
    write(keys)

    saved = run("etcd-snapshot", "save", "--name", "to-s3")
    assert saved.returncode == 0, saved.stderr
    assert "uploaded to s3://etcd-snapshots/homelab/to-s3-es3-1-" in saved.stdout

    # Listed and read back with the root key: a real etcd (bbolt) database in the configured folder.
    dummy, listing = client().call("GET", "/etcd-snapshots", {"prefix": "homelab/"})
    objects = [part.split("</Key>")[0] for part in listing.decode().split("<Key>")[1:]]
    assert len(objects) == 1 and objects[0].startswith("homelab/to-s3-es3-1-"), listing
    dummy, content = client("etcd", USER_SECRET).call("GET", "/etcd-snapshots/" + objects[0])
    assert content[16:20] == b"\xed\xda\x0c\xed"
    assert USER_SECRET not in saved.stdout + saved.stderr + events()


def test_what_k3s_refuses_is_refused(s3_server, k3s_server):
    endpoint, dummy = s3_server
    write, run, events = k3s_server
    host = endpoint[len("http://"):]
    user = {"etcd-s3": True, "etcd-s3-endpoint": host, "etcd-s3-insecure": True,
            "etcd-s3-access-key": "etcd", "etcd-s3-secret-key": USER_SECRET}
    cases = [
        ({"etcd-s3": True}, "s3 configuration was not set"),
        (user, "s3 bucket name was not set"),
        (dict(user, **{"etcd-s3-bucket": "etcd-snapshots", "etcd-s3-endpoint": endpoint}),
         "does not follow ip address or domain name standards"),
        (dict(user, **{"etcd-s3-bucket": "other"}), "failed to test for existence of bucket other: Access Denied"),
        (dict(user, **{"etcd-s3-bucket": "missing", "etcd-s3-access-key": ROOT_USER,
                       "etcd-s3-secret-key": ROOT_SECRET}), "bucket missing does not exist"),
    ]
    for config, message in cases:
        write(config)
        result = run("etcd-snapshot", "save")
        assert result.returncode == 1 and message in result.stderr, (config.get("etcd-s3-bucket"), result.stderr)
        assert USER_SECRET not in result.stdout + result.stderr
    assert USER_SECRET not in events() and ROOT_SECRET not in events()


def test_etcd_snapshot_over_https_with_the_endpoint_ca(s3_tls_server, k3s_server):
    endpoint, client, ca_file = s3_tls_server
    write, run, events = k3s_server
    spec = {"endpoint": endpoint, "bucket": "etcd-snapshots", "folder": "tls", "access_key": "etcd",
            "secret_key": USER_SECRET, "endpoint_ca": ca_file}
    keys = etcd_s3_config(spec)
    assert keys["etcd-s3-endpoint-ca"] == ca_file and not keys.get("etcd-s3-insecure")
    write(keys)
    saved = run("etcd-snapshot", "save", "--name", "over-tls")
    assert saved.returncode == 0, saved.stderr
    assert "uploaded to s3://etcd-snapshots/tls/over-tls-es3-1-" in saved.stdout
    dummy, listing = client().call("GET", "/etcd-snapshots", {"prefix": "tls/"})
    assert b"<Key>tls/over-tls-es3-1-" in listing

    # Without the CA K3s uses the system roots: the private CA's certificate is refused, nothing uploaded.
    write(etcd_s3_config(dict(spec, endpoint_ca="")))
    refused = run("etcd-snapshot", "save", "--name", "untrusted")
    assert refused.returncode == 1
    assert "failed to test for existence of bucket etcd-snapshots" in refused.stderr, refused.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr, refused.stderr
    dummy, listing = client().call("GET", "/etcd-snapshots", {"prefix": "tls/untrusted"})
    assert b"<Key>" not in listing
    assert USER_SECRET not in saved.stdout + saved.stderr + refused.stderr + events()
