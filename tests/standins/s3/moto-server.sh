#!/usr/bin/env bash
# Test stand-in for an S3 server: moto's S3 API on the lab bridge address.
#   tests/standins/s3/moto-server.sh start|stop|url [ADDRESS [PORT]]
# moto lives in its own venv (see requirements-moto.txt next to this script), created once
# on demand under the checkout's own .cache/venv-moto (override: HOMELAB_MOTO_VENV).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
venv="${HOMELAB_MOTO_VENV:-$root/.cache/venv-moto}"
addr="${2:-10.213.0.1}"
port="${3:-19430}"
state="$root/.cache/moto-$addr-$port"
# shellcheck source=tests/standins/pidfile_service.sh
. "$here/../pidfile_service.sh"

ensure_venv() {
    mkdir -p "$(dirname "$venv")"
    exec 9>"$venv.lock"
    flock 9
    if [ ! -x "$venv/bin/moto_server" ]; then
        python3 -m venv "$venv"
        # pip must see /etc/pip.conf (CA bundle): no --isolated here.
        "$venv/bin/pip" install --quiet -r "$here/requirements-moto.txt"
    fi
    flock -u 9
}

case "${1:-}" in
start)
    ensure_venv
    pidfile_service_start "$state" "http://$addr:$port/moto-api/" "$venv/bin/moto_server" -H "$addr" -p "$port"
    echo "http://$addr:$port"
    ;;
stop) pidfile_service_stop "$state" ;;
url) echo "http://$addr:$port" ;;
*) echo "usage: $0 start|stop|url [ADDRESS [PORT]]" >&2; exit 2 ;;
esac
