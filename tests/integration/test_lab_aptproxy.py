# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's apt proxy survives many clients at once and apt never waits on it forever.

The proxy runs exactly as lab/labkit/aptproxy.py configures it (apt-cacher-ng, the
same acng.conf, bound to 127.0.0.1 on a free port) in front of a local mirror
(no internet: a small Debian-style repository served from memory, each answer
slowed down so that downloads overlap). The clients are the ones that hung the lab
with 9 nodes:

- many raw HTTP clients at the same instant, several rounds: plain requests for
  the volatile index (with apt's `Cache-Control: max-age=0`), keep-alive
  connections with several requests, clients that close after the first bytes,
  slow readers;
- 9 `apt-get update` runs at once with the nodes' apt settings (node_apt_conf);
- apt-get with the nodes' apt settings behind a proxy that answers one index
  request with a 503 (what apt-cacher-ng 3.7.4 answered under load): apt 2.6
  never finished such an update with its default delayed retry.

Every socket operation and every apt-get run has a bounded time: a hang fails the
test with what each client saw, it never holds the suite.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import collections
import email.utils
import gzip
import hashlib
import http.server
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "lab"))
from labkit import aptproxy  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("apt-cacher-ng") is None, reason="needs apt-cacher-ng"),
]

SOCKET_TIMEOUT = 20      # seconds one socket operation may take
APT_TIMEOUT = 90         # seconds one apt-get update may take (a hang is "forever")
ROUND_TIMEOUT = 120      # seconds a round of concurrent clients may take
CLIENTS = 24
ROUNDS = 5
ORIGIN = "http://deb.debian.org/debian"
DEB = "pool/main/h/hlk3s-probe/hlk3s-probe_1.0_all.deb"
# three suites as on a node: the index files of the others queue up while one waits for a retry
SUITES = ("bookworm", "bookworm-updates", "bookworm-backports")


def free_port():
    """A free port below 32768: apt-cacher-ng 3.7.4 cannot bind a port above 32767
    ("Error resolving address for binding"), and the kernel's ephemeral ports start there."""
    for port in random.sample(range(20000, 32000), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


def signing_key(home):
    """A throwaway OpenPGP key in `home`; returns the path of its public keyring (for signed-by)."""
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--homedir", str(home), "--pinentry-mode", "loopback", "--passphrase", ""]
    subprocess.run(gpg + ["--quick-gen-key", "lab-proxy-test@example.invalid", "ed25519", "sign", "1d"],
                   check=True, capture_output=True, timeout=60)
    keyring = home / "keyring.gpg"
    subprocess.run(gpg + ["--output", str(keyring), "--export", "lab-proxy-test@example.invalid"],
                   check=True, capture_output=True, timeout=60)
    return gpg, keyring


def clearsign(gpg, data):
    return subprocess.run(gpg + ["--clearsign"], input=data, check=True, capture_output=True,
                          timeout=60).stdout


def repository(gpg=None):
    """path (below /debian/) -> bytes of a small repository: Release files, and
    InRelease files too when gpg (a signing command) is given."""
    rnd = random.Random(18)
    deb = bytes(rnd.getrandbits(8) for dummy in range(1 << 20))
    stanzas = []
    for i in range(300):
        stanzas.append("Package: hlk3s-probe%d\nVersion: 1.0\nArchitecture: all\n"
                       "Maintainer: lab <lab@example.invalid>\nFilename: %s\nSize: %d\n"
                       "SHA256: %s\nDescription: lab proxy probe %d\n"
                       % (i, DEB, len(deb), hashlib.sha256(deb).hexdigest(), i))
    packages = ("\n".join(stanzas)).encode()
    index = {"main/binary-amd64/Packages": packages,
             "main/binary-amd64/Packages.gz": gzip.compress(packages, mtime=0)}
    files = {DEB: deb}
    for suite in SUITES:
        release = ["Origin: lab", "Label: lab", "Suite: %s" % suite, "Codename: %s" % suite,
                   "Date: %s" % email.utils.formatdate(usegmt=True),
                   "Architectures: amd64", "Components: main", "SHA256:"]
        release += [" %s %d %s" % (hashlib.sha256(data).hexdigest(), len(data), name)
                    for name, data in sorted(index.items())]
        files.update({"dists/%s/%s" % (suite, name): data for name, data in index.items()})
        files["dists/%s/Release" % suite] = ("\n".join(release) + "\n").encode()
        if gpg:
            files["dists/%s/InRelease" % suite] = clearsign(gpg, files["dists/%s/Release" % suite])
    return files


class Mirror(http.server.ThreadingHTTPServer):
    """The upstream mirror: slow answers, so that the proxy's downloads overlap.

    `fail_once` names paths whose first request is answered with a 503.
    """
    daemon_threads = True

    def __init__(self, files, fail_once=(), delay=0.3):
        self.files = files
        self.delay = delay
        self.fail_once = set(fail_once)
        self.requests = collections.Counter()
        self.errors = collections.Counter()
        self.lock = threading.Lock()
        # a low port: apt-cacher-ng 3.7.4 fails on upstream ports above 32767 too
        super().__init__(("127.0.0.1", free_port()), MirrorHandler)

    def handle_error(self, request, client_address):
        """Count a request that broke off (the proxy drops a download when its client closes early)
        instead of printing a traceback from the handler thread: with about a hundred of them per
        test, CPython 3.11 before 3.11.8 (our 3.11.7) can make pytest's own parse of a failed test's
        source raise "AST constructor recursion depth mismatch" (CPython gh-106905), an
        INTERNALERROR that ends the whole pytest session without a re-run or the failure's message."""
        exc = sys.exc_info()[1]
        with self.lock:
            self.errors[type(exc).__name__] += 1


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass

    def _answer(self, body):
        path = self.path.split("://", 1)[-1].split("/", 1)[-1]
        path = path[len("debian/"):] if path.startswith("debian/") else path
        with self.server.lock:
            self.server.requests[path] += 1
            fail = path in self.server.fail_once and self.server.requests[path] == 1
        data = self.server.files.get(path)
        time.sleep(self.server.delay)
        if fail or data is None:
            text = b"failed on purpose\n" if fail else b"not found\n"
            self.send_response(503 if fail else 404)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            if body:
                self.wfile.write(text)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Last-Modified", email.utils.formatdate(usegmt=True))
        self.end_headers()
        if body:
            step = max(1, len(data) // 8)
            for start in range(0, len(data), step):
                self.wfile.write(data[start:start + step])
                time.sleep(self.server.delay / 15)

    def do_GET(self):  # pylint: disable=invalid-name
        self._answer(True)

    def do_HEAD(self):  # pylint: disable=invalid-name
        self._answer(False)


def serve(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def mirror():
    server = serve(Mirror(repository()))
    yield server
    server.shutdown()
    server.server_close()


def stop_proxy(conf):
    try:
        with open(conf / "pid") as handle:
            pid = int(handle.read())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    for _attempt in range(50):
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def start_proxy(tmp_path, upstream):
    """apt-cacher-ng with the lab's acng.conf on 127.0.0.1; returns (port, conf dir)."""
    conf = tmp_path / "acng"
    (conf / "log").mkdir(parents=True)
    cache = tmp_path / "cache"
    cache.mkdir()
    (conf / "backends_debian").write_text(upstream + "/\n")
    port = free_port()
    (conf / "acng.conf").write_text(aptproxy.acng_conf({"host4": "127.0.0.1"}, str(conf), str(cache), port))
    subprocess.run(["apt-cacher-ng", "-c", str(conf)], check=True, timeout=30)
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port, conf
        except OSError:
            if time.time() > deadline:
                stop_proxy(conf)  # a daemon that never listened must not outlive the test
                raise
            time.sleep(0.1)


@pytest.fixture
def proxy(tmp_path, mirror):
    port, conf = start_proxy(tmp_path, "http://127.0.0.1:%d/debian" % mirror.server_address[1])
    yield port, conf
    stop_proxy(conf)


# --------------------------------------------------------------------------
# raw HTTP clients
# --------------------------------------------------------------------------

class Client:
    """One HTTP/1.1 connection to the proxy with bounded socket operations."""

    def __init__(self, port, rcvbuf=None):
        self.port, self.rcvbuf = port, rcvbuf
        self.sock = None
        self.connect()
        self.reconnects = 0
        self.closing = False

    def connect(self):
        if self.sock:
            self.sock.close()
        self.sock = socket.socket()
        if self.rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        self.sock.settimeout(SOCKET_TIMEOUT)
        self.sock.connect(("127.0.0.1", self.port))
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, path, max_age=False):
        headers = ["GET %s/%s HTTP/1.1" % (ORIGIN, path), "Host: deb.debian.org",
                   "User-Agent: Debian APT-HTTP/1.3 (2.6.1)"]
        if max_age:
            headers.append("Cache-Control: max-age=0")
        self.sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("proxy closed the connection")
        self.buf += chunk

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, v in
                  (line.split(":", 1) for line in lines[1:] if ":" in line)}
        return status, fields

    def body(self, fields, pace=None):
        if "content-length" not in fields:
            raise AssertionError("no Content-Length in %s" % fields)
        size = int(fields["content-length"])
        while len(self.buf) < size:
            if pace:
                time.sleep(pace)
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise ConnectionError("proxy closed the connection")
                self.buf += chunk
            else:
                self._fill()
        data, self.buf = self.buf[:size], self.buf[size:]
        return data

    def get(self, path, max_age=False, pace=None):
        """status, body. A kept-alive connection that the proxy closed before
        answering is opened again once for this request, as apt does (HTTP/1.1
        lets a server close an idle connection); "Connection: close" is obeyed."""
        if self.closing:
            self.connect()
        self.send(path, max_age)
        try:
            status, fields = self.head()
        except ConnectionError as exc:
            if self.buf:
                raise ConnectionError("%s: %s within the header" % (path, exc)) from exc
            self.reconnects += 1
            self.connect()
            self.send(path, max_age)
            try:
                status, fields = self.head()
            except ConnectionError as exc2:
                raise ConnectionError("%s: %s, again on a new connection" % (path, exc2)) from exc2
        self.closing = fields.get("connection", "").lower() == "close"
        try:
            return status, self.body(fields, pace)
        except ConnectionError as exc:
            raise ConnectionError("%s: %s, status %d, after %d of %s bytes" % (
                path, exc, status, len(self.buf), fields.get("content-length"))) from exc


def plain(port, files):
    client = Client(port)
    try:
        status, data = client.get("dists/bookworm/Release", max_age=True)
        assert (status, data) == (200, files["dists/bookworm/Release"]), status
    finally:
        client.close()


def keep_alive(port, files):
    client = Client(port)
    try:
        for path, max_age in (("dists/bookworm/Release", True),
                              ("dists/bookworm/main/binary-amd64/Packages.gz", False),
                              (DEB, False), ("dists/bookworm/Release", True)):
            status, data = client.get(path, max_age)
            assert (status, data == files[path]) == (200, True), "%s: %s" % (path, status)
    finally:
        client.close()


def early_close(port, files):
    del files
    client = Client(port)
    try:
        client.send(DEB)
        client.head()
        client.sock.recv(1024)
    finally:
        client.close()
    client = Client(port)
    try:
        client.send("dists/bookworm/Release", max_age=True)
    finally:
        client.close()


def slow_reader(port, files):
    client = Client(port, rcvbuf=4096)
    try:
        status, data = client.get("dists/bookworm/Release", max_age=True, pace=0.01)
        assert (status, data) == (200, files["dists/bookworm/Release"]), status
        status, data = client.get(DEB, pace=0.001)
        assert (status, data == files[DEB]) == (200, True), status
    finally:
        client.close()


KINDS = (plain, keep_alive, early_close, slow_reader)


def run_round(port, files):
    """CLIENTS clients of every kind start at the same instant; what each one got."""
    barrier = threading.Barrier(CLIENTS)
    results = {}

    def one(index):
        kind = KINDS[index % len(KINDS)]
        try:
            barrier.wait(timeout=SOCKET_TIMEOUT)
            kind(port, files)
            results[index] = (kind.__name__, "ok")
        except (OSError, AssertionError, ValueError, threading.BrokenBarrierError) as exc:
            results[index] = (kind.__name__, "%s: %s" % (type(exc).__name__, exc))

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    deadline = time.time() + ROUND_TIMEOUT
    for thread in threads:
        thread.join(max(0, deadline - time.time()))
    for index, thread in enumerate(threads):
        if thread.is_alive():
            results[index] = (KINDS[index % len(KINDS)].__name__, "still waiting after %d s"
                              % ROUND_TIMEOUT)
    return results


def test_many_concurrent_clients_all_get_their_files(proxy, mirror):
    port, conf = proxy
    for rnd in range(1, ROUNDS + 1):
        results = run_round(port, mirror.files)
        bad = {i: r for i, r in results.items() if r[1] != "ok"}
        with open(conf / "log" / "apt-cacher.err", encoding="utf-8", errors="replace") as handle:
            errors = handle.read()
        assert not bad, "round %d: %s\nmirror: requests that broke off %s\napt-cacher.err:\n%s" % (
            rnd, sorted(bad.values()), dict(mirror.errors), errors[-2000:])
        # the next round re-validates the cached index, as the next `apt-get update` does
        time.sleep(1.1)
    # the proxy shared the downloads: the mirror did not see one request per client
    assert mirror.requests[DEB] < CLIENTS, mirror.requests


# --------------------------------------------------------------------------
# apt-get with the nodes' settings
# --------------------------------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("apt-get") is None,
                                reason="apt-get update with private directories needs root")


def apt_update(tmp_path, name, port, keyring=None):
    """Start `apt-get update` with the nodes' apt.conf and private directories."""
    base = tmp_path / name
    for sub in ("etc/apt.conf.d", "etc/preferences.d", "etc/sources.list.d", "etc/trusted.gpg.d",
                "lists/partial", "cache/archives/partial"):
        (base / sub).mkdir(parents=True)
    (base / "etc/apt.conf.d/01lab-proxy").write_text(aptproxy.node_apt_conf({"host4": "127.0.0.1"}, port))
    option = "signed-by=%s" % keyring if keyring else "trusted=yes"
    (base / "etc/sources.list").write_text("".join("deb [%s] %s %s main\n" % (option, ORIGIN, suite)
                                                   for suite in SUITES))
    env = dict(os.environ, APT_CONFIG=str(base / "apt.conf"), LC_ALL="C")
    (base / "apt.conf").write_text("\n".join([
        'Dir::Etc "%s/etc";' % base, 'Dir::State::Lists "%s/lists";' % base,
        'Dir::Cache "%s/cache";' % base, 'Dir::State::status "/var/lib/dpkg/status";',
        'APT::Sandbox::User "root";', ""]))
    return subprocess.Popen(["apt-get", "update", "-q"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_all(procs):
    """{name: (returncode or "hung", output)}; every run bounded by APT_TIMEOUT."""
    results = {}
    deadline = time.time() + APT_TIMEOUT
    for name, proc in procs.items():
        try:
            out, _err = proc.communicate(timeout=max(1, deadline - time.time()))
            results[name] = (proc.returncode, out)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _err = proc.communicate()
            results[name] = ("hung after %d s" % APT_TIMEOUT, out)
    return results


@needs_root
def test_nine_apt_updates_at_once_all_finish(tmp_path, proxy):
    port, conf = proxy
    for rnd in range(1, 4):
        procs = {"node%d-%d" % (i, rnd): apt_update(tmp_path, "node%d-%d" % (i, rnd), port)
                 for i in range(1, 10)}
        results = wait_all(procs)
        bad = {n: r for n, r in results.items() if r[0] != 0 or "W: " in r[1] or "E: " in r[1]}
        with open(conf / "log" / "apt-cacher.err", encoding="utf-8", errors="replace") as handle:
            errors = handle.read()
        assert not bad, "round %d: %s\napt-cacher.err:\n%s" % (
            rnd, {n: (r[0], r[1][-600:]) for n, r in bad.items()}, errors[-2000:])
        time.sleep(1.1)


@needs_root
def test_apt_retries_an_index_the_proxy_failed_instead_of_waiting_forever(tmp_path):
    """One 503 on the first suite's InRelease: apt 2.6 with its default delayed retry
    never fetched anything again (the other suites' index files queued ahead of the
    waiting InRelease); with the nodes' settings it retries and finishes."""
    gpg, keyring = signing_key(tmp_path / "gnupg")
    # answered at once: every InRelease is in before the first signature check ends,
    # as with a proxy that has them cached
    server = serve(Mirror(repository(gpg), fail_once={"dists/%s/InRelease" % SUITES[0]}, delay=0))
    try:
        # the mirror stands in for a proxy that answered one index request with a 503
        port = server.server_address[1]
        results = wait_all({"node": apt_update(tmp_path, "node", port, keyring)})
        code, out = results["node"]
        assert code == 0 and server.requests["dists/%s/InRelease" % SUITES[0]] == 2, (code, out[-1500:])
        assert out.count("main amd64 Packages") == len(SUITES), out[-1500:]
    finally:
        server.shutdown()
        server.server_close()
