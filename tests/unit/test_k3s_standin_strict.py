# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every refusal of the strict K3s stand-in (tests/standins/k3s_standin), one test each."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest
import yaml

STANDINS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "standins")
sys.path.insert(0, STANDINS)

from k3s_standin import charts, validate  # noqa: E402  pylint: disable=wrong-import-position
from k3s_standin.standin import Refused, parse_token  # noqa: E402  pylint: disable=wrong-import-position
from k8s_emulator.kvstore import KvObjectStore  # noqa: E402  pylint: disable=wrong-import-position
from k8s_emulator.store import ApiError  # noqa: E402  pylint: disable=wrong-import-position


def write_config(tmp_path, data, dropins=None):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    for name, content in (dropins or {}).items():
        (tmp_path / "config.yaml.d").mkdir(exist_ok=True)
        (tmp_path / "config.yaml.d" / name).write_text(yaml.safe_dump(content))
    return str(path)


def load(tmp_path, data, role="server", argv=(), dropins=None):
    return validate.load_config(role, list(argv), write_config(tmp_path, data, dropins))


# -- config.yaml and flags ---------------------------------------------------------------------
def test_the_roles_keys_are_accepted(tmp_path):
    config, problems = load(tmp_path, {
        "node-name": "n1", "node-ip": "10.0.0.1,fd00::1", "token": "t", "node-label": ["a=b"],
        "node-taint": ["k=v:NoSchedule"], "kubelet-arg": ["config=/x"], "cluster-init": True,
        "tls-san": ["api.example"], "cluster-cidr": "10.42.0.0/16", "service-cidr": ["10.43.0.0/16"],
        "flannel-backend": "none", "disable-network-policy": True, "disable-kube-proxy": True,
        "disable": ["traefik", "servicelb"], "write-kubeconfig-mode": "0600", "etcd-snapshot-retention": 5,
        "etcd-s3-timeout": "5m0s", "embedded-registry": True, "secrets-encryption": True})
    assert problems == []
    assert config["node-label"] == ["a=b"]


def test_unknown_config_key_is_refused(tmp_path):
    dummy, problems = load(tmp_path, {"node-name": "n1", "kubelet-args": ["x=y"]})
    assert problems == ["Unknown flag --kubelet-args found in %s (K3s would skip it: the setting would be lost)"
                        % (tmp_path / "config.yaml")]


def test_unknown_key_in_a_dropin_is_refused_naming_the_file(tmp_path):
    dummy, problems = load(tmp_path, {"node-name": "n1"}, dropins={"50-extra.yaml": {"no-such-flag": 1}})
    assert len(problems) == 1 and "50-extra.yaml" in problems[0] and "--no-such-flag" in problems[0]


def test_server_only_key_on_an_agent_is_refused(tmp_path):
    dummy, problems = load(tmp_path, {"server": "https://x:6443", "cluster-init": True}, role="agent")
    assert problems and "Unknown flag --cluster-init" in problems[0]


@pytest.mark.parametrize("key,value,expected", [
    ("https-listen-port", "abc", 'invalid value "abc" for flag -https-listen-port'),
    ("etcd-snapshot-retention", True, 'invalid value "true" for flag -etcd-snapshot-retention'),
    ("cluster-init", "maybe", 'invalid boolean value "maybe" for -cluster-init'),
    ("etcd-s3-timeout", "5 minutes", 'invalid value "5 minutes" for flag -etcd-s3-timeout'),
    ("node-label", {"a": "b"}, "invalid value {'a': 'b'} for flag -node-label"),
    ("etcd-s3-secret-key", ["a", "b"], "invalid value '<redacted>' for flag -etcd-s3-secret-key"),
])
def test_value_of_the_wrong_type_is_refused(tmp_path, key, value, expected):
    dummy, problems = load(tmp_path, {key: value})
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_unknown_command_line_flag_is_refused(tmp_path):
    dummy, problems = load(tmp_path, {}, argv=["--no-such-thing=1"])
    assert problems == ["flag provided but not defined: -no-such-thing"]


def test_command_line_flag_without_its_value_is_refused(tmp_path):
    dummy, problems = load(tmp_path, {}, argv=["--node-name"])
    assert problems == ["flag needs an argument: -node-name"]


def test_aliases_append_and_override(tmp_path):
    config, problems = load(tmp_path, {"node-label": ["a=1"], "t": "tok"}, argv=["--node-name", "x", "--debug"],
                            dropins={"10.yaml": {"node-label+": ["b=2"]}, "20.yaml": {"node-name": "y"}})
    assert problems == []
    assert config["token"] == "tok" and config["node-label"] == ["a=1", "b=2"]
    assert config["node-name"] == "x" and config["debug"] == "true"


# -- kubelet config file -------------------------------------------------------------------------
def kubelet(tmp_path, body):
    path = tmp_path / "kubelet.config"
    path.write_text(yaml.safe_dump(dict({"apiVersion": "kubelet.config.k8s.io/v1beta1",
                                         "kind": "KubeletConfiguration"}, **body)))
    return {"kubelet-arg": ["config=%s" % path, "max-pods=50"]}


def test_kubelet_config_with_known_fields_is_accepted(tmp_path):
    assert validate.check_kubelet(kubelet(tmp_path, {"shutdownGracePeriod": "60s",
                                                     "shutdownGracePeriodCriticalPods": "10s",
                                                     "maxPods": 50, "featureGates": {"X": True}})) == []


def test_kubelet_config_unknown_field_is_refused(tmp_path):
    problems = validate.check_kubelet(kubelet(tmp_path, {"shutdownGracePeriods": "60s"}))
    assert len(problems) == 1 and 'strict decoding error: unknown field "shutdownGracePeriods"' in problems[0]


def test_kubelet_config_wrong_type_is_refused(tmp_path):
    problems = validate.check_kubelet(kubelet(tmp_path, {"shutdownGracePeriod": 60}))
    assert len(problems) == 1 and "field shutdownGracePeriod: 60 is not a valid duration" in problems[0]


@pytest.mark.parametrize("grace, critical, message", [
    ("30s", "1m", "shutdownGracePeriodCriticalPods 1m must be <= shutdownGracePeriod 30s"),
    ("500ms", "0s", "shutdownGracePeriod 500ms must be either zero or otherwise >= 1 sec"),
    ("10s", "-1s", "shutdownGracePeriodCriticalPods -1s must be either zero or otherwise >= 1 sec"),
])
def test_kubelet_refuses_grace_periods_it_cannot_honour(tmp_path, grace, critical, message):
    problems = validate.check_kubelet(kubelet(tmp_path, {"shutdownGracePeriod": grace,
                                                         "shutdownGracePeriodCriticalPods": critical}))
    assert problems == ["kubelet: invalid configuration: " + message]


def test_kubelet_grace_periods_in_other_units_are_compared_in_seconds(tmp_path):
    assert validate.check_kubelet(kubelet(tmp_path, {"shutdownGracePeriod": "1m30s",
                                                     "shutdownGracePeriodCriticalPods": "90s"})) == []
    assert validate.check_kubelet(kubelet(tmp_path, {"shutdownGracePeriod": "0s"})) == []


def test_kubelet_config_wrong_kind_is_refused(tmp_path):
    path = tmp_path / "kubelet.config"
    path.write_text(yaml.safe_dump({"apiVersion": "kubelet.config.k8s.io/v1", "kind": "KubeletConfiguration"}))
    problems = validate.check_kubelet({"kubelet-arg": ["config=%s" % path]})
    assert len(problems) == 1 and "apiVersion/kind must be kubelet.config.k8s.io/v1beta1" in problems[0]


def test_missing_kubelet_config_file_is_refused(tmp_path):
    problems = validate.check_kubelet({"kubelet-arg": ["config=%s" % (tmp_path / "nope")]})
    assert len(problems) == 1 and "no such file or directory" in problems[0]


def test_kubelet_config_dir_dropins_are_checked(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "10.conf").write_text(yaml.safe_dump({"apiVersion": "kubelet.config.k8s.io/v1beta1",
                                                            "kind": "KubeletConfiguration", "bogus": 1}))
    problems = validate.check_kubelet({"kubelet-arg": ["config-dir=%s" % (tmp_path / "d")]})
    assert len(problems) == 1 and 'unknown field "bogus"' in problems[0]


# -- tokens --------------------------------------------------------------------------------------
def test_token_forms():
    digest = "a" * 64
    assert parse_token("K10%s::server:pw" % digest) == (digest, "pw")
    assert parse_token("pw") == (None, "pw")


@pytest.mark.parametrize("token,message", [
    ("K10nothex::server:pw", "the CA hash of a K10 token must be 64 hex digits"),
    ("K10%s::pw" % ("a" * 64), "expected K10<hash>::<username>:<password>"),
])
def test_malformed_full_token_is_refused(token, message):
    with pytest.raises(Refused, match=message.replace("<", ".").replace(">", ".")):
        parse_token(token)


# -- manifests: Cilium pool / L2 policy CRD fields, HelmChart spec -------------------------------
POOL = {"apiVersion": "cilium.io/v2", "kind": "CiliumLoadBalancerIPPool", "metadata": {"name": "p"},
        "spec": {"blocks": [{"cidr": "10.0.0.0/29"}, {"start": "10.0.1.1", "stop": "10.0.1.9"}],
                 "allowFirstLastIPs": "No", "serviceSelector": {"matchLabels": {"a": "b"}}}}
L2 = {"apiVersion": "cilium.io/v2alpha1", "kind": "CiliumL2AnnouncementPolicy", "metadata": {"name": "l2"},
      "spec": {"loadBalancerIPs": True, "externalIPs": False, "interfaces": ["^eth0$"],
               "nodeSelector": {"matchExpressions": []}}}
CHART = {"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart", "metadata": {"name": "cilium"},
         "spec": {"chart": "cilium", "repo": "https://helm.cilium.io/", "version": "1.18.4", "bootstrap": True,
                  "targetNamespace": "kube-system", "valuesContent": "ipam:\n  mode: kubernetes\n"}}


def with_spec(doc, **changes):
    return dict(doc, spec=dict(doc["spec"], **changes))


def test_valid_manifests_pass():
    assert charts.check_document(POOL) == [] and charts.check_document(L2) == []
    assert charts.check_document(CHART) == []
    values = ("kubeProxyReplacement: true\nk8sServiceHost: '::1'\nk8sServicePort: 6444\n"
              "k8sClientRateLimit: {qps: 20, burst: 40}\nipv4: {enabled: true}\nipv6: {enabled: true}\n"
              "k8s: {requireIPv4PodCIDR: true, requireIPv6PodCIDR: true}\nl2announcements: {enabled: true}\n"
              "externalIPs: {enabled: true}\noperator: {replicas: 2}\n"
              "encryption: {enabled: true, type: wireguard}\n")
    assert charts.check_document(with_spec(CHART, valuesContent=CHART["spec"]["valuesContent"] + values)) == []
    # Another chart's values are not checked.
    assert charts.check_document(with_spec(CHART, chart="traefik", valuesContent="anything: 1\n")) == []
    assert charts.check_document({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}) == []


@pytest.mark.parametrize("doc,expected", [
    (with_spec(POOL, cidrs=[{"cidr": "10.0.0.0/29"}]), 'spec: unknown field "cidrs"'),
    (with_spec(POOL, allowFirstLastIPs="no"), "spec.allowFirstLastIPs: Unsupported value: 'no'"),
    (with_spec(POOL, blocks=[{"cidr": "10.0.0.300/29"}]), "spec.blocks[0].cidr: Invalid value"),
    (with_spec(POOL, blocks=[{"range": "x"}]), 'spec.blocks[0]: unknown field "range"'),
    (with_spec(POOL, disabled="false"), "spec.disabled: Invalid value: 'false': must be of type boolean"),
    (dict(POOL, spec=None), "spec: Required value"),
    (with_spec(L2, interface="eth0"), 'spec: unknown field "interface"'),
    (with_spec(L2, interfaces=[1]), "spec.interfaces: Invalid value: 1: must be of type string"),
    (with_spec(L2, serviceSelector={"labels": {}}), 'spec.serviceSelector: unknown field "labels"'),
    (with_spec(CHART, values={"a": 1}), 'spec: unknown field "values"'),
    (with_spec(CHART, valuesContent="a: [1"), "spec.valuesContent: not valid YAML"),
    (with_spec(CHART, valuesContent="- a"), "spec.valuesContent: must be a YAML mapping"),
    (with_spec(CHART, chart=None), "spec.chart: Invalid value: None"),
    (with_spec(CHART, valuesContent="l2announcement:\n  enabled: true\n"),
     'value "l2announcement.enabled" is not a recorded value of the cilium chart 1.18.4'),
    (with_spec(CHART, valuesContent="operator:\n  replicas: '2'\n"),
     "spec.valuesContent.operator.replicas: Invalid value: '2': wrong type"),
    (with_spec(CHART, valuesContent="k8sServicePort: true\n"),
     "spec.valuesContent.k8sServicePort: Invalid value: True: wrong type"),
    (with_spec(CHART, version="1.19.0"), "no recorded values for the cilium chart 1.19.0 (recorded: 1.18.4)"),
])
def test_invalid_manifest_is_refused(doc, expected):
    problems = charts.check_document(doc)
    assert problems and any(expected in p for p in problems), problems


# -- the API store in etcd -----------------------------------------------------------------------
class FakeKv:
    """A compare-and-swap key-value store; ``down`` makes every call fail like etcd without quorum."""

    def __init__(self):
        self.value, self.rev, self.down, self.interfere = None, 0, False, None

    def get(self, key):
        if self.down:
            raise OSError("etcdserver: request timed out")
        return self.value, self.rev

    def put_if(self, key, value, rev):
        if self.down:
            raise OSError("etcdserver: request timed out")
        if self.interfere:
            other, self.interfere = self.interfere, None
            other()
        if rev != self.rev:
            return 0
        self.rev += 1
        self.value = value
        return self.rev


CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "1"}}


def test_two_api_servers_share_one_store():
    kv = FakeKv()
    one, two = KvObjectStore(kv), KvObjectStore(kv)
    one.create("", "configmaps", "default", CM)
    assert two.get("", "configmaps", "default", "a")["data"] == {"x": "1"}


def test_a_write_that_lost_the_race_is_run_again_on_fresh_state():
    kv = FakeKv()
    one, two = KvObjectStore(kv), KvObjectStore(kv)
    one.create("", "configmaps", "default", CM)
    two.get("", "configmaps", "default", "a")
    kv.interfere = lambda: one.patch("", "configmaps", "default", "a", {"data": {"y": "2"}}, "application/merge-patch+json")
    two.patch("", "configmaps", "default", "a", {"data": {"z": "3"}}, "application/merge-patch+json")
    assert json.loads(kv.value) and one.get("", "configmaps", "default", "a")["data"] == {"x": "1", "y": "2", "z": "3"}


def test_without_quorum_every_call_is_503():
    kv = FakeKv()
    store = KvObjectStore(kv)
    kv.down = True
    with pytest.raises(ApiError) as failed:
        store.list("", "configmaps", "default")
    assert failed.value.code == 503 and "etcd is unavailable" in failed.value.message
    assert "etcd is unavailable" in store.health()


# -- the process: a refused config exits 1 with the reason on stderr (the journal) -----------------
def test_refused_config_exits_non_zero_with_the_reason(tmp_path):
    root = tmp_path / "root"
    config = root / "etc" / "rancher" / "k3s"
    config.mkdir(parents=True)
    (config / "config.yaml").write_text(yaml.safe_dump({"node-name": "n1", "cluster-inits": True}))
    env = dict(os.environ, K3S_STANDIN_ROOT=str(root), PYTHONPATH=STANDINS)
    result = subprocess.run([sys.executable, "-m", "k3s_standin", "server"], env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "level=fatal" in result.stderr and "Unknown flag --cluster-inits" in result.stderr
    events = (root / "var" / "log" / "k3s-standin" / "events.jsonl").read_text()
    assert '"exit-error"' in events


def test_the_api_refuses_an_invalid_pool_with_422():
    from k8s_emulator.store import ObjectStore  # pylint: disable=import-outside-toplevel
    store = ObjectStore()
    for kind in charts.KINDS:
        store.validators[kind] = charts.check_document
    store.create("apiextensions.k8s.io", "customresourcedefinitions", None, {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "ciliumloadbalancerippools.cilium.io"},
        "spec": {"group": "cilium.io", "scope": "Cluster",
                 "names": {"plural": "ciliumloadbalancerippools", "kind": "CiliumLoadBalancerIPPool"},
                 "versions": [{"name": "v2", "served": True, "storage": True}]}})
    store.create("cilium.io", "ciliumloadbalancerippools", None, POOL, "v2")
    with pytest.raises(ApiError) as failed:
        store.patch("cilium.io", "ciliumloadbalancerippools", None, "p", {"spec": {"blocks": [{"cidr": "bad"}]}},
                    "application/merge-patch+json", "v2")
    assert failed.value.code == 422 and 'CiliumLoadBalancerIPPool.cilium.io "p" is invalid' in failed.value.message
    with pytest.raises(ApiError) as failed:
        store.create("cilium.io", "ciliumloadbalancerippools", None,
                     dict(with_spec(POOL, cidrs=[]), metadata={"name": "q"}), "v2")
    assert failed.value.code == 422 and 'unknown field "cidrs"' in failed.value.message
