# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MinIO TEST STAND-IN's TLS, as MinIO's (minio/minio cmd/config-dir.go, cmd/common-main.go
getTLSConfig, cmd/server-main.go): ``--certs-dir`` with ``public.crt`` + ``private.key`` serves HTTPS
(verified against the CA, refused without it); without both files plain HTTP; a key that does not
load (garbage, not matching the certificate, an ECDSA P-384 key, unreadable by the server's user)
stops the start with "Unable to load the TLS configuration". Also the reconcile code over HTTPS
with ``ca_file``, on loopback, no lab.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import urllib.request

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.minio_admin import reconcile

from minio_server import make_pki, minio_standin, start_standin

IP = "127.78.1.1"

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="needs /usr/bin/python3")


def _fails_to_start(base, certs_dir):
    proc, dummy, log_path = start_standin(base, IP, certs_dir)
    try:
        rc = proc.wait(120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        raise AssertionError("the stand-in started")
    with open(log_path) as handle:
        return rc, handle.read()


def test_https_with_the_ca_and_refused_without(tmp_path):
    pki = make_pki(str(tmp_path / "certs"), IP)
    with minio_standin(tmp_path / "srv", IP, certs_dir=str(tmp_path / "certs"), ca_file=pki["ca"]) as (endpoint, client):
        assert endpoint.startswith("https://")
        host, port = endpoint[len("https://"):].split(":")
        context = ssl.create_default_context(cafile=pki["ca"])
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                sans = tls.getpeercert()["subjectAltName"]
        assert ("IP Address", IP) in sans and ("DNS", "localhost") in sans
        with pytest.raises(ssl.SSLCertVerificationError):
            with socket.create_connection((host, int(port)), timeout=10) as raw:
                ssl.create_default_context().wrap_socket(raw, server_hostname=host)
        # Plain HTTP on the TLS port gets no S3 answer.
        with pytest.raises(Exception):
            urllib.request.urlopen("http://%s:%s/minio/health/live" % (host, port), timeout=5)
        # The collection's reconcile code over HTTPS, verified against the CA (what ca_file does).
        result = reconcile(client(), client, buckets=[{"name": "over-tls", "versioning": True}], users=[], policies=[])
        assert result["actions"] == ["create bucket over-tls", "enable versioning on bucket over-tls"]
        assert reconcile(client(), client, buckets=[{"name": "over-tls", "versioning": True}], users=[],
                         policies=[])["changed"] is False


def test_without_both_files_it_serves_plain_http_like_minio(tmp_path):
    certs = str(tmp_path / "certs")
    make_pki(certs, IP)
    os.remove(os.path.join(certs, "public.crt"))
    # MinIO's getTLSConfig: no public.crt -> no TLS, no error. The role always installs both files.
    with minio_standin(tmp_path / "srv", IP, certs_dir=certs, scheme="http") as (endpoint, client):
        assert client().list_buckets() == []


@pytest.mark.parametrize("damage", ["garbage", "other-key", "p384"])
def test_a_key_that_does_not_load_stops_the_start(tmp_path, damage):
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    certs = str(tmp_path / "certs")
    make_pki(certs, IP, curve=ec.SECP384R1() if damage == "p384" else None)
    if damage == "garbage":
        with open(os.path.join(certs, "private.key"), "w") as handle:
            handle.write("not a key\n")
    if damage == "other-key":
        other = make_pki(str(tmp_path / "other"), IP)
        shutil.copy(other["key"], os.path.join(certs, "private.key"))
    rc, log = _fails_to_start(tmp_path / "srv", certs)
    assert rc == 1 and "ERROR Unable to load the TLS configuration" in log, log
    if damage == "p384":
        assert "tls: the ECDSA curve 'P-384' is not supported" in log


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_a_key_the_server_user_cannot_read_stops_the_start():
    nobody = pwd.getpwnam("nobody")
    base = tempfile.mkdtemp(prefix="minio-tls-")
    try:
        os.chmod(base, 0o755)
        certs = os.path.join(base, "certs")
        make_pki(certs, IP)
        os.chmod(certs, 0o755)
        os.chmod(os.path.join(certs, "CAs"), 0o755)
        data = os.path.join(base, "data")
        os.makedirs(data)
        os.chown(data, nobody.pw_uid, nobody.pw_gid)
        from minio_server import RELEASE, ROOT_SECRET, ROOT_USER  # pylint: disable=import-outside-toplevel
        if not all(os.access(p, os.R_OK) for p in (RELEASE,)):
            pytest.skip("release file not readable")
        result = subprocess.run(
            ["setpriv", "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid, "--clear-groups",
             "/usr/bin/python3", RELEASE, "server", "--address", "%s:0" % IP, "--certs-dir", certs, data],
            env=dict(os.environ, HOME="/nonexistent", MINIO_ROOT_USER=ROOT_USER, MINIO_ROOT_PASSWORD=ROOT_SECRET),
            capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 1, result.stderr
        assert "ERROR Unable to load the TLS configuration" in result.stderr and "Permission denied" in result.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)
