"""Read S3 state of a MinIO-compatible server for molecule/minio's verify.

    s3probe.py ENDPOINT versioning BUCKET...   -> {"bucket": "Enabled"|"Suspended"|"Off"}
    s3probe.py ENDPOINT state BUCKET...        -> {"bucket": {"versioning", "object_lock", "quota"}}

Key pair from PROBE_ACCESS_KEY / PROBE_SECRET_KEY (never on the command line); an https
endpoint is verified against PROBE_CA_FILE (the collection's url_transport with ca_path).
Signs with the collection's own SigV4 code; the stand-in checks signatures with
an implementation of its own (tests/standins/minio/standin/minio_standin.py).
"""
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, ".cache", "collections"))

from ansible_collections.homelab.k3s.plugins.module_utils.minio_admin import (  # noqa: E402
    MinioClient, tls_options, url_transport)


def main(argv):
    endpoint, what, names = argv[0], argv[1], argv[2:]
    tls = tls_options(endpoint, os.environ.get("PROBE_CA_FILE") or None)

    def transport(method, url, headers, body):
        return url_transport(method, url, headers, body, validate_certs=tls["validate_certs"], ca_path=tls["ca_path"])

    client = MinioClient(endpoint, os.environ["PROBE_ACCESS_KEY"], os.environ["PROBE_SECRET_KEY"],
                         transport=transport)
    if what == "versioning":
        print(json.dumps(dict((n, client.get_versioning(n)) for n in names)))
    elif what == "state":
        print(json.dumps(dict((n, {"versioning": client.get_versioning(n), "object_lock": client.get_object_lock(n),
                                   "quota": client.get_quota(n)}) for n in names)))
    else:
        raise SystemExit("unknown probe %s" % what)


if __name__ == "__main__":
    main(sys.argv[1:])
