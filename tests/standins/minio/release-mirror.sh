#!/usr/bin/env bash
# TEST STAND-IN for MinIO's release archive (MinIO binaries cannot be
# downloaded here): tests/standins/minio/standin/ (a MinIO-compatible server
# on moto, see minio_standin.py) packaged as a Python zip application named
# like an upstream release file, minio.<version>, with upstream's
# minio.<version>.sha256sum next to it, served over HTTP on the lab bridge
# address. A second directory holds a tampered copy under the same name with
# the good checksum file (for the refusal test). The role installs it exactly
# as it would the real release; never installed by a role on its own.
#   tests/standins/minio/release-mirror.sh start|stop|build [ADDRESS [PORT]]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
addr="${2:-10.213.0.1}"
port="${3:-19450}"
dir="$root/.cache/minio-mirror"
state="$root/.cache/minio-mirror-$addr-$port"
version=RELEASE.2025-09-07T16-13-09Z
asset="minio.$version"
# shellcheck source=tests/standins/pidfile_service.sh
. "$here/../pidfile_service.sh"

build() {
    local stamp
    stamp="$(cat "$here/requirements-runtime.txt" "$here"/standin/*.py "$root/plugins/module_utils/minio_crypto.py" | sha256sum | cut -c1-16)"
    [ -s "$dir/good/$asset.sha256sum" ] && [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$stamp" ] && return 0
    mkdir -p "$dir"
    exec 9>"$dir.lock"
    flock 9
    if [ ! -f "$dir/runtime/.complete" ]; then
        rm -rf "$dir/runtime"
        # pip must see /etc/pip.conf (CA bundle): no --isolated here.
        # Debian's python3 (the nodes' Python ABI, 3.11); its pip, not a pyenv shim's.
        /usr/bin/python3 -m pip install --quiet --no-compile --disable-pip-version-check \
            --target "$dir/runtime" -r "$here/requirements-runtime.txt"
        touch "$dir/runtime/.complete"
    fi
    rm -rf "$dir/good" "$dir/tampered"
    mkdir -p "$dir/good" "$dir/tampered"
    python3 - "$here/standin" "$root/plugins/module_utils/minio_crypto.py" "$dir/runtime" "$dir/good/$asset" <<'PY'
import os, sys, zipfile
src, crypto, runtime, out = sys.argv[1:]
with open(out, "wb") as f:
    f.write(b"#!/usr/bin/python3\n# homelab.k3s TEST STAND-IN for a MinIO server, not MinIO. See tests/standins/minio/.\n")
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for name in ("__main__.py", "minio_standin.py"):
            z.write(os.path.join(src, name), name)
        z.write(crypto, "standin_crypto.py")
        for base, dirs, files in os.walk(runtime):
            dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "bin", "tests"))
            for fn in sorted(files):
                full = os.path.join(base, fn)
                z.write(full, os.path.join("runtime", os.path.relpath(full, runtime)))
os.chmod(out, 0o755)
PY
    (cd "$dir/good" && sha256sum "$asset" >"$asset.sha256sum")
    { cat "$dir/good/$asset"; printf 'tampered'; } >"$dir/tampered/$asset"
    cp "$dir/good/$asset.sha256sum" "$dir/tampered/"
    echo "$stamp" >"$dir/.stamp"
    flock -u 9
}

case "${1:-}" in
build) build ;;
start)
    build
    pidfile_service_start "$state" "http://$addr:$port/good/$asset.sha256sum" \
        python3 -m http.server --bind "$addr" --directory "$dir" "$port"
    echo "http://$addr:$port"
    ;;
stop) pidfile_service_stop "$state" ;;
*) echo "usage: $0 start|stop|build [ADDRESS [PORT]]" >&2; exit 2 ;;
esac
