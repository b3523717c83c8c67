# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few ``k3s kubectl`` commands the roles use, for the K3s stand-in.

``get|create|replace|delete --raw PATH [-f -]`` (raw requests: GET, POST, PUT, DELETE with the JSON
body read from ``-f FILE``/stdin, as kubectl does; an API error prints ``Error from server (Reason):
message`` on stderr and exits 1, like kubectl); ``get nodes|node [NAME] -o json``; ``delete node NAME``;
``cordon NAME``; ``uncordon NAME``;
``drain NAME [--ignore-daemonsets] [--delete-emptydir-data] [--timeout=T] [--force]`` (the emulator
runs no Pods, so a drain only cordons). Global flags ``--kubeconfig PATH`` and ``--request-timeout T``
(both also as ``--flag=value``). Anything else exits 1 saying it is not implemented.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import sys
import time

import yaml

from .api import Api, ApiFailure


# Flags that take a value (``--flag value`` or ``--flag=value``).
VALUE_FLAGS = ("--raw", "--kubeconfig", "--request-timeout", "-f", "--filename", "-o", "--output", "--timeout")
RAW_VERBS = {"get": "GET", "create": "POST", "replace": "PUT", "delete": "DELETE"}


def _client(kubeconfig, timeout=None):
    with open(kubeconfig) as handle:
        config = yaml.safe_load(handle)
    api = Api(config["clusters"][0]["cluster"]["server"], (config["users"][0].get("user") or {}).get("token"))
    if timeout:
        api.timeout = timeout
    return api


def _parse(argv):
    """(positional words, {flag: value}) with kubectl's two spellings of a value flag."""
    words, flags = [], {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, value = arg.partition("=")
        if name in VALUE_FLAGS:
            flags[name] = value if eq else (args.pop(0) if args else "")
        elif arg.startswith("-"):
            flags[name] = value if eq else True
        else:
            words.append(arg)
    return words, flags


def _seconds(text):
    """kubectl's --request-timeout: a number of seconds or a duration (30s, 1m); 0 = none."""
    text = str(text or "0").strip()
    scale = {"s": 1, "m": 60, "h": 3600}.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in "smh" else text
    try:
        return float(number) * scale
    except ValueError:
        return 0


def _server_error(exc):
    """kubectl's message for an API error: ``Error from server (Reason): message``."""
    try:
        status = json.loads(str(exc).split(" ", 1)[1])
        return "Error from server (%s): %s" % (status.get("reason") or "Unknown", status.get("message") or "")
    except (ValueError, IndexError, AttributeError):
        return "Error from server: %s" % exc


def _raw(api, verb, path, flags):
    body = None
    source = flags.get("-f", flags.get("--filename"))
    if source:
        with (sys.stdin if source == "-" else open(source)) as handle:
            text = handle.read()
        body = json.loads(text) if text.strip() else None
    result = api.call(RAW_VERBS[verb], path, body)
    print(result if isinstance(result, str) else json.dumps(result))
    return 0


def kubectl(argv):
    words, flags = _parse(argv)
    kubeconfig = flags.get("--kubeconfig") or os.environ.get("KUBECONFIG", "/etc/rancher/k3s/k3s.yaml")
    try:
        api = _client(kubeconfig, _seconds(flags.get("--request-timeout")))
        if len(words) == 1 and words[0] in RAW_VERBS and flags.get("--raw"):
            return _raw(api, words[0], flags["--raw"], flags)
        if words[:1] == ["get"] and len(words) > 1 and words[1] in ("node", "nodes", "no"):
            names = words[2:]
            result = api.get("/api/v1/nodes/" + names[0]) if names else api.get("/api/v1/nodes")
            print(json.dumps(result, indent=2))
            return 0
        if words[:2] in (["delete", "node"], ["delete", "nodes"]) and len(words) == 3:
            api.call("DELETE", "/api/v1/nodes/" + words[2])
            print('node "%s" deleted' % words[2])
            # kubectl waits (--wait=true) until finalizers, e.g. K3s's etcd member removal, are done.
            deadline = time.time() + 60
            while time.time() < deadline:
                try:
                    api.get("/api/v1/nodes/" + words[2])
                except ApiFailure as exc:
                    if exc.status == 404:
                        return 0
                    raise
                time.sleep(1)
            print("error: timed out waiting for the deletion of node %s" % words[2], file=sys.stderr)
            return 1
        if words[:1] in (["cordon"], ["uncordon"], ["drain"]) and len(words) == 2:
            api.merge_patch("/api/v1/nodes/" + words[1], {"spec": {"unschedulable": words[0] != "uncordon"}})
            print("node/%s %s" % (words[1], {"cordon": "cordoned", "uncordon": "uncordoned",
                                             "drain": "drained"}[words[0]]))
            return 0
    except ApiFailure as exc:
        print(_server_error(exc) if exc.status else "Unable to connect to the server: %s" % exc, file=sys.stderr)
        return 1
    except (OSError, KeyError, IndexError, ValueError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    print("k3s stand-in: kubectl %s is not implemented" % " ".join(argv), file=sys.stderr)
    return 1
