# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks the stand-in applies to auto-deployed manifests, where real K3s / Cilium would refuse them.

* ``CiliumLoadBalancerIPPool`` (cilium.io/v2 and v2alpha1) and ``CiliumL2AnnouncementPolicy``
  (cilium.io/v2alpha1): the spec fields and their types, from Cilium's Go types
  (``pkg/k8s/apis/cilium.io/v2/lbipam_types.go``, ``v2alpha1/l2announcement_types.go``); the real
  CRDs are structural schemas, so the API server prunes or (with strict field validation) refuses
  unknown fields and refuses wrong types.
* ``HelmChart`` (helm.cattle.io/v1): the spec fields of K3s's helm-controller; for the ``cilium``,
  ``csi-driver-nfs`` and ``csi-driver-smb`` charts, every value in ``valuesContent`` must be one of
  the chart values recorded below for that chart version, with the chart's type (stricter than Helm,
  which ignores unknown values: a key missing here may exist upstream; check the chart and record it
  before the role sets it).
* ``StorageClass`` (storage.k8s.io/v1) of the NFS and SMB CSI drivers: the parameters each driver's
  CreateVolume accepts (it refuses any other with ``invalid parameter``; ``csi.storage.k8s.io/*``
  secret parameters are consumed by the external-provisioner before), and the required ones.

A refused manifest is logged and not applied, as K3s's deploy controller logs and skips it.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ipaddress

import yaml

_SELECTOR = {"matchLabels": dict, "matchExpressions": list}

# cilium.io/v2 CiliumLoadBalancerIPPoolSpec (lbipam_types.go): serviceSelector, allowFirstLastIPs
# (enum Yes/No), blocks ([]{cidr, start, stop}), disabled (bool). v2alpha1 has the same fields.
POOL_SPEC = {"serviceSelector": dict, "allowFirstLastIPs": str, "blocks": list, "disabled": bool}
POOL_BLOCK = {"cidr": str, "start": str, "stop": str}
# cilium.io/v2alpha1 CiliumL2AnnouncementPolicySpec (l2announcement_types.go).
L2_SPEC = {"nodeSelector": dict, "serviceSelector": dict, "loadBalancerIPs": bool, "externalIPs": bool,
           "interfaces": list}
# helm.cattle.io/v1 HelmChartSpec (k3s-io/helm-controller pkg/apis/helm.cattle.io/v1/types.go).
HELMCHART_SPEC = {"targetNamespace": str, "createNamespace": bool, "chart": str, "version": str, "repo": str,
                  "repoCA": str, "repoCAConfigMap": dict, "set": dict, "valuesContent": str,
                  "valuesSecrets": list, "helmVersion": str, "bootstrap": bool, "chartContent": str,
                  "jobImage": str, "backOffLimit": int, "timeout": str, "failurePolicy": str,
                  "authSecret": dict, "authPassCredentials": bool, "insecureSkipTLSVerify": bool,
                  "plainHTTP": bool, "dockerRegistrySecret": dict, "podSecurityContext": dict,
                  "securityContext": dict}
TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer"}

# Values of the cilium chart the roles set, read in cilium/cilium install/kubernetes/cilium/values.yaml
# at the tag of the chart version (the same list is in roles/cilium/tasks/values.yml), with the type of
# the chart's default. kubeProxyReplacement is "false" (a string) in the chart and the agent accepts
# true/false: both types pass.
CILIUM_CHART_VALUES = {
    "1.18.4": {
        "kubeProxyReplacement": (bool, str), "k8sServiceHost": str, "k8sServicePort": (int, str),
        "k8sClientRateLimit.qps": int, "k8sClientRateLimit.burst": int,
        "ipam.mode": str, "ipv4.enabled": bool, "ipv6.enabled": bool,
        "k8s.requireIPv4PodCIDR": bool, "k8s.requireIPv6PodCIDR": bool,
        "l2announcements.enabled": bool, "externalIPs.enabled": bool, "operator.replicas": int,
        "encryption.enabled": bool, "encryption.type": str,
    },
}


# Values of the CSI driver charts (homelab.k3s.csi_drivers), read in the chart's values.yaml at the
# tag of the chart version, with the type of the chart's default. A value recorded as an object or a
# list (e.g. affinity, tolerations) may hold anything below it.
CSI_CHART_VALUES = {
    # csi-driver-nfs 4.13.4: every leaf of kubernetes-csi/csi-driver-nfs v4.13.4:charts/v4.13.4/csi-driver-nfs/values.yaml
    "csi-driver-nfs": {"4.13.4": {
        "customLabels": dict, "image.baseRepo": str, "image.nfs.repository": str, "image.nfs.tag": str,
        "image.nfs.pullPolicy": str, "image.csiProvisioner.repository": str, "image.csiProvisioner.tag": str,
        "image.csiProvisioner.pullPolicy": str, "image.csiResizer.repository": str,
        "image.csiResizer.tag": str, "image.csiResizer.pullPolicy": str,
        "image.csiSnapshotter.repository": str, "image.csiSnapshotter.tag": str,
        "image.csiSnapshotter.pullPolicy": str, "image.livenessProbe.repository": str,
        "image.livenessProbe.tag": str, "image.livenessProbe.pullPolicy": str,
        "image.nodeDriverRegistrar.repository": str, "image.nodeDriverRegistrar.tag": str,
        "image.nodeDriverRegistrar.pullPolicy": str, "image.externalSnapshotter.repository": str,
        "image.externalSnapshotter.tag": str, "image.externalSnapshotter.pullPolicy": str,
        "serviceAccount.create": bool, "serviceAccount.controller": str, "serviceAccount.node": str,
        "rbac.create": bool, "rbac.name": str, "driver.name": str, "driver.mountPermissions": int,
        "feature.enableFSGroupPolicy": bool, "feature.enableInlineVolume": bool,
        "feature.propagateHostMountOptions": bool, "kubeletDir": str, "controller.name": str,
        "controller.replicas": int, "controller.revisionHistoryLimit": int, "controller.strategyType": str,
        "controller.runOnMaster": bool, "controller.runOnControlPlane": bool,
        "controller.enableSnapshotter": bool, "controller.useTarCommandInSnapshot": bool,
        "controller.enableSnapshotCompression": bool, "controller.livenessProbe.healthPort": int,
        "controller.logLevel": int, "controller.workingMountDir": str, "controller.dnsPolicy": str,
        "controller.defaultOnDeletePolicy": str, "controller.affinity": dict, "controller.nodeSelector": dict,
        "controller.priorityClassName": str, "controller.tolerations": list,
        "controller.resources.csiProvisioner.limits.memory": str,
        "controller.resources.csiProvisioner.requests.cpu": str,
        "controller.resources.csiProvisioner.requests.memory": str,
        "controller.resources.csiResizer.limits.memory": str,
        "controller.resources.csiResizer.requests.cpu": str,
        "controller.resources.csiResizer.requests.memory": str,
        "controller.resources.csiSnapshotter.limits.memory": str,
        "controller.resources.csiSnapshotter.requests.cpu": str,
        "controller.resources.csiSnapshotter.requests.memory": str,
        "controller.resources.livenessProbe.limits.memory": str,
        "controller.resources.livenessProbe.requests.cpu": str,
        "controller.resources.livenessProbe.requests.memory": str,
        "controller.resources.nfs.limits.memory": str, "controller.resources.nfs.requests.cpu": str,
        "controller.resources.nfs.requests.memory": str, "nodeDriverRegistrar.timeout": int,
        "nodeDriverRegistrar.healthPort": int, "nodeDriverRegistrar.livenessProbe.enabled": bool,
        "nodeDriverRegistrar.livenessProbe.initialDelaySeconds": int,
        "nodeDriverRegistrar.livenessProbe.timeoutSeconds": int,
        "nodeDriverRegistrar.livenessProbe.periodSeconds": int,
        "nodeDriverRegistrar.livenessProbe.failureThreshold": int, "node.name": str, "node.dnsPolicy": str,
        "node.revisionHistoryLimit": int, "node.maxUnavailable": int, "node.logLevel": int,
        "node.livenessProbe.healthPort": int, "node.affinity": dict, "node.nodeSelector": dict,
        "node.priorityClassName": str, "node.tolerations": list,
        "node.resources.livenessProbe.limits.memory": str, "node.resources.livenessProbe.requests.cpu": str,
        "node.resources.livenessProbe.requests.memory": str,
        "node.resources.nodeDriverRegistrar.limits.memory": str,
        "node.resources.nodeDriverRegistrar.requests.cpu": str,
        "node.resources.nodeDriverRegistrar.requests.memory": str, "node.resources.nfs.limits.memory": str,
        "node.resources.nfs.requests.cpu": str, "node.resources.nfs.requests.memory": str,
        "externalSnapshotter.enabled": bool, "externalSnapshotter.name": str,
        "externalSnapshotter.priorityClassName": str, "externalSnapshotter.deletionPolicy": str,
        "externalSnapshotter.controller.replicas": int,
        "externalSnapshotter.controller.revisionHistoryLimit": int,
        "externalSnapshotter.resources.limits.memory": str, "externalSnapshotter.resources.requests.cpu": str,
        "externalSnapshotter.resources.requests.memory": str,
        "externalSnapshotter.customResourceDefinitions.enabled": bool, "volumeSnapshotClass.create": bool,
        "volumeSnapshotClass.name": str, "volumeSnapshotClass.deletionPolicy": str, "imagePullSecrets": list,
        "storageClass.create": bool,
    }},
    # csi-driver-smb 1.20.3: every leaf of kubernetes-csi/csi-driver-smb v1.20.3:charts/v1.20.3/csi-driver-smb/values.yaml
    "csi-driver-smb": {"1.20.3": {
        "image.baseRepo": str, "image.smb.repository": str, "image.smb.tag": str, "image.smb.pullPolicy": str,
        "image.csiProvisioner.repository": str, "image.csiProvisioner.tag": str,
        "image.csiProvisioner.pullPolicy": str, "image.csiResizer.repository": str,
        "image.csiResizer.tag": str, "image.csiResizer.pullPolicy": str,
        "image.livenessProbe.repository": str, "image.livenessProbe.tag": str,
        "image.livenessProbe.pullPolicy": str, "image.nodeDriverRegistrar.repository": str,
        "image.nodeDriverRegistrar.tag": str, "image.nodeDriverRegistrar.pullPolicy": str,
        "image.csiproxy.repository": str, "image.csiproxy.tag": str, "image.csiproxy.pullPolicy": str,
        "serviceAccount.create": bool, "serviceAccount.controller": str, "serviceAccount.node": str,
        "rbac.create": bool, "rbac.name": str, "driver.name": str, "driver.labels": dict,
        "feature.enableGetVolumeStats": bool, "feature.enableInlineVolume": bool, "controller.name": str,
        "controller.replicas": int, "controller.dnsPolicy": str, "controller.metricsPort": int,
        "controller.livenessProbe.healthPort": int, "controller.runOnMaster": bool,
        "controller.runOnControlPlane": bool, "controller.logLevel": int, "controller.workingMountDir": str,
        "controller.resources.csiProvisioner.limits.memory": str,
        "controller.resources.csiProvisioner.requests.cpu": str,
        "controller.resources.csiProvisioner.requests.memory": str,
        "controller.resources.csiResizer.limits.memory": str,
        "controller.resources.csiResizer.requests.cpu": str,
        "controller.resources.csiResizer.requests.memory": str,
        "controller.resources.livenessProbe.limits.memory": str,
        "controller.resources.livenessProbe.requests.cpu": str,
        "controller.resources.livenessProbe.requests.memory": str,
        "controller.resources.smb.limits.memory": str, "controller.resources.smb.requests.cpu": str,
        "controller.resources.smb.requests.memory": str, "controller.extraArgs.csiProvisioner": list,
        "controller.extraArgs.csiResizer": list, "controller.affinity": dict, "controller.nodeSelector": dict,
        "controller.tolerations": list, "node.maxUnavailable": int, "node.logLevel": int,
        "node.livenessProbe.healthPort": int, "node.affinity": dict, "node.nodeSelector": dict,
        "linux.enabled": bool, "linux.dsName": str, "linux.dnsPolicy": str, "linux.kubelet": str,
        "linux.krb5CacheDirectory": str, "linux.krb5Prefix": str, "linux.tolerations": list,
        "linux.resources.livenessProbe.limits.memory": str, "linux.resources.livenessProbe.requests.cpu": str,
        "linux.resources.livenessProbe.requests.memory": str,
        "linux.resources.nodeDriverRegistrar.limits.memory": str,
        "linux.resources.nodeDriverRegistrar.requests.cpu": str,
        "linux.resources.nodeDriverRegistrar.requests.memory": str, "linux.resources.smb.limits.memory": str,
        "linux.resources.smb.requests.cpu": str, "linux.resources.smb.requests.memory": str,
        "windows.enabled": bool, "windows.useHostProcessContainers": bool, "windows.dsName": str,
        "windows.kubelet": str, "windows.removeSMBMappingDuringUnmount": bool, "windows.tolerations": list,
        "windows.resources.livenessProbe.limits.memory": str,
        "windows.resources.livenessProbe.requests.cpu": str,
        "windows.resources.livenessProbe.requests.memory": str,
        "windows.resources.nodeDriverRegistrar.limits.memory": str,
        "windows.resources.nodeDriverRegistrar.requests.cpu": str,
        "windows.resources.nodeDriverRegistrar.requests.memory": str,
        "windows.resources.smb.limits.memory": str, "windows.resources.smb.requests.cpu": str,
        "windows.resources.smb.requests.memory": str, "windows.csiproxy.enabled": bool,
        "windows.csiproxy.dsName": str, "windows.csiproxy.tolerations": dict,
        "windows.csiproxy.affinity": dict, "windows.csiproxy.username": str,
        "windows.csiproxy.nodeSelector.kubernetes.io/os": str, "customLabels": dict, "podAnnotations": dict,
        "podLabels": dict, "priorityClassName": str, "securityContext.seccompProfile.type": str,
    }},
}

# StorageClass parameters each CSI driver's CreateVolume accepts (case-insensitive), read at the tag
# of the pinned chart version: csi-driver-nfs v4.13.4 pkg/nfs/nfs.go + controllerserver.go
# (server, share, subdir, ondelete, mountpermissions, the pvc/pv name keys), csi-driver-smb v1.20.3
# pkg/smb/smb.go + controllerserver.go (source, subdir, ondelete, the pvc/pv name keys).
_PV_KEYS = ("csi.storage.k8s.io/pvc/name", "csi.storage.k8s.io/pvc/namespace", "csi.storage.k8s.io/pv/name")
STORAGECLASS_PARAMETERS = {
    "nfs.csi.k8s.io": {"allowed": ("server", "share", "subdir", "ondelete", "mountpermissions") + _PV_KEYS,
                       "required": ("server", "share")},
    "smb.csi.k8s.io": {"allowed": ("source", "subdir", "ondelete") + _PV_KEYS, "required": ("source",)},
}
# Secret parameters the external-provisioner consumes (kubernetes-csi/external-provisioner
# pkg/controller/controller.go prefixes), never passed to the driver.
_SECRET_PARAMETER = ("csi.storage.k8s.io/provisioner-secret-", "csi.storage.k8s.io/node-stage-secret-",
                     "csi.storage.k8s.io/controller-expand-secret-", "csi.storage.k8s.io/node-publish-secret-",
                     "csi.storage.k8s.io/controller-publish-secret-", "csi.storage.k8s.io/node-expand-secret-",
                     "csi.storage.k8s.io/fstype")


def check_storageclass(doc):
    rules = STORAGECLASS_PARAMETERS.get(doc.get("provisioner"))
    if rules is None:
        return []
    problems = []
    params = doc.get("parameters") or {}
    if not isinstance(params, dict):
        return ["parameters: must be an object"]
    for key, value in params.items():
        if not isinstance(value, str):
            problems.append("parameters.%s: Invalid value: %r: must be of type string" % (key, value))
        if str(key).startswith(_SECRET_PARAMETER):
            continue
        if str(key).lower() not in rules["allowed"]:
            problems.append('parameters: invalid parameter "%s" in storage class (%s)' % (key, doc["provisioner"]))
    lowered = {str(k).lower(): v for k, v in params.items()}
    for key in rules["required"]:
        if not lowered.get(key):
            problems.append("parameters.%s: Required value (%s)" % (key, doc["provisioner"]))
    if not isinstance(doc.get("mountOptions", []), list):
        problems.append("mountOptions: must be of type array")
    return problems


def _fields(where, obj, allowed):
    problems = []
    if not isinstance(obj, dict):
        return ["%s: must be an object" % where]
    for key, value in obj.items():
        if key not in allowed:
            problems.append('%s: unknown field "%s"' % (where, key))
        elif not isinstance(value, allowed[key]) or (allowed[key] is int and isinstance(value, bool)):
            problems.append("%s.%s: Invalid value: %r: must be of type %s"
                            % (where, key, value, TYPE_NAMES[allowed[key]]))
    return problems


def _selector(where, value):
    return _fields(where, value, _SELECTOR) if isinstance(value, dict) else []


def check_pool(doc):
    spec = doc.get("spec")
    if spec is None:
        return ["CiliumLoadBalancerIPPool %s: spec: Required value" % doc.get("metadata", {}).get("name")]
    problems = _fields("spec", spec, POOL_SPEC) + _selector("spec.serviceSelector", spec.get("serviceSelector"))
    if spec.get("allowFirstLastIPs") not in (None, "Yes", "No"):
        problems.append('spec.allowFirstLastIPs: Unsupported value: %r: supported values: "Yes", "No"'
                        % spec["allowFirstLastIPs"])
    for index, block in enumerate(spec.get("blocks") or []):
        where = "spec.blocks[%d]" % index
        problems += _fields(where, block, POOL_BLOCK)
        if isinstance(block, dict) and block.get("cidr") is not None:
            try:
                ipaddress.ip_network(str(block["cidr"]), strict=False)
            except ValueError:
                problems.append("%s.cidr: Invalid value: %r: must be a CIDR" % (where, block["cidr"]))
    return problems


def check_l2_policy(doc):
    spec = doc.get("spec") or {}
    problems = _fields("spec", spec, L2_SPEC)
    problems += _selector("spec.nodeSelector", spec.get("nodeSelector"))
    problems += _selector("spec.serviceSelector", spec.get("serviceSelector"))
    for item in spec.get("interfaces") or []:
        if not isinstance(item, str):
            problems.append("spec.interfaces: Invalid value: %r: must be of type string" % item)
    return problems


def check_helmchart(doc):
    spec = doc.get("spec") or {}
    problems = _fields("spec", spec, HELMCHART_SPEC)
    if not spec.get("chart") and not spec.get("chartContent"):
        problems.append("spec.chart: Required value")
    content = spec.get("valuesContent")
    if isinstance(content, str):
        try:
            values = yaml.safe_load(content)
        except yaml.YAMLError as exc:
            problems.append("spec.valuesContent: not valid YAML: %s" % exc)
        else:
            if values is not None and not isinstance(values, dict):
                problems.append("spec.valuesContent: must be a YAML mapping")
            elif values and spec.get("chart") == "cilium":
                problems += _cilium_values(str(spec.get("version")), values)
            elif values and spec.get("chart") in CSI_CHART_VALUES:
                problems += _csi_values(spec["chart"], str(spec.get("version")), values)
    return problems


def _leaves(values, prefix=""):
    for key, value in values.items():
        path = prefix + str(key)
        if isinstance(value, dict) and value:
            yield from _leaves(value, path + ".")
        else:
            yield path, value


def _allows_bool(kinds):
    return bool in (kinds if isinstance(kinds, tuple) else (kinds,))


def _cilium_values(version, values):
    recorded = CILIUM_CHART_VALUES.get(version)
    if recorded is None:
        return ['spec.valuesContent: no recorded values for the cilium chart %s (recorded: %s)'
                % (version, ", ".join(sorted(CILIUM_CHART_VALUES)))]
    problems = []
    for path, value in _leaves(values):
        kinds = recorded.get(path)
        if kinds is None:
            problems.append('spec.valuesContent: value "%s" is not a recorded value of the cilium chart %s'
                            % (path, version))
        elif not isinstance(value, kinds) or (isinstance(value, bool) and not _allows_bool(kinds)):
            problems.append("spec.valuesContent.%s: Invalid value: %r: wrong type for the cilium chart %s"
                            % (path, value, version))
    return problems


def _csi_values(chart, version, values, prefix=""):
    recorded = CSI_CHART_VALUES[chart].get(version)
    if recorded is None:
        return ['spec.valuesContent: no recorded values for the %s chart %s (recorded: %s)'
                % (chart, version, ", ".join(sorted(CSI_CHART_VALUES[chart])))]
    problems = []
    for key, value in values.items():
        path = prefix + str(key)
        kind = recorded.get(path)
        if kind is None and isinstance(value, dict) and any(k.startswith(path + ".") for k in recorded):
            problems += _csi_values(chart, version, value, path + ".")
        elif kind is None:
            problems.append('spec.valuesContent: value "%s" is not a recorded value of the %s chart %s'
                            % (path, chart, version))
        elif not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            problems.append("spec.valuesContent.%s: Invalid value: %r: wrong type for the %s chart %s"
                            % (path, value, chart, version))
    return problems


CHECKS = {("cilium.io", "CiliumLoadBalancerIPPool"): check_pool,
          ("cilium.io", "CiliumL2AnnouncementPolicy"): check_l2_policy,
          ("helm.cattle.io", "HelmChart"): check_helmchart,
          ("storage.k8s.io", "StorageClass"): check_storageclass}


KINDS = tuple(kind for dummy, kind in CHECKS)


def check_document(doc):
    """Problems of one manifest document (empty when K3s/Cilium would accept it)."""
    group = str(doc.get("apiVersion", "")).rpartition("/")[0]
    check = CHECKS.get((group, doc.get("kind")))
    if check is None:
        return []
    name = "%s %s" % (doc.get("kind"), doc.get("metadata", {}).get("name"))
    return ["%s: %s" % (name, p) for p in check(doc)]
