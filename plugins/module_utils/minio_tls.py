# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS of the homelab.k3s.minio role: the request checked, and what the node gets.

MinIO reads its certificate from the directory given by ``--certs-dir``: ``public.crt`` and
``private.key`` there, extra CAs in ``CAs/`` (minio/minio ``cmd/config-dir.go``: ``certsDir``,
``certsCADir = "CAs"``, ``publicCertFile = "public.crt"``, ``privateKeyFile = "private.key"``;
``cmd/main.go``: global flag ``certs-dir, S``). Without both files MinIO serves plain HTTP
(``getTLSConfig`` in ``cmd/common-main.go``); a file it cannot load stops the start ("Unable to
load the TLS configuration", ``cmd/server-main.go``); an ECDSA key on P-384 or P-521 is refused
(``config.LoadX509KeyPair``).

RustFS documents its TLS directory under two different variable names (``RUSTFS_TLS_DIR`` and
``RUSTFS_TLS_PATH`` in rustfs/rustfs ``docs/tls.md`` versions) with other file names
(``rustfs_cert.pem``, ``rustfs_key.pem``); with no RustFS binary to check against, TLS with the
RustFS flavour is refused rather than guessed.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

MODES = ('none', 'files', 'private_ca')
CERTS_DIR = '/etc/minio/certs'


class MinioTlsError(ValueError):
    pass


def _text(value):
    return '' if value is None else str(value).strip()


def minio_tls(mode, flavour='minio', cert_file='', key_file='', ca_file='', ca_dir='', sans=None):
    """Check the TLS request; return {enabled, scheme, certs_dir, source} (source: where the files come from)."""
    mode = _text(mode) or 'none'
    if mode not in MODES:
        raise MinioTlsError("minio_tls_mode: '%s' is not one of %s" % (mode, ', '.join(MODES)))
    cert_file, key_file, ca_file, ca_dir = (_text(v) for v in (cert_file, key_file, ca_file, ca_dir))
    if mode == 'none':
        return {'enabled': False, 'scheme': 'http', 'certs_dir': CERTS_DIR, 'mode': mode}
    if flavour != 'minio':
        raise MinioTlsError(
            "minio_tls_mode: %s is refused with minio_flavour: %s. RustFS documents its TLS directory under two "
            "different variable names (RUSTFS_TLS_DIR, RUSTFS_TLS_PATH) and other file names "
            "(rustfs_cert.pem, rustfs_key.pem), which could not be checked against a RustFS release here; "
            "terminate TLS in front of RustFS or use minio_tls_mode: none" % (mode, flavour))
    if mode == 'files':
        missing = [name for name, value in (('minio_tls_cert_file', cert_file), ('minio_tls_key_file', key_file))
                   if not value]
        if missing:
            raise MinioTlsError('minio_tls_mode: files needs %s (PEM files on the controller)' % ' and '.join(missing))
        if ca_dir:
            raise MinioTlsError('minio_tls_private_ca_dir is set but minio_tls_mode is files: the private CA '
                                'issues nothing in that mode (use minio_tls_ca_file for your CA)')
    if mode == 'private_ca':
        if not ca_dir:
            raise MinioTlsError('minio_tls_mode: private_ca needs minio_tls_private_ca_dir (the controller '
                                'directory of the CA; the vault role keeps its CA in <vault_controller_dir>/pki)')
        if cert_file or key_file or ca_file:
            raise MinioTlsError('minio_tls_cert_file, minio_tls_key_file and minio_tls_ca_file are for '
                                'minio_tls_mode: files; with private_ca the CA issues the certificate')
        if not sans:
            raise MinioTlsError('minio_tls_mode: private_ca needs at least one name or address in the '
                                'certificate (minio_tls_sans)')
    return {'enabled': True, 'scheme': 'https', 'certs_dir': CERTS_DIR, 'mode': mode}
