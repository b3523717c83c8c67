# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller file that keeps a Vault/OpenBao cluster's unseal keys and root token.

Runs on the controller only (action plugins). With ``ansible_vault`` custody
the whole document is encrypted with the run's vault password (the same one
``--vault-password-file`` / ``ANSIBLE_VAULT_PASSWORD_FILE`` gives) before it
touches the disk; with ``pgp`` custody the shares and the root token are
already PGP messages and the file holds only those. Either way the file is
created 0600 with ``O_EXCL`` before ``sys/init`` is called, so the keys always
have a place to go and an existing file is never overwritten.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import yaml

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.parsing.vault import VaultLib, is_encrypted, match_encrypt_secret

from ansible_collections.homelab.k3s.plugins.module_utils.vault_bootstrap import CUSTODY_ANSIBLE_VAULT


def vault_secrets(loader):
    """The vault secrets this run was given (empty list when none)."""
    vault = getattr(loader, "_vault", None)
    return list(getattr(vault, "secrets", None) or [])


class CustodyFile(object):

    def __init__(self, path, custody, loader):
        self.path = os.path.abspath(os.path.expanduser(path))
        self.custody = custody
        self.loader = loader

    def exists(self):
        return os.path.exists(self.path)

    def _encrypt_secret(self):
        secrets = vault_secrets(self.loader)
        try:
            if not secrets:
                raise ValueError("no vault secrets")
            return match_encrypt_secret(secrets, C.DEFAULT_VAULT_ENCRYPT_IDENTITY)
        except Exception:
            raise AnsibleError(
                "vault_key_custody is ansible_vault but this run has no vault password (give --vault-password-file "
                "or set ANSIBLE_VAULT_PASSWORD_FILE): the keys could not be encrypted, so nothing was initialised")

    def reserve(self):
        """Create the empty file 0600 (refused if it exists); check the password first."""
        if self.custody == CUSTODY_ANSIBLE_VAULT:
            self._encrypt_secret()
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)

    def abort(self):
        if os.path.exists(self.path) and os.path.getsize(self.path) == 0:
            os.unlink(self.path)

    def save(self, document):
        text = yaml.safe_dump(document, default_flow_style=False, sort_keys=True)
        if self.custody == CUSTODY_ANSIBLE_VAULT:
            vault_id, secret = self._encrypt_secret()
            data = VaultLib().encrypt(text, secret, vault_id=vault_id)
        else:
            data = to_bytes(text)
        fd = os.open(self.path, os.O_WRONLY | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(self.path, 0o600)

    def replace(self, document):
        """Rewrite an existing custody file atomically (a 0600 temporary file renamed over it)."""
        if self.custody is None:
            self.custody = document.get("custody", CUSTODY_ANSIBLE_VAULT)
        text = yaml.safe_dump(document, default_flow_style=False, sort_keys=True)
        if self.custody != CUSTODY_ANSIBLE_VAULT:
            raise AnsibleError("custody file %s is not ansible-vault encrypted; the role only rewrites encrypted ones"
                               % self.path)
        vault_id, secret = self._encrypt_secret()
        data = VaultLib().encrypt(text, secret, vault_id=vault_id)
        tmp = "%s.%d.tmp" % (self.path, os.getpid())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def load(self):
        if not self.exists():
            raise AnsibleError("custody file %s does not exist (was the cluster initialised from this controller?)"
                               % self.path)
        with open(self.path, "rb") as handle:
            data = handle.read()
        if is_encrypted(data):
            secrets = vault_secrets(self.loader)
            if not secrets:
                raise AnsibleError("%s is encrypted with ansible-vault; give this run the vault password" % self.path)
            data = VaultLib(secrets).decrypt(data)
        document = yaml.safe_load(to_text(data))
        if not isinstance(document, dict):
            raise AnsibleError("custody file %s does not hold a custody document" % self.path)
        return document
