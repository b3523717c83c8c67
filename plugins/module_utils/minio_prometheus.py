# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bearer token of MinIO's Prometheus metrics endpoint (MINIO_PROMETHEUS_AUTH_TYPE=jwt).

As ``mc admin prometheus generate`` makes it (minio/mc ``cmd/admin-prometheus-generate.go``): a JWT
signed HS512 with the secret key of the access key in ``sub``, issuer ``prometheus``, expiring
far in the future (mc: 100 years from now). Here the expiry is a fixed date (2100-01-01) so that
the same key pair always gives the same token and writing it is idempotent.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import hashlib
import hmac
import json

EXPIRY = 4102444800  # 2100-01-01T00:00:00Z


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def prometheus_token(access_key, secret_key, expiry=EXPIRY):
    if not access_key or not secret_key:
        raise ValueError('minio_prometheus_token: access key and secret key are both required')
    header = _b64(json.dumps({'alg': 'HS512', 'typ': 'JWT'}, separators=(',', ':')).encode('utf-8'))
    claims = _b64(json.dumps({'iss': 'prometheus', 'sub': access_key, 'exp': int(expiry)},
                             separators=(',', ':')).encode('utf-8'))
    signing_input = (header + '.' + claims).encode('ascii')
    signature = _b64(hmac.new(secret_key.encode('utf-8'), signing_input, hashlib.sha512).digest())
    return header + '.' + claims + '.' + signature
