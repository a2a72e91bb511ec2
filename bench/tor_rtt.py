#!/usr/bin/env python3
"""tor_rtt.py - one SMTP round trip, over the onion and on loopback

usage: tor_rtt.py --label L --socks PORT --onion ONION [--port 25]
                  [--user NAME [--password P]]
                  | --label L --direct PORT
                  [--count N] --out FILE

Run by bench/tor.sh inside the world's namespace. Opens one SMTP session
to the receiver, through the world's SocksPort to ONION:PORT (its own
SOCKS5 client, no preload library; --user logs in as onionshim does with
isolation = destination, username the onion and password "onionshim", so
that Tor gives it the circuit smtp_onion uses) or straight to
127.0.0.1:PORT, reads the banner, then times N (default 20) NOOP
commands one after another:
each is one round trip over the connection, which is what every step of
an SMTP transaction that waits for a reply costs. Appends one JSON object
(label, connect_ms, the round trips in ms) to FILE. Never talks to
anything but 127.0.0.1.
"""

import argparse
import json
import socket
import struct
import sys
import time


def recv_reply(f):
    # One SMTP reply, multi-line or not.
    while True:
        line = f.readline()
        if not line:
            raise OSError("connection closed")
        if len(line) < 4 or line[3:4] != b"-":
            return line


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        part = s.recv(n - len(buf))
        if not part:
            raise OSError("SOCKS server closed the connection")
        buf += part
    return buf


def socks_connect(port, host, dport, user=None, password=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    name = host.encode()
    request = b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", dport)
    if user is None:
        s.sendall(b"\x05\x01\x00" + request)
        method = recv_exact(s, 2)
        if method != b"\x05\x00":
            raise OSError("SOCKS method reply %r" % method)
    else:
        # Username and password (Tor's IsolateSOCKSAuth): the greeting
        # alone first, then the login and the request together.
        s.sendall(b"\x05\x01\x02")
        method = recv_exact(s, 2)
        if method != b"\x05\x02":
            raise OSError("SOCKS method reply %r" % method)
        u, p = user.encode(), password.encode()
        s.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p + request)
        if recv_exact(s, 2)[1] != 0:
            raise OSError("SOCKS login refused")
    head = recv_exact(s, 4)
    if head[1] != 0:
        raise OSError("SOCKS reply 0x%02x" % head[1])
    alen = {1: 4, 4: 16}.get(head[3])
    if alen is None:
        alen = recv_exact(s, 1)[0]
    recv_exact(s, alen + 2)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--socks", type=int)
    ap.add_argument("--onion")
    ap.add_argument("--port", type=int, default=25)
    ap.add_argument("--user")
    ap.add_argument("--password", default="onionshim")
    ap.add_argument("--direct", type=int)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    t0 = time.monotonic()
    if args.direct:
        s = socket.create_connection(("127.0.0.1", args.direct), timeout=60)
    else:
        s = socks_connect(args.socks, args.onion, args.port, args.user, args.password)
    f = s.makefile("rb")
    recv_reply(f)
    connect_ms = (time.monotonic() - t0) * 1000
    s.sendall(b"EHLO rtt.sender.test\r\n")
    recv_reply(f)
    rtts = []
    for _ in range(args.count):
        t = time.monotonic()
        s.sendall(b"NOOP\r\n")
        recv_reply(f)
        rtts.append(round((time.monotonic() - t) * 1000, 2))
    s.sendall(b"QUIT\r\n")
    recv_reply(f)
    s.close()
    rec = {"label": args.label, "connect_ms": round(connect_ms, 1), "rtt_ms": rtts}
    with open(args.out, "a") as out:
        out.write(json.dumps(rec) + "\n")
    rtts.sort()
    print("rtt %s: connect and banner %.1f ms, NOOP median %.2f ms"
          % (args.label, connect_ms, rtts[len(rtts) // 2]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
