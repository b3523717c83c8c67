#!/usr/bin/env bash
# Run every Molecule scenario (or the ones named as arguments) on the local lab,
# print each one's duration, and always take the scenarios' labs down at the
# end, even after a failure or an interrupt.
#
# Lanes: HOMELAB_MOLECULE_LANES=N (default 1) runs up to N scenarios at once,
# each lane taking the next scenario from one queue (longest known first, see
# ORDER below). A scenario's output goes to .cache/suite/molecule-<name>.log and
# is printed in one piece when it ends. HOMELAB_MOLECULE_LANE_GATE=FILE makes
# every lane but the first wait until FILE exists (run_suite.sh creates it when
# the controller-only stages are done, so at most two heavy jobs share the cores).
# HOMELAB_MOLECULE_RETRIES=N (default 1): a failed scenario runs again up to N
# times; the summary says so and why it failed (tests/tools/molecule_failure_digest.py).
set -uo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PWD/.venv/bin:$PATH
export ANSIBLE_CONFIG=$PWD/ansible.cfg
STATE=$PWD/.cache/suite
mkdir -p "$STATE"
LANES=${HOMELAB_MOLECULE_LANES:-1}
GATE=${HOMELAB_MOLECULE_LANE_GATE:-}
RETRIES=${HOMELAB_MOLECULE_RETRIES:-1}

# default first (smoke test of the lab itself), then the others, longest first
# (measured in CI; scenarios not listed here follow in alphabetical order).
ORDER=(default cluster storage powercycle vip vault restic viplb security minio firewall ntp preflight)

if [ $# -gt 0 ]; then
    scenarios=("$@")
else
    # (scenarios named *-real download real upstream artifacts: they need
    # internet access and run only when asked for by name)
    declare -A present=()
    for d in molecule/*/molecule.yml; do
        s=$(basename "$(dirname "$d")")
        [[ "$s" == *-real ]] && continue
        present[$s]=1
    done
    scenarios=()
    for s in "${ORDER[@]}"; do
        [ -n "${present[$s]:-}" ] && scenarios+=("$s") && unset "present[$s]"
    done
    while read -r s; do [ -n "$s" ] && scenarios+=("$s"); done < <(printf '%s\n' "${!present[@]}" | sort)
fi

declare -a pids=()
cleanup() {
    [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
    for s in "${scenarios[@]}"; do
        python3 lab/lab.py down --lab "$s" >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The K3s stand-in's mirror, built once before any lane starts (the scenarios that
# use it only rebuild identical files).
python3 tests/standins/k3s_standin/build_mirror.py --out .cache/k3s-standin \
    --version=v1.34.2+k3s1 --version=v1.34.3+k3s1 --tampered=v1.34.9+k3s1 >/dev/null || exit 1

molecule_test() {  # molecule_test SCENARIO LOG: one `molecule test`, its output in LOG
    # (Molecule's step lines are stamped with the seconds since the scenario began
    # when they are printed, so a slow CI log shows which step took the time)
    # (COLUMNS: Molecule wraps Ansible's output at the terminal width, 80 without one;
    # unwrapped lines keep a failed task's message on one line for the digest)
    PYTHONUNBUFFERED=1 COLUMNS=1000 molecule test -s "$1" 2>&1 | awk -v t0="$(date +%s)" '
        /➜ / { printf "[+%ds] ", systime() - t0 } { print; fflush() }' >"$2"
    return "${PIPESTATUS[0]}"
}

run_one() {  # run_one SCENARIO LOG -> PASS/FAIL line in $STATE/molecule.lanes
    local s=$1 log=$2 start=$SECONDS res=FAIL attempt=0 note=""
    # A failed scenario runs once more (HOMELAB_MOLECULE_RETRIES): the lab nodes share
    # two cores with everything else, and a scenario that passes only the second time
    # is still listed, with why it failed first, at the end of the suite's log.
    while [ "$attempt" -le "$RETRIES" ]; do
        if molecule_test "$s" "$log"; then res=PASS; break; fi
        attempt=$((attempt + 1))
        [ "$attempt" -le "$RETRIES" ] || break
        cp "$log" "$STATE/molecule-$s.failed-$attempt.log"
        python3 tests/tools/molecule_failure_digest.py "$s" "$log" >>"$STATE/molecule.reruns"
        note="$note (re-run after failure $attempt: .cache/suite/molecule-$s.failed-$attempt.log)"
    done
    {
        flock 9
        echo "------------------- molecule test -s $s -------------------"
        [ -n "$note" ] && echo "this scenario failed and ran again:$note"
        cat "$log"
        printf '%-12s %-5s %5ss%s\n' "$s" "$res" $((SECONDS - start)) "$note" >>"$STATE/molecule.lanes"
    } 9>>"$STATE/molecule.lock"
}

lane() {  # lane NUMBER: take scenarios from the queue until it is empty
    local n=$1 s
    if [ "$n" -gt 1 ] && [ -n "$GATE" ]; then
        while [ ! -e "$GATE" ]; do sleep 5; done
    fi
    while :; do
        s=$({
            flock 9
            head -n 1 "$STATE/molecule.queue"
            sed -i 1d "$STATE/molecule.queue"
        } 9>>"$STATE/molecule.lock")
        [ -z "$s" ] && return 0
        run_one "$s" "$STATE/molecule-$s.log"
    done
}

: >"$STATE/molecule.lanes"
rm -f "$STATE/molecule.failures" "$STATE/molecule.reruns" "$STATE"/molecule-*.failed-*.log
printf '%s\n' "${scenarios[@]}" >"$STATE/molecule.queue"
for n in $(seq 1 "$LANES"); do
    lane "$n" &
    pids+=($!)
done
wait "${pids[@]}"

echo "------------------- molecule summary -------------------"
cat "$STATE/molecule.lanes"
# Why each failed scenario failed, in a few lines (run_suite.sh prints this file last,
# where a CI log that is read from its end shows it).
: >"$STATE/molecule.failures"
for s in "${scenarios[@]}"; do
    grep -q "^$s  *PASS " "$STATE/molecule.lanes" && continue
    python3 tests/tools/molecule_failure_digest.py "$s" "$STATE/molecule-$s.log" >>"$STATE/molecule.failures"
done
cat "$STATE/molecule.failures"
if [ -s "$STATE/molecule.reruns" ]; then
    echo "scenarios that failed and ran again (why they failed the first time):"
    cat "$STATE/molecule.reruns"
fi
failed=0
[ "$(grep -c ' PASS ' "$STATE/molecule.lanes")" -eq "${#scenarios[@]}" ] || failed=1
exit $failed
