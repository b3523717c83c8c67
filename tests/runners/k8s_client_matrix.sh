#!/usr/bin/env bash
# Run the Kubernetes modules' unit and contract tests with the oldest supported kubernetes client.
# The newest (requirements.txt pin) is what the main venv runs.
#
# usage: tests/runners/k8s_client_matrix.sh [VENV_DIR] [-- extra pytest args]
# The venv is created once and reused (idempotent); delete it to rebuild.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
K8S_MIN="24.2.0"          # lower end of KUBERNETES_CLIENT_RANGE (module_utils/k8s_connection.py)
ANSIBLE_CORE="2.19.14"
VENV="${1:-${ROOT}/.cache/venv-k8s-min}"
shift || true
[[ "${1:-}" == "--" ]] && shift

PY="${PYTHON:-python3.11}"
if [[ ! -x "${VENV}/bin/python" ]]; then
    "${PY}" -m venv "${VENV}"
fi
want="kubernetes==${K8S_MIN}"
if ! "${VENV}/bin/python" -m pip freeze 2>/dev/null | grep -qx "${want}" \
   || ! "${VENV}/bin/python" -c "import kmock, pytest, pytest_asyncio, ansible, cryptography" 2>/dev/null; then
    "${VENV}/bin/python" -m pip install -q "${want}" "ansible-core==${ANSIBLE_CORE}" \
        "pytest==9.2.0" "pytest-asyncio==1.3.0" "kmock==0.8" "cryptography"
fi
"${VENV}/bin/python" -c "import kubernetes; print('kubernetes client', kubernetes.__version__)"
cd "${ROOT}"
exec "${VENV}/bin/python" -m pytest -q -p no:cacheprovider \
    tests/unit/plugins/module_utils/test_cluster_lock.py tests/unit/plugins/module_utils/test_crd_wait.py \
    tests/integration/test_k8s_emulator_contract.py tests/integration/test_module_utils_contract.py "$@"
