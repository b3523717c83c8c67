"""The digest CI prints last for a failed Molecule scenario (tests/tools/molecule_failure_digest.py)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))

import molecule_failure_digest as mfd  # noqa: E402  pylint: disable=wrong-import-position

LOG = """\
[+0s] \x1b[32mvip\x1b[0m ➜ \x1b[33mdestroy\x1b[0m: \x1b[32mExecuted: Successful\x1b[0m
[+61s] \x1b[36mINFO    \x1b[0m \x1b[32mvip\x1b[0m ➜ \x1b[33mcreate\x1b[0m: \x1b[32mExecuted: Successful\x1b[0m
[+62s] INFO     vip ➜ converge: Executing
TASK [homelab.k3s.firewall : Check the ruleset] ****************************
ok: [vip-1]
fatal: [vip-3]: UNREACHABLE! => {"msg": "ssh timeout"}
TASK [homelab.k3s.k3s_server : Wait for the API] ****************************
failed: [vip-2] (item=6443) => {"changed": false, "msg": "API not ready after 90 s", "stderr": ""}
fatal: [vip-1]: FAILED! => {"changed": false, "msg": "same"}
fatal: [vip-a1]: FAILED! => {"msg": "third"}
fatal: [vip-a2]: FAILED! => {"msg": "fourth, not shown"}
TASK [ignored] ***
fatal: [vip-1]: FAILED! => {"msg": "ignored one"}
...ignoring
[+185s] ERROR    vip ➜ converge: Executed: Failed
[+190s] vip ➜ destroy: Executed: Successful
"""


def test_names_the_failed_step_and_the_first_failed_tasks_with_host_and_message():
    lines = mfd.digest("vip", LOG)
    assert lines[0] == "vip: FAILED in converge (at +185s: Executed: Failed)"
    assert lines[1] == "  homelab.k3s.firewall : Check the ruleset on vip-3 UNREACHABLE: msg: ssh timeout"
    assert lines[2] == "  homelab.k3s.k3s_server : Wait for the API on vip-2 (item 6443): msg: API not ready after 90 s"
    assert lines[3] == "  homelab.k3s.k3s_server : Wait for the API on vip-1: msg: same"
    assert len(lines) == 4  # the first three failures only


def test_a_failure_ansible_ignored_is_not_shown():
    log = ('TASK [a] ***\nfatal: [n]: FAILED! => {"msg": "ignored"}\n...ignoring\n'
           'TASK [b] ***\nfatal: [n]: FAILED! => {"msg": "real"}\n')
    assert mfd.digest("s", log)[1:] == ["  b on n: msg: real"]


def test_a_long_message_is_cut_to_the_limit():
    log = 'TASK [t] ***\nfatal: [n]: FAILED! => {"msg": "%s"}\n' % ("x" * 1000)
    line = mfd.digest("s", log, max_chars=50)[1]
    assert line == "  t on n: msg: " + "x" * 42 + "..."


def test_a_payload_that_is_not_json_is_shown_as_text():
    log = "TASK [t] ***\nfatal: [n]: FAILED! => not json here\n"
    assert mfd.digest("s", log)[1] == "  t on n: not json here"


def test_without_a_failed_task_it_shows_the_last_lines():
    log = "[+3s] s ➜ create: Executed: Successful\nline a\n\nCRITICAL Something broke\n"
    lines = mfd.digest("s", log)
    assert lines[0] == "s: FAILED in create (at +3s: Executed: Successful)"
    assert lines[1] == "  no failed task in the log; its last lines:"
    assert lines[-1] == "    CRITICAL Something broke"


def test_the_command_line_reads_the_log_and_survives_a_missing_one(tmp_path):
    log = tmp_path / "m.log"
    log.write_text(LOG, encoding="utf-8")
    script = os.path.join(ROOT, "tests", "tools", "molecule_failure_digest.py")
    out = subprocess.run([sys.executable, script, "vip", str(log)], check=True, capture_output=True, text=True).stdout
    assert out.splitlines()[0].startswith("vip: FAILED in converge")
    out = subprocess.run([sys.executable, script, "vip", str(tmp_path / "none")], check=True,
                         capture_output=True, text=True).stdout
    assert out.startswith("vip: FAILED (its log cannot be read:")
