# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks the stand-in applies to auto-deployed manifests, where real K3s / Cilium would refuse them.

* ``CiliumLoadBalancerIPPool`` (cilium.io/v2 and v2alpha1) and ``CiliumL2AnnouncementPolicy``
  (cilium.io/v2alpha1): the spec fields and their types, from Cilium's Go types
  (``pkg/k8s/apis/cilium.io/v2/lbipam_types.go``, ``v2alpha1/l2announcement_types.go``); the real
  CRDs are structural schemas, so the API server prunes or (with strict field validation) refuses
  unknown fields and refuses wrong types.
* ``HelmChart`` (helm.cattle.io/v1): the spec fields of K3s's helm-controller; for the ``cilium``
  chart, every value in ``valuesContent`` must be one of the chart values recorded below for that
  chart version, with the chart's type (stricter than Helm, which ignores unknown values: a key
  missing here may exist upstream; check the chart and record it before the role sets it).

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


CHECKS = {("cilium.io", "CiliumLoadBalancerIPPool"): check_pool,
          ("cilium.io", "CiliumL2AnnouncementPolicy"): check_l2_policy,
          ("helm.cattle.io", "HelmChart"): check_helmchart}


KINDS = tuple(kind for dummy, kind in CHECKS)


def check_document(doc):
    """Problems of one manifest document (empty when K3s/Cilium would accept it)."""
    group = str(doc.get("apiVersion", "")).rpartition("/")[0]
    check = CHECKS.get((group, doc.get("kind")))
    if check is None:
        return []
    name = "%s %s" % (doc.get("kind"), doc.get("metadata", {}).get("name"))
    return ["%s: %s" % (name, p) for p in check(doc)]
