# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The metrics bearer token, checked by the MinIO stand-in's independent JWT verifier."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import json
import os
import sys

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.k3s.plugins.filter.minio_prometheus_token import minio_prometheus_token
from ansible_collections.homelab.k3s.plugins.module_utils import minio_crypto
from ansible_collections.homelab.k3s.plugins.module_utils.minio_prometheus import prometheus_token

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.modules.setdefault('standin_crypto', minio_crypto)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'standins', 'minio', 'standin'))
import minio_standin  # noqa: E402  pylint: disable=wrong-import-position


class _IAM(object):
    root_user = 'homelab-admin'
    root_password = 'root-secret-value'


def test_token_is_accepted_with_the_right_key_only():
    token = prometheus_token('homelab-admin', 'root-secret-value')
    assert minio_standin.verify_jwt(token, _IAM())
    assert not minio_standin.verify_jwt(prometheus_token('homelab-admin', 'other-secret'), _IAM())
    assert not minio_standin.verify_jwt(prometheus_token('someone', 'root-secret-value'), _IAM())
    assert not minio_standin.verify_jwt(prometheus_token('homelab-admin', 'root-secret-value', expiry=1000), _IAM())


def _decode(part):
    return json.loads(base64.urlsafe_b64decode(part + '=' * (-len(part) % 4)))


def test_claims_as_mc_admin_prometheus_generate_and_stable():
    token = prometheus_token('homelab-admin', 'root-secret-value')
    head, body, dummy = token.split('.')
    assert _decode(head) == {'alg': 'HS512', 'typ': 'JWT'}
    assert _decode(body) == {'iss': 'prometheus', 'sub': 'homelab-admin', 'exp': 4102444800}
    assert token == minio_prometheus_token('homelab-admin', 'root-secret-value')
    with pytest.raises(AnsibleFilterError, match='access key and secret key are both required'):
        minio_prometheus_token('homelab-admin', '')
