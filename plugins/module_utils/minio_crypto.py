# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The payload encryption of MinIO's admin API (madmin ``EncryptData``/``DecryptData``).

Upstream (github.com/minio/madmin-go, encrypt.go): the ciphertext is
``salt(32) | AEAD id(1) | nonce(8) | sio stream``; the key is derived from the
admin secret key with Argon2id (id 0x00 AES-256-GCM, 0x01 ChaCha20-Poly1305;
time 1, memory 64 MiB, 4 threads) or PBKDF2-SHA256 (id 0x02, 8192 rounds,
AES-256-GCM, what madmin writes in FIPS mode; DecryptData on the server accepts
all three). The stream is secure-io/sio-go: 16 KiB fragments, each sealed with
nonce ``nonce(8) | little-endian uint32 sequence number`` and associated data
``flag(1) | tag``, where tag is the AEAD tag of an empty message under sequence
number 0, flag 0x00 for every fragment but the last (0x80).

We encrypt with PBKDF2 (no Argon2 library is needed) and decrypt all three ids
when the library for them is importable (``cryptography``; ``argon2-cffi`` for
Argon2id). Used by the admin client in minio_admin.py and by the test stand-in.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import os
import struct

try:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported by the module
    AESGCM = ChaCha20Poly1305 = None
    HAS_CRYPTOGRAPHY = False

ARGON2ID_AESGCM = 0x00
ARGON2ID_CHACHA20POLY1305 = 0x01
PBKDF2_AESGCM = 0x02
PBKDF2_COST = 8192
ARGON2ID_TIME = 1
ARGON2ID_MEMORY = 64 * 1024
ARGON2ID_THREADS = 4
BUF_SIZE = 1 << 14
TAG_SIZE = 16


class MinioCryptoError(Exception):
    """The data cannot be encrypted or decrypted (wrong key, damaged, unsupported)."""


def _require():
    if not HAS_CRYPTOGRAPHY:
        raise MinioCryptoError("the Python library 'cryptography' is needed for MinIO's admin API payloads")


def _nonce(prefix, seq):
    return prefix + struct.pack('<I', seq)


def sio_seal(aead, nonce, plaintext, associated_data=b'', buf_size=BUF_SIZE):
    """Encrypt ``plaintext`` as one sio-go stream (what EncWriter.Write + Close produce)."""
    ad = b'\x00' + aead.encrypt(_nonce(nonce, 0), b'', associated_data)
    out = []
    seq = 1
    data = plaintext
    while len(data) > buf_size:
        out.append(aead.encrypt(_nonce(nonce, seq), data[:buf_size], ad))
        data = data[buf_size:]
        seq += 1
    out.append(aead.encrypt(_nonce(nonce, seq), data, b'\x80' + ad[1:]))
    return b''.join(out)


def sio_open(aead, nonce, ciphertext, associated_data=b'', buf_size=BUF_SIZE):
    """Decrypt one sio-go stream; raise MinioCryptoError when it is not authentic."""
    try:
        ad = b'\x00' + aead.encrypt(_nonce(nonce, 0), b'', associated_data)
        frag = buf_size + TAG_SIZE
        out = []
        seq = 1
        data = ciphertext
        while len(data) > frag:
            out.append(aead.decrypt(_nonce(nonce, seq), data[:frag], ad))
            data = data[frag:]
            seq += 1
        out.append(aead.decrypt(_nonce(nonce, seq), data, b'\x80' + ad[1:]))
    except Exception as exc:  # cryptography raises InvalidTag
        raise MinioCryptoError("sio: data is not authentic (wrong key or damaged payload): %s" % type(exc).__name__)
    return b''.join(out)


def _derive(password, salt, alg_id):
    if alg_id == PBKDF2_AESGCM:
        return hashlib.pbkdf2_hmac('sha256', password.encode('utf-8'), salt, PBKDF2_COST, 32)
    if alg_id in (ARGON2ID_AESGCM, ARGON2ID_CHACHA20POLY1305):
        try:
            from argon2.low_level import Type, hash_secret_raw
        except ImportError:
            raise MinioCryptoError("the payload uses Argon2id; install the Python library 'argon2-cffi' to read it")
        return hash_secret_raw(password.encode('utf-8'), salt, time_cost=ARGON2ID_TIME, memory_cost=ARGON2ID_MEMORY,
                               parallelism=ARGON2ID_THREADS, hash_len=32, type=Type.ID)
    raise MinioCryptoError("madmin: invalid encryption algorithm ID %#x" % alg_id)


def encrypt_data(password, data, rng=os.urandom):
    """madmin.EncryptData with the PBKDF2-SHA256 / AES-256-GCM variant (id 0x02)."""
    _require()
    salt = rng(32)
    nonce = rng(8)
    key = _derive(password, salt, PBKDF2_AESGCM)
    return salt + bytes([PBKDF2_AESGCM]) + nonce + sio_seal(AESGCM(key), nonce, data)


def decrypt_data(password, blob):
    """madmin.DecryptData: any of the three algorithm ids."""
    _require()
    if len(blob) < 41:
        raise MinioCryptoError("madmin: unexpected header (payload of %d bytes)" % len(blob))
    salt, alg_id, nonce = blob[:32], blob[32], blob[33:41]
    key = _derive(password, salt, alg_id)
    aead = ChaCha20Poly1305(key) if alg_id == ARGON2ID_CHACHA20POLY1305 else AESGCM(key)
    return sio_open(aead, nonce, blob[41:])
