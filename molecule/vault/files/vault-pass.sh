#!/bin/sh
# ansible-vault password for one vault scenario run: random, made on first use
# in Molecule's ephemeral directory (0600), never a fixed value.
set -eu
f="${MOLECULE_EPHEMERAL_DIRECTORY:?}/vault-password"
if [ ! -s "$f" ]; then
    mkdir -p "$(dirname "$f")"
    (umask 077 && head -c 32 /dev/urandom | base64 >"$f")
fi
cat "$f"
