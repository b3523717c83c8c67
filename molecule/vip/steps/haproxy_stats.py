"""Print HAProxy's per-server state of backend k3s_api as JSON: {server: {status, sessions}}.

Run on a load-balancer node (molecule/vip verify, ansible.builtin.script); reads the admin socket.
"""
import csv
import json
import socket

sock = socket.socket(socket.AF_UNIX)
sock.connect("/run/haproxy/admin.sock")
sock.sendall(b"show stat\n")
data = b""
while True:
    chunk = sock.recv(65536)
    if not chunk:
        break
    data += chunk
rows = csv.DictReader(data.decode().lstrip("# ").splitlines())
print(json.dumps({row["svname"]: {"status": row["status"], "sessions": int(row["stot"] or 0)}
                  for row in rows
                  if row["pxname"] == "k3s_api" and row["svname"] not in ("FRONTEND", "BACKEND")}))
