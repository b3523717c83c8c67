#!/usr/bin/env bash
# The whole test suite, stage by stage, with each stage's duration.
# Every stage runs even when an earlier one failed (so one CI log shows all
# problems); the exit status is non-zero when any stage failed. The lab is
# cleaned up by tests/runners/molecule.sh whatever happens.
#
# The Molecule stage spends most of its time waiting on lab nodes, so it runs
# in the background from the start while the controller-only stages (lint,
# sanity, pytest, ...) run one after the other in the foreground; when they are
# done, a second Molecule lane starts (HOMELAB_MOLECULE_LANES, default 2), so two
# heavy jobs share the two cores throughout. Its log is printed when it ends.
# HOMELAB_SUITE_SERIAL=1 runs every stage in turn, one scenario at a time.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PWD/.venv/bin:$PATH
export ANSIBLE_CONFIG=$PWD/ansible.cfg
STATE=$PWD/.cache/suite
mkdir -p "$STATE"

declare -a NAMES RESULTS TIMES
failed=0
record() {  # record NAME RC SECONDS
    NAMES+=("$1"); TIMES+=("$3")
    if [ "$2" -eq 0 ]; then RESULTS+=("PASS"); else RESULTS+=("FAIL($2)"); failed=1; fi
}
stage() {
    local name=$1; shift
    local start=$SECONDS rc
    echo
    echo "=================== stage: $name ($(date -u +%H:%M:%S)) ==================="
    # (each stage's output is also kept, so the summary can repeat a failure's end)
    "$@" 2>&1 | tee "$STATE/stage-$name.log"
    rc=${PIPESTATUS[0]}
    record "$name" "$rc" $((SECONDS - start))
    echo "=================== stage: $name ${RESULTS[-1]} in ${TIMES[-1]}s ==================="
}

molecule_stage() {
    local start=$SECONDS rc
    if bash tests/runners/molecule.sh; then rc=0; else rc=$?; fi
    echo "$rc $((SECONDS - start))" >"$STATE/molecule.result"
}

if [ "${HOMELAB_SUITE_SERIAL:-0}" = 1 ]; then
    background=""
else
    rm -f "$STATE/molecule.result" "$STATE/foreground.done" "$STATE/molecule.failures" "$STATE/molecule.reruns"
    export HOMELAB_MOLECULE_LANES=${HOMELAB_MOLECULE_LANES:-2}
    export HOMELAB_MOLECULE_LANE_GATE=$STATE/foreground.done
    echo "stage molecule runs in the background from $(date -u +%H:%M:%S); its log follows the other stages"
    molecule_stage >"$STATE/molecule.log" 2>&1 &
    background=$!
    trap '[ -n "$background" ] && kill "$background" 2>/dev/null' INT TERM
fi

stage lint        bash -c 'yamllint . && ansible-lint'
stage sanity      bash tests/runners/sanity.sh
# (a test that fails is run once more after 5 s: timing under the load of the
# Molecule lane; -rR lists every re-run in the summary, so a flaky test stays visible)
stage pytest      pytest --durations=15 -rfER --reruns 1 --reruns-delay 5
stage k8s-client-oldest bash tests/runners/k8s_client_matrix.sh
stage build-check bash tests/runners/build_check.sh
touch "$STATE/foreground.done"

if [ -z "$background" ]; then
    stage molecule bash tests/runners/molecule.sh
else
    echo
    echo "=================== stage: molecule (background; waiting from $(date -u +%H:%M:%S)) ==================="
    wait "$background"
    cat "$STATE/molecule.log"
    cp "$STATE/molecule.log" "$STATE/stage-molecule.log"
    if [ -s "$STATE/molecule.result" ]; then
        read -r rc took <"$STATE/molecule.result"
    else
        rc=1; took=$SECONDS
        echo "the molecule stage ended without a result"
    fi
    record molecule "$rc" "$took"
    echo "=================== stage: molecule ${RESULTS[-1]} in ${took}s ==================="
fi

echo
echo "=================== summary ==================="
for i in "${!NAMES[@]}"; do
    printf '%-18s %-10s %6ss\n' "${NAMES[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}"
done
printf '%-18s %-10s %6ss\n' total "$([ $failed -eq 0 ] && echo PASS || echo FAIL)" "$SECONDS"
if grep -qE '^RERUN ' "$STATE/stage-pytest.log" 2>/dev/null; then
    echo "pytest re-ran these tests after a failure (one that failed twice is also listed as FAILED):"
    grep -E '^RERUN ' "$STATE/stage-pytest.log"
fi
if [ -s "$STATE/molecule.reruns" ]; then
    echo "Molecule scenarios that failed and ran again (why they failed the first time):"
    cat "$STATE/molecule.reruns"
fi
# A long CI log may only be seen from its end: repeat what each failed stage
# said last (pytest's short summary names the failed tests there).
for i in "${!NAMES[@]}"; do
    if [ "${RESULTS[$i]}" != PASS ] && [ -s "$STATE/stage-${NAMES[$i]}.log" ]; then
        echo
        echo "=================== the end of failed stage ${NAMES[$i]} ==================="
        if [ "${NAMES[$i]}" = pytest ]; then
            grep -E '^(FAILED|ERROR|RERUN) ' "$STATE/stage-pytest.log" | head -20
        fi
        if [ "${NAMES[$i]}" = molecule ] && [ -s "$STATE/molecule.failures" ]; then
            grep -E '^[a-z0-9_-]+ +(PASS|FAIL) +[0-9]+s' "$STATE/stage-molecule.log" | tail -n 20
            cat "$STATE/molecule.failures"
        else
            tail -n 25 "$STATE/stage-${NAMES[$i]}.log"
        fi
    fi
done
exit $failed
