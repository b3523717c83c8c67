#!/usr/bin/env bash
# Benchmark (not a test): time the first converge and a no-op re-run of the
# security, firewall and ntp roles on 3 fresh lab nodes (lab "bench").
# Run as root from anywhere: benchmarks/baseline_roles.sh
# The lab is always taken down at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH
[ -x .venv/bin/ansible-playbook ] || { echo "no .venv in this checkout: run 'make venv' first" >&2; exit 1; }
export ANSIBLE_CONFIG=$PWD/ansible.cfg
LAB=bench
work=$(mktemp -d)
# Own SSH control sockets: lab addresses are reused between labs.
export ANSIBLE_SSH_CONTROL_PATH_DIR=$work/cp
inventory=$work/hosts.yml

cleanup() {
    python3 lab/lab.py down --lab "$LAB" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

mkdir -p .cache/collections/ansible_collections/homelab
[ -e .cache/collections/ansible_collections/homelab/k3s ] || ln -s "$PWD" .cache/collections/ansible_collections/homelab/k3s

python3 lab/lab.py up --lab "$LAB" --nodes 3 --servers 1 --timeout 600 --inventory "$inventory" >/dev/null

run() {
    local start end
    start=$(date +%s.%N)
    ansible-playbook -i "$inventory" benchmarks/baseline_roles.yml > "$work/$1.log" 2>&1 || {
        tail -40 "$work/$1.log"; echo "benchmark: $1 run failed" >&2; exit 1; }
    end=$(date +%s.%N)
    printf '%-22s %6.1f s   %s\n' "$1" "$(echo "$end - $start" | bc)" "$(grep -c 'changed=[1-9]' "$work/$1.log" || true) host(s) changed"
}

echo "baseline roles (security, firewall, ntp) on 3 lab nodes; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
run first-converge
run no-op-rerun
