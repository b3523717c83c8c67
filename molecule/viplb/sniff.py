"""Count the packets that cross lab nodes' veths, seen from the lab host (molecule/viplb verify).

Captures (AF_PACKET, root) on the host side of each named node's veth (``vb-<node>``, the lab's
naming: docs/lab.md) for --seconds and prints one JSON object:
  {"<node>": [{"src": ..., "dst": ..., "proto": 6|112|..., "dport": N|null, "syn": bool,
               "count": N}, ...], ...}
one entry per distinct (src, dst, protocol, TCP SYN without ACK and its destination port) seen on that
node's link, IPv4 and IPv6 alike (IPv6 extension headers are not followed: VRRP and TCP have none
here). Only reads packets, sends none.

usage: python3 sniff.py --seconds 7 vlb-a1 vlb-lb1 vlb-s1
"""
import argparse
import collections
import ipaddress
import json
import select
import socket
import time

ETH_P_ALL = 0x0003


def parse(frame):
    """(src, dst, proto, dport, syn) of an Ethernet frame carrying IPv4/IPv6, else None."""
    ethertype = int.from_bytes(frame[12:14], "big")
    if ethertype == 0x0800 and len(frame) >= 34:
        ip = frame[14:]
        header = (ip[0] & 0x0F) * 4
        proto, src, dst, payload = ip[9], ip[12:16], ip[16:20], ip[header:]
    elif ethertype == 0x86DD and len(frame) >= 54:
        ip = frame[14:]
        proto, src, dst, payload = ip[6], ip[8:24], ip[24:40], ip[40:]
    else:
        return None
    dport, syn = None, False
    if proto == 6 and len(payload) >= 14:
        syn = bool(payload[13] & 0x02) and not payload[13] & 0x10
        dport = int.from_bytes(payload[2:4], "big") if syn else None  # (replies: ephemeral ports)
    return (str(ipaddress.ip_address(bytes(src))), str(ipaddress.ip_address(bytes(dst))), proto, dport, syn)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=7.0)
    parser.add_argument("nodes", nargs="+")
    args = parser.parse_args()
    sockets = {}
    for node in args.nodes:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.bind(("vb-" + node, 0))
        sockets[sock] = node
    seen = {node: collections.Counter() for node in args.nodes}
    deadline = time.monotonic() + args.seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready = select.select(list(sockets), [], [], left)[0]
        for sock in ready:
            key = parse(sock.recv(65535))
            if key:
                seen[sockets[sock]][key] += 1
    for sock in sockets:
        sock.close()
    print(json.dumps({node: [{"src": k[0], "dst": k[1], "proto": k[2], "dport": k[3], "syn": k[4], "count": n}
                             for k, n in sorted(counter.items(), key=str)]
                      for node, counter in seen.items()}))


if __name__ == "__main__":
    main()
