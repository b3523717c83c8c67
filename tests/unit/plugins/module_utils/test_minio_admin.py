"""Unit tests of the MinIO reconcile logic, SigV4 signing and madmin payload encryption.

The signing is checked against the TEST STAND-IN's own verifier
(tests/standins/minio/standin/minio_standin.py, written separately), the sio
stream against secure-io/sio-go's published test vectors, and reconcile()
against a fake server (injectable client).
"""
import datetime
import json
import os
import sys

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils import minio_admin, minio_crypto
from ansible_collections.homelab.k3s.plugins.module_utils.minio_admin import (
    MinioClient, MinioError, bucket_policy, normalise, reconcile, sign_v4)

AESGCM = pytest.importorskip('cryptography.hazmat.primitives.ciphers.aead').AESGCM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.modules.setdefault('standin_crypto', minio_crypto)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'standins', 'minio', 'standin'))
import minio_standin  # noqa: E402  pylint: disable=wrong-import-position

NOW = datetime.datetime(2026, 11, 30, 12, 0, 0)

# secure-io/sio-go test_vectors.json (AES-128-GCM, BufSize 16): key, nonce, associated data, plaintext, ciphertext.
SIO_VECTORS = [
    ('00000000000000000000000000000000', '0000000000000000', '', '', 'e0247a864e783cecb1f7996c13cd3f64'),
    ('10000000000000000000000000000000', '0000000000000002', '', '00' * 17,
     '691deb7b9ccbee91f48d12c7ad5fe3cd4e1e5e7d394f06b91228ec9a5dd2456ac7de9502a0b4010fb1ee1db94e940458fb'),
    ('000102030405060708090a0b0c0d0e0f', '0001020304050607', '0102030405060708090a0b0c0d0e0f10', '00' * 32,
     'beffe57efbdadb693b5545d58454ba746c5362c6f37b65da457d85bfe6af8972'
     'cfea267b03f14aedf25e7501e88c0d79f5440d0ac49e5c4fdaab4dfac9aec4d3'),
    ('0a7a6d49e4ad042f1e1ffa168849d651', '4a9ba500be169ab3', 'd40703848d887a01664c30734fa370581c5f8f6d0ea7bfdd',
     '424d6d60d7e08b3b41e968fc4557b93c', 'aa4b4ca42d587b98d0d5f009c0efbc4fcaaefdc1c79a3cfe07801ed8c708d259'),
]


@pytest.mark.parametrize('key,nonce,ad,plain,cipher', SIO_VECTORS)
def test_sio_stream_matches_upstream_vectors(key, nonce, ad, plain, cipher):
    aead = AESGCM(bytes.fromhex(key))
    args = (bytes.fromhex(nonce),)
    assert minio_crypto.sio_seal(aead, args[0], bytes.fromhex(plain), bytes.fromhex(ad), buf_size=16).hex() == cipher
    assert minio_crypto.sio_open(aead, args[0], bytes.fromhex(cipher), bytes.fromhex(ad), buf_size=16).hex() == plain


def test_encrypt_data_layout_and_round_trip_over_several_fragments():
    data = os.urandom(40000)  # three 16 KiB fragments
    blob = minio_crypto.encrypt_data('root-secret', data)
    assert blob[32] == minio_crypto.PBKDF2_AESGCM
    assert len(blob) == 32 + 1 + 8 + len(data) + 3 * 16
    assert minio_crypto.decrypt_data('root-secret', blob) == data


def test_decrypt_with_the_wrong_key_or_a_flipped_byte_fails():
    blob = minio_crypto.encrypt_data('root-secret', b'{"secretKey":"x"}')
    with pytest.raises(minio_crypto.MinioCryptoError, match='not authentic'):
        minio_crypto.decrypt_data('other-secret', blob)
    damaged = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(minio_crypto.MinioCryptoError, match='not authentic'):
        minio_crypto.decrypt_data('root-secret', damaged)
    with pytest.raises(minio_crypto.MinioCryptoError, match='invalid encryption algorithm'):
        minio_crypto.decrypt_data('root-secret', blob[:32] + b'\x07' + blob[33:])


class _IAM(object):
    root_user = 'admin'
    root_password = 'adminsecret'
    users = {'alice': {'secretKey': 'alicesecret', 'status': 'enabled'}}

    def secret_of(self, ak):
        return self.root_password if ak == self.root_user else self.users.get(ak, {}).get('secretKey')


def _verify(method, url, headers, body):
    parts = minio_admin.urlsplit(url)
    lower = dict((k.lower(), v) for k, v in headers.items())
    return minio_standin.verify_sigv4(method, parts.path, parts.query, lower, body, _IAM())


def test_signature_is_accepted_by_the_independent_verifier():
    url = 'http://10.0.0.1:9000/minio/admin/v3/add-user?accessKey=bob%20b'
    h = sign_v4('PUT', url, {'Content-Type': 'application/octet-stream'}, b'payload', 'admin', 'adminsecret', 'us-east-1', NOW)
    assert _verify('PUT', url, h, b'payload') == ('admin', None)


def test_wrong_secret_or_changed_body_is_rejected():
    url = 'http://10.0.0.1:9000/bucket/key'
    h = sign_v4('PUT', url, {}, b'data', 'alice', 'not-her-secret', 'us-east-1', NOW)
    assert _verify('PUT', url, h, b'data')[1][0] == 'SignatureDoesNotMatch'
    h = sign_v4('PUT', url, {}, b'data', 'alice', 'alicesecret', 'us-east-1', NOW)
    assert _verify('PUT', url, h, b'other')[1][0] == 'XAmzContentSHA256Mismatch'
    h = sign_v4('PUT', url, {}, b'data', 'nobody', 'x', 'us-east-1', NOW)
    assert _verify('PUT', url, h, b'data')[1][0] == 'InvalidAccessKeyId'


def test_generated_policy_allows_its_buckets_only():
    doc = bucket_policy(['restic'], 'readwrite')
    assert minio_standin.policy_allows([doc], 's3:PutObject', 'arn:aws:s3:::restic/x/y')
    assert minio_standin.policy_allows([doc], 's3:ListBucket', 'arn:aws:s3:::restic')
    assert not minio_standin.policy_allows([doc], 's3:PutObject', 'arn:aws:s3:::resticother/x')
    assert not minio_standin.policy_allows([doc], 's3:PutObject', 'arn:aws:s3:::archive/x')
    ro = bucket_policy(['restic'], 'readonly')
    assert not minio_standin.policy_allows([ro], 's3:PutObject', 'arn:aws:s3:::restic/x')
    assert minio_standin.policy_allows([ro], 's3:GetObject', 'arn:aws:s3:::restic/x')


def test_admin_prefix_follows_the_flavour():
    assert MinioClient('http://h:9000', 'a', 'b', 'rustfs').admin_prefix == '/rustfs/admin/v3'
    assert MinioClient('http://h:9000', 'a', 'b').admin_prefix == '/minio/admin/v3'
    with pytest.raises(MinioError, match="flavour: 'garage'"):
        MinioClient('http://h:9000', 'a', 'b', 'garage')


class FakeServer(object):
    """What reconcile() sees of a server; records every write."""

    def __init__(self):
        self.buckets = {}
        self.locked = set()
        self.quotas = {}
        self.policies = {}
        self.users = {}
        self.writes = []

    def client(self, ak='admin', sk='adminsecret'):
        return FakeClient(self, ak, sk)


class FakeClient(object):
    def __init__(self, server, ak, sk):
        self.s, self.ak, self.sk = server, ak, sk

    def _w(self, *what):
        self.s.writes.append(what)

    def list_buckets(self):
        return sorted(self.s.buckets)

    def create_bucket(self, name, object_lock=False):
        self._w('create', name, object_lock)
        self.s.buckets[name] = 'Enabled' if object_lock else 'Off'
        if object_lock:
            self.s.locked.add(name)

    def get_object_lock(self, name):
        return name in self.s.locked

    def get_quota(self, name):
        return self.s.quotas.get(name, 0)

    def set_quota(self, name, size):
        self._w('quota', name, size)
        self.s.quotas[name] = size

    def delete_bucket(self, name):
        self._w('delete', name)
        del self.s.buckets[name]

    def get_versioning(self, name):
        return self.s.buckets[name]

    def put_versioning(self, name, enabled):
        self._w('versioning', name, enabled)
        self.s.buckets[name] = 'Enabled' if enabled else 'Suspended'

    def list_policies(self):
        return json.loads(json.dumps(self.s.policies))

    def add_policy(self, name, doc):
        self._w('policy', name)
        self.s.policies[name] = doc

    def remove_policy(self, name):
        self._w('rmpolicy', name)
        del self.s.policies[name]

    def list_users(self):
        return dict((k, {'policyName': v['policyName'], 'status': 'enabled'}) for k, v in self.s.users.items())

    def add_user(self, ak, sk):
        self._w('user', ak)
        self.s.users.setdefault(ak, {'policyName': ''})['secret'] = sk

    def remove_user(self, ak):
        self._w('rmuser', ak)
        del self.s.users[ak]

    def set_user_policy(self, ak, names):
        self._w('attach', ak, tuple(names))
        self.s.users[ak]['policyName'] = ','.join(names)

    def credentials_valid(self):
        return self.s.users.get(self.ak, {}).get('secret') == self.sk


BUCKETS = [{'name': 'restic', 'versioning': True}, {'name': 'archive'}]
USERS = [{'access_key': 'backup', 'secret_key': 'backup-secret', 'buckets': ['restic']}]


def _run(server, buckets=None, users=None, policies=(), check=False):
    return reconcile(server.client(), server.client, BUCKETS if buckets is None else buckets,
                     USERS if users is None else users, list(policies), check_mode=check)


def test_first_run_creates_everything_second_run_changes_nothing():
    s = FakeServer()
    r = _run(s)
    assert r['changed']
    assert s.buckets == {'restic': 'Enabled', 'archive': 'Off'}
    assert s.users['backup']['policyName'] == 'homelab-user-backup'
    assert s.policies['homelab-user-backup'] == bucket_policy(['restic'], 'readwrite')
    s.writes = []
    r = _run(s)
    assert not r['changed'] and r['actions'] == [] and s.writes == []


def test_check_mode_reports_and_writes_nothing():
    s = FakeServer()
    r = _run(s, check=True)
    assert 'create bucket restic' in r['actions'] and 'create user backup' in r['actions']
    assert s.writes == [] and s.buckets == {}


def test_policy_change_and_new_secret_are_applied_and_diff_has_no_secret():
    s = FakeServer()
    _run(s)
    s.writes = []
    users = [dict(USERS[0], buckets=['restic', 'archive'], secret_key='new-backup-secret')]
    r = _run(s, users=users)
    assert r['actions'] == ['update policy homelab-user-backup', 'set the secret key of user backup']
    assert s.policies['homelab-user-backup'] == bucket_policy(['restic', 'archive'], 'readwrite')
    text = json.dumps(r)
    assert 'new-backup-secret' not in text and 'backup-secret' not in text
    assert r['diff']['after']['users']['backup']['secret_key'] == '(changed)'


def test_nothing_is_removed_unless_state_absent():
    s = FakeServer()
    _run(s)
    s.buckets['foreign'] = 'Off'
    s.writes = []
    _run(s, buckets=BUCKETS, users=USERS)
    assert 'foreign' in s.buckets and s.writes == []
    r = _run(s, buckets=BUCKETS + [{'name': 'foreign', 'state': 'absent'}],
             users=USERS + [{'access_key': 'ghost', 'state': 'absent'}])
    assert r['actions'] == ['delete bucket foreign'] and 'foreign' not in s.buckets


def test_removes_a_user_and_a_policy_when_asked():
    s = FakeServer()
    _run(s, policies=[{'name': 'extra', 'document': {'Statement': []}}],
         users=USERS + [{'access_key': 'tmp', 'secret_key': 'tmp-secret', 'policies': ['extra']}])
    r = _run(s, policies=[{'name': 'extra', 'state': 'absent'}],
             users=USERS + [{'access_key': 'tmp', 'state': 'absent'}])
    assert r['actions'] == ['remove user tmp', 'remove policy extra']
    assert 'tmp' not in s.users and 'extra' not in s.policies


def test_suspends_versioning_only_when_asked_false():
    s = FakeServer()
    _run(s)
    r = _run(s, buckets=[{'name': 'restic'}, {'name': 'archive'}])
    assert not r['changed']
    r = _run(s, buckets=[{'name': 'restic', 'versioning': False}, {'name': 'archive', 'versioning': False}])
    assert r['actions'] == ['suspend versioning on bucket restic']
    assert s.buckets['archive'] == 'Off'


def test_object_lock_at_creation_only_and_quota_reconciled():
    s = FakeServer()
    buckets = [{'name': 'locked', 'object_lock': True, 'quota': '2MiB'}, {'name': 'plain', 'object_lock': False}]
    r = _run(s, buckets=buckets, users=[], check=True)
    assert r['actions'] == ['create bucket locked with object lock', 'set quota of bucket locked to 2097152 bytes',
                            'create bucket plain']
    assert s.writes == []
    r = _run(s, buckets=buckets, users=[])
    assert s.locked == {'locked'} and s.buckets == {'locked': 'Enabled', 'plain': 'Off'}
    assert s.quotas == {'locked': 2097152}
    assert r['diff']['after']['buckets']['locked'] == {'versioning': 'Enabled', 'object_lock': True, 'quota': 2097152}
    s.writes = []
    r = _run(s, buckets=buckets, users=[])
    assert not r['changed'] and s.writes == []
    assert r['diff']['before']['buckets']['locked'] == {'versioning': 'Enabled', 'object_lock': True, 'quota': 2097152}
    r = _run(s, buckets=[{'name': 'locked', 'quota': 3000000}], users=[], check=True)
    assert r['actions'] == ['set quota of bucket locked to 3000000 bytes'] and s.writes == []
    r = _run(s, buckets=[{'name': 'locked', 'quota': 0}], users=[])
    assert r['actions'] == ['remove the quota of bucket locked'] and s.quotas['locked'] == 0
    assert not _run(s, buckets=[{'name': 'locked'}], users=[])['changed']


@pytest.mark.parametrize('have_lock, want_lock, message', [
    (False, True, "bucket 'b1b' exists without object lock and asks for object_lock: true"),
    (True, False, "bucket 'b1b' exists with object lock and asks for object_lock: false"),
])
def test_object_lock_of_an_existing_bucket_cannot_change(have_lock, want_lock, message):
    s = FakeServer()
    _run(s, buckets=[{'name': 'b1b', 'object_lock': have_lock}], users=[])
    s.writes = []
    with pytest.raises(MinioError, match=message + '; MinIO sets object lock only when a bucket is created'):
        _run(s, buckets=[{'name': 'b1b', 'object_lock': want_lock}], users=[])
    assert s.writes == []


@pytest.mark.parametrize('value, size', [(0, 0), (1024, 1024), ('10GiB', 10 * 1024 ** 3), ('2 TB', 2 * 10 ** 12),
                                         ('500mib', 500 * 1024 ** 2), ('77', 77)])
def test_sizes(value, size):
    assert minio_admin.parse_size(value, 'q') == size


@pytest.mark.parametrize('buckets,users,policies,message', [
    ([{'name': 'abc', 'quota': '10 parsecs'}], [], [], r"buckets\[0\].quota: '10 parsecs' is not a size"),
    ([{'name': 'abc', 'quota': -1}], [], [], r"buckets\[0\].quota: -1 is negative"),
    ([{'name': 'abc', 'quota': True}], [], [], r"buckets\[0\].quota: True is not a size"),
    ([{'name': 'abc', 'object_lock': 'yes'}], [], [], r"buckets\[0\].object_lock: must be true or false"),
    ([{'name': 'abc', 'object_lock': True, 'versioning': False}], [], [],
     r"buckets\[0\]: bucket 'abc' asks for object_lock with versioning false"),
    ([{'name': 'Bad_Name'}], [], [], r"buckets\[0\].name: 'Bad_Name'"),
    ([{'name': 'abc'}, {'name': 'abc'}], [], [], r"buckets\[1\].name: 'abc' is declared twice"),
    ([], [{'access_key': 'ab', 'secret_key': 'longenough'}], [], r"users\[0\].access_key: 'ab'"),
    ([], [{'access_key': 'bob', 'secret_key': 'short'}], [], r"users\[0\].secret_key: user 'bob'"),
    ([], [{'access_key': 'bob', 'secret_key': 'longenough', 'buckets': ['nope']}], [], r"bucket 'nope'"),
    ([], [{'access_key': 'bob', 'secret_key': 'longenough', 'policies': ['nope']}], [], r"policy 'nope'"),
    ([], [], [{'name': 'p'}], r"policies\[0\].document: policy 'p'"),
    ([{'name': 'abc'}], [{'access_key': 'bob', 'secret_key': 'longenough', 'buckets': ['abc'], 'access': 'all'}], [],
     r"users\[0\].access: 'all'"),
])
def test_bad_input_names_the_field(buckets, users, policies, message):
    with pytest.raises(MinioError, match=message):
        normalise(buckets, users, policies)
