#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.k3s maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: minio_reconcile
short_description: Reconcile buckets, users and policies on a MinIO-compatible server
version_added: "0.1.0"
description:
  - Creates buckets (with object lock when asked) and sets their versioning through the S3 API, sets their
    hard quotas, and creates canned policies and users
    and attaches policies to users through the admin API (madmin REST, C(/minio/admin/v3) for MinIO,
    C(/rustfs/admin/v3) for RustFS), signed with AWS Signature V4.
  - A user with O(users[].buckets) gets a generated policy C(homelab-user-<access_key>) that allows
    O(users[].access) on those buckets only.
  - Removes a bucket, user or policy only when it is listed with C(state=absent); anything else the server
    holds is left alone.
  - Secret keys never appear in the result or the diff; a user's secret key is checked by signing a request
    with it, since it cannot be read back.
  - Needs the Python library C(cryptography) on the host that runs it (admin payload encryption).
options:
  endpoint:
    description:
      - Base URL of the server, for example C(http://127.0.0.1:9000), or C(https://127.0.0.1:9000) when the
        server serves TLS (MinIO with C(--certs-dir)).
    type: str
    required: true
  access_key:
    description: Root (admin) access key.
    type: str
    required: true
  secret_key:
    description: Root (admin) secret key.
    type: str
    required: true
  flavour:
    description: Server flavour; selects the admin API prefix.
    type: str
    choices: [minio, rustfs]
    default: minio
  region:
    description: Region used in the request signatures.
    type: str
    default: us-east-1
  validate_certs:
    description:
      - Verify the server's TLS certificate (https endpoints). Leave it on; C(false) is for a throw-away lab only
        and conflicts with O(ca_file).
    type: bool
    default: true
  ca_file:
    description:
      - PEM file (on the host that runs the module) of the CA the server's certificate must chain to, for
        example the private CA the minio role installs in C(/etc/minio/certs/CAs/ca.crt). It replaces the
        system trust store for these requests. Unset, the system trust store is used.
      - Refused with a plain C(http://) endpoint, with O(validate_certs=false), and when the file does not exist.
    type: path
    aliases: [ca_path]
  buckets:
    description: Buckets.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Bucket name.
        type: str
        required: true
      versioning:
        description: C(true) enables versioning, C(false) suspends it, unset leaves it as it is.
        type: bool
      object_lock:
        description:
          - C(true) creates the bucket with object lock (S3 header C(x-amz-bucket-object-lock-enabled); MinIO
            enables versioning with it). MinIO sets object lock only at a bucket's creation and never removes it,
            so an existing bucket whose lock differs from this value is an error naming the bucket.
          - Unset leaves it as it is and does not read it.
        type: bool
      quota:
        description:
          - Hard quota (madmin C(set-bucket-quota)) in bytes, or a size such as C(500MiB), C(10GiB), C(2TB).
            C(0) removes the quota; unset leaves it as it is.
          - MinIO enforces it from its data-usage scan, which may lag behind recent writes.
        type: raw
      state:
        description: C(absent) deletes the bucket (it must be empty).
        type: str
        choices: [present, absent]
        default: present
  policies:
    description: Canned policies.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Policy name.
        type: str
        required: true
      document:
        description: IAM policy document.
        type: dict
      state:
        description: C(absent) removes the policy.
        type: str
        choices: [present, absent]
        default: present
  users:
    description: Users.
    type: list
    elements: dict
    default: []
    suboptions:
      access_key:
        description: The user's access key (name).
        type: str
        required: true
      secret_key:
        description: The user's secret key (8 characters or more); required unless O(users[].state=absent).
        type: str
      buckets:
        description: Buckets this user may use (a generated policy limited to them).
        type: list
        elements: str
        default: []
      access:
        description: What the generated policy allows on O(users[].buckets).
        type: str
        choices: [readwrite, readonly]
        default: readwrite
      policies:
        description: Further canned policies attached to the user.
        type: list
        elements: str
        default: []
      state:
        description: C(absent) removes the user.
        type: str
        choices: [present, absent]
        default: present
attributes:
  check_mode:
    support: full
    description: Reads the server and reports what would be done, without writing.
  diff_mode:
    support: full
    description:
      - Shows buckets (versioning, and object lock and quota where asked), policy names and users' policies
        before and after; secret keys only as C((changed)).
author:
  - homelab.k3s maintainers (@homelab-k3s)
"""

EXAMPLES = r"""
- name: Buckets and a restic user limited to its bucket
  homelab.k3s.minio_reconcile:
    endpoint: http://127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    buckets:
      - name: restic
        versioning: true
        quota: 200GiB
      - name: etcd-snapshots
        object_lock: true
    users:
      - access_key: restic
        secret_key: "{{ restic_s3_secret }}"
        buckets: [restic]
  no_log: true

- name: The same over TLS, verifying the server against the private CA the minio role installed
  homelab.k3s.minio_reconcile:
    endpoint: https://127.0.0.1:9000
    ca_file: /etc/minio/certs/CAs/ca.crt
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    buckets:
      - name: restic
  no_log: true
"""

RETURN = r"""
actions:
  description: What was (or, in check mode, would be) done, without secrets.
  returned: always
  type: list
  elements: str
  sample: ["create bucket restic", "create user restic", "attach policies homelab-user-restic to user restic"]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.homelab.k3s.plugins.module_utils.minio_admin import (
    MinioClient, MinioError, reconcile, tls_options, url_transport)
from ansible_collections.homelab.k3s.plugins.module_utils.minio_crypto import HAS_CRYPTOGRAPHY, MinioCryptoError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            endpoint=dict(type='str', required=True),
            access_key=dict(type='str', required=True, no_log=False),
            secret_key=dict(type='str', required=True, no_log=True),
            flavour=dict(type='str', choices=['minio', 'rustfs'], default='minio'),
            region=dict(type='str', default='us-east-1'),
            validate_certs=dict(type='bool', default=True),
            ca_file=dict(type='path', aliases=['ca_path']),
            buckets=dict(type='list', elements='dict', default=[], options=dict(
                name=dict(type='str', required=True),
                versioning=dict(type='bool'),
                object_lock=dict(type='bool'),
                quota=dict(type='raw'),
                state=dict(type='str', choices=['present', 'absent'], default='present'))),
            policies=dict(type='list', elements='dict', default=[], options=dict(
                name=dict(type='str', required=True),
                document=dict(type='dict'),
                state=dict(type='str', choices=['present', 'absent'], default='present'))),
            users=dict(type='list', elements='dict', default=[], options=dict(
                access_key=dict(type='str', required=True, no_log=False),
                secret_key=dict(type='str', no_log=True),
                buckets=dict(type='list', elements='str', default=[]),
                access=dict(type='str', choices=['readwrite', 'readonly'], default='readwrite'),
                policies=dict(type='list', elements='str', default=[]),
                state=dict(type='str', choices=['present', 'absent'], default='present'))),
        ),
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'))
    p = module.params
    try:
        tls = tls_options(p['endpoint'], p['ca_file'], p['validate_certs'])
    except MinioError as exc:
        module.fail_json(msg=str(exc))

    def transport(method, url, headers, body):
        return url_transport(method, url, headers, body, validate_certs=tls['validate_certs'], ca_path=tls['ca_path'])

    def client(access_key, secret_key):
        return MinioClient(p['endpoint'], access_key, secret_key, p['flavour'], p['region'], transport)

    try:
        result = reconcile(client(p['access_key'], p['secret_key']), client, p['buckets'], p['users'], p['policies'],
                           check_mode=module.check_mode)
    except (MinioError, MinioCryptoError) as exc:
        module.fail_json(msg=str(exc))
    out = dict(changed=result['changed'], actions=result['actions'])
    if module._diff:
        out['diff'] = result['diff']
    module.exit_json(**out)


if __name__ == '__main__':
    main()
