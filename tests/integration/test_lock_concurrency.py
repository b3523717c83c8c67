"""20 processes contend for one lock; one dies while holding it."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from k8s_emulator import EmulatorProcess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTENDER = os.path.join(ROOT, "tests", "integration", "lock_contender.py")
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
# One round each: 20 turns already make every contender wait for most of the
# others; the single emulator process answers every poll, and on a loaded CI
# machine (load 4-10 on 2 cores) 40 turns took longer than the waits below.
CONTENDERS, ROUNDS, DEAD_TTL = 20, 1, 4
WAIT = 240  # seconds for all contenders together (each acquire may wait this long)


@pytest.mark.slow
def test_twenty_contenders_take_turns_and_a_dead_holder_is_taken_over(tmp_path):
    shared, log = str(tmp_path / "shared.txt"), str(tmp_path / "turns.jsonl")
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    with EmulatorProcess(str(tmp_path)) as emu:
        victim = subprocess.Popen([sys.executable, CONTENDER, emu.url, "victim", "1", shared, log,
                                   "--die-holding", str(DEAD_TTL)], env=env)
        deadline = time.time() + 30
        while not (os.path.exists(log) and "victim" in open(log).read()):
            assert time.time() < deadline and victim.poll() is None, "victim never got the lock"
            time.sleep(0.05)
        procs = [subprocess.Popen([sys.executable, CONTENDER, emu.url, "c%02d" % i, str(ROUNDS), shared, log,
                                   "--wait", str(WAIT)], env=env) for i in range(CONTENDERS)]
        victim.send_signal(signal.SIGKILL)  # dies holding the lock
        victim.wait()
        try:
            deadline = time.time() + WAIT
            codes = [p.wait(max(1, deadline - time.time())) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
    turns = [json.loads(line) for line in open(log)]
    died = [t for t in turns if t.get("died")][0]
    done = sorted((t for t in turns if not t.get("died")), key=lambda t: t["start"])
    assert codes == [0] * CONTENDERS
    assert len(done) == CONTENDERS * ROUNDS, "every contender got the lock every round"
    assert not [t for t in done if t["violation"]], "someone else's token appeared while holding the lock"
    for before, after in zip(done, done[1:]):
        assert before["end"] <= after["start"], "two holders at once: %s and %s" % (before, after)
    first = done[0]["start"]
    assert first >= died["start"] + DEAD_TTL, "dead holder's lock taken over before its TTL ran out"
    # Contenders start slowly on a loaded machine (importing the client), so
    # measure the takeover from the later of expiry and the first attempt.
    first_attempt = min(t["start"] - t["waited"] for t in done)
    assert first <= max(died["start"] + DEAD_TTL, first_attempt) + 5, \
        "dead holder's lock not taken over soon after its TTL"
