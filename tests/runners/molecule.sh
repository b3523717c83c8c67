#!/usr/bin/env bash
# Run every Molecule scenario (or the ones named as arguments) one after the
# other on the local lab, print each one's duration, and always take the
# scenarios' labs down at the end, even after a failure or an interrupt.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PWD/.venv/bin:$PATH
export ANSIBLE_CONFIG=$PWD/ansible.cfg

if [ $# -gt 0 ]; then
    scenarios=("$@")
else
    # default first (smoke test of the lab itself), then the others
    # (scenarios named *-real download real upstream artifacts: they need
    # internet access and run only when asked for by name)
    scenarios=(default)
    for d in molecule/*/molecule.yml; do
        s=$(basename "$(dirname "$d")")
        [ "$s" = default ] && continue
        [[ "$s" == *-real ]] && continue
        scenarios+=("$s")
    done
fi

cleanup() {
    for s in "${scenarios[@]}"; do
        python3 lab/lab.py down --lab "$s" >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT INT TERM

failed=0
declare -a report
for s in "${scenarios[@]}"; do
    start=$SECONDS
    echo "------------------- molecule test -s $s -------------------"
    if molecule test -s "$s"; then res=PASS; else res=FAIL; failed=1; fi
    report+=("$(printf '%-12s %-5s %5ss' "$s" "$res" $((SECONDS - start)))")
done
echo "------------------- molecule summary -------------------"
printf '%s\n' "${report[@]}"
exit $failed
