# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): first converge and no-op re-runs of a playbook on N fresh lab nodes.

    .venv/bin/python benchmarks/noop_rerun.py   (as root) [--nodes 3] [--runs 3] [--playbook baseline|site]
                                                  [--forks N] [--keep-lab]

``baseline`` runs benchmarks/baseline_roles.yml (security, firewall, ntp); ``site`` runs
playbooks/site.yml with the lab's variables (inventories/lab/group_vars) and the K3s STAND-IN
from the local mirror that ``make site`` builds (.cache/k3s-standin; run ``make site`` or
``make lab-up`` once first). A fresh lab named ``bench`` (``--lab``; node names ``--prefix``) is
started, the playbook converges once,
then re-runs ``--runs`` times; each run prints wall time, task count, changed count, the ok and
skipped task results (summed over hosts), the controller's CPU seconds and the
machine's load average (``uptime``), then min/median of the re-runs. The lab is always taken
down. ``--logs DIR`` keeps each run's output with every task's time, to find what a slow run waited on.

Reproduce the figures of a closing note (issue #18, docs/lab.md) with the node count and forks
it names, e.g. ``--nodes 3 --runs 5``; the machine's load is printed with every figure because
the wall time grows with it (compare figures taken at a similar load, or the task and CPU
columns, which do not depend on it).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# the separate lab instance of --isolated: the one benchmarks/lab_apt_update.py defines
from lab_apt_update import ISOLATED, MAIN_IMAGES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = "bench"
PLAYBOOKS = {
    "baseline": os.path.join(ROOT, "benchmarks", "baseline_roles.yml"),
    "site": os.path.join(ROOT, "playbooks", "site.yml"),
}
RECAP = re.compile(r"^\S+\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                   r"\s+skipped=(\d+)")


def lab(*args, env=None):
    res = subprocess.run([sys.executable, os.path.join(ROOT, "lab", "lab.py")] + list(args),
                         check=False, capture_output=True, text=True, env=env)
    if res.returncode:
        raise SystemExit("benchmark: lab.py %s failed:\n%s" % (" ".join(args[:3]), res.stderr[-2000:]))
    return res


def loadavg():
    with open("/proc/loadavg", encoding="ascii") as handle:
        return " ".join(handle.read().split()[:3])


def mitogen_env():
    """Settings that run a play with Mitogen's strategy (the optional speed-up of docs/roles-baseline.md)."""
    probe = subprocess.run([os.path.join(ROOT, ".venv", "bin", "python"), "-c",
                            "import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__))"],
                           capture_output=True, text=True, check=False)
    if probe.returncode:
        raise SystemExit("benchmark: --mitogen needs Mitogen in .venv: .venv/bin/pip install mitogen==0.3.54")
    return {"ANSIBLE_STRATEGY_PLUGINS": os.path.join(probe.stdout.strip(), "plugins", "strategy"),
            "ANSIBLE_STRATEGY": "mitogen_linear"}


def run_playbook(playbook, inventory, forks, env, log):
    cmd = [os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", inventory, playbook]
    if forks:
        cmd += ["--forks", str(forks)]
    start = time.monotonic()
    cpu_before = os.times()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    took = time.monotonic() - start
    cpu_after = os.times()
    cpu = (cpu_after.children_user + cpu_after.children_system
           - cpu_before.children_user - cpu_before.children_system)
    with open(log, "w", encoding="utf-8") as handle:
        handle.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-4000:])
        raise SystemExit("benchmark: %s failed (log: %s)" % (os.path.basename(playbook), log))
    tasks = sum(1 for line in proc.stdout.splitlines() if line.startswith("TASK ["))
    recaps = [m for m in map(RECAP.match, proc.stdout.splitlines()) if m]
    changed = sum(int(m.group(2)) for m in recaps)
    ok = sum(int(m.group(1)) for m in recaps)
    skipped = sum(int(m.group(5)) for m in recaps)
    return {"took": took, "tasks": tasks, "changed": changed, "ok": ok, "skipped": skipped, "cpu": cpu}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="no-op re-runs after the first converge")
    parser.add_argument("--playbook", choices=sorted(PLAYBOOKS), default="baseline")
    parser.add_argument("--forks", type=int, help="ansible-playbook --forks (default: ansible.cfg)")
    parser.add_argument("--mitogen", choices=["off", "on", "both"], default="off",
                        help="run with Mitogen's strategy (on), or alternate the re-runs without and with"
                             " it on the same nodes (both: one figure per mode at the same load)")
    parser.add_argument("--keep-lab", action="store_true", help="leave the bench lab running, with its inventory (printed at the end)")
    parser.add_argument("--logs", metavar="DIR",
                        help="keep every run's Ansible output in DIR, with each task's time (profile_tasks):"
                             " which task a slow run waited on")
    parser.add_argument("--lab", default=LAB, help="lab name (default: %(default)s)")
    parser.add_argument("--prefix", help="node names PREFIX1..PREFIXn (default: LAB-1..LAB-n)")
    parser.add_argument("--isolated", action="store_true",
                        help="a separate lab instance with its own bridge and a fresh apt proxy of this"
                             " checkout, as benchmarks/lab_apt_update.py runs (other labs untouched)")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench-")
    inventory = os.path.join(work, "hosts.yml")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(work, "cp"),
               PATH=os.path.join(ROOT, ".venv", "bin") + os.pathsep + os.environ.get("PATH", ""))
    up = ["up", "--lab", args.lab, "--nodes", str(args.nodes), "--servers", str(args.servers),
          "--timeout", "600", "--inventory", inventory]
    if args.prefix:
        up += ["--node=%s%d" % (args.prefix, i) for i in range(1, args.nodes + 1)]
    if args.logs:
        os.makedirs(args.logs, exist_ok=True)
        env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
    if args.isolated:
        env.update(ISOLATED)
        os.makedirs(ISOLATED["HOMELAB_LAB_CACHE_DIR"], exist_ok=True)
        images = os.path.join(ISOLATED["HOMELAB_LAB_CACHE_DIR"], "images")
        if not os.path.exists(images) and os.path.isdir(MAIN_IMAGES):
            os.symlink(MAIN_IMAGES, images)
        up += ["--subnet4", "10.213.50.0/24", "--subnet6", "fd42:6b33:2e50::/64"]
    if args.playbook == "site":
        standin = os.path.join(ROOT, ".cache", "k3s-standin")
        if not os.path.isdir(os.path.join(standin, "pylib")):
            raise SystemExit("benchmark: no K3s stand-in mirror in .cache/k3s-standin: run 'make lab-up' once")
        up += ["--bind-ro", "%s:/opt/k3s-standin/src" % os.path.join(ROOT, "tests", "standins"),
               "--bind-ro", "%s:/opt/k3s-standin/pylib" % os.path.join(standin, "pylib"),
               "--bind-ro", "/usr/bin/etcd:/opt/k3s-standin/bin/etcd"]
        # the lab's group_vars sit next to the inventory the playbook reads
        shutil.copytree(os.path.join(ROOT, "inventories", "lab", "group_vars"),
                        os.path.join(work, "group_vars"))
        # ... but their paths relative to the inventory must point into this checkout (the mirror,
        # the download cache) and into the benchmark's own directory (token, kubeconfig)
        all_vars = os.path.join(work, "group_vars", "all.yml")
        with open(all_vars, encoding="utf-8") as handle:
            text = handle.read().replace("{{ inventory_dir }}/../../.lab", os.path.join(work, "lab"))
            text = text.replace("{{ inventory_dir }}/../..", ROOT)
        with open(all_vars, "w", encoding="utf-8") as handle:
            handle.write(text)
    try:
        lab(*up, env=env)
        print("%s on %d lab nodes, forks %s; load average before: %s"
              % (args.playbook, args.nodes, args.forks or "ansible.cfg", loadavg()))
        header = ("run", "wall s", "tasks", "changed", "ok", "skipped", "cpu s", "load (1/5/15 min)")
        print("%-22s %8s %6s %8s %6s %8s %6s   %s" % header)
        modes = {"off": ["plain"], "on": ["mitogen"], "both": ["plain", "mitogen"]}[args.mitogen]
        mode_env = {"plain": env, "mitogen": dict(env, **mitogen_env()) if args.mitogen != "off" else env}
        noop = {mode: [] for mode in modes}
        loads = {mode: [] for mode in modes}
        runs = [(0, modes[0])] + [(i, mode) for i in range(1, args.runs + 1) for mode in modes]
        for i, mode in runs:
            name = ("first-converge" if i == 0 else "no-op-%d" % i) + ("" if len(modes) == 1 else "-" + mode)
            res = run_playbook(PLAYBOOKS[args.playbook], inventory, args.forks, mode_env[mode],
                               os.path.join(work, name + ".log"))
            load = loadavg()
            if args.logs:
                shutil.copy(os.path.join(work, name + ".log"), args.logs)
            row = (name, res["took"], res["tasks"], res["changed"], res["ok"], res["skipped"], res["cpu"], load)
            print("%-22s %8.1f %6d %8d %6d %8d %6.1f   %s" % row)
            if i:
                noop[mode].append(res["took"])
                loads[mode].append(float(load.split()[0]))
                if res["changed"]:
                    print("  warning: a re-run changed %d task(s): not idempotent" % res["changed"])
        for mode in modes:
            if noop[mode]:
                print("no-op re-runs on %d nodes%s: min %.1f s, median %.1f s (%d runs; 1-min load min %.1f,"
                      " median %.1f)" % (args.nodes, "" if mode == "plain" else " with Mitogen",
                                         min(noop[mode]), statistics.median(noop[mode]), len(noop[mode]),
                                         min(loads[mode]), statistics.median(loads[mode])))
    finally:
        if not args.keep_lab:
            subprocess.run([sys.executable, os.path.join(ROOT, "lab", "lab.py"), "down", "--lab", args.lab],
                           capture_output=True, check=False, env=env)
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("lab %s kept; its inventory: %s (run again: ANSIBLE_CONFIG=%s ansible-playbook -i %s %s)"
                  % (args.lab, inventory, env["ANSIBLE_CONFIG"], inventory, PLAYBOOKS[args.playbook]))


if __name__ == "__main__":
    main()
