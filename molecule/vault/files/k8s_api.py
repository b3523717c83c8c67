"""The test K8s API for the vault scenario: tests/k8s_emulator over HTTPS, plus TokenReview.

The emulator has no TokenReview (authentication.k8s.io/v1); this wrapper answers
it, which makes it a TokenReview stand-in, not a Kubernetes API server: a review
is "authenticated" when spec.token is one of the service-account JWTs given with
--sa TOKEN=NAMESPACE:NAME:UID. Every TokenReview request is appended to --log as
one JSON line: whether the bearer token was the reviewer token the emulator
requires, the reviewed token's service account, and the answer. Everything else
goes to the emulator unchanged (401 without the bearer token).

    python k8s_api.py --tests-dir DIR --host H --port P --tls-cert C --tls-key K \
        --token REVIEWER_JWT --sa JWT=ns:name:uid --log FILE --ready-file F
"""
import argparse
import asyncio
import json
import os
import signal
import sys

import aiohttp.web


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests-dir", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-cert", required=True)
    parser.add_argument("--tls-key", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--sa", action="append", default=[])
    parser.add_argument("--log", required=True)
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args()
    sys.path.insert(0, args.tests_dir)
    from k8s_emulator.handler import KubernetesApiEmulator  # pylint: disable=import-outside-toplevel
    from k8s_emulator.server import _start, _stop  # pylint: disable=import-outside-toplevel
    from k8s_emulator.store import ObjectStore  # pylint: disable=import-outside-toplevel

    accounts = {}
    for item in args.sa:
        jwt, who = item.split("=", 1)
        namespace, name, uid = who.split(":")
        accounts[jwt] = (namespace, name, uid)

    class WithTokenReview(KubernetesApiEmulator):
        async def __call__(self, raw_request):
            if raw_request.method == "POST" and raw_request.path.rstrip("/") == \
                    "/apis/authentication.k8s.io/v1/tokenreviews":
                return await self._token_review(raw_request)
            return await super().__call__(raw_request)

        async def _token_review(self, raw_request):
            bearer_ok = raw_request.headers.get("Authorization") == "Bearer " + args.token
            body = json.loads(await raw_request.read() or b"{}")
            reviewed = accounts.get((body.get("spec") or {}).get("token"))
            entry = {"bearer_ok": bearer_ok, "reviewed": ":".join(reviewed) if reviewed else None}
            if not bearer_ok:
                entry["status"] = 401
                status, answer = 401, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                       "reason": "Unauthorized", "code": 401}
            else:
                entry["status"] = 201
                status = 201
                review = {"authenticated": False, "error": "token not known to the TokenReview stand-in"}
                if reviewed:
                    namespace, name, uid = reviewed
                    review = {"authenticated": True,
                              "user": {"username": "system:serviceaccount:%s:%s" % (namespace, name), "uid": uid,
                                       "groups": ["system:serviceaccounts",
                                                  "system:serviceaccounts:%s" % namespace]},
                              "audiences": (body.get("spec") or {}).get("audiences") or []}
                answer = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                          "metadata": {"creationTimestamp": None}, "spec": body.get("spec") or {}, "status": review}
            with open(args.log, "a") as log:
                log.write(json.dumps(entry) + "\n")
            return aiohttp.web.json_response(answer, status=status)

    handler = WithTokenReview(store=ObjectStore(), token=args.token)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    runner, port = loop.run_until_complete(_start(handler, args.host, args.port, args.tls_cert, args.tls_key))
    with open(args.ready_file + ".tmp", "w") as ready:
        json.dump({"url": "https://%s:%d" % (args.host, port), "pid": os.getpid()}, ready)
    os.replace(args.ready_file + ".tmp", args.ready_file)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(_stop(handler, runner))


if __name__ == "__main__":
    main()
