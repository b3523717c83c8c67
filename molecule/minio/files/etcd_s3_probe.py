"""The K3s stand-in's etcd snapshot upload (tests/standins/k3s_standin/s3.py, what `k3s etcd-snapshot
save` runs) against the MinIO node, for molecule/minio's verify.

    etcd_s3_probe.py SNAPSHOT_NAME

Reads the config.yaml keys the homelab.k3s.etcd_s3_config filter made from ETCD_S3_CONFIG (JSON in
the environment: it carries the secret key), uploads a small file as K3s would and prints
{"uploaded": KEY} or {"refused": MESSAGE} (exit 0: the caller asserts).
"""
import json
import os
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "standins"))

from k3s_standin import s3  # noqa: E402


def main(name):
    config = json.loads(os.environ["ETCD_S3_CONFIG"])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name)
        with open(path, "wb") as handle:
            handle.write(b"etcd snapshot stand-in content\n" * 64)
        try:
            key = s3.upload(s3.settings(config, environ={}), path, "mn-2")
        except s3.S3Failure as exc:
            print(json.dumps({"refused": str(exc)}))
            return
    print(json.dumps({"uploaded": key}))


if __name__ == "__main__":
    main(sys.argv[1])
