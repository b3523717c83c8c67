#!/bin/bash
# Test stand-in for restic's GitHub releases (unreachable here): Debian's
# restic 0.14.0 binary re-packed as restic_0.14.0_linux_amd64.bz2 with a
# SHA256SUMS file, served over HTTP on the lab bridge address. A second
# directory holds a tampered copy under the same name (for the refusal test).
#   tests/restic/release-mirror.sh start|stop [ADDRESS [PORT]]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
addr="${2:-10.213.0.1}"
port="${3:-19431}"
dir="$root/.cache/restic-mirror"
state="$root/.cache/restic-mirror-$addr-$port"
version=0.14.0
asset="restic_${version}_linux_amd64.bz2"

build() {
    [ -s "$dir/good/SHA256SUMS" ] && [ -s "$dir/tampered/$asset" ] && return 0
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    (cd "$tmp" && apt-get download -qq "restic=${version}*" >/dev/null)
    dpkg-deb -x "$tmp"/restic_*.deb "$tmp/x"
    mkdir -p "$dir/good" "$dir/tampered"
    bzip2 -c "$tmp/x/usr/bin/restic" >"$dir/good/$asset"
    (cd "$dir/good" && sha256sum "$asset" >SHA256SUMS)
    { cat "$tmp/x/usr/bin/restic"; printf 'tampered'; } | bzip2 -c >"$dir/tampered/$asset"
    cp "$dir/good/SHA256SUMS" "$dir/tampered/SHA256SUMS"
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
    build
    stop
    setsid python3 -m http.server --bind "$addr" --directory "$dir" "$port" </dev/null >"$state.log" 2>&1 &
    echo $! >"$state.pid"
    for _ in $(seq 1 50); do
        if curl -fsS -o /dev/null "http://$addr:$port/good/SHA256SUMS" 2>/dev/null; then
            echo "http://$addr:$port"
            exit 0
        fi
        sleep 0.2
    done
    echo "mirror did not answer on $addr:$port; log: $state.log" >&2
    exit 1
    ;;
stop) stop ;;
*) echo "usage: $0 start|stop [ADDRESS [PORT]]" >&2; exit 2 ;;
esac
