# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Upload of an etcd snapshot to S3 as K3s does it, from the ``etcd-s3-*`` keys of config.yaml.

Source: k3s-io/k3s ``pkg/etcd/s3/s3.go`` (read at commit 0d0a789ab9188bf5594259c746f2cf022d6c4403)
and ``pkg/cli/cmds/server.go`` (the ``(db)`` flags and their defaults). What K3s does and the
stand-in repeats:

- defaults ``etcd-s3-endpoint: s3.amazonaws.com``, ``etcd-s3-region: us-east-1``,
  ``etcd-s3-timeout: 5m``; with ``etcd-s3`` on but every S3 key at its default (and no
  ``etcd-s3-config-secret``) the snapshot fails with ``s3 configuration was not set``; an empty
  bucket with ``s3 bucket name was not set``;
- the endpoint goes to ``minio.New(endpoint)``: ``host[:port]`` only (minio-go refuses a scheme
  or a path: ``Endpoint: ... does not follow ip address or domain name standards.``);
  ``Secure: !etcd-s3-insecure``; ``etcd-s3-skip-ssl-verify`` disables certificate checks,
  otherwise ``etcd-s3-endpoint-ca`` (a PEM file) replaces the system CAs;
- static credentials from ``etcd-s3-access-key``/``etcd-s3-secret-key`` (flag environment
  ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``), AWS Signature V4, path-style bucket lookup for
  a non-AWS endpoint;
- ``BucketExists`` first (``bucket X does not exist``; any other failure: ``failed to test for
  existence of bucket X: ...``), then ``FPutObject(bucket, path.Join(folder, basename))`` with
  ``Content-Type: application/octet-stream`` and the user metadata ``X-Amz-Meta-K3s-Cluster-Id``,
  ``-Node-Name``, ``-Token-Hash``.

Not done by the stand-in: the metadata object under ``.metadata/``, retention pruning in the
bucket, ``etcd-s3-config-secret``, ``etcd-s3-proxy``, multipart uploads (one PUT).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import datetime
import hashlib
import hmac
import http.client
import os
import re
import ssl
import urllib.parse

from .validate import duration_seconds

DEFAULTS = {"etcd-s3-endpoint": "s3.amazonaws.com", "etcd-s3-region": "us-east-1"}
_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$")


class S3Failure(Exception):
    pass


def settings(config, environ=None):
    """The S3 settings K3s would use, or None when ``etcd-s3`` is off. Raises S3Failure as K3s fails."""
    environ = os.environ if environ is None else environ
    if not config.get("etcd-s3"):
        return None
    s3 = {key: config.get(key) for key in (
        "etcd-s3-endpoint", "etcd-s3-endpoint-ca", "etcd-s3-skip-ssl-verify", "etcd-s3-access-key",
        "etcd-s3-secret-key", "etcd-s3-bucket", "etcd-s3-region", "etcd-s3-folder", "etcd-s3-proxy",
        "etcd-s3-insecure", "etcd-s3-timeout", "etcd-s3-config-secret")}
    s3["etcd-s3-access-key"] = s3["etcd-s3-access-key"] or environ.get("AWS_ACCESS_KEY_ID", "")
    s3["etcd-s3-secret-key"] = s3["etcd-s3-secret-key"] or environ.get("AWS_SECRET_ACCESS_KEY", "")
    for key, value in DEFAULTS.items():
        s3[key] = s3[key] or value
    is_default = all(not value for key, value in s3.items()
                     if key not in DEFAULTS and key not in ("etcd-s3-timeout", "etcd-s3-config-secret")) \
        and all(s3[key] == value for key, value in DEFAULTS.items())
    if is_default:
        if s3["etcd-s3-config-secret"]:
            raise S3Failure("etcd-s3-config-secret is not implemented by the stand-in")
        raise S3Failure("s3 configuration was not set")
    if not s3["etcd-s3-bucket"]:
        raise S3Failure("s3 bucket name was not set")
    if s3["etcd-s3-proxy"]:
        raise S3Failure("etcd-s3-proxy is not implemented by the stand-in")
    if not _HOST.match(str(s3["etcd-s3-endpoint"])):
        raise S3Failure("Endpoint: %s does not follow ip address or domain name standards." % s3["etcd-s3-endpoint"])
    if not s3["etcd-s3-access-key"] or not s3["etcd-s3-secret-key"]:
        # K3s's chain: static keys, then ~/.aws/credentials, then the EC2 metadata service.
        raise S3Failure("failed to get credentials: no static access key and secret key")
    return s3


def _sign(method, host, path, headers, payload_hash, s3, now):
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], s3["etcd-s3-region"])
    headers = dict(headers, host=host, **{"x-amz-date": amz_date, "x-amz-content-sha256": payload_hash})
    lower = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed = sorted(lower)
    canonical = "\n".join([method, path, "", "".join("%s:%s\n" % (h, lower[h]) for h in signed),
                           ";".join(signed), payload_hash])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + s3["etcd-s3-secret-key"]).encode()
    key = hmac.new(key, amz_date[:8].encode(), hashlib.sha256).digest()
    for part in (s3["etcd-s3-region"], "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        s3["etcd-s3-access-key"], scope, ";".join(signed),
        hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest())
    return headers


def _request(s3, method, path, body=b"", headers=None):
    host = str(s3["etcd-s3-endpoint"])
    timeout = duration_seconds(s3["etcd-s3-timeout"] or "5m") or 300.0
    if s3["etcd-s3-insecure"]:
        conn = http.client.HTTPConnection(host, timeout=timeout)
    else:
        if s3["etcd-s3-skip-ssl-verify"]:
            context = ssl._create_unverified_context()  # pylint: disable=protected-access
        elif s3["etcd-s3-endpoint-ca"]:
            context = ssl.create_default_context(cafile=str(s3["etcd-s3-endpoint-ca"]))
        else:
            context = ssl.create_default_context()
        conn = http.client.HTTPSConnection(host, timeout=timeout, context=context)
    headers = _sign(method, host, path, headers or {}, hashlib.sha256(body).hexdigest(), s3,
                    datetime.datetime.now(datetime.timezone.utc))
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise S3Failure("%s %s://%s%s: %s" % (method, "http" if s3["etcd-s3-insecure"] else "https", host, path, exc))
    finally:
        conn.close()


def _code(status, body):
    found = re.search(rb"<Message>([^<]*)</Message>", body or b"")
    if found:
        return found.group(1).decode()
    # A HEAD answer has no body: minio-go (httpRespToErrorResponse) names the error by status.
    return {403: "Access Denied.", 404: "The specified key does not exist."}.get(status, "HTTP %d" % status)


def upload(s3, snapshot_path, node_name, cluster_id="", token_hash=""):
    """Check the bucket and upload the snapshot as K3s does; returns the object key."""
    bucket = str(s3["etcd-s3-bucket"])
    try:
        status, body = _request(s3, "HEAD", "/" + urllib.parse.quote(bucket))
    except S3Failure as exc:
        # K3s wraps BucketExists' transport error (an untrusted certificate: x509 "certificate signed by
        # unknown authority") the same way.
        raise S3Failure("failed to test for existence of bucket %s: %s" % (bucket, exc))
    if status == 404:
        raise S3Failure("bucket %s does not exist" % bucket)
    if status != 200:
        raise S3Failure("failed to test for existence of bucket %s: %s" % (bucket, _code(status, body)))
    key = "/".join(part for part in (str(s3["etcd-s3-folder"] or "").strip("/"),
                                     os.path.basename(snapshot_path)) if part)
    with open(snapshot_path, "rb") as handle:
        data = handle.read()
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
    for name, value in (("Cluster-Id", cluster_id), ("Node-Name", node_name), ("Token-Hash", token_hash)):
        if value:
            headers["X-Amz-Meta-K3s-" + name] = value
    status, body = _request(s3, "PUT", "/%s/%s" % (urllib.parse.quote(bucket), urllib.parse.quote(key)), data,
                            headers)
    if status != 200:
        raise S3Failure("upload of s3://%s/%s failed: %s" % (bucket, key, _code(status, body)))
    return key
