#!/usr/bin/env bash
# Test stand-in for an S3 server: moto's S3 API on the lab bridge address.
#   tests/s3/moto-server.sh start|stop|url [ADDRESS [PORT]]
# moto lives in its own venv (see tests/requirements-moto.txt), created once
# on demand under the checkout's own .cache/venv-moto (override: HOMELAB_MOTO_VENV).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${HOMELAB_MOTO_VENV:-$root/.cache/venv-moto}"
addr="${2:-10.213.0.1}"
port="${3:-19430}"
state="$root/.cache/moto-$addr-$port"

ensure_venv() {
    mkdir -p "$(dirname "$venv")"
    exec 9>"$venv.lock"
    flock 9
    if [ ! -x "$venv/bin/moto_server" ]; then
        python3 -m venv "$venv"
        # pip must see /etc/pip.conf (CA bundle): no --isolated here.
        "$venv/bin/pip" install --quiet -r "$root/tests/requirements-moto.txt"
    fi
    flock -u 9
}

stop() {
    if [ -f "$state.pid" ]; then
        pid="$(cat "$state.pid")"
        if kill -0 "$pid" 2>/dev/null; then kill "$pid"; fi
        rm -f "$state.pid"
    fi
}

case "${1:-}" in
start)
    ensure_venv
    stop
    mkdir -p "$root/.cache"
    setsid "$venv/bin/moto_server" -H "$addr" -p "$port" </dev/null >"$state.log" 2>&1 &
    echo $! >"$state.pid"
    for _ in $(seq 1 50); do
        if curl -fsS -o /dev/null "http://$addr:$port/moto-api/" 2>/dev/null; then
            echo "http://$addr:$port"
            exit 0
        fi
        kill -0 "$(cat "$state.pid")" 2>/dev/null || { cat "$state.log" >&2; exit 1; }
        sleep 0.2
    done
    echo "moto did not answer on $addr:$port; log: $state.log" >&2
    exit 1
    ;;
stop) stop ;;
url) echo "http://$addr:$port" ;;
*) echo "usage: $0 start|stop|url [ADDRESS [PORT]]" >&2; exit 2 ;;
esac
