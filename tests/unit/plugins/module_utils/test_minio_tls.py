# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""minio_tls (the minio role's TLS request), private_ca_sans (SANs of issued certificates) and
minio_admin.tls_options (the reconcile module's ca_file): results and every refusal."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.k3s.plugins.filter.minio_tls import minio_tls as tls_filter
from ansible_collections.homelab.k3s.plugins.filter.private_ca_sans import private_ca_sans as sans_filter
from ansible_collections.homelab.k3s.plugins.module_utils.minio_admin import MinioError, tls_options
from ansible_collections.homelab.k3s.plugins.module_utils.minio_tls import MinioTlsError, minio_tls
from ansible_collections.homelab.k3s.plugins.module_utils.private_ca import PrivateCaError, private_ca_sans

SANS = ['mn-1', '10.213.0.11', 'localhost', '127.0.0.1']


def test_none_is_plain_http():
    assert minio_tls('none') == {'enabled': False, 'scheme': 'http', 'certs_dir': '/etc/minio/certs', 'mode': 'none'}
    assert minio_tls('', 'rustfs')['enabled'] is False  # no TLS: RustFS is fine


def test_files_and_private_ca():
    assert minio_tls('files', 'minio', '/pki/m.crt', '/pki/m.key') == {
        'enabled': True, 'scheme': 'https', 'certs_dir': '/etc/minio/certs', 'mode': 'files'}
    assert minio_tls('files', 'minio', '/pki/m.crt', '/pki/m.key', '/pki/ca.crt')['enabled']
    assert minio_tls('private_ca', 'minio', ca_dir='/pki', sans=SANS)['scheme'] == 'https'


@pytest.mark.parametrize('args, message', [
    (('tls',), "minio_tls_mode: 'tls' is not one of none, files, private_ca"),
    (('files', 'minio', '', '/k'), 'minio_tls_mode: files needs minio_tls_cert_file (PEM files on the controller)'),
    (('files', 'minio', '/c', ''), 'minio_tls_mode: files needs minio_tls_key_file'),
    (('files', 'minio'), 'needs minio_tls_cert_file and minio_tls_key_file'),
    (('files', 'minio', '/c', '/k', '', '/pki'), 'minio_tls_private_ca_dir is set but minio_tls_mode is files'),
    (('private_ca', 'minio', '', '', '', '', SANS), 'minio_tls_mode: private_ca needs minio_tls_private_ca_dir'),
    (('private_ca', 'minio', '/c', '', '', '/pki', SANS), 'are for minio_tls_mode: files'),
    (('private_ca', 'minio', '', '', '/ca', '/pki', SANS), 'are for minio_tls_mode: files'),
    (('private_ca', 'minio', '', '', '', '/pki', []), 'needs at least one name or address in the certificate (minio_tls_sans)'),
    (('private_ca', 'rustfs', '', '', '', '/pki', SANS), 'minio_tls_mode: private_ca is refused with minio_flavour: rustfs'),
    (('files', 'rustfs', '/c', '/k'), 'RustFS documents its TLS directory under two different variable names'),
])
def test_refusals(args, message):
    with pytest.raises(MinioTlsError, match=None) as info:
        minio_tls(*args)
    assert message in str(info.value)
    with pytest.raises(AnsibleFilterError) as info:
        tls_filter(*args)
    assert message in str(info.value)


def test_sans_in_the_vault_role_order():
    assert private_ca_sans(['bao-1', 'localhost', '127.0.0.1', '10.213.0.21', 'DNS:vault.lan', '10.213.0.20']) == [
        'DNS:vault.lan', 'IP:127.0.0.1', 'IP:10.213.0.21', 'IP:10.213.0.20', 'DNS:bao-1', 'DNS:localhost']
    assert private_ca_sans(['mn-1', 'mn-1', 'IP:fd00::5', 'fd00::5', '*.minio.lan']) == [
        'IP:fd00::5', 'DNS:mn-1', 'DNS:*.minio.lan']
    assert sans_filter(['a.lan']) == ['DNS:a.lan']


@pytest.mark.parametrize('names, message', [
    ([], 'private_ca_sans is empty: a server certificate needs at least one name or IP address'),
    ('mn-1', 'private_ca_sans must be a list of names and IP addresses, got str'),
    (['mn 1'], "private_ca_sans: 'DNS:mn 1' is not a DNS name"),
    (['IP:10.0.0.300'], "private_ca_sans: 'IP:10.0.0.300' is not an IP address"),
    (['ok', ''], "private_ca_sans: '' is not a name or an IP address"),
    (['ok', 5], "private_ca_sans: 5 is not a name or an IP address"),
])
def test_san_refusals(names, message):
    with pytest.raises(PrivateCaError) as info:
        private_ca_sans(names)
    assert message in str(info.value)
    with pytest.raises(AnsibleFilterError) as info:
        sans_filter(names, 'minio_tls_sans')
    assert message.replace('private_ca_sans', 'minio_tls_sans') in str(info.value)


def test_tls_options():
    assert tls_options('http://127.0.0.1:9000') == {'validate_certs': True, 'ca_path': None}
    assert tls_options('https://127.0.0.1:9000', '/etc/minio/certs/CAs/ca.crt', exists=lambda p: True) == {
        'validate_certs': True, 'ca_path': '/etc/minio/certs/CAs/ca.crt'}


@pytest.mark.parametrize('args, message', [
    (('ftp://x:9000',), "endpoint: 'ftp://x:9000' is not an http:// or https:// URL"),
    (('http://x:9000', '/ca.crt'), "ca_file: '/ca.crt' is given but endpoint 'http://x:9000' is plain http"),
    (('https://x:9000', '/ca.crt', False), 'ca_file and validate_certs=false conflict'),
    (('https://x:9000', '/nonexistent/ca.crt'), "ca_file: '/nonexistent/ca.crt' does not exist or is not a file"),
])
def test_tls_option_refusals(args, message):
    with pytest.raises(MinioError) as info:
        tls_options(*args)
    assert message in str(info.value)
