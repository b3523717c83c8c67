#!/usr/bin/env bash
# The whole test suite, stage by stage, with each stage's duration.
# Every stage runs even when an earlier one failed (so one CI log shows all
# problems); the exit status is non-zero when any stage failed. The lab is
# cleaned up by tests/runners/molecule.sh whatever happens.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PWD/.venv/bin:$PATH
export ANSIBLE_CONFIG=$PWD/ansible.cfg

declare -a NAMES RESULTS TIMES
failed=0
stage() {
    local name=$1; shift
    local start=$SECONDS
    echo
    echo "=================== stage: $name ($(date -u +%H:%M:%S)) ==================="
    if "$@"; then rc=0; else rc=$?; fi
    local took=$((SECONDS - start))
    NAMES+=("$name"); TIMES+=("$took")
    if [ "$rc" -eq 0 ]; then RESULTS+=("PASS"); else RESULTS+=("FAIL($rc)"); failed=1; fi
    echo "=================== stage: $name ${RESULTS[-1]} in ${took}s ==================="
}

stage lint        bash -c 'yamllint . && ansible-lint'
stage sanity      bash tests/runners/sanity.sh
stage pytest      pytest
stage k8s-client-oldest bash tests/runners/k8s_client_matrix.sh
stage build-check bash tests/runners/build_check.sh
stage molecule    bash tests/runners/molecule.sh

echo
echo "=================== summary ==================="
for i in "${!NAMES[@]}"; do
    printf '%-18s %-10s %6ss\n' "${NAMES[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}"
done
printf '%-18s %-10s %6ss\n' total "$([ $failed -eq 0 ] && echo PASS || echo FAIL)" "$SECONDS"
exit $failed
