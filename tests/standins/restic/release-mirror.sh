#!/usr/bin/env bash
# Test stand-in for restic's GitHub releases (unreachable here): Debian's
# restic 0.14.0 binary re-packed as restic_0.14.0_linux_amd64.bz2 with a
# SHA256SUMS file, served over HTTP on the lab bridge address. A second
# directory holds a tampered copy under the same name (for the refusal test).
#   tests/standins/restic/release-mirror.sh start|stop [ADDRESS [PORT]]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
addr="${2:-10.213.0.1}"
port="${3:-19431}"
dir="$root/.cache/restic-mirror"
state="$root/.cache/restic-mirror-$addr-$port"
version=0.14.0
asset="restic_${version}_linux_amd64.bz2"
# shellcheck source=tests/standins/pidfile_service.sh
. "$here/../pidfile_service.sh"

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

case "${1:-}" in
start)
    build
    pidfile_service_start "$state" "http://$addr:$port/good/SHA256SUMS" \
        python3 -m http.server --bind "$addr" --directory "$dir" "$port"
    echo "http://$addr:$port"
    ;;
stop) pidfile_service_stop "$state" ;;
*) echo "usage: $0 start|stop [ADDRESS [PORT]]" >&2; exit 2 ;;
esac
