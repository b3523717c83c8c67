# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print a few lines that say why a Molecule scenario failed, from its log.

A CI log is often read only from its end, where a failed scenario's own output
(hundreds of lines, printed when it ended) is long gone. tests/runners/molecule.sh
calls this for every failed scenario, and tests/runners/run_suite.sh repeats the
result last: the step that failed, the first failed tasks (host and message), or
the log's last lines when Ansible reported no failed task.

Usage: molecule_failure_digest.py SCENARIO LOG [--max-chars N]
"""

import argparse
import json
import re
import textwrap
import sys

try:
    import yaml
except ImportError:  # (the digest still shows the result as text)
    yaml = None

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Molecule 25 prints each Ansible run inside a box: "  │ <Ansible's line>".
BOX = re.compile(r"^\s*[│┌└][─ ]?")
STEP = re.compile(r"^\[\+(\d+)s\].*➜\s+(\w+):\s*(.*)$")
TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(.*)\]")
FAILED = re.compile(r"^(?:fatal|failed): \[([^\]]+)\](?: \(item=(.*?)\))?:? (FAILED! |UNREACHABLE! )?=>\s*(.*)$")
MAX_FAILURES = 3


def _parse(payload):
    """A result printed as JSON (callback_result_format json) or YAML (ours), else None."""
    try:
        return json.loads(payload)
    except ValueError:
        pass
    if yaml is not None:
        try:
            return yaml.safe_load(payload)
        except yaml.YAMLError:
            pass
    return None


def _message(payload, max_chars):
    """The most useful part of a failed task's result, on one line."""
    result = _parse(payload)
    if not isinstance(result, dict):
        text = payload
    else:
        parts = []
        for key in ("msg", "stderr", "stdout", "assertion"):
            value = result.get(key) if isinstance(result, dict) else None
            if value:
                parts.append("%s: %s" % (key, value if isinstance(value, str) else json.dumps(value, default=str)))
        text = " | ".join(parts) or payload
    text = " ".join(text.split())
    return text if len(text) <= max_chars else text[:max_chars - 3] + "..."


def digest(scenario, log_text, max_chars=400):
    """Return the digest lines for one failed scenario's log."""
    lines = [BOX.sub("", ANSI.sub("", line)).rstrip() for line in log_text.splitlines()]
    step = None
    task = None
    failures = []
    for index, line in enumerate(lines):
        match = STEP.match(line)
        if match:
            if step is None or "Failed" not in step[2]:
                step = match.groups()
            continue
        match = TASK.match(line)
        if match:
            task = match.group(1)
            continue
        if line.strip() == "...ignoring" and failures:
            failures.pop()  # (the failed task just above had ignore_errors)
            continue
        match = FAILED.match(line)
        if match:
            host, item, kind, payload = match.groups()
            if not payload:  # a YAML result: the indented lines below
                block = []
                for follow in lines[index + 1:]:
                    if not follow.startswith(" "):
                        break
                    block.append(follow)
                payload = textwrap.dedent("\n".join(block))
            where = "%s on %s" % (task or "?", host)
            where += " (item %s)" % item if item else ""
            where += " UNREACHABLE" if kind == "UNREACHABLE! " else ""
            failures.append("  %s: %s" % (where, _message(payload, max_chars)))
    head = "%s: FAILED" % scenario
    if step:
        head += " in %s (at +%ss: %s)" % (step[1], step[0], step[2] or "no result")
    out = [head]
    if failures:
        out.extend(failures[:MAX_FAILURES])
    else:
        tail = [line for line in lines if line.strip()][-8:]
        out.append("  no failed task in the log; its last lines:")
        out.extend("    " + line[:max_chars] for line in tail)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("log")
    parser.add_argument("--max-chars", type=int, default=400)
    args = parser.parse_args(argv)
    try:
        with open(args.log, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError as exc:
        print("%s: FAILED (its log cannot be read: %s)" % (args.scenario, exc))
        return 0
    print("\n".join(digest(args.scenario, text, args.max_chars)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
