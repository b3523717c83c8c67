# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reconcile buckets, users and policies on a MinIO-compatible server (MinIO or RustFS).

S3 calls and admin calls are AWS Signature V4 requests (service ``s3``), signed
here with the standard library (no boto3 on the nodes). The admin API is
madmin's REST API: ``{prefix}/list-users``, ``add-user`` (body encrypted with the
root secret key, see minio_crypto.py), ``remove-user``, ``user-info``,
``list-canned-policies``, ``add-canned-policy``, ``remove-canned-policy``,
``set-user-or-group-policy``, ``get-bucket-quota`` and ``set-bucket-quota``
(madmin-go ``quota-commands.go``: body ``{"size", "quota", "quotatype": "hard"}``,
0 clears; no quota answers 404 ``XMinioAdminNoSuchQuotaConfiguration``); the prefix is ``/minio/admin/v3`` for MinIO and
``/rustfs/admin/v3`` for RustFS. The transport and the clock are injectable.

A user's secret key cannot be read back; it is checked by signing a request
with it (ListBuckets): ``InvalidAccessKeyId``/``SignatureDoesNotMatch`` means it
differs, anything else means it is right.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import datetime
import hashlib
import hmac
import json
import os
import re

from ansible.module_utils.six.moves.urllib.parse import quote, unquote, urlsplit
from ansible.module_utils.urls import open_url
from ansible.module_utils.six.moves.urllib.error import HTTPError

from ansible_collections.homelab.k3s.plugins.module_utils.minio_crypto import decrypt_data, encrypt_data

ADMIN_PREFIXES = {'minio': '/minio/admin/v3', 'rustfs': '/rustfs/admin/v3'}
BUCKET_RE = re.compile(r'^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$')
ACCESS_ACTIONS = {
    'readwrite': ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket', 's3:GetBucketLocation',
                  's3:ListBucketMultipartUploads', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
    'readonly': ['s3:GetObject', 's3:ListBucket', 's3:GetBucketLocation'],
}


class MinioError(Exception):
    """A request failed or the wanted state is invalid."""


def _q(value):
    return quote(value, safe='-_.~')


def sign_v4(method, url, headers, body, access_key, secret_key, region, now, service='s3'):
    """Return ``headers`` plus the SigV4 headers (Authorization, x-amz-date, x-amz-content-sha256)."""
    parts = urlsplit(url)
    amz_date = now.strftime('%Y%m%dT%H%M%SZ')
    date = amz_date[:8]
    payload_hash = hashlib.sha256(body).hexdigest()
    out = dict(headers)
    out['Host'] = parts.netloc
    out['x-amz-date'] = amz_date
    out['x-amz-content-sha256'] = payload_hash
    lower = dict((k.lower(), ' '.join(str(v).split())) for k, v in out.items())
    signed = sorted(lower)
    pairs = []
    for item in parts.query.split('&') if parts.query else []:
        k, dummy, v = item.partition('=')
        pairs.append((_q(_unq(k)), _q(_unq(v))))
    canonical = '\n'.join([method, parts.path or '/', '&'.join('%s=%s' % kv for kv in sorted(pairs)),
                           ''.join('%s:%s\n' % (h, lower[h]) for h in signed), ';'.join(signed), payload_hash])
    scope = '/'.join([date, region, service, 'aws4_request'])
    to_sign = '\n'.join(['AWS4-HMAC-SHA256', amz_date, scope, hashlib.sha256(canonical.encode('utf-8')).hexdigest()])
    key = hmac.new(('AWS4' + secret_key).encode('utf-8'), date.encode('utf-8'), hashlib.sha256).digest()
    for part in (region, service, 'aws4_request'):
        key = hmac.new(key, part.encode('utf-8'), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode('utf-8'), hashlib.sha256).hexdigest()
    out['Authorization'] = 'AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s' % (
        access_key, scope, ';'.join(signed), signature)
    return out


def _unq(value):
    return unquote(value)


def query_string(params):
    return '&'.join('%s=%s' % (_q(k), _q(v)) for k, v in sorted(params.items()))


def url_transport(method, url, headers, body, timeout=30, validate_certs=True, ca_path=None):
    """Default transport: returns (status, body bytes). Never raises on HTTP errors."""
    try:
        resp = open_url(url, method=method, headers=headers, data=body or None, timeout=timeout,
                        validate_certs=validate_certs, ca_path=ca_path, follow_redirects='none')
        return resp.getcode(), resp.read()
    except HTTPError as exc:
        return exc.code, exc.read()


def tls_options(endpoint, ca_file=None, validate_certs=True, exists=None):
    """How to verify the server: {'validate_certs', 'ca_path'}; refuses what cannot be meant.

    ``ca_file`` replaces the system trust store (the server certificate must chain to it); it only
    makes sense with an https endpoint and must be a readable file where the module runs.
    """
    exists = exists or os.path.isfile
    scheme = urlsplit(endpoint).scheme
    if scheme not in ('http', 'https'):
        raise MinioError("endpoint: '%s' is not an http:// or https:// URL" % endpoint)
    if ca_file:
        if scheme != 'https':
            raise MinioError("ca_file: '%s' is given but endpoint '%s' is plain http; use https:// (the server's "
                             "certificate is checked against the CA over TLS only)" % (ca_file, endpoint))
        if not validate_certs:
            raise MinioError('ca_file and validate_certs=false conflict: the CA would not be used')
        if not exists(ca_file):
            raise MinioError("ca_file: '%s' does not exist or is not a file" % ca_file)
    return {'validate_certs': validate_certs, 'ca_path': ca_file or None}


def error_code(body):
    """The <Code> of an S3 XML error or the "Code" of an admin JSON error."""
    text = body.decode('utf-8', 'replace') if isinstance(body, bytes) else str(body)
    m = re.search(r'<Code>([^<]+)</Code>', text)
    if m:
        return m.group(1)
    try:
        return json.loads(text).get('Code', '')
    except (ValueError, AttributeError):
        return ''


class MinioClient(object):
    """S3 + admin calls against one endpoint, signed with one key pair."""

    def __init__(self, endpoint, access_key, secret_key, flavour='minio', region='us-east-1',
                 transport=None, clock=None):
        if flavour not in ADMIN_PREFIXES:
            raise MinioError("flavour: '%s' is not one of %s" % (flavour, ', '.join(sorted(ADMIN_PREFIXES))))
        self.endpoint = endpoint.rstrip('/')
        self.access_key = access_key
        self.secret_key = secret_key
        self.admin_prefix = ADMIN_PREFIXES[flavour]
        self.region = region
        self.transport = transport or url_transport
        self.clock = clock or datetime.datetime.utcnow

    def call(self, method, path, params=None, body=b'', headers=None, ok=(200, 204)):
        qs = query_string(params or {})
        headers = dict(headers or {})
        if body and 'Content-Type' not in headers:
            headers['Content-Type'] = 'application/octet-stream'
        url = self.endpoint + path + ('?' + qs if qs else '')
        signed = sign_v4(method, url, headers, body, self.access_key, self.secret_key, self.region, self.clock())
        status, data = self.transport(method, url, signed, body)
        if ok and status not in ok:
            raise MinioError('%s %s: HTTP %s %s' % (method, path, status, error_code(data) or data[:200]))
        return status, data

    def admin(self, method, op, params=None, body=b''):
        return self.call(method, '%s/%s' % (self.admin_prefix, op), params, body)[1]

    # S3
    def list_buckets(self):
        return re.findall(r'<Name>([^<]+)</Name>', self.call('GET', '/')[1].decode('utf-8'))

    def create_bucket(self, name, object_lock=False):
        # Object lock exists only from a bucket's creation on (S3 CreateBucket header
        # x-amz-bucket-object-lock-enabled; MinIO then enables versioning too).
        self.call('PUT', '/' + name, headers={'x-amz-bucket-object-lock-enabled': 'true'} if object_lock else None)

    def get_object_lock(self, name):
        """True when the bucket was created with object lock (GetObjectLockConfiguration)."""
        status, data = self.call('GET', '/' + name, {'object-lock': ''}, ok=None)
        if status == 404 and error_code(data) == 'ObjectLockConfigurationNotFoundError':
            return False
        if status != 200:
            raise MinioError('GET /%s?object-lock: HTTP %s %s' % (name, status, error_code(data) or data[:200]))
        return re.search(r'<ObjectLockEnabled>\s*Enabled\s*</ObjectLockEnabled>', data.decode('utf-8')) is not None

    def get_quota(self, name):
        """Hard quota of a bucket in bytes, 0 when none (madmin GetBucketQuota)."""
        status, data = self.call('GET', '%s/get-bucket-quota' % self.admin_prefix, {'bucket': name}, ok=None)
        if status == 404 and error_code(data) == 'XMinioAdminNoSuchQuotaConfiguration':
            return 0
        if status != 200:
            raise MinioError('GET get-bucket-quota?bucket=%s: HTTP %s %s' % (name, status, error_code(data) or data[:200]))
        quota = json.loads(data or b'{}')
        return int(quota.get('size') or quota.get('quota') or 0)

    def set_quota(self, name, size):
        """madmin SetBucketQuota: a hard quota of ``size`` bytes; 0 clears it (as ``mc quota --clear``)."""
        quota = {'quota': size, 'size': size, 'rate': 0, 'requests': 0}
        if size:
            quota['quotatype'] = 'hard'
        self.admin('PUT', 'set-bucket-quota', {'bucket': name}, json.dumps(quota, sort_keys=True).encode('utf-8'))

    def delete_bucket(self, name):
        self.call('DELETE', '/' + name)

    def get_versioning(self, name):
        m = re.search(r'<Status>([^<]+)</Status>', self.call('GET', '/' + name, {'versioning': ''})[1].decode('utf-8'))
        return m.group(1) if m else 'Off'

    def put_versioning(self, name, enabled):
        body = ('<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>%s</Status>'
                '</VersioningConfiguration>' % ('Enabled' if enabled else 'Suspended')).encode('utf-8')
        self.call('PUT', '/' + name, {'versioning': ''}, body, {'Content-Type': 'application/xml'})

    def credentials_valid(self):
        """Sign ListBuckets with this client's key: False when the server does not know the key pair."""
        status, data = self.call('GET', '/', ok=None)
        return not (status == 403 and error_code(data) in ('InvalidAccessKeyId', 'SignatureDoesNotMatch'))

    # admin
    def list_users(self):
        return json.loads(decrypt_data(self.secret_key, self.admin('GET', 'list-users')) or b'{}')

    def add_user(self, access_key, secret_key):
        body = encrypt_data(self.secret_key, json.dumps({'secretKey': secret_key, 'status': 'enabled'}).encode('utf-8'))
        self.admin('PUT', 'add-user', {'accessKey': access_key}, body)

    def remove_user(self, access_key):
        self.admin('DELETE', 'remove-user', {'accessKey': access_key})

    def list_policies(self):
        return json.loads(self.admin('GET', 'list-canned-policies') or b'{}')

    def add_policy(self, name, document):
        self.admin('PUT', 'add-canned-policy', {'name': name}, json.dumps(document, sort_keys=True).encode('utf-8'))

    def remove_policy(self, name):
        self.admin('DELETE', 'remove-canned-policy', {'name': name})

    def set_user_policy(self, access_key, names):
        self.admin('PUT', 'set-user-or-group-policy',
                   {'policyName': ','.join(names), 'userOrGroup': access_key, 'isGroup': 'false'})


def bucket_policy(buckets, access):
    """The policy document a user with ``access`` to ``buckets`` (and nothing else) gets."""
    return {
        'Version': '2012-10-17',
        'Statement': [{
            'Effect': 'Allow',
            'Action': list(ACCESS_ACTIONS[access]),
            'Resource': sorted(['arn:aws:s3:::%s' % b for b in buckets] + ['arn:aws:s3:::%s/*' % b for b in buckets]),
        }],
    }


SIZE_UNITS = {'': 1, 'b': 1, 'kb': 1000, 'mb': 1000 ** 2, 'gb': 1000 ** 3, 'tb': 1000 ** 4,
              'kib': 1024, 'mib': 1024 ** 2, 'gib': 1024 ** 3, 'tib': 1024 ** 4}


def parse_size(value, field):
    """Bytes from an integer or a size such as ``500MiB``, ``10GiB``, ``2TB``; ``field`` names it in errors."""
    if isinstance(value, bool):
        raise MinioError('%s: %r is not a size (bytes, or a number with KiB/MiB/GiB/TiB or KB/MB/GB/TB)' % (field, value))
    if isinstance(value, int):
        size = value
    else:
        m = re.match(r'^\s*([0-9]+)\s*([A-Za-z]*)\s*$', str(value))
        if not m or m.group(2).lower() not in SIZE_UNITS:
            raise MinioError('%s: %r is not a size (bytes, or a number with KiB/MiB/GiB/TiB or KB/MB/GB/TB)' % (field, value))
        size = int(m.group(1)) * SIZE_UNITS[m.group(2).lower()]
    if size < 0:
        raise MinioError('%s: %r is negative (0 removes the quota)' % (field, value))
    return size


def _present(items):
    return [i for i in items if i.get('state', 'present') == 'present']


def normalise(buckets, users, policies):
    """Check the wanted state; return it as {buckets, users, policies} with generated user policies."""
    seen = set()
    checked = []
    for i, b in enumerate(buckets):
        name = b.get('name') or ''
        if not BUCKET_RE.match(name):
            raise MinioError("buckets[%d].name: '%s' is not a valid bucket name (3-63 of a-z 0-9 . -)" % (i, name))
        if name in seen:
            raise MinioError("buckets[%d].name: '%s' is declared twice" % (i, name))
        seen.add(name)
        if b.get('state', 'present') not in ('present', 'absent'):
            raise MinioError("buckets[%d].state: must be present or absent" % i)
        if b.get('object_lock') not in (None, True, False):
            raise MinioError("buckets[%d].object_lock: must be true or false" % i)
        if b.get('object_lock') and b.get('versioning') is False:
            raise MinioError("buckets[%d]: bucket '%s' asks for object_lock with versioning false; object lock needs "
                             "versioning (MinIO enables it with the lock and refuses to suspend it)" % (i, name))
        if b.get('quota') is not None:
            b = dict(b, quota=parse_size(b['quota'], 'buckets[%d].quota' % i))
        checked.append(b)
    wanted_buckets = set(b['name'] for b in _present(buckets))
    pol = {}
    for i, p in enumerate(policies):
        if not p.get('name'):
            raise MinioError('policies[%d].name: missing' % i)
        if p.get('state', 'present') == 'present' and not isinstance(p.get('document'), dict):
            raise MinioError("policies[%d].document: policy '%s' needs a JSON object" % (i, p['name']))
        pol[p['name']] = p
    out_users = {}
    for i, u in enumerate(users):
        ak = u.get('access_key') or ''
        if len(ak) < 3:
            raise MinioError("users[%d].access_key: '%s' must have at least 3 characters" % (i, ak))
        if ak in out_users:
            raise MinioError("users[%d].access_key: '%s' is declared twice" % (i, ak))
        state = u.get('state', 'present')
        entry = {'state': state, 'policies': list(u.get('policies') or [])}
        if state == 'present':
            if len(u.get('secret_key') or '') < 8:
                raise MinioError("users[%d].secret_key: user '%s' needs a secret key of at least 8 characters" % (i, ak))
            entry['secret_key'] = u['secret_key']
            ubuckets = list(u.get('buckets') or [])
            for b in ubuckets:
                if b not in wanted_buckets:
                    raise MinioError("users[%d].buckets: user '%s' names bucket '%s', which is not a present bucket" % (i, ak, b))
            access = u.get('access', 'readwrite')
            if access not in ACCESS_ACTIONS:
                raise MinioError("users[%d].access: '%s' is not one of %s" % (i, access, ', '.join(sorted(ACCESS_ACTIONS))))
            if ubuckets:
                gen = 'homelab-user-%s' % ak
                if gen in pol:
                    raise MinioError("policies: '%s' is reserved for the policy of user '%s'" % (gen, ak))
                pol[gen] = {'name': gen, 'document': bucket_policy(ubuckets, access), 'state': 'present'}
                entry['policies'].append(gen)
            for p in entry['policies']:
                if p not in pol or pol[p].get('state', 'present') != 'present':
                    raise MinioError("users[%d].policies: user '%s' names policy '%s', which is not a present policy" % (i, ak, p))
        out_users[ak] = entry
    return {'buckets': checked, 'users': out_users, 'policies': pol}


def _canon(doc):
    return json.dumps(doc, sort_keys=True)


def reconcile(client, user_client_factory, buckets, users, policies, check_mode=False):
    """Bring the server to the wanted state. Returns {changed, actions, diff}; secrets never appear."""
    want = normalise(buckets, users, policies)
    actions = []

    def act(text, fn, *args):
        actions.append(text)
        if not check_mode:
            fn(*args)

    have_buckets = set(client.list_buckets())
    have_policies = client.list_policies()
    have_users = client.list_users()
    before = {'buckets': {}, 'policies': sorted(have_policies), 'users': {}}
    after = {'buckets': {}, 'policies': sorted(have_policies), 'users': {}}

    for b in want['buckets']:
        name = b['name']
        if b.get('state', 'present') == 'absent':
            if name in have_buckets:
                before['buckets'][name] = 'present'
                act('delete bucket %s' % name, client.delete_bucket, name)
            continue
        exists = name in have_buckets
        cur = client.get_versioning(name) if exists else 'absent'
        before['buckets'][name] = {'versioning': cur} if exists else 'absent'
        wanted_lock = b.get('object_lock')
        lock = bool(wanted_lock)
        if exists and wanted_lock is not None:
            lock = client.get_object_lock(name)
            before['buckets'][name]['object_lock'] = lock
            if lock != wanted_lock:
                raise MinioError(
                    "buckets: bucket '%s' exists %s object lock and asks for object_lock: %s; MinIO sets object lock "
                    "only when a bucket is created and never removes it: use a new bucket, or delete this one "
                    "(state: absent) and create it again" % (name, 'with' if lock else 'without', str(wanted_lock).lower()))
        if not exists:
            if lock:
                act('create bucket %s with object lock' % name, client.create_bucket, name, True)
            else:
                act('create bucket %s' % name, client.create_bucket, name)
        wanted_v = b.get('versioning')
        new_v = cur if exists else ('Enabled' if lock else 'Off')
        if wanted_v is not None:
            target = 'Enabled' if wanted_v else ('Suspended' if new_v != 'Off' else 'Off')
            if target != new_v:
                act('%s versioning on bucket %s' % ('enable' if wanted_v else 'suspend', name),
                    client.put_versioning, name, bool(wanted_v))
                new_v = target
        after['buckets'][name] = {'versioning': new_v}
        if wanted_lock is not None:
            after['buckets'][name]['object_lock'] = lock
        if b.get('quota') is not None:
            have_q = client.get_quota(name) if exists else 0
            if exists:
                before['buckets'][name]['quota'] = have_q
            if have_q != b['quota']:
                if b['quota']:
                    act('set quota of bucket %s to %d bytes' % (name, b['quota']), client.set_quota, name, b['quota'])
                else:
                    act('remove the quota of bucket %s' % name, client.set_quota, name, 0)
            after['buckets'][name]['quota'] = b['quota']

    pnames = set(after['policies'])
    for name, p in sorted(want['policies'].items()):
        if p.get('state', 'present') == 'absent':
            continue
        if name not in have_policies or _canon(have_policies[name]) != _canon(p['document']):
            act('%s policy %s' % ('update' if name in have_policies else 'create', name), client.add_policy, name, p['document'])
            pnames.add(name)

    for ak, u in sorted(want['users'].items()):
        cur = have_users.get(ak)
        before['users'][ak] = {'policies': sorted(p for p in cur.get('policyName', '').split(',') if p)} if cur else 'absent'
        if u['state'] == 'absent':
            if cur is not None:
                act('remove user %s' % ak, client.remove_user, ak)
            continue
        if cur is None:
            act('create user %s' % ak, client.add_user, ak, u['secret_key'])
        elif not user_client_factory(ak, u['secret_key']).credentials_valid():
            act('set the secret key of user %s' % ak, client.add_user, ak, u['secret_key'])
            before['users'][ak]['secret_key'] = '(differs)'
        have_p = sorted(p for p in (cur or {}).get('policyName', '').split(',') if p)
        if sorted(u['policies']) != have_p:
            act('attach policies %s to user %s' % (','.join(sorted(u['policies'])) or '(none)', ak),
                client.set_user_policy, ak, sorted(u['policies']))
        after['users'][ak] = {'policies': sorted(u['policies'])}
        if cur is not None and before['users'][ak].get('secret_key'):
            after['users'][ak]['secret_key'] = '(changed)'

    for name, p in sorted(want['policies'].items()):
        if p.get('state', 'present') == 'absent' and name in have_policies:
            act('remove policy %s' % name, client.remove_policy, name)
            pnames.discard(name)
    after['policies'] = sorted(pnames)
    return {'changed': bool(actions), 'actions': actions, 'diff': {'before': before, 'after': after}}
