"""TEST STAND-IN for a MinIO server. Never installed by a role of this collection.

No MinIO or RustFS binary can be downloaded on the machines this project is
tested on, so tests/standins/minio/release-mirror.sh packages this program as
a "release" file named like MinIO's (minio.RELEASE...) with a real sha256
file, and the `minio` role installs and starts it exactly as the real server:

    minio server [--address :9000] [--console-address :9001] [--certs-dir D] VOLUME...
    minio --version

TLS as MinIO does it (minio/minio cmd/config-dir.go, cmd/common-main.go getTLSConfig,
cmd/server-main.go, internal/config LoadX509KeyPair): --certs-dir (default ~/.minio/certs) holding
public.crt and private.key serves HTTPS; without both files it serves plain HTTP; a file that cannot
be read or parsed, a key that does not match, or an ECDSA key on P-384/P-521 stops the start with
"Unable to load the TLS configuration"; CAs/ in it must hold only readable PEM certificates
("Failed to read root CAs").

with MINIO_ROOT_USER / MINIO_ROOT_PASSWORD / MINIO_PROMETHEUS_AUTH_TYPE read
from the environment (upstream minio-service: /etc/default/minio as systemd
EnvironmentFile).

What it serves:
- the S3 API, by moto (in memory: objects are lost when it stops), behind
  an AWS Signature V4 check (header auth) against the root user and the users
  created through the admin API, and an IAM policy check per request (moto
  itself does not enforce IAM): a user's key is denied where its policies do
  not allow the action on the resource;
- the madmin admin API subset used by homelab.k3s's minio module, under
  /minio/admin/v3/: list-users, add-user (body encrypted as madmin.EncryptData),
  remove-user, user-info, list-canned-policies, add-canned-policy,
  remove-canned-policy, set-user-or-group-policy, get-bucket-quota and
  set-bucket-quota (madmin BucketQuota JSON; a PUT of an object that would take
  the bucket over its hard quota answers 400 XMinioAdminBucketQuotaExceeded, as
  MinIO's enforceQuotaHard, but from an exact count where MinIO uses its
  data-usage scan); root user only;
- object lock at bucket creation (x-amz-bucket-object-lock-enabled) and
  GET ?object-lock are moto's;
- /minio/health/live and /minio/v2/metrics/cluster (public or Bearer JWT,
  as MINIO_PROMETHEUS_AUTH_TYPE says).

Users and policies persist in VOLUME/.minio.sys/standin-iam.json.
"""

import base64
import datetime
import fnmatch
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import socket
import socketserver
import ssl
import sys
import threading
import urllib.parse

from standin_crypto import decrypt_data, encrypt_data  # minio_crypto.py of the collection, packed in

VERSION = "RELEASE.2025-09-07T16-13-09Z"
ADMIN_PREFIX = "/minio/admin/v3/"
_LOCK = threading.Lock()


def log(msg):
    sys.stderr.write("minio-standin: %s\n" % msg)
    sys.stderr.flush()


class IAM:
    def __init__(self, path, root_user, root_password):
        self.path = path
        self.root_user = root_user
        self.root_password = root_password
        self.users = {}
        self.policies = {}
        self.quotas = {}
        if os.path.exists(path):
            with open(path) as f:
                data = json.load(f)
            self.users = data.get("users", {})
            self.policies = data.get("policies", {})
            self.quotas = data.get("quotas", {})

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"users": self.users, "policies": self.policies, "quotas": self.quotas}, f)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def secret_of(self, access_key):
        if access_key == self.root_user:
            return self.root_password
        user = self.users.get(access_key)
        if user and user.get("status", "enabled") == "enabled":
            return user["secretKey"]
        return None


def _sign_key(secret, date, region, service):
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def _canonical_query(raw_query):
    pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
    enc = sorted((urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join("%s=%s" % kv for kv in enc)


def verify_sigv4(method, raw_path, raw_query, headers, body, iam):
    """Return (access_key, None) or (None, (code, message))."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return None, ("AccessDenied", "Access Denied.")
    fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    cred = fields.get("Credential", "").split("/")
    if len(cred) != 5:
        return None, ("AuthorizationHeaderMalformed", "bad Credential")
    access_key, date, region, service = cred[:4]
    secret = iam.secret_of(access_key)
    if secret is None:
        return None, ("InvalidAccessKeyId", "The Access Key Id you provided does not exist in our records.")
    payload_hash = headers.get("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
    if len(payload_hash) == 64 and hashlib.sha256(body).hexdigest() != payload_hash:
        return None, ("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match.")
    signed = fields.get("SignedHeaders", "").split(";")
    canon_headers = "".join("%s:%s\n" % (h, " ".join(headers.get(h, "").split())) for h in signed)
    canonical = "\n".join([method, raw_path, _canonical_query(raw_query), canon_headers, ";".join(signed), payload_hash])
    amz_date = headers.get("x-amz-date", "")
    scope = "/".join([date, region, service, "aws4_request"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    expected = hmac.new(_sign_key(secret, date, region, service), to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields.get("Signature", "")):
        return None, ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
    return access_key, None


def s3_action(method, bucket, key, query):
    """Map an S3 request to (IAM action, resource ARN)."""
    if not bucket:
        return "s3:ListAllMyBuckets", "arn:aws:s3:::*"
    if key:
        res = "arn:aws:s3:::%s/%s" % (bucket, key)
        if "uploadId" in query or "uploads" in query:
            if method == "GET":
                return "s3:ListMultipartUploadParts", res
            if method == "DELETE":
                return "s3:AbortMultipartUpload", res
            return "s3:PutObject", res
        return {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "PUT": "s3:PutObject",
                "POST": "s3:PutObject", "DELETE": "s3:DeleteObject"}.get(method, "s3:Unknown"), res
    res = "arn:aws:s3:::%s" % bucket
    if "versioning" in query:
        return ("s3:GetBucketVersioning" if method == "GET" else "s3:PutBucketVersioning"), res
    if "location" in query:
        return "s3:GetBucketLocation", res
    if "object-lock" in query:
        return ("s3:GetBucketObjectLockConfiguration" if method == "GET" else "s3:PutBucketObjectLockConfiguration"), res
    if "policy" in query:
        return ("s3:GetBucketPolicy" if method == "GET" else "s3:PutBucketPolicy"), res
    if "delete" in query and method == "POST":
        return "s3:DeleteObject", res + "/*"
    if "uploads" in query:
        return "s3:ListBucketMultipartUploads", res
    if "versions" in query:
        return "s3:ListBucketVersions", res
    return {"GET": "s3:ListBucket", "HEAD": "s3:ListBucket", "PUT": "s3:CreateBucket",
            "DELETE": "s3:DeleteBucket"}.get(method, "s3:Unknown"), res


def _as_list(value):
    return value if isinstance(value, list) else [value]


def policy_allows(documents, action, resource):
    allowed = False
    for doc in documents:
        for st in _as_list(doc.get("Statement", [])):
            actions = _as_list(st.get("Action", []))
            resources = _as_list(st.get("Resource", []))
            if not any(fnmatch.fnmatchcase(action, a) for a in actions):
                continue
            if not any(fnmatch.fnmatchcase(resource, r) for r in resources):
                continue
            if st.get("Effect") == "Deny":
                return False
            if st.get("Effect") == "Allow":
                allowed = True
    return allowed


def verify_jwt(token, iam):
    try:
        head, body, sig = token.split(".")
        expected = hmac.new(iam.root_password.encode(), (head + "." + body).encode(), hashlib.sha512).digest()
        given = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return False
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    return hmac.compare_digest(expected, given) and claims.get("exp", 0) > now and claims.get("sub") == iam.root_user


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MinIO-standin"

    def log_message(self, fmt, *args):  # access log without headers or bodies
        log("%s %s" % (self.address_string(), fmt % args))

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, body=b"", ctype="application/xml", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status, code, message):
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message>"
                "<Resource>%s</Resource></Error>" % (code, message, self.path)).encode()
        self._send(status, body)

    def _admin_error(self, status, code, message):
        self._send(status, json.dumps({"Code": code, "Message": message}).encode(), "application/json")

    def handle_any(self):
        st = self.server.state
        parsed = urllib.parse.urlsplit(self.path)
        raw_path, raw_query = parsed.path, parsed.query
        query = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        body = self._body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        if raw_path in ("/minio/health/live", "/minio/health/ready"):
            return self._send(200)
        if raw_path.startswith("/minio/v2/metrics/"):
            if st.prometheus_auth != "public":
                token = headers.get("authorization", "")
                if not (token.startswith("Bearer ") and verify_jwt(token[7:], st.iam)):
                    return self._error(403, "AccessDenied", "Access Denied.")
            return self._send(200, b"# stand-in\nminio_cluster_nodes_online_total 1\n", "text/plain")
        access_key, err = verify_sigv4(self.command, raw_path, raw_query, headers, body, st.iam)
        if err:
            return self._error(403, err[0], err[1])
        if raw_path.startswith(ADMIN_PREFIX):
            if access_key != st.iam.root_user:
                return self._admin_error(403, "AccessDenied", "Access Denied.")
            with _LOCK:
                return self.admin(raw_path[len(ADMIN_PREFIX):], query, body)
        path = urllib.parse.unquote(raw_path)
        bucket, key = (path.lstrip("/").split("/", 1) + [""])[:2]
        if access_key != st.iam.root_user:
            user = st.iam.users[access_key]
            docs = [st.iam.policies[p] for p in user.get("policyName", "").split(",") if p in st.iam.policies]
            action, resource = s3_action(self.command, bucket, key, query)
            if not policy_allows(docs, action, resource):
                log("denied %s on %s for %s" % (action, resource, access_key))
                return self._error(403, "AccessDenied", "Access Denied.")
        if self.command == "PUT" and bucket and key and "uploadId" not in query and "partNumber" not in query:
            limit = int(st.iam.quotas.get(bucket, {}).get("size") or 0)
            if limit and self.bucket_usage(bucket) + len(body) > limit:
                # MinIO enforceQuotaHard -> BucketQuotaExceeded -> ErrAdminBucketQuotaExceeded (HTTP 400).
                log("quota of bucket %s exceeded" % bucket)
                return self._error(400, "XMinioAdminBucketQuotaExceeded", "Bucket quota exceeded")
        return self.proxy(body)

    def backend(self, method, path):
        host, port = self.server.state.backend
        conn = http.client.HTTPConnection(host, port, timeout=60)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def bucket_usage(self, bucket):
        """Bytes stored in a bucket (current objects), from the backend's listing."""
        total, token = 0, None
        while True:
            path = "/%s?list-type=2" % urllib.parse.quote(bucket)
            if token:
                path += "&continuation-token=" + urllib.parse.quote(token, safe="")
            status, data = self.backend("GET", path)
            if status != 200:
                return 0
            text = data.decode("utf-8", "replace")
            total += sum(int(n) for n in re.findall(r"<Size>(\d+)</Size>", text))
            found = re.search(r"<NextContinuationToken>([^<]+)</NextContinuationToken>", text)
            if not found:
                return total
            token = found.group(1)

    def proxy(self, body):
        host, port = self.server.state.backend
        conn = http.client.HTTPConnection(host, port, timeout=120)
        fwd = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "transfer-encoding")}
        conn.request(self.command, self.path, body=body, headers=fwd)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", resp.getheader("Content-Length", str(len(data))) if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    def admin(self, op, query, body):
        iam = self.server.state.iam
        secret = iam.root_password
        m = self.command
        if op == "list-users" and m == "GET":
            out = {ak: {"policyName": u.get("policyName", ""), "status": u.get("status", "enabled")} for ak, u in iam.users.items()}
            return self._send(200, encrypt_data(secret, json.dumps(out).encode()), "application/octet-stream")
        if op == "user-info" and m == "GET":
            u = iam.users.get(query.get("accessKey", ""))
            if u is None:
                return self._admin_error(404, "XMinioAdminNoSuchUser", "The specified user does not exist.")
            return self._send(200, json.dumps({"policyName": u.get("policyName", ""), "status": u.get("status", "enabled")}).encode(), "application/json")
        if op == "add-user" and m == "PUT":
            ak = query.get("accessKey", "")
            try:
                req = json.loads(decrypt_data(secret, body))
            except ValueError as exc:
                return self._admin_error(400, "XMinioAdminConfigBadJSON", "cannot decrypt/parse add-user body: %s" % exc)
            if len(ak) < 3 or len(req.get("secretKey", "")) < 8:
                return self._admin_error(400, "XMinioAdminInvalidArgument", "access key >= 3 and secret key >= 8 characters")
            if ak == iam.root_user:
                return self._admin_error(400, "XMinioAdminInvalidArgument", "cannot overwrite the root user")
            user = iam.users.setdefault(ak, {})
            user["secretKey"] = req["secretKey"]
            user["status"] = req.get("status") or "enabled"
            iam.save()
            return self._send(200)
        if op == "remove-user" and m == "DELETE":
            if iam.users.pop(query.get("accessKey", ""), None) is None:
                return self._admin_error(404, "XMinioAdminNoSuchUser", "The specified user does not exist.")
            iam.save()
            return self._send(200)
        if op == "list-canned-policies" and m == "GET":
            return self._send(200, json.dumps(iam.policies).encode(), "application/json")
        if op == "add-canned-policy" and m in ("PUT", "POST"):
            try:
                doc = json.loads(body)
            except ValueError:
                return self._admin_error(400, "XMinioMalformedJSON", "policy is not JSON")
            if not isinstance(doc, dict) or "Statement" not in doc:
                return self._admin_error(400, "XMinioMalformedIAMPolicy", "policy has no Statement")
            iam.policies[query.get("name", "")] = doc
            iam.save()
            return self._send(200)
        if op == "remove-canned-policy" and m == "DELETE":
            iam.policies.pop(query.get("name", ""), None)
            for u in iam.users.values():
                u["policyName"] = ",".join(p for p in u.get("policyName", "").split(",") if p and p != query.get("name"))
            iam.save()
            return self._send(200)
        if op == "set-user-or-group-policy" and m == "PUT":
            u = iam.users.get(query.get("userOrGroup", ""))
            if u is None or query.get("isGroup") == "true":
                return self._admin_error(404, "XMinioAdminNoSuchUser", "The specified user does not exist.")
            names = [p for p in query.get("policyName", "").split(",") if p]
            missing = [p for p in names if p not in iam.policies]
            if missing:
                return self._admin_error(404, "XMinioAdminNoSuchPolicy", "policy %s does not exist" % ",".join(missing))
            u["policyName"] = ",".join(names)
            iam.save()
            return self._send(200)
        if op in ("get-bucket-quota", "set-bucket-quota"):
            return self.quota(op, query.get("bucket", ""), body)
        return self._admin_error(400, "XMinioAdminNotImplemented", "stand-in: %s %s is not implemented" % (m, op))

    def quota(self, op, bucket, body):
        """madmin GetBucketQuota / SetBucketQuota (MinIO cmd/admin-bucket-handlers.go, cmd/bucket-quota.go)."""
        iam = self.server.state.iam
        if op == "get-bucket-quota" and self.command == "GET":
            if bucket not in iam.quotas:
                return self._admin_error(404, "XMinioAdminNoSuchQuotaConfiguration",
                                         "The quota configuration does not exist")
            return self._send(200, json.dumps(iam.quotas[bucket]).encode(), "application/json")
        if op != "set-bucket-quota" or self.command != "PUT":
            return self._admin_error(400, "XMinioAdminNotImplemented", "stand-in: %s %s" % (self.command, op))
        if self.backend("HEAD", "/" + urllib.parse.quote(bucket))[0] != 200:
            return self._admin_error(404, "NoSuchBucket", "The specified bucket does not exist")
        try:
            quota = json.loads(body)
            size = int(quota.get("size") or quota.get("quota") or 0)
        except (ValueError, TypeError, AttributeError):
            return self._admin_error(400, "XMinioAdminConfigBadJSON", "quota configuration is not valid JSON")
        # madmin BucketQuota.IsValid: a non-empty quota must be of type "hard".
        if size and quota.get("quotatype") != "hard":
            return self._admin_error(400, "XMinioAdminInvalidArgument", "Invalid quota config %r" % quota)
        iam.quotas[bucket] = {"quota": size, "size": size, "rate": 0, "requests": 0,
                              "quotatype": quota.get("quotatype", "")}
        iam.save()
        return self._send(200)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls = False

    def finish_request(self, request, client_address):
        # The TLS handshake in the request's thread: a slow or plain-HTTP client never blocks accept().
        if self.tls:
            request.settimeout(30)
            request.do_handshake()
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, socket.timeout)):
            # Go's net/http logs handshake failures this way.
            log("http: TLS handshake error from %s:%s: %s" % (client_address[0], client_address[1], exc))
            return
        super().handle_error(request, client_address)


def tls_context(certs_dir):
    """MinIO's getTLSConfig: None (plain HTTP) without public.crt + private.key; raises ValueError as MinIO fails."""
    cert = os.path.join(certs_dir, "public.crt")
    key = os.path.join(certs_dir, "private.key")
    if not (os.path.isfile(cert) and os.path.isfile(key)):
        return None
    try:
        from cryptography import x509  # pylint: disable=import-outside-toplevel
        from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
        from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
        with open(cert, "rb") as handle:
            certs = x509.load_pem_x509_certificates(handle.read())
        with open(key, "rb") as handle:
            private = serialization.load_pem_private_key(handle.read(), password=None)
        if isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name in ("secp384r1", "secp521r1"):
            raise ValueError("tls: the ECDSA curve '%s' is not supported" % {"secp384r1": "P-384"}.get(
                private.curve.name, "P-521"))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
    except (OSError, ValueError, ssl.SSLError) as exc:
        raise ValueError(str(exc))
    cas = os.path.join(certs_dir, "CAs")
    if os.path.isdir(cas):
        for name in sorted(os.listdir(cas)):
            try:
                with open(os.path.join(cas, name), "rb") as handle:
                    x509.load_pem_x509_certificates(handle.read())
            except (OSError, ValueError) as exc:
                raise ValueError("Failed to read root CAs (%s)" % exc)
    return context, certs


class State:
    pass


def parse_address(value):
    host, dummy, port = value.rpartition(":")
    return host or "0.0.0.0", int(port)


def main(argv):
    if argv[:1] in (["--version"], ["-v"]):
        print("minio version %s (homelab.k3s TEST STAND-IN built on moto)" % VERSION)
        return 0
    if argv[:1] != ["server"]:
        sys.stderr.write("usage: minio server [--address ADDR] [--console-address ADDR] VOLUME...\n")
        return 2
    args = argv[1:]
    address, volumes = ":9000", []
    certs_dir = os.path.join(os.path.expanduser("~"), ".minio", "certs")
    i = 0
    while i < len(args):
        if args[i] in ("--address", "--console-address", "--certs-dir", "-S"):
            if i + 1 >= len(args):
                sys.stderr.write("minio-standin: %s needs a value\n" % args[i])
                return 2
            if args[i] == "--address":
                address = args[i + 1]
            if args[i] in ("--certs-dir", "-S"):
                certs_dir = args[i + 1]
            i += 2
            continue
        if args[i].startswith("--"):
            sys.stderr.write("minio-standin: unknown option %s\n" % args[i])
            return 2
        volumes.append(args[i])
        i += 1
    if len(volumes) != 1 or "{" in volumes[0] or "://" in volumes[0]:
        sys.stderr.write("minio-standin: only one local volume (single node, single drive) is implemented\n")
        return 2
    volume = volumes[0]
    if not os.path.isdir(volume) or not os.access(volume, os.W_OK):
        sys.stderr.write("ERROR Unable to use the drive %s: drive not found or not writable\n" % volume)
        return 1
    user = os.environ.get("MINIO_ROOT_USER", "minioadmin")
    password = os.environ.get("MINIO_ROOT_PASSWORD", "minioadmin")
    if len(user) < 3 or len(password) < 8:
        sys.stderr.write("ERROR Invalid credentials: MINIO_ROOT_USER >= 3 and MINIO_ROOT_PASSWORD >= 8 characters\n")
        return 1
    try:
        tls = tls_context(certs_dir)
    except ValueError as exc:
        if "root CAs" in str(exc):
            sys.stderr.write("ERROR %s\n" % exc)
        else:
            sys.stderr.write("ERROR Unable to load the TLS configuration: %s\n" % exc)
        return 1
    sysdir = os.path.join(volume, ".minio.sys")
    os.makedirs(sysdir, mode=0o700, exist_ok=True)

    from moto.server import ThreadedMotoServer  # pylint: disable=import-outside-toplevel

    backend = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    backend.start()
    state = State()
    state.backend = backend.get_host_and_port()
    state.iam = IAM(os.path.join(sysdir, "standin-iam.json"), user, password)
    state.prometheus_auth = os.environ.get("MINIO_PROMETHEUS_AUTH_TYPE", "jwt")
    srv = Server(parse_address(address), Handler)
    srv.state = state
    if tls:
        srv.socket = tls[0].wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
        srv.tls = True
        names = []
        try:
            from cryptography import x509  # pylint: disable=import-outside-toplevel
            sans = tls[1][0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = [str(n.value) for n in sans]
        except Exception:  # pylint: disable=broad-except
            pass
        log("TLS from %s (public.crt for %s)" % (certs_dir, ", ".join(names) or "no SAN"))
    log("%s serving S3 + admin API on %s://%s, volume %s (TEST STAND-IN)" % (
        VERSION, "https" if tls else "http", address, volume))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
