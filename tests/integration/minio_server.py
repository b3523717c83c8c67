# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MinIO TEST STAND-IN on loopback for integration tests: the very "release" file the minio
scenario installs (tests/standins/minio/release-mirror.sh build, moto runtime inside), started
with the real server's command line and environment."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.request

from ansible_collections.homelab.k3s.plugins.module_utils.minio_admin import MinioClient, url_transport
from throwaway_pki import write_ca_and_server_cert

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RELEASE = os.path.join(ROOT, ".cache", "minio-mirror", "good", "minio.RELEASE.2025-09-07T16-13-09Z")
ROOT_USER, ROOT_SECRET = "homelab-admin", "root-secret-for-the-stand-in-tests"


def _free_port(ip):
    with socket.socket() as sock:
        sock.bind((ip, 0))
        return sock.getsockname()[1]


def make_pki(directory, ip, curve=None):
    """A CA and a server certificate for ip (SANs IP:ip, DNS:localhost) in MinIO's certs-dir layout;
    returns the file paths."""
    os.makedirs(os.path.join(directory, "CAs"), exist_ok=True)
    return write_ca_and_server_cert({"ca": os.path.join(directory, "CAs", "ca.crt"),
                                     "cert": os.path.join(directory, "public.crt"),
                                     "key": os.path.join(directory, "private.key")}, ip, u"minio", curve)


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
