# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Workloads for the powercycle scenario, on a stand-in server (Debian python3, the stand-in's client).

The K3s stand-in runs no controllers that make or remove Pods and no CSI attacher, so this
plays their part in the API, as the cluster sees it:

``seed``
    creates (when missing) namespace ``apps`` with Deployments ``web`` (3) and ``api`` (2) and
    StatefulSet ``db`` (2), Deployment ``kube-system/tools`` (1, excluded by the procedure), one Pod
    per replica (spread over the nodes) and one VolumeAttachment per ``db`` Pod.
``run``
    the controllers, until the node powers off: a Pod of a workload scaled to 0 is deleted 2 s
    after the scale-down is seen (kubelet/ReplicaSet controller); a VolumeAttachment is deleted 3 s
    after its Pod is gone (the attach/detach controller and CSI detach). Every deletion is a JSON
    line in ``/var/log/powercycle-workloads.jsonl`` (epoch time), which verify.yml reads back.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import sys
import time

sys.path[:0] = ["/opt/k3s-standin/pylib", "/opt/k3s-standin/src"]

import yaml  # noqa: E402  pylint: disable=wrong-import-position
from k3s_standin.api import Api, ApiFailure  # noqa: E402  pylint: disable=wrong-import-position

LOG = "/var/log/powercycle-workloads.jsonl"
POD_ANNOTATION = "powercycle.test/pod"
WORKLOADS = (("apps", "Deployment", "web", 3), ("apps", "Deployment", "api", 2),
             ("apps", "StatefulSet", "db", 2), ("kube-system", "Deployment", "tools", 1))
POD_DELAY = 2.0
DETACH_DELAY = 3.0


def client():
    with open("/etc/rancher/k3s/k3s.yaml") as handle:
        config = yaml.safe_load(handle)
    return Api(config["clusters"][0]["cluster"]["server"], config["users"][0]["user"]["token"])


def create(api, path, body):
    try:
        api.call("POST", path, body)
    except ApiFailure as exc:
        if exc.status != 409:
            raise


def seed(api):
    nodes = sorted(n["metadata"]["name"] for n in api.get("/api/v1/nodes")["items"])
    create(api, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}})
    index = 0
    for namespace, kind, name, replicas in WORKLOADS:
        labels = {"app": name}
        plural = kind.lower() + "s"
        spec = {"replicas": replicas, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels},
                             "spec": {"containers": [{"name": name, "image": "registry.invalid/%s:1" % name}]}}}
        create(api, "/apis/apps/v1/namespaces/%s/%s" % (namespace, plural),
               {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": namespace},
                "spec": spec})
        current = api.get("/apis/apps/v1/namespaces/%s/%s/%s" % (namespace, plural, name))
        for ordinal in range(current["spec"].get("replicas", 1)):
            pod = "%s-%d" % (name, ordinal)
            node = nodes[index % len(nodes)]
            index += 1
            create(api, "/api/v1/namespaces/%s/pods" % namespace,
                   {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": pod, "namespace": namespace, "labels": labels},
                    "spec": {"nodeName": node, "containers": spec["template"]["spec"]["containers"]}})
            if kind == "StatefulSet":
                create(api, "/apis/storage.k8s.io/v1/volumeattachments",
                       {"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttachment",
                        "metadata": {"name": "csi-%s" % pod, "annotations": {POD_ANNOTATION: "%s/%s" % (namespace, pod)}},
                        "spec": {"attacher": "csi.powercycle.test", "nodeName": node,
                                 "source": {"persistentVolumeName": "pv-%s" % pod}}})


def log(event, **fields):
    with open(LOG, "a") as handle:
        handle.write(json.dumps(dict(fields, event=event, time=time.time())) + "\n")


def controllers(api, seen):
    now = time.time()
    for namespace, kind, name, dummy in WORKLOADS:
        obj = api.get("/apis/apps/v1/namespaces/%s/%ss/%s" % (namespace, kind.lower(), name))
        if obj["spec"].get("replicas", 1) != 0:
            continue
        since = seen.setdefault("zero/%s/%s" % (kind, name), now)
        log_once = "zero-logged/%s/%s" % (kind, name)
        if log_once not in seen:
            seen[log_once] = now
            log("scaled-to-zero", workload="%s/%s/%s" % (kind, namespace, name))
        if now - since < POD_DELAY:
            continue
        for pod in api.get("/api/v1/namespaces/%s/pods?labelSelector=app%%3D%s" % (namespace, name))["items"]:
            api.call("DELETE", "/api/v1/namespaces/%s/pods/%s" % (namespace, pod["metadata"]["name"]))
            log("pod-deleted", pod="%s/%s" % (namespace, pod["metadata"]["name"]))
    for va in api.get("/apis/storage.k8s.io/v1/volumeattachments")["items"]:
        pod = va["metadata"].get("annotations", {}).get(POD_ANNOTATION, "")
        namespace, dummy, name = pod.partition("/")
        try:
            api.get("/api/v1/namespaces/%s/pods/%s" % (namespace, name))
            continue
        except ApiFailure as exc:
            if exc.status != 404:
                raise
        gone = seen.setdefault("gone/" + pod, now)
        if now - gone >= DETACH_DELAY:
            api.call("DELETE", "/apis/storage.k8s.io/v1/volumeattachments/" + va["metadata"]["name"])
            log("va-deleted", va=va["metadata"]["name"], pod=pod)


def main(argv):
    api = client()
    if argv[1:] == ["seed"]:
        seed(api)
        return 0
    if argv[1:] != ["run"]:
        print("usage: workloads.py seed|run", file=sys.stderr)
        return 2
    seen = {}
    while True:
        try:
            controllers(api, seen)
        except ApiFailure:
            pass  # the API is going down with the cluster
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
