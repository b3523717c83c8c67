#!/usr/bin/env bash
# Build the collection tarball, install it offline into an empty path, and use
# it from outside the checkout: ansible-doc lists its plugins and a playbook
# calls its roles and plugins by FQCN.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH=$ROOT/.venv/bin:$PATH
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

ansible-galaxy collection build --force --output-path "$WORK/build" >/dev/null
TARBALL=$(ls "$WORK"/build/homelab-k3s-*.tar.gz)
echo "built $(basename "$TARBALL") ($(du -h "$TARBALL" | cut -f1))"
# nothing from the developer tree may ship
if tar -tzf "$TARBALL" | grep -E '^(\.venv|\.cache|\.lab|lab|molecule|\.ci)/' ; then
    echo "FAIL: developer files in the tarball" >&2; exit 1
fi

# install from outside the checkout: its ansible.cfg puts the checkout itself on
# the collections path, which would make the install a no-op
cd "$WORK"
export ANSIBLE_COLLECTIONS_PATH=$WORK/collections
printf "[defaults]\n" > "$WORK/ansible.cfg"
export ANSIBLE_CONFIG=$WORK/ansible.cfg
mkdir -p "$WORK/collections"
ansible-galaxy collection install --offline -p "$WORK/collections" "$TARBALL" >/dev/null
test -f "$WORK/collections/ansible_collections/homelab/k3s/MANIFEST.json"
collections=$(ansible-galaxy collection list -p "$WORK/collections")
grep -q 'homelab.k3s' <<<"$collections"

# every plugin and role the checkout has must be visible in the installed copy
for type in module filter test; do
    dir=$type; [ "$type" = module ] && dir=modules
    expected=$(cd "$ROOT/plugins/$dir" 2>/dev/null && ls *.py 2>/dev/null | sed 's/\.py$//' | grep -v '^__' | sort || true)
    [ -z "$expected" ] && continue
    listed=$(ansible-doc -t "$type" -l homelab.k3s | awk '{print $1}' | sed 's/^homelab\.k3s\.//' | sort)
    for name in $expected; do
        grep -qx "$name" <<<"$listed" || { echo "FAIL: ansible-doc -t $type does not list homelab.k3s.$name" >&2; exit 1; }
    done
    echo "ansible-doc -t $type lists: $(echo $expected)"
done
ansible-doc -t role -l homelab.k3s | tee "$WORK/roles.txt"
for role in $(ls "$ROOT/roles"); do
    grep -q "homelab.k3s.$role" "$WORK/roles.txt" || { echo "FAIL: role $role not listed" >&2; exit 1; }
done

# a playbook that uses the installed collection by FQCN (no host is contacted):
# its filters, test, a module and a role, each result asserted
PLAY=$ROOT/tests/build_check_playbook.yml
[ -f "$PLAY" ] || { echo "FAIL: $PLAY is missing" >&2; exit 1; }
cp "$PLAY" "$WORK/play.yml"
mkdir -p "$WORK/scratch"
BUILD_CHECK_WORK=$WORK/scratch ansible-playbook -i localhost, -c local \
    -e "ansible_python_interpreter=$(command -v python3)" "$WORK/play.yml"
echo "build-check: OK"
