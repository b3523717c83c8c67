# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MinIO TEST STAND-IN on loopback for integration tests: the very "release" file the minio
scenario installs (tests/standins/minio/release-mirror.sh build, moto runtime inside), started
with the real server's command line and environment."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import contextlib
import datetime
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.request

from ansible_collections.homelab.k3s.plugins.module_utils.minio_admin import MinioClient, url_transport

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RELEASE = os.path.join(ROOT, ".cache", "minio-mirror", "good", "minio.RELEASE.2025-09-07T16-13-09Z")
ROOT_USER, ROOT_SECRET = "homelab-admin", "root-secret-for-the-stand-in-tests"


def _free_port(ip):
    with socket.socket() as sock:
        sock.bind((ip, 0))
        return sock.getsockname()[1]


def make_pki(directory, ip, curve=None):
    """A CA and a server certificate for ip (SANs IP:ip, DNS:localhost); returns the file paths."""
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, u"test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(curve or ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, u"minio")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip)),
                                                        x509.DNSName(u"localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    os.makedirs(os.path.join(directory, "CAs"), exist_ok=True)
    paths = {"ca": os.path.join(directory, "CAs", "ca.crt"), "cert": os.path.join(directory, "public.crt"),
             "key": os.path.join(directory, "private.key")}
    with open(paths["ca"], "wb") as handle:
        handle.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["cert"], "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["key"], "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(paths["key"], 0o600)
    return paths


def start_standin(base, ip, certs_dir=None):
    """Start the stand-in release; returns (process, port, log path). The caller stops it."""
    subprocess.run(["bash", os.path.join(ROOT, "tests", "standins", "minio", "release-mirror.sh"), "build"],
                   check=True, capture_output=True, timeout=900)
    data = os.path.join(str(base), "data")
    os.makedirs(data, exist_ok=True)
    port = _free_port(ip)
    env = dict(os.environ, MINIO_ROOT_USER=ROOT_USER, MINIO_ROOT_PASSWORD=ROOT_SECRET)
    argv = ["/usr/bin/python3", RELEASE, "server", "--address", "%s:%d" % (ip, port)]
    argv += ["--certs-dir", certs_dir] if certs_dir else []
    log_path = os.path.join(str(base), "server.log")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv + [data], env=env, stdout=log, stderr=log, start_new_session=True)
    return proc, port, log_path


@contextlib.contextmanager
def minio_standin(base, ip, certs_dir=None, ca_file=None, scheme=None):
    """Yield (endpoint URL, client factory (access_key, secret_key) -> MinioClient); https with certs_dir."""
    proc, port, dummy = start_standin(base, ip, certs_dir)
    endpoint = "%s://%s:%d" % (scheme or ("https" if certs_dir else "http"), ip, port)
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    try:
        deadline = time.time() + 120
        while True:
            try:
                if urllib.request.urlopen(endpoint + "/minio/health/live", timeout=2, context=context).status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.time() < deadline, "the MinIO stand-in did not start"
            time.sleep(0.5)

        def transport(method, url, headers, body):
            return url_transport(method, url, headers, body, ca_path=ca_file)

        def client(access_key=ROOT_USER, secret_key=ROOT_SECRET):
            return MinioClient(endpoint, access_key, secret_key, transport=transport)
        yield endpoint, client
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
