"""The whole-cluster power cycle against the K8s API emulator, both ways in:

- the module from ansible-playbook (the controller path), with --check;
- the on-node command (roles/cluster_power/files/homelab-cluster-power) run by
  Debian's python3 without Ansible and with kubectl, on a library tree laid out
  as the role installs it.

Workloads have replica counts; pods follow them and VolumeAttachments go only
after their pods (tests/integration/power_cluster.py).
"""
import copy
import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.cluster_lock import ClusterLock
from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import KubernetesApi, SystemClock
from power_cluster import WORKLOADS, Controllers, replicas, seed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(ROOT, "tests", "integration", "playbooks")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
KUBECTL = shutil.which("kubectl")
SYSTEM_PYTHON = "/usr/bin/python3"

pytestmark = pytest.mark.slow


def run_playbook(url, tmp_path, step, *extra, expect_rc=0):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"), ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               TMPDIR=str(tmp_path))
    cmd = [ANSIBLE_PLAYBOOK, "-i", os.path.join(PLAYBOOKS, "inventory.ini"), os.path.join(PLAYBOOKS, "cluster_power.yml"),
           "-e", "k8s_host=%s" % url, "-e", "k8s_port=%s" % url.rsplit(":", 1)[1], "-e", "step=%s" % step,
           "-e", "ansible_python_interpreter=%s" % sys.executable] + list(extra)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == expect_rc, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc.stdout


def lock(url):
    return ClusterLock(KubernetesApi.from_params({"host": url}), SystemClock(), "kube-system", "homelab-k3s-power")


def objects(store):
    return copy.deepcopy(store.objects)


def test_module_power_cycle_from_the_controller(emulator, tmp_path):
    seed(emulator.store)
    with Controllers(emulator.store):
        before = objects(emulator.store)
        run_playbook(emulator.url, tmp_path, "shutdown", "--check")
        assert objects(emulator.store) == before, "check mode changes nothing"

        run_playbook(emulator.url, tmp_path, "shutdown")
        counts = replicas(emulator.store)
        assert all(v == 0 for k, v in counts.items() if k[1] != "kube-system")
        assert counts[("Deployment", "kube-system", "metrics")] == 1
        assert emulator.store.list("storage.k8s.io", "volumeattachments")["items"] == []
        for node in emulator.store.list("", "nodes")["items"]:
            assert node["spec"]["unschedulable"] is True
            assert {"key": "homelab.k3s/power-cycle", "value": "true", "effect": "NoSchedule"} in node["spec"]["taints"]
        info = lock(emulator.url).query()
        assert info["held"] and info["holder"] == "homelab-power@ansible"
        assert info["data"]["replicas"] == {"Deployment/apps/web": 3, "Deployment/apps/worker": 2,
                                            "StatefulSet/db/postgres": 2, "Deployment/tools/idle": 0}

        run_playbook(emulator.url, tmp_path, "shutdown_again")

        before = objects(emulator.store)
        run_playbook(emulator.url, tmp_path, "startup", "--check")
        assert objects(emulator.store) == before, "check mode changes nothing"

        run_playbook(emulator.url, tmp_path, "startup")
        assert replicas(emulator.store) == WORKLOADS, "recorded counts restored exactly"
        for node in emulator.store.list("", "nodes")["items"]:
            assert not node["spec"].get("taints") and not node["spec"].get("unschedulable")
        assert not lock(emulator.url).query()["held"]


def test_module_refuses_a_lock_held_by_someone_else(emulator, tmp_path):
    seed(emulator.store)
    lock(emulator.url).acquire("ssh-lock", ttl=600, reason="maintenance")
    before = objects(emulator.store)
    run_playbook(emulator.url, tmp_path, "refused")
    after = objects(emulator.store)
    assert after == before, "nothing touched"


def _kubeconfig(tmp_path, url):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: e\n"
        "clusters: [{name: e, cluster: {server: '%s'}}]\n"
        "users: [{name: u, user: {}}]\ncontexts: [{name: e, context: {cluster: e, user: u}}]\n" % url)
    return kubeconfig


@pytest.mark.skipif(KUBECTL is None, reason="needs kubectl")
def test_module_through_kubectl(emulator, tmp_path):
    seed(emulator.store)
    before = objects(emulator.store)
    run_playbook(emulator.url, tmp_path, "kubectl", "-e", "kubectl_bin=%s" % KUBECTL,
                 "-e", "kubeconfig_file=%s" % _kubeconfig(tmp_path, emulator.url))
    assert objects(emulator.store) == before


def _install_like_the_role(tmp_path):
    """The tree roles/cluster_power/tasks/install.yml lays out on a node."""
    lib = tmp_path / "lib" / "python"
    package = lib / "ansible_collections" / "homelab" / "k3s" / "plugins" / "module_utils"
    package.mkdir(parents=True)
    for part in (lib / "ansible_collections", lib / "ansible_collections" / "homelab",
                 lib / "ansible_collections" / "homelab" / "k3s",
                 lib / "ansible_collections" / "homelab" / "k3s" / "plugins", package):
        (part / "__init__.py").write_text("")
    for name in ("cluster_power.py", "cluster_lock.py", "k8s_connection.py", "kubectl_api.py"):
        shutil.copy(os.path.join(ROOT, "plugins", "module_utils", name), str(package / name))
    entry = tmp_path / "lib" / "homelab-cluster-power"
    shutil.copy(os.path.join(ROOT, "roles", "cluster_power", "files", "homelab-cluster-power"), str(entry))
    for name in ("homelab-cluster-shutdown", "homelab-cluster-startup"):
        os.symlink(str(entry), str(tmp_path / name))
    return lib


@pytest.mark.skipif(KUBECTL is None or not os.path.exists(SYSTEM_PYTHON), reason="needs kubectl and /usr/bin/python3")
def test_on_node_command_without_ansible(emulator, tmp_path):
    seed(emulator.store)
    lib = _install_like_the_role(tmp_path)
    kubeconfig = _kubeconfig(tmp_path, emulator.url)
    # systemctl and the kill-all script are stand-ins that log their arguments:
    # this test must not stop or power off the machine it runs on.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    for name in ("systemctl", "k3s-killall.sh"):
        script = bin_dir / name
        script.write_text("#!/bin/sh\necho \"%s $*\" >> '%s'\n" % (name, calls))
        script.chmod(0o755)
    config = tmp_path / "cluster-power.json"
    port = int(emulator.url.rsplit(":", 1)[1])
    config.write_text(json.dumps({
        "node_name": "pc-s1", "role": "server", "kubectl": [KUBECTL], "kubeconfig": str(kubeconfig),
        "settings": {"poll_interval": 0.2, "max_poll_interval": 0.5, "pods_timeout": 60,
                     "volume_attachments_timeout": 60, "drain_timeout": 60, "agents_stop_timeout": 1,
                     "servers_timeout": 60, "nodes_timeout": 60, "dns_check": False, "server_port": port,
                     "k3s_killall": str(bin_dir / "k3s-killall.sh"), "etcd_snapshot": False,
                     "server_addresses": {"pc-s1": "127.0.0.1", "pc-s2": "127.0.0.1"}}}))
    env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]), HOMELAB_K3S_LIB=str(lib),
               HOMELAB_K3S_POWER_CONFIG=str(config))

    def run(command, *args):
        return subprocess.run([SYSTEM_PYTHON, str(tmp_path / command)] + list(args), env=env, capture_output=True,
                              text=True, timeout=600, check=False)
    with Controllers(emulator.store):
        before = objects(emulator.store)
        plan = run("homelab-cluster-shutdown", "plan")
        assert plan.returncode == 0, plan.stderr
        assert objects(emulator.store) == before and not calls.exists(), "plan changes nothing"
        assert "Deployment/apps/web: 3 -> 0" in plan.stdout

        done = run("homelab-cluster-shutdown")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert all(v == 0 for k, v in replicas(emulator.store).items() if k[1] != "kube-system")
        assert calls.read_text().splitlines() == [
            "systemctl stop k3s", "k3s-killall.sh ", "systemctl poweroff --no-block"]
        annotations = dict((n["metadata"]["name"], n["metadata"].get("annotations") or {})
                           for n in emulator.store.list("", "nodes")["items"])
        assert all(a.get("homelab.k3s/power-stop") == "true" for a in annotations.values()), \
            "agents and then servers were released"
        assert annotations["pc-s1"].get("homelab.k3s/power-stop-ack") == "true", "its release acknowledged"
        assert '"step": "servers_together"' in done.stdout
        info = lock(emulator.url).query()
        assert info["holder"] == "homelab-power@pc-s1" and info["data"]["replicas"]["Deployment/apps/web"] == 3

        up = run("homelab-cluster-startup")
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        assert replicas(emulator.store) == WORKLOADS
        assert not lock(emulator.url).query()["held"]


def test_on_node_command_reports_bad_settings(tmp_path):
    lib = _install_like_the_role(tmp_path)
    config = tmp_path / "cluster-power.json"
    config.write_text(json.dumps({"node_name": "n", "role": "server", "settings": {"node_action": "reboot"}}))
    env = dict(os.environ, HOMELAB_K3S_LIB=str(lib), HOMELAB_K3S_POWER_CONFIG=str(config))
    proc = subprocess.run([SYSTEM_PYTHON, str(tmp_path / "homelab-cluster-shutdown")], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 1 and "node_action must be one of poweroff, halt, stop-k3s" in proc.stderr
    config.write_text("{not json")
    proc = subprocess.run([SYSTEM_PYTHON, str(tmp_path / "homelab-cluster-startup")], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "cannot read" in proc.stderr


@pytest.mark.parametrize("playbook", ["shutdown.yml", "startup.yml"])
def test_playbooks_refuse_an_inventory_without_servers(tmp_path, playbook):
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[k3s_agents]\nw1 ansible_connection=local\n")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"), TMPDIR=str(tmp_path))
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(inventory), os.path.join(ROOT, "playbooks", playbook),
                           "-e", "ansible_python_interpreter=%s" % sys.executable],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "no host in the group k3s_servers; there is nothing to" in proc.stdout
    assert "w1" not in proc.stdout.split("PLAY RECAP")[1], "no node was touched"
