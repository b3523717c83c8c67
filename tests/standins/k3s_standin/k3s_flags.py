# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flags of ``k3s server`` and ``k3s agent`` (K3s v1.34), with their urfave/cli value types.

Source: the ``k3s server --help`` / ``k3s agent --help`` output recorded in the K3s documentation,
k3s-io/docs ``docs/cli/server.md`` (commit 02434960d6d5881e47ae8a1c857c4b51f23deec6) and
``docs/cli/agent.md`` (commit 1f023c058c5f999a8857644625779e7298d13936), which document the
v1.3x flag set (``supervisor-metrics``, ``etcd-s3-config-secret``, ``nonroot-devices``,
``disable-apiserver-lb``...). Hidden server flags that the help omits but the documentation
describes: ``secrets-encryption-provider`` (docs/cli/server.md, Secrets Encryption),
``disable-agent``, ``disable-apiserver``, ``disable-controller-manager``, ``disable-etcd``
(docs/cli/server.md Experimental Options and docs/advanced.md, split server roles).
The types are those of the help text: ``value`` flags are strings unless K3s' ``server.go`` /
``agent.go`` declare them ``IntFlag`` (ports, retention, ``-v``), ``DurationFlag``
(``etcd-s3-timeout``) or ``StringSliceFlag`` (repeatable: CIDRs, SANs, labels, taints, node IPs,
``*-arg``, ``disable``); flags without ``value`` are booleans.

Types: ``bool``, ``int``, ``string``, ``slice`` (string or list), ``duration`` (Go duration).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

SOURCE = ("k3s-io/docs docs/cli/server.md@02434960d6d5881e47ae8a1c857c4b51f23deec6, "
          "docs/cli/agent.md@1f023c058c5f999a8857644625779e7298d13936 (K3s v1.3x CLI help)")

_COMMON = {
    "config": "string", "debug": "bool", "v": "int", "vmodule": "string", "log": "string",
    "alsologtostderr": "bool", "token": "string", "token-file": "string", "server": "string",
    "data-dir": "string", "bind-address": "string",
    # agent/node
    "node-name": "string", "with-node-id": "bool", "node-label": "slice", "node-taint": "slice",
    "image-credential-provider-bin-dir": "string", "image-credential-provider-config": "string",
    "selinux": "bool", "lb-server-port": "int", "protect-kernel-defaults": "bool",
    # agent/runtime and containerd
    "docker": "bool", "container-runtime-endpoint": "string", "default-runtime": "string",
    "image-service-endpoint": "string", "disable-default-registry-endpoint": "bool",
    "nonroot-devices": "bool", "pause-image": "string", "snapshotter": "string",
    "private-registry": "string",
    # agent/networking
    "node-ip": "slice", "node-external-ip": "slice", "node-internal-dns": "slice",
    "node-external-dns": "slice", "resolv-conf": "string", "flannel-iface": "string",
    "flannel-conf": "string", "flannel-cni-conf": "string", "vpn-auth": "string", "vpn-auth-file": "string",
    # agent/flags
    "kubelet-arg": "slice", "kube-proxy-arg": "slice",
    # experimental
    "enable-pprof": "bool", "rootless": "bool", "prefer-bundled-bin": "bool",
}

AGENT_FLAGS = dict(_COMMON, **{"disable-apiserver-lb": "bool"})

SERVER_FLAGS = dict(_COMMON, **{
    # listener
    "https-listen-port": "int", "advertise-address": "string", "advertise-port": "int", "tls-san": "slice",
    "tls-san-security": "bool",
    # networking
    "cluster-cidr": "slice", "service-cidr": "slice", "service-node-port-range": "string",
    "cluster-dns": "slice", "cluster-domain": "string", "flannel-backend": "string",
    "flannel-ipv6-masq": "bool", "flannel-external-ip": "bool", "egress-selector-mode": "string",
    "servicelb-namespace": "string",
    # client
    "write-kubeconfig": "string", "write-kubeconfig-mode": "string", "write-kubeconfig-group": "string",
    "helm-job-image": "string",
    # cluster
    "agent-token": "string", "agent-token-file": "string", "cluster-init": "bool", "cluster-reset": "bool",
    "cluster-reset-restore-path": "string",
    # flags
    "kube-apiserver-arg": "slice", "etcd-arg": "slice", "kube-controller-manager-arg": "slice",
    "kube-scheduler-arg": "slice", "kube-cloud-controller-manager-arg": "slice",
    # db
    "datastore-endpoint": "string", "datastore-cafile": "string", "datastore-certfile": "string",
    "datastore-keyfile": "string", "etcd-expose-metrics": "bool", "etcd-disable-snapshots": "bool",
    "etcd-snapshot-name": "string", "etcd-snapshot-schedule-cron": "string", "etcd-snapshot-retention": "int",
    "etcd-snapshot-dir": "string", "etcd-snapshot-compress": "bool", "etcd-s3": "bool",
    "etcd-s3-endpoint": "string", "etcd-s3-endpoint-ca": "string", "etcd-s3-skip-ssl-verify": "bool",
    "etcd-s3-access-key": "string", "etcd-s3-secret-key": "string", "etcd-s3-bucket": "string",
    "etcd-s3-region": "string", "etcd-s3-folder": "string", "etcd-s3-proxy": "string",
    "etcd-s3-config-secret": "string", "etcd-s3-insecure": "bool", "etcd-s3-timeout": "duration",
    # storage and components
    "default-local-storage-path": "string", "disable": "slice", "disable-scheduler": "bool",
    "disable-cloud-controller": "bool", "disable-kube-proxy": "bool", "disable-network-policy": "bool",
    "disable-helm-controller": "bool", "embedded-registry": "bool", "supervisor-metrics": "bool",
    "system-default-registry": "string",
    # secrets encryption
    "secrets-encryption": "bool", "secrets-encryption-provider": "string",
    # hidden, documented (split roles, agentless servers)
    "disable-agent": "bool", "disable-apiserver": "bool", "disable-controller-manager": "bool",
    "disable-etcd": "bool",
})

# Short aliases (``--token value, -t value``...).
ALIASES = {"c": "config", "l": "log", "t": "token", "s": "server", "d": "data-dir", "o": "write-kubeconfig",
           "i": "node-ip"}

# ``k3s server --disable`` items (server.md: "valid items: coredns, servicelb, traefik, local-storage,
# metrics-server, runtimes").
DISABLE_ITEMS = ("coredns", "servicelb", "traefik", "local-storage", "metrics-server", "runtimes")
