"""homelab.k3s.api_vip with api_vip_provider=kube-vip: the rendered K3s auto-deploy manifest.

Only the rendering is tested (no kube-vip container can run on the build machines): the role runs
on localhost into a temporary manifests directory and every field that matters is checked.
"""
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, "tests", "integration", "playbooks", "api_vip_kube_vip.yml")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

pytestmark = pytest.mark.slow


def render(tmp_path, *extra):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[kube_vip_servers]\nlocalhost ansible_connection=local ansible_python_interpreter=%s\n"
                         % sys.executable)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"), TMPDIR=str(tmp_path))
    cmd = [ANSIBLE_PLAYBOOK, "-i", str(inventory), PLAYBOOK,
           "-e", "api_vip_kube_vip_manifest_dir=%s" % (tmp_path / "manifests")] + list(extra)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_kube_vip_manifest(tmp_path):
    proc = render(tmp_path, "--diff")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    path = tmp_path / "manifests" / "homelab-kube-vip.yaml"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    docs = {doc["kind"]: doc for doc in yaml.safe_load_all(path.read_text()) if doc}
    assert set(docs) == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet"}
    rules = docs["ClusterRole"]["rules"]
    assert {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
            "verbs": ["list", "get", "watch", "update", "create"]} in rules
    spec = docs["DaemonSet"]["spec"]["template"]["spec"]
    container = spec["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert container["image"] == "ghcr.io/kube-vip/kube-vip:v1.0.4"
    assert env["address"] == "192.168.14.250"
    assert env["vip_arp"] == "true" and env["vip_leaderelection"] == "true" and env["cp_enable"] == "true"
    assert env["port"] == "6443" and env["KUBERNETES_SERVICE_HOST"] == "127.0.0.1"
    assert env["vip_interface"] == "lo"  # found from the node IP (api_vip_node_ip 127.0.0.1)
    assert spec["hostNetwork"] is True and spec["serviceAccountName"] == "kube-vip"
    assert set(container["securityContext"]["capabilities"]["add"]) == {"NET_ADMIN", "NET_RAW"}
    # A second run changes nothing.
    again = render(tmp_path)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]


def test_kube_vip_refuses_an_endpoint_port_other_than_k3s(tmp_path):
    proc = render(tmp_path, "-e", "k3s_node_api_endpoint_port=8443")
    assert proc.returncode != 0
    assert "kube-vip runs on the K3s servers" in proc.stdout
    assert not (tmp_path / "manifests").exists()
