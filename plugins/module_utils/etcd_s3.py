# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""K3s etcd snapshots to an S3 bucket: one mapping in, the ``etcd-s3-*`` keys of config.yaml out.

Key names and meanings: k3s-io/k3s ``pkg/cli/cmds/server.go`` (the ``(db)`` flags, K3s v1.30+
flag set: ``etcd-s3-config-secret``, ``etcd-s3-proxy``, ``etcd-s3-timeout``) and
``pkg/etcd/s3/s3.go`` (``minio.New(endpoint)`` takes ``host[:port]`` without a scheme,
``Secure: !etcd-s3-insecure``; a CA file is ignored when ``etcd-s3-skip-ssl-verify`` is set;
``s3 bucket name was not set`` without a bucket).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 (ansible-test sanity compile only)
    from urlparse import urlsplit  # type: ignore

from ansible_collections.homelab.k3s.plugins.module_utils.go_duration import GoDurationError, seconds

FIELDS = ('endpoint', 'bucket', 'folder', 'region', 'access_key', 'secret_key', 'endpoint_ca',
          'skip_ssl_verify', 'timeout')
# S3 bucket naming rules (AWS "Bucket naming rules"; MinIO applies the same).
_BUCKET = re.compile(r'^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$')


class EtcdS3Error(ValueError):
    pass


def _str(spec, name):
    value = spec.get(name)
    if value is None:
        return ''
    if not isinstance(value, str):
        raise EtcdS3Error('etcd_s3.%s must be a string, got %r' % (name, type(value).__name__))
    return value.strip()


def etcd_s3_config(spec, embedded_etcd=True):
    """Return the config.yaml keys for ``spec`` ({} when empty or ``enabled: false``).

    Raises EtcdS3Error naming the field and the conflict.
    """
    if not spec:
        return {}
    if not isinstance(spec, dict):
        raise EtcdS3Error('etcd_s3 must be a mapping, got %r' % type(spec).__name__)
    spec = dict(spec)
    if not spec.pop('enabled', True):
        return {}
    unknown = sorted(set(spec) - set(FIELDS))
    if unknown:
        raise EtcdS3Error('etcd_s3: unknown field(s) %s (known: %s)' % (', '.join(unknown), ', '.join(FIELDS)))
    if not embedded_etcd:
        raise EtcdS3Error('etcd_s3 is set but the servers run without embedded etcd (SQLite): '
                          'K3s takes etcd snapshots only with embedded etcd')
    endpoint = _str(spec, 'endpoint')
    bucket = _str(spec, 'bucket')
    if not endpoint:
        raise EtcdS3Error('etcd_s3.endpoint is required (http://host:port or https://host:port of the S3 server)')
    url = urlsplit(endpoint)
    if url.scheme not in ('http', 'https') or not url.hostname:
        raise EtcdS3Error('etcd_s3.endpoint %r must be an http:// or https:// URL with a host' % endpoint)
    if url.path not in ('', '/') or url.query or url.fragment or url.username or url.password:
        raise EtcdS3Error('etcd_s3.endpoint %r must not have a path, query or credentials '
                          '(the bucket goes in etcd_s3.bucket, the keys in access_key/secret_key)' % endpoint)
    if not bucket:
        raise EtcdS3Error('etcd_s3.bucket is required (K3s refuses etcd-s3 without a bucket: '
                          '"s3 bucket name was not set")')
    if not _BUCKET.match(bucket) or '..' in bucket:
        raise EtcdS3Error('etcd_s3.bucket %r is not a valid S3 bucket name (3-63 of a-z 0-9 . -)' % bucket)
    access_key, secret_key = _str(spec, 'access_key'), _str(spec, 'secret_key')
    if bool(access_key) != bool(secret_key):
        raise EtcdS3Error('etcd_s3.access_key and etcd_s3.secret_key go together: set both or neither')
    insecure = url.scheme == 'http'
    endpoint_ca = _str(spec, 'endpoint_ca')
    skip_verify = spec.get('skip_ssl_verify', False)
    if not isinstance(skip_verify, bool):
        raise EtcdS3Error('etcd_s3.skip_ssl_verify must be a boolean')
    if insecure and (endpoint_ca or skip_verify):
        raise EtcdS3Error('etcd_s3.endpoint %r is plain http: endpoint_ca / skip_ssl_verify apply to https only'
                          % endpoint)
    if endpoint_ca and skip_verify:
        raise EtcdS3Error('etcd_s3.endpoint_ca and etcd_s3.skip_ssl_verify conflict: K3s ignores the CA '
                          'when verification is skipped')
    if endpoint_ca and not endpoint_ca.startswith('/'):
        raise EtcdS3Error('etcd_s3.endpoint_ca %r must be an absolute path on the servers' % endpoint_ca)
    timeout = _str(spec, 'timeout')
    if timeout:
        try:
            positive = seconds(timeout) > 0
        except GoDurationError:
            positive = False
        if not positive:
            raise EtcdS3Error('etcd_s3.timeout %r is not a positive Go duration (e.g. 5m, 90s)' % timeout)
    folder = _str(spec, 'folder').strip('/')
    host = url.hostname if ':' not in url.hostname else '[%s]' % url.hostname
    config = {
        'etcd-s3': True,
        'etcd-s3-endpoint': host + (':%d' % url.port if url.port else ''),
        'etcd-s3-bucket': bucket,
        'etcd-s3-insecure': insecure,
    }
    optional = {
        'etcd-s3-folder': folder,
        'etcd-s3-region': _str(spec, 'region'),
        'etcd-s3-access-key': access_key,
        'etcd-s3-secret-key': secret_key,
        'etcd-s3-endpoint-ca': endpoint_ca,
        'etcd-s3-skip-ssl-verify': skip_verify,
        'etcd-s3-timeout': timeout,
    }
    config.update((key, value) for key, value in optional.items() if value)
    return config
