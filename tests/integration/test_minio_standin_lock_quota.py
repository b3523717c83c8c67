# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Object lock and bucket quotas through the collection's reconcile code, over HTTP, against the
MinIO TEST STAND-IN (tests/standins/minio): the lock exists only from a bucket's creation, a
quota is set, changed and cleared through madmin's set-bucket-quota, an upload over the quota is
refused, check mode changes nothing, and a second run changes nothing."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.minio_admin import MinioError, reconcile

from minio_server import minio_standin

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="needs Debian's python3")

BUCKETS = [{"name": "locked", "object_lock": True, "quota": "64KiB"}, {"name": "plain", "object_lock": False}]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with minio_standin(tmp_path_factory.mktemp("minio"), "127.78.0.3") as started:
        yield started


def run(client, buckets, check=False):
    return reconcile(client(), client, buckets, [], [], check_mode=check)


def test_lock_and_quota(server):
    endpoint, client = server
    root = client()

    planned = run(client, BUCKETS, check=True)
    assert planned["actions"] == ["create bucket locked with object lock",
                                  "set quota of bucket locked to 65536 bytes", "create bucket plain"]
    assert root.list_buckets() == []

    run(client, BUCKETS)
    assert root.get_object_lock("locked") is True and root.get_object_lock("plain") is False
    assert root.get_versioning("locked") == "Enabled"  # S3/MinIO: object lock turns versioning on
    assert root.get_quota("locked") == 65536 and root.get_quota("plain") == 0
    again = run(client, BUCKETS)
    assert not again["changed"], again["actions"]

    # The hard quota refuses an upload that would exceed it.
    root.call("PUT", "/locked/a.bin", body=b"x" * 40000)
    status, body = root.call("PUT", "/locked/b.bin", body=b"y" * 40000, ok=None)
    assert status == 400 and b"XMinioAdminBucketQuotaExceeded" in body
    root.call("PUT", "/plain/big.bin", body=b"z" * 100000)

    # Raised, then cleared: the upload goes through.
    assert run(client, [{"name": "locked", "quota": "1MiB"}])["actions"] == [
        "set quota of bucket locked to 1048576 bytes"]
    assert run(client, [{"name": "locked", "quota": 0}])["actions"] == ["remove the quota of bucket locked"]
    assert root.get_quota("locked") == 0
    root.call("PUT", "/locked/b.bin", body=b"y" * 40000)

    # Object lock cannot be added to or removed from an existing bucket.
    with pytest.raises(MinioError, match="bucket 'plain' exists without object lock"):
        run(client, [{"name": "plain", "object_lock": True}])
    with pytest.raises(MinioError, match="bucket 'locked' exists with object lock"):
        run(client, [{"name": "locked", "object_lock": False}])


def test_quota_admin_api_as_madmin(server):
    endpoint, client = server
    root = client()
    # No quota: 404 XMinioAdminNoSuchQuotaConfiguration; a quota without type "hard" is invalid;
    # a bucket that does not exist is refused; users other than root get no admin API.
    status, body = root.call("GET", "/minio/admin/v3/get-bucket-quota", {"bucket": "never-set"}, ok=None)
    assert status == 404 and b"XMinioAdminNoSuchQuotaConfiguration" in body
    root.create_bucket("typed")
    status, body = root.call("PUT", "/minio/admin/v3/set-bucket-quota", {"bucket": "typed"}, b'{"size": 10}', ok=None)
    assert status == 400 and b"Invalid quota config" in body
    status, body = root.call("PUT", "/minio/admin/v3/set-bucket-quota", {"bucket": "nope-bucket"},
                             b'{"size": 10, "quotatype": "hard"}', ok=None)
    assert status == 404 and b"NoSuchBucket" in body
