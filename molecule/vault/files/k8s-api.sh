#!/usr/bin/env bash
# Start/stop the vault scenario's test K8s API (files/k8s_api.py: tests/k8s_emulator
# + a TokenReview stand-in) over HTTPS on the lab bridge address. Its CA, the
# reviewer JWT and an application service account's JWT are made here
# (test-only values) in DIR.
#   k8s-api.sh start|stop DIR [ADDRESS [PORT]]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
dir="$2"
addr="${3:-10.213.0.1}"
port="${4:-19441}"
python="$root/.venv/bin/python"

jwt() {  # a JWS-shaped service-account token (legacy claims); the signature is random
    "$python" - "$1" "$2" "$3" <<'PY'
import base64, json, os, sys
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
ns, name, uid = sys.argv[1:4]
claims = {"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:%s:%s" % (ns, name),
          "kubernetes.io/serviceaccount/namespace": ns,
          "kubernetes.io/serviceaccount/service-account.name": name,
          "kubernetes.io/serviceaccount/service-account.uid": uid,
          "kubernetes.io/serviceaccount/secret.name": name + "-token"}
print("%s.%s.%s" % (b(json.dumps({"alg": "RS256", "kid": "test"}).encode()), b(json.dumps(claims).encode()),
                    b(os.urandom(256))))
PY
}

stop() {
    if [ -f "$dir/pid" ]; then
        pid="$(cat "$dir/pid")"
        if kill -0 "$pid" 2>/dev/null; then kill "$pid"; fi
        rm -f "$dir/pid"
    fi
}

case "${1:-}" in
start)
    stop
    mkdir -p "$dir"
    if [ ! -s "$dir/tls.crt" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=test k8s CA" \
            -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=kube-apiserver" \
            -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
        printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$addr" >"$dir/ext"
        openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
            -extfile "$dir/ext" -out "$dir/tls.crt" 2>/dev/null
        jwt kube-system vault-reviewer uid-reviewer >"$dir/reviewer.jwt"
        jwt apps app uid-app >"$dir/app.jwt"
        jwt apps intruder uid-intruder >"$dir/intruder.jwt"
    fi
    rm -f "$dir/ready" "$dir/reviews.log"
    setsid "$python" "$here/k8s_api.py" --tests-dir "$root/tests/standins" --host "$addr" --port "$port" \
        --tls-cert "$dir/tls.crt" --tls-key "$dir/tls.key" --token "$(cat "$dir/reviewer.jwt")" \
        --sa "$(cat "$dir/app.jwt")=apps:app:uid-app" --log "$dir/reviews.log" --ready-file "$dir/ready" \
        </dev/null >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
        [ -s "$dir/ready" ] && curl -fsS -o /dev/null --cacert "$dir/ca.crt" \
            -H "Authorization: Bearer $(cat "$dir/reviewer.jwt")" "https://$addr:$port/version" 2>/dev/null \
            && { echo "https://$addr:$port"; exit 0; }
        sleep 0.2
    done
    echo "test K8s API did not answer on $addr:$port; log: $dir/server.log" >&2
    exit 1
    ;;
stop) stop ;;
*) echo "usage: $0 start|stop DIR [ADDRESS [PORT]]" >&2; exit 2 ;;
esac
