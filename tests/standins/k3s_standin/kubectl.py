# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few ``k3s kubectl`` commands the roles use, for the K3s stand-in.

``get --raw PATH``; ``get nodes|node [NAME] -o json``; ``delete node NAME``; ``cordon NAME``;
``uncordon NAME``;
``drain NAME [--ignore-daemonsets] [--delete-emptydir-data] [--timeout=T] [--force]`` (the emulator
runs no Pods, so a drain only cordons). Anything else exits 1 saying it is not implemented.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import sys
import time

import yaml

from .api import Api, ApiFailure


def _client(kubeconfig):
    with open(kubeconfig) as handle:
        config = yaml.safe_load(handle)
    return Api(config["clusters"][0]["cluster"]["server"], config["users"][0]["user"]["token"])


def kubectl(argv):
    kubeconfig = os.environ.get("KUBECONFIG", "/etc/rancher/k3s/k3s.yaml")
    words = []
    for arg in argv:
        if arg.startswith("--kubeconfig="):
            kubeconfig = arg.split("=", 1)[1]
        elif not arg.startswith("-") or arg in ("-o",):
            words.append(arg)
    try:
        api = _client(kubeconfig)
        if words[:1] == ["get"] and "--raw" in argv:
            result = api.get(argv[argv.index("--raw") + 1])
            print(result if isinstance(result, str) else json.dumps(result))
            return 0
        if words[:1] == ["get"] and len(words) > 1 and words[1] in ("node", "nodes", "no"):
            names = [w for w in words[2:] if w not in ("-o", "json")]
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
        print("Error from server: %s" % exc, file=sys.stderr)
        return 1
    except (OSError, KeyError, IndexError, ValueError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    print("k3s stand-in: kubectl %s is not implemented" % " ".join(argv), file=sys.stderr)
    return 1
