"""TLS handshake with the MinIO node from the host, for molecule/minio's verify.

    tlsprobe.py HOST PORT [CA_FILE]

Prints {"verified": true, "sans": [...], "subject_cn": ...} when the server's certificate chains to
CA_FILE (only that CA is trusted) and names HOST; without CA_FILE the system trust store is used.
A refused handshake prints {"verified": false, "error": "..."} (exit 0: the caller asserts).
"""
import json
import socket
import ssl
import sys


def main(host, port, cafile=None):
    context = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()
    try:
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                cert = tls.getpeercert()
    except (ssl.SSLError, OSError) as exc:
        print(json.dumps({"verified": False, "error": str(exc)}))
        return
    sans = ["%s:%s" % (kind.replace("IP Address", "IP"), value) for kind, value in cert.get("subjectAltName", ())]
    cn = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
    print(json.dumps({"verified": True, "sans": sans, "subject_cn": cn[0] if cn else ""}))


if __name__ == "__main__":
    main(*sys.argv[1:])
