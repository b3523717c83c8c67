"""Test helper (molecule/vault): record every node's seal status from the host.

One line per round, one word per node, all nodes asked at the same moment (one
thread each), so a line is a snapshot of the cluster:

  True / False  sys/seal-status answered: sealed / unsealed
  down          no server listening (connection refused or reset): being restarted
  slow          no answer within the timeout: the process is alive but the
                shared 2-core host did not schedule it in time (unknown state)

Runs until the stop file exists (or a hard time limit), then exits: the
scenario touches the stop file instead of hunting for a process id.

Usage: python3 seal_sampler.py CA_FILE OUT_FILE STOP_FILE NODE_IP...
"""

import json
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

TIMEOUT = 5
PAUSE = 0.2
HARD_LIMIT = 1800


def seal_status(context, node):
    url = 'https://%s:8200/v1/sys/seal-status' % node
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT, context=context) as answer:
            return str(json.load(answer)['sealed'])
    except (socket.timeout, TimeoutError):
        return 'slow'
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (socket.timeout, TimeoutError)):
            return 'slow'
        return 'down'
    except (ConnectionError, ssl.SSLError, ValueError, KeyError):
        return 'down'


def snapshot(context, nodes):
    words = [None] * len(nodes)

    def ask(index):
        words[index] = seal_status(context, nodes[index])

    threads = [threading.Thread(target=ask, args=(index,)) for index in range(len(nodes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ' '.join(words)


def main(argv):
    ca_file, out_file, stop_file, nodes = argv[0], argv[1], argv[2], argv[3:]
    context = ssl.create_default_context(cafile=ca_file)
    started = time.monotonic()
    with open(out_file, 'a') as out:
        while time.monotonic() - started < HARD_LIMIT:
            try:
                with open(stop_file):
                    return 0
            except FileNotFoundError:
                pass
            out.write(snapshot(context, nodes) + '\n')
            out.flush()
            time.sleep(PAUSE)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
