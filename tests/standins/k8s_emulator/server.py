"""Running the emulator: in a background thread (tests) or as a process.

``python -m k8s_emulator --host 0.0.0.0 --port 6443 [--tls-cert C --tls-key K]
[--token T] [--state-file F] [--establish-delay S] [--no-k3s-crds] [--ready-file F]``
(run from ``tests/standins/``, or with it on ``PYTHONPATH``).
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

import aiohttp.web

from .handler import KubernetesApiEmulator
from .store import ObjectStore


async def _start(handler, host, port, tls_cert=None, tls_key=None):
    ssl_context = None
    if tls_cert:
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(tls_cert, tls_key)
    await handler.__aenter__()
    server = aiohttp.web.Server(handler)
    runner = aiohttp.web.ServerRunner(server, access_log=None)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, host, port, ssl_context=ssl_context)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]
    return runner, bound


async def _stop(handler, runner):
    await runner.cleanup()
    await handler.__aexit__(None, None, None)


class EmulatorThread:
    """Serve an emulator from a daemon thread (context manager).

    ``url``, ``store`` and ``handler`` are available once entered.
    """

    def __init__(self, host="127.0.0.1", port=0, token=None, establish_delay=0.0, k3s=True,
                 tls_cert=None, tls_key=None, state_file=None, store=None, routes=None, anonymous_paths=()):
        self.store = store or ObjectStore(establish_delay=establish_delay, k3s=k3s, state_file=state_file)
        self.handler = KubernetesApiEmulator(store=self.store, token=token, routes=routes or {},
                                             anonymous_paths=tuple(anonymous_paths))
        self.host, self.port, self.tls = host, port, (tls_cert, tls_key)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = None
        self.url = None

    def __enter__(self):
        def run():
            asyncio.set_event_loop(self._loop)
            self._runner, port = self._loop.run_until_complete(
                _start(self.handler, self.host, self.port, *self.tls))
            scheme = "https" if self.tls[0] else "http"
            self.url = "%s://%s:%d" % (scheme, self.host, port)
            self._ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(_stop(self.handler, self._runner))
        self._thread = threading.Thread(target=run, daemon=True, name="k8s-emulator")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("emulator did not start")
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class EmulatorProcess:
    """Run ``python -m k8s_emulator`` as a child process (context manager)."""

    def __init__(self, workdir, port=0, token=None, extra_args=()):
        self.workdir = workdir
        self.ready_file = os.path.join(workdir, "emulator-ready.json")
        self.args = [sys.executable, "-m", "k8s_emulator", "--host", "127.0.0.1", "--port", str(port),
                     "--ready-file", self.ready_file] + (["--token", token] if token else []) + list(extra_args)
        self.proc = None
        self.url = None

    def __enter__(self):
        if os.path.exists(self.ready_file):
            os.unlink(self.ready_file)
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.log = open(os.path.join(self.workdir, "emulator.log"), "w")
        self.proc = subprocess.Popen(self.args, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while not os.path.exists(self.ready_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("emulator failed to start; see %s" % self.log.name)
            time.sleep(0.05)
        with open(self.ready_file) as f:
            self.url = json.load(f)["url"]
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def wait_until_ready(url, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("%s not ready" % url)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m k8s_emulator",
                                     description="Kubernetes API emulator (test stand-in, not a real server)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6443, help="0 picks a free port")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="private key for --tls-cert (PEM)")
    parser.add_argument("--token", help="require this bearer token on every request")
    parser.add_argument("--state-file", help="load objects from and save them to this JSON file")
    parser.add_argument("--establish-delay", type=float, default=0.0,
                        help="seconds before a new CRD becomes Established (default 0)")
    parser.add_argument("--no-k3s-crds", action="store_true", help="do not preload the helm.cattle.io CRDs")
    parser.add_argument("--ready-file", help="write {url, pid} here once listening")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")

    store = ObjectStore(establish_delay=args.establish_delay, k3s=not args.no_k3s_crds,
                        state_file=args.state_file)
    handler = KubernetesApiEmulator(store=store, token=args.token)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    runner, port = loop.run_until_complete(_start(handler, args.host, args.port, args.tls_cert, args.tls_key))
    url = "%s://%s:%d" % ("https" if args.tls_cert else "http", args.host, port)
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"url": url, "pid": os.getpid()}, f)
        os.replace(tmp, args.ready_file)
    print("k8s-emulator listening on %s" % url, flush=True)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(_stop(handler, runner))
