#!/usr/bin/env bash
# Run `ansible-test sanity` on the committed files of this checkout.
# ansible-test needs the collection at .../ansible_collections/homelab/k3s inside
# a git repository, so the tracked files are copied to .cache/sanity/ first.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${SANITY_PYTHON:-3.11}
DEST=$ROOT/.cache/sanity/ansible_collections/homelab/k3s
VERSION=$("$ROOT/.venv/bin/python" -c 'import ansible.release as r; print(r.__version__)')
mkdir -p ~/.ansible/test/cache
# ansible-test looks for get_pip_<its pip version>.py before downloading it
PIP_VERSION=$(grep -oP "^\s+pip='\K[0-9.]+" "$("$ROOT/.venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py")
cp tests/tools/get_pip_offline.py ~/.ansible/test/cache/"get_pip_${PIP_VERSION//./_}.py"
rm -rf "$DEST"
mkdir -p "$DEST"
git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$DEST/"
cd "$DEST"
git init -q && git add -A && git -c user.email=ci@localhost -c user.name=ci commit -qm sanity
echo "ansible-test sanity (ansible-core $VERSION, Python $PY)"
"$ROOT/.venv/bin/ansible-test" sanity --venv --python "$PY" --color no "$@"
