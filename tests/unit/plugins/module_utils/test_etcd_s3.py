# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s_server_etcd_s3 -> K3s config.yaml etcd-s3-* keys, and every refusal."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import sys

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.k3s.plugins.filter.etcd_s3_config import etcd_s3_config as the_filter
from ansible_collections.homelab.k3s.plugins.module_utils.etcd_s3 import EtcdS3Error, etcd_s3_config

STANDINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'standins')
sys.path.insert(0, STANDINS)

from k3s_standin import k3s_flags, s3  # noqa: E402  pylint: disable=wrong-import-position

MINIO = {'endpoint': 'http://10.0.0.5:9000', 'bucket': 'etcd-snapshots', 'folder': '/homelab/',
         'access_key': 'etcd', 'secret_key': 'S3cret-value'}


def test_minio_over_http():
    assert etcd_s3_config(MINIO) == {
        'etcd-s3': True, 'etcd-s3-endpoint': '10.0.0.5:9000', 'etcd-s3-bucket': 'etcd-snapshots',
        'etcd-s3-insecure': True, 'etcd-s3-folder': 'homelab', 'etcd-s3-access-key': 'etcd',
        'etcd-s3-secret-key': 'S3cret-value'}


def test_https_with_a_private_ca_and_every_option():
    config = etcd_s3_config({'endpoint': 'https://s3.lan', 'bucket': 'k3s.snapshots', 'region': 'eu-west-1',
                             'endpoint_ca': '/etc/ssl/homelab-ca.crt', 'timeout': '90s',
                             'access_key': 'a', 'secret_key': 'b'})
    assert config['etcd-s3-endpoint'] == 's3.lan' and config['etcd-s3-insecure'] is False
    assert config['etcd-s3-endpoint-ca'] == '/etc/ssl/homelab-ca.crt'
    assert config['etcd-s3-region'] == 'eu-west-1' and config['etcd-s3-timeout'] == '90s'
    assert 'etcd-s3-skip-ssl-verify' not in config
    assert etcd_s3_config({'endpoint': 'https://[fd00::5]:9000', 'bucket': 'b-1',
                           'skip_ssl_verify': True})['etcd-s3-endpoint'] == '[fd00::5]:9000'


def test_every_key_is_a_k3s_server_flag_of_the_declared_type():
    config = etcd_s3_config({'endpoint': 'https://s3.lan:9000', 'bucket': 'bkt', 'folder': 'f', 'region': 'r',
                             'access_key': 'a', 'secret_key': 'b', 'skip_ssl_verify': True, 'timeout': '5m'})
    types = {'bool': bool, 'string': str, 'duration': str}
    for key, value in config.items():
        assert isinstance(value, types[k3s_flags.SERVER_FLAGS[key]]), key


def test_the_k3s_stand_in_reads_the_same_settings():
    settings = s3.settings(etcd_s3_config(MINIO), environ={})
    assert settings['etcd-s3-endpoint'] == '10.0.0.5:9000' and settings['etcd-s3-region'] == 'us-east-1'
    assert settings['etcd-s3-bucket'] == 'etcd-snapshots' and settings['etcd-s3-insecure'] is True


@pytest.mark.parametrize('spec', [{}, None, {'enabled': False, 'endpoint': 'nonsense'}])
def test_empty_or_disabled_gives_no_keys(spec):
    assert etcd_s3_config(spec) == {}


@pytest.mark.parametrize('spec, embedded, message', [
    ({'endpoint': 'http://h:9000', 'bucket': 'b1b', 'acess_key': 'x'}, True, 'unknown field(s) acess_key'),
    (MINIO, False, 'servers run without embedded etcd (SQLite)'),
    ({'bucket': 'bkt'}, True, 'etcd_s3.endpoint is required'),
    ({'endpoint': '10.0.0.5:9000', 'bucket': 'bkt'}, True, 'must be an http:// or https:// URL with a host'),
    ({'endpoint': 'http://h:9000/bkt', 'bucket': 'bkt'}, True, 'must not have a path, query or credentials'),
    ({'endpoint': 'http://h:9000'}, True, 'etcd_s3.bucket is required'),
    ({'endpoint': 'http://h:9000', 'bucket': 'Bad_Bucket'}, True, "'Bad_Bucket' is not a valid S3 bucket name"),
    ({'endpoint': 'http://h:9000', 'bucket': 'bkt', 'access_key': 'a'}, True, 'access_key and etcd_s3.secret_key go together'),
    ({'endpoint': 'http://h:9000', 'bucket': 'bkt', 'endpoint_ca': '/ca.crt'}, True, 'is plain http'),
    ({'endpoint': 'https://h', 'bucket': 'bkt', 'endpoint_ca': '/ca.crt', 'skip_ssl_verify': True}, True,
     'endpoint_ca and etcd_s3.skip_ssl_verify conflict'),
    ({'endpoint': 'https://h', 'bucket': 'bkt', 'endpoint_ca': 'ca.crt'}, True, 'must be an absolute path'),
    ({'endpoint': 'https://h', 'bucket': 'bkt', 'skip_ssl_verify': 'yes'}, True, 'skip_ssl_verify must be a boolean'),
    ({'endpoint': 'https://h', 'bucket': 'bkt', 'timeout': '5 minutes'}, True, "timeout '5 minutes' is not a positive Go duration"),
    ({'endpoint': 'https://h', 'bucket': 'bkt', 'timeout': '0s'}, True, "timeout '0s' is not a positive Go duration"),
    ({'endpoint': 'https://h', 'bucket': 42}, True, 'etcd_s3.bucket must be a string'),
    (['endpoint'], True, 'etcd_s3 must be a mapping'),
])
def test_refusals_name_the_field_and_the_conflict(spec, embedded, message):
    with pytest.raises(EtcdS3Error) as refused:
        etcd_s3_config(spec, embedded_etcd=embedded)
    assert message in str(refused.value)
    with pytest.raises(AnsibleFilterError, match='etcd_s3'):
        the_filter(spec, embedded)


def test_secret_is_never_in_a_refusal():
    with pytest.raises(EtcdS3Error) as refused:
        etcd_s3_config(dict(MINIO, bucket='x'))
    assert 'S3cret-value' not in str(refused.value)


@pytest.mark.parametrize('config, message', [
    ({'etcd-s3': True}, 's3 configuration was not set'),
    ({'etcd-s3': True, 'etcd-s3-endpoint': 'h:9000'}, 's3 bucket name was not set'),
    ({'etcd-s3': True, 'etcd-s3-bucket': 'b', 'etcd-s3-endpoint': 'http://h:9000', 'etcd-s3-access-key': 'a',
      'etcd-s3-secret-key': 'b'}, 'does not follow ip address or domain name standards'),
    ({'etcd-s3': True, 'etcd-s3-bucket': 'b', 'etcd-s3-endpoint': 'h:9000'}, 'failed to get credentials'),
    ({'etcd-s3': True, 'etcd-s3-config-secret': 'k3s-etcd-s3'}, 'not implemented by the stand-in'),
])
def test_the_k3s_stand_in_refuses_what_k3s_refuses(config, message):
    with pytest.raises(s3.S3Failure, match=message):
        s3.settings(config, environ={})


def test_the_k3s_stand_in_takes_the_keys_from_the_flag_environment():
    settings = s3.settings({'etcd-s3': True, 'etcd-s3-bucket': 'b'},
                           environ={'AWS_ACCESS_KEY_ID': 'a', 'AWS_SECRET_ACCESS_KEY': 's'})
    assert settings['etcd-s3-endpoint'] == 's3.amazonaws.com' and settings['etcd-s3-secret-key'] == 's'
    assert s3.settings({'etcd-s3': False, 'etcd-s3-bucket': 'b'}, environ={}) is None
