# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The apt proxy every node uses: apt-cacher-ng bound to the bridge address only.

Why many nodes updating at once used to hang (9 nodes; two Molecule lanes):

1. apt-cacher-ng 3.7.4 (Debian 12) answers requests for the same index file
   (InRelease, Release: "volatile" files it re-validates) that arrive in the
   same second with "503 Error with cache data" or a 200 whose body never
   comes: a request that finds the file item of another request whose
   download has not started yet (start time 0) takes it for stuck
   (`now > start + ResponseFreezeDetectTime`), moves the cached file aside
   to `<file>.<epoch second>`, and the next one in that second fails to
   create the same name (apt-cacher.err: "Failure to move file ... out of
   the way ... errno: File exists"). `ResponseFreezeDetectTime` set to the
   largest value makes such a request share the item instead; a silent
   upstream still fails after `NetworkTimeout` (and is retried,
   `DlMaxRetries`).
2. apt 2.6 (Debian 12) never finishes an update after one transient error
   (a 5xx) on an index: the failed item is re-queued with a delay
   (`Acquire::Retries::Delay`, on by default), the index files queued after
   it are put ahead of it without waking the queue, and the acquire loop
   only looks at the head of a queue for delayed items: nothing is ever
   fetched again. Its http method then sits idle, its keep-alive connection
   to the proxy in CLOSE-WAIT, and `Acquire::http::Timeout` never fires
   because no transfer runs. Nodes retry at once instead
   (`Acquire::Retries::Delay "false"`).

tests/integration/test_lab_aptproxy.py drives this proxy configuration with
many concurrent clients and apt-get runs, and fails on a hang.
"""

import contextlib
import os
import re
import shutil
import signal
import time
import urllib.request

from .common import ACNG_PORT, CACHE_DIR, RUN_DIR, SUITE, LabError, log, run, wait_port
from .image import debian_mirror

# index files the proxy fetches once after it starts: (archive path, suite)
WARM_SUITES = (("debian", SUITE), ("debian", SUITE + "-updates"),
               ("debian-security", SUITE + "-security"))
WARM_INDEXES = ("main/binary-amd64/Packages.xz",)
WARM_TIMEOUT = 120


def acng_dir():
    return os.path.join(RUN_DIR, "acng")


def proxy_pid():
    try:
        with open(os.path.join(acng_dir(), "pid")) as fh:
            pid = int(fh.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


# apt-cacher-ng's ResponseFreezeDetectTime (an int): an in-flight item is
# never taken for stuck (see the module docstring, point 1)
NEVER_STUCK = 2 ** 31 - 1


def acng_conf(shared, conf, cache, port=ACNG_PORT):
    return "\n".join([
        "# homelab.k3s lab apt proxy: bound to the lab bridge only",
        "CacheDir: %s" % cache,
        "LogDir: %s" % os.path.join(conf, "log"),
        "SupportDir: /usr/lib/apt-cacher-ng",
        "Port: %d" % port,
        "BindAddress: %s" % shared["host4"],
        "PidFile: %s" % os.path.join(conf, "pid"),
        "Remap-debrep: file:deb_mirror*.gz /debian ; file:%s/backends_debian" % conf,
        "Remap-secdeb: security.debian.org security.debian.org/debian-security"
        " deb.debian.org/debian-security /debian-security ; deb.debian.org/debian-security",
        "ExThreshold: 4",
        "ForeGround: 0",
        # threads ready for a burst of nodes (each apt opens one connection per host)
        "MaxStandbyConThreads: 32",
        # give up on a silent upstream instead of holding clients; retry it
        "NetworkTimeout: 30",
        "DlMaxRetries: 3",
        # drop half-closed client connections fast
        "DisconnectTimeout: 5",
        # requests for an index that another request is about to download
        # share that download instead of displacing it (a 503 otherwise)
        "ResponseFreezeDetectTime: %d" % NEVER_STUCK,
        "",
    ])


def ensure_proxy(shared):
    if proxy_pid():
        return
    conf = acng_dir()
    os.makedirs(os.path.join(conf, "log"), exist_ok=True)
    cache = os.path.join(CACHE_DIR, "apt-cacher-ng")
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(conf, "backends_debian"), "w") as fh:
        fh.write(debian_mirror() + "/\n")
    with open(os.path.join(conf, "acng.conf"), "w") as fh:
        fh.write(acng_conf(shared, conf, cache))
    run(["apt-cacher-ng", "-c", conf], capture=True)
    if not wait_port(shared["host4"], ACNG_PORT, 10):
        raise LabError("apt-cacher-ng did not start; see %s/log" % conf)
    warm_proxy(shared["host4"])


def _fetch(opener, url, deadline):
    left = deadline - time.time()
    if left <= 0:
        raise TimeoutError("warm-up time used up")
    with opener.open(url, timeout=min(left, 60)) as resp:
        return resp.read()


def by_hash_paths(inrelease, names):
    """The by-hash paths apt asks for (Acquire-By-Hash) of these index files."""
    text = inrelease.decode("utf-8", "replace")
    section = text.split("SHA256:", 1)[1] if "SHA256:" in text else ""
    paths = []
    for name in names:
        match = re.search(r"^\s*([0-9a-f]{64})\s+\d+\s+%s$" % re.escape(name), section, re.M)
        if match:
            paths.append("%s/by-hash/SHA256/%s" % (os.path.dirname(name), match.group(1)))
            paths.append(name)
    return paths


def warm_proxy(host4):
    """Fetch the package lists through the proxy once, alone (bounded in time).

    A failure is only reported: nodes fetch the lists themselves then.
    """
    proxy = "http://%s:%d" % (host4, ACNG_PORT)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy}))
    deadline = time.time() + WARM_TIMEOUT
    start = time.time()
    try:
        for archive, suite in WARM_SUITES:
            base = "http://deb.debian.org/%s/dists/%s/" % (archive, suite)
            inrelease = _fetch(opener, base + "InRelease", deadline)
            for path in by_hash_paths(inrelease, WARM_INDEXES):
                _fetch(opener, base + path, deadline)
    except (OSError, ValueError) as exc:
        log("apt proxy warm-up incomplete (%s); nodes will fetch the lists themselves" % exc)
        return False
    log("apt proxy ready: package lists cached in %.1f s" % (time.time() - start))
    return True


def stop_proxy():
    pid = proxy_pid()
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        for _attempt in range(50):
            if not proxy_pid():
                break
            time.sleep(0.1)
    shutil.rmtree(acng_dir(), ignore_errors=True)


def node_apt_conf(shared, port=ACNG_PORT):
    """apt settings of every node: the proxy, and bounds so apt never hangs."""
    return "\n".join([
        "// homelab.k3s lab: Debian packages through the host's apt-cacher-ng",
        'Acquire::http::Proxy "http://%s:%d";' % (shared["host4"], port),
        "// one request at a time per connection: no pipelining through the proxy",
        'Acquire::http::Pipeline-Depth "0";',
        "// a connection silent for 30 s fails, and each download is tried 3 more times",
        'Acquire::http::Timeout "30";',
        'Acquire::Retries "3";',
        "// retried at once: apt 2.6 never resumes an update whose failed index waits",
        "// for a delayed retry (see lab/labkit/aptproxy.py)",
        'Acquire::Retries::Delay "false";',
        "// the lab needs no translations: 6 MB less per node and update",
        'Acquire::Languages "none";',
        "",
    ])
