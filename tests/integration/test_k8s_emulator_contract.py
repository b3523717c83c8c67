"""Contract tests: the real kubernetes client over HTTP against the emulator.

They pin down the Kubernetes behaviour the modules rely on (and that the
emulator must keep): resourceVersion, 409s, PUT, lists with kind, Date,
delete preconditions, CRD status and discovery, scale, auth and TLS.
"""
import datetime
import email.utils
import json
import ssl
import time
import urllib.error
import urllib.request

import kmock
import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError, UnauthorizedError

from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import ConflictError as ModConflict
from k8s_emulator import EmulatorThread


def dyn(url, tmp_path, token=None, ca=None):
    cfg = client.Configuration()
    cfg.host = url
    if token:
        cfg.api_key = {"authorization": "Bearer " + token}
    if ca:
        cfg.ssl_ca_cert = ca
    return DynamicClient(client.ApiClient(cfg), cache_file=str(tmp_path / "cache.json"))


def cm_body(name, **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_resource_version_is_stamped_and_stale_put_conflicts(emulator, tmp_path):
    cms = dyn(emulator.url, tmp_path).resources.get(api_version="v1", kind="ConfigMap")
    created = cms.create(body=cm_body("a", x="1"), namespace="default")
    rv1 = created.metadata.resourceVersion
    body = created.to_dict()
    body["data"]["x"] = "2"
    updated = cms.replace(body=body, namespace="default")
    assert int(updated.metadata.resourceVersion) > int(rv1)
    with pytest.raises(ConflictError) as err:
        cms.replace(body=body, namespace="default")  # still carries rv after first update? no: rv1
    assert json.loads(err.value.body)["reason"] == "Conflict"
    with pytest.raises(ConflictError):
        cms.create(body=cm_body("a"), namespace="default")
    assert cms.get(name="a", namespace="default").data.x == "2"


def test_list_has_kind_and_items_and_label_selector(emulator, tmp_path):
    cms = dyn(emulator.url, tmp_path).resources.get(api_version="v1", kind="ConfigMap")
    for i, team in enumerate(["a", "b", "a"]):
        body = cm_body("c%d" % i)
        body["metadata"]["labels"] = {"team": team}
        cms.create(body=body, namespace="default")
    listed = cms.get(namespace="default")
    assert listed.kind == "ConfigMapList" and listed.metadata.resourceVersion
    assert [i.metadata.name for i in cms.get(namespace="default", label_selector="team=a").items] == ["c0", "c2"]
    assert [i.metadata.name for i in cms.get(namespace="default", label_selector="team!=a").items] == ["c1"]


def test_date_header_follows_server_clock(emulator, tmp_path):
    emulator.handler.clock_offset = 3600
    raw = dyn(emulator.url, tmp_path).resources.get(api_version="v1", kind="ConfigMap").get(
        namespace="default", serialize=False)
    server = email.utils.mktime_tz(email.utils.parsedate_tz(raw.headers["Date"]))
    assert abs(server - (time.time() + 3600)) < 3


def test_delete_precondition(emulator, tmp_path):
    cms = dyn(emulator.url, tmp_path).resources.get(api_version="v1", kind="ConfigMap")
    created = cms.create(body=cm_body("d"), namespace="default")
    with pytest.raises(ConflictError):
        cms.delete(name="d", namespace="default", body={"preconditions": {"resourceVersion": "1"}})
    cms.delete(name="d", namespace="default",
               body={"preconditions": {"resourceVersion": created.metadata.resourceVersion}})
    with pytest.raises(NotFoundError):
        cms.get(name="d", namespace="default")


def test_missing_namespace_is_not_found(emulator, tmp_path):
    cms = dyn(emulator.url, tmp_path).resources.get(api_version="v1", kind="ConfigMap")
    with pytest.raises(NotFoundError):
        cms.create(body=cm_body("x"), namespace="nope")
    ns = dyn(emulator.url, tmp_path).resources.get(api_version="v1", kind="Namespace")
    ns.create(body={"metadata": {"name": "nope"}})
    assert cms.create(body=cm_body("x"), namespace="nope").metadata.namespace == "nope"
    assert "kube-system" in [n.metadata.name for n in ns.get().items]


def crd(group="example.com", kind="Widget", plural="widgets"):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "%s.%s" % (plural, group)},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "subresources": {"status": {}}}]}}


def test_crd_status_and_discovery(tmp_path):
    with EmulatorThread(establish_delay=0.5) as emu:
        client_ = dyn(emu.url, tmp_path)
        crds = client_.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
        created = crds.create(body=crd())
        conds = {c["type"]: c["status"] for c in created.to_dict()["status"]["conditions"]}
        assert conds == {"NamesAccepted": "True", "Established": "False"}
        assert not any(g.name == "example.com" for g in client_.request("get", "/apis").groups)
        time.sleep(0.6)
        got = crds.get(name="widgets.example.com").to_dict()
        assert {c["type"]: c["status"] for c in got["status"]["conditions"]}["Established"] == "True"
        client_.resources.invalidate_cache()
        widgets = client_.resources.get(api_version="example.com/v1", kind="Widget")
        w = widgets.create(body={"apiVersion": "example.com/v1", "kind": "Widget",
                                 "metadata": {"name": "w1"}, "spec": {"size": 1}}, namespace="default")
        assert w.metadata.generation == 1
        body = w.to_dict()
        body["spec"]["size"] = 2
        assert widgets.replace(body=body, namespace="default").metadata.generation == 2
        status = widgets.subresources["status"]
        cur = widgets.get(name="w1", namespace="default").to_dict()
        cur["status"] = {"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "True"}]}
        out = status.replace(body=cur, namespace="default").to_dict()
        assert out["status"]["observedGeneration"] == 2 and out["metadata"]["generation"] == 2
        # duplicate kind in the same group: names not accepted
        dup = crd(plural="widgets2")
        crds.create(body=dup)
        conds = {c["type"]: c for c in crds.get(name="widgets2.example.com").to_dict()["status"]["conditions"]}
        assert conds["NamesAccepted"]["status"] == "False" and conds["NamesAccepted"]["reason"] == "NameConflict"


def test_k3s_helmchart_crd_is_preloaded(emulator, tmp_path):
    charts = dyn(emulator.url, tmp_path).resources.get(api_version="helm.cattle.io/v1", kind="HelmChart")
    chart = charts.create(body={"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart",
                                "metadata": {"name": "cilium", "namespace": "kube-system"},
                                "spec": {"chart": "cilium"}}, namespace="kube-system")
    assert chart.kind == "HelmChart"


def test_scale_subresource_and_patch(emulator, tmp_path):
    deploys = dyn(emulator.url, tmp_path).resources.get(api_version="apps/v1", kind="Deployment")
    deploys.create(body={"metadata": {"name": "web", "labels": {"storage": "rook-ceph"}},
                         "spec": {"replicas": 3}}, namespace="default")
    scale = deploys.subresources["scale"]
    assert scale.get(name="web", namespace="default").spec.replicas == 3
    scale.patch(body={"spec": {"replicas": 0}}, name="web", namespace="default",
                content_type="application/merge-patch+json")
    got = deploys.get(name="web", namespace="default")
    assert got.spec.replicas == 0 and got.status.replicas == 0
    deploys.patch(body=[{"op": "replace", "path": "/spec/replicas", "value": 2}], name="web",
                  namespace="default", content_type="application/json-patch+json")
    assert deploys.get(name="web", namespace="default").status.readyReplicas == 2
    statefulsets = dyn(emulator.url, tmp_path).resources.get(api_version="apps/v1", kind="StatefulSet")
    assert statefulsets.subresources["scale"]


def test_nodes_are_cluster_scoped(emulator, tmp_path):
    nodes = dyn(emulator.url, tmp_path).resources.get(api_version="v1", kind="Node")
    nodes.create(body={"metadata": {"name": "cp1"}, "spec": {"taints": []}})
    node = nodes.patch(body={"spec": {"unschedulable": True}}, name="cp1",
                       content_type="application/merge-patch+json")
    assert node.spec.unschedulable is True and node.metadata.namespace is None


def test_bearer_token_required(tmp_path):
    with EmulatorThread(token="s3cret") as emu:
        with pytest.raises(UnauthorizedError):
            dyn(emu.url, tmp_path, token="wrong").resources.get(
                api_version="v1", kind="ConfigMap")
        (tmp_path / "cache.json").unlink(missing_ok=True)
        assert dyn(emu.url, tmp_path, token="s3cret").resources.get(api_version="v1", kind="ConfigMap")


def _status(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_anonymous_paths_only(tmp_path):
    """kube-apiserver with an AuthenticationConfiguration whose anonymous block lists paths:
    those paths answer without credentials, every other path and a wrong token get 401."""
    with EmulatorThread(token="s3cret", anonymous_paths=["/readyz", "/livez"]) as emu:
        assert _status(emu.url + "/readyz") == 200
        assert _status(emu.url + "/livez") == 200
        assert _status(emu.url + "/healthz") == 401
        assert _status(emu.url + "/api/v1/namespaces") == 401
        assert _status(emu.url + "/readyz", token="wrong") == 401
        assert _status(emu.url + "/api/v1/namespaces", token="s3cret") == 200
    with EmulatorThread(token="s3cret") as emu:
        assert _status(emu.url + "/readyz") == 401


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k3s-emulator")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_https_with_given_certificate(tmp_path):
    cert, key = _self_signed(tmp_path)
    with EmulatorThread(tls_cert=cert, tls_key=key) as emu:
        assert emu.url.startswith("https://")
        cms = dyn(emu.url, tmp_path, ca=cert).resources.get(api_version="v1", kind="ConfigMap")
        assert cms.get(namespace="kube-system").kind == "ConfigMapList"
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(emu.url + "/version", context=ssl.create_default_context(), timeout=5)


def test_kmock_dsl_can_inject_faults_in_front_of_the_emulation(emulator, make_api):
    api = make_api(emulator.url)
    emulator.handler["put", kmock.resource("", "v1", "configmaps")] << kmock.Response(
        status=409, payload={"kind": "Status", "code": 409, "reason": "Conflict", "message": "injected"})
    created = api.create("v1", "ConfigMap", cm_body("f"), "default").obj
    with pytest.raises(ModConflict, match="injected"):
        api.replace("v1", "ConfigMap", created, "default")


def test_adapter_reports_server_time_and_round_trips(emulator, make_api):
    api = make_api(emulator.url)
    response = api.get("v1", "ConfigMap", "missing", "default")
    assert response.obj is None and abs(response.server_time - time.time()) < 3
    assert api.round_trips == 1
    assert api.delete("v1", "ConfigMap", "missing", "default").obj is None


def test_state_file_persists_objects(tmp_path):
    state = str(tmp_path / "state.json")
    with EmulatorThread(state_file=state) as emu:
        dyn(emu.url, tmp_path).resources.get(api_version="v1", kind="ConfigMap").create(
            body=cm_body("kept", a="1"), namespace="default")
    (tmp_path / "cache.json").unlink()
    with EmulatorThread(state_file=state) as emu:
        cms = dyn(emu.url, tmp_path).resources.get(api_version="v1", kind="ConfigMap")
        got = cms.get(name="kept", namespace="default")
        assert got.data.a == "1"
        cms.create(body=cm_body("new"), namespace="default")
        assert int(cms.get(name="new", namespace="default").metadata.resourceVersion) > int(
            got.metadata.resourceVersion)
