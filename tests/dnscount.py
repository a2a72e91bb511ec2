#!/usr/bin/env python3
"""dnscount.py - a DNS listener that counts every query and answers none.

SYNOPSIS
    dnscount.py [--addr 127.0.0.1] [--port 53] --count-file F
                [--rcode refused|nxdomain] [--pid-file P]

DESCRIPTION
    Listens on ADDR:PORT over UDP and TCP. Every message that arrives is
    one query: the total is rewritten into F atomically (write F.tmp,
    rename) and one line "NAME TYPE PROTO" is appended to F.log, before the
    answer goes out, so that a caller that got an answer also sees it
    counted. NAME is the question name without the trailing dot ("." for
    the root), TYPE the mnemonic (A, AAAA, MX, PTR, ...) or TYPEnnn, PROTO
    udp or tcp. A message without a readable question is still counted, as
    "? ? PROTO".

    The answer is REFUSED by default: the query's ID, flags and question
    echoed with QR set and no records. REFUSED is what a resolver that will
    not serve you says; glibc's stub resolver takes it as a temporary
    failure (EAI_AGAIN / TRY_AGAIN, after trying each nameserver), so an MTA
    run without onionshim in a control test defers its mail instead of
    bouncing it, as it would on NXDOMAIN (an authoritative "no such
    name": Postfix bounces with 5.4.4). --rcode nxdomain is there for tests
    that want the other answer.

    F exists with "0" once both sockets are bound: tests wait for it
    instead of sleeping. SIGTERM or SIGINT stops the listener and exits 0.

NEVER
    Forwards a query, answers with an address, or uses anything beyond
    Python's standard library.
"""

import argparse
import os
import selectors
import signal
import socket
import struct
import sys
import threading

RCODES = {"refused": 5, "nxdomain": 3}
FORMERR = 1
TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX",
         16: "TXT", 28: "AAAA", 33: "SRV", 35: "NAPTR", 43: "DS",
         48: "DNSKEY", 52: "TLSA", 64: "SVCB", 65: "HTTPS", 255: "ANY"}


class Counter:
    """Total and log, shared by the UDP loop and the TCP threads."""

    def __init__(self, path):
        self.path = path
        self.total = 0
        self.lock = threading.Lock()
        self.publish()

    def publish(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as out:
            out.write("%d\n" % self.total)
        os.replace(tmp, self.path)

    def add(self, name, qtype, proto):
        with self.lock:
            self.total += 1
            with open(self.path + ".log", "a") as out:
                out.write("%s %s %s\n" % (name, qtype, proto))
            self.publish()


def parse_question(msg):
    """Return (name, type, end offset of question) or None if unreadable.

    Queries carry no compression pointers; one is refused as unreadable
    rather than followed.
    """
    if len(msg) < 12 or struct.unpack("!H", msg[4:6])[0] < 1:
        return None
    labels = []
    pos = 12
    while True:
        if pos >= len(msg):
            return None
        size = msg[pos]
        pos += 1
        if size == 0:
            break
        if size > 63 or pos + size > len(msg):
            return None
        labels.append(msg[pos:pos + size].decode("ascii", "backslashreplace"))
        pos += size
    if pos + 4 > len(msg):
        return None
    qtype = struct.unpack("!H", msg[pos:pos + 2])[0]
    name = ".".join(labels) if labels else "."
    return name, TYPES.get(qtype, "TYPE%d" % qtype), pos + 4


def answer(msg, question, rcode):
    """Build the reply: same ID and opcode, QR and RA set, no records."""
    if len(msg) < 12:
        return None
    flags = struct.unpack("!H", msg[2:4])[0]
    # Keep opcode and RD, set QR and RA, clear AA/TC/AD/CD and the rcode.
    flags = 0x8000 | (flags & 0x7900) | 0x0080
    if question is None:
        return msg[:2] + struct.pack("!HHHHH", flags | FORMERR, 0, 0, 0, 0)
    body = msg[12:question[2]]
    return msg[:2] + struct.pack("!HHHHH", flags | rcode, 1, 0, 0, 0) + body


def count_and_answer(msg, proto, counter, rcode):
    question = parse_question(msg)
    if question is None:
        counter.add("?", "?", proto)
    else:
        counter.add(question[0], question[1], proto)
    return answer(msg, question, rcode)


def recv_exact(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve_tcp_conn(conn, counter, rcode):
    """Length-prefixed messages, as many as the client sends."""
    with conn:
        conn.settimeout(10)
        try:
            while True:
                head = recv_exact(conn, 2)
                if head is None:
                    return
                msg = recv_exact(conn, struct.unpack("!H", head)[0])
                if msg is None:
                    return
                reply = count_and_answer(msg, "tcp", counter, rcode)
                if reply is not None:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return


def main():
    parser = argparse.ArgumentParser(prog="dnscount.py")
    parser.add_argument("--addr", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=53)
    parser.add_argument("--count-file", required=True)
    parser.add_argument("--rcode", choices=sorted(RCODES), default="refused")
    parser.add_argument("--pid-file")
    args = parser.parse_args()
    rcode = RCODES[args.rcode]

    family = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    udp = socket.socket(family, socket.SOCK_DGRAM)
    tcp = socket.socket(family, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        udp.bind((args.addr, args.port))
        tcp.bind((args.addr, args.port))
    except OSError as exc:
        print("dnscount: %s:%d: %s" % (args.addr, args.port, exc), file=sys.stderr)
        return 1
    tcp.listen(16)

    # The self-pipe turns SIGTERM into a readable event for the loop.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.signal(signal.SIGINT, lambda *_: None)

    if os.path.exists(args.count_file + ".log"):
        os.unlink(args.count_file + ".log")
    counter = Counter(args.count_file)
    if args.pid_file:
        with open(args.pid_file, "w") as pid_out:
            pid_out.write("%d\n" % os.getpid())

    sel = selectors.DefaultSelector()
    sel.register(udp, selectors.EVENT_READ, "udp")
    sel.register(tcp, selectors.EVENT_READ, "tcp")
    sel.register(wake_r, selectors.EVENT_READ, "stop")
    while True:
        for key, _ in sel.select():
            if key.data == "stop":
                return 0
            if key.data == "udp":
                msg, peer = udp.recvfrom(65535)
                reply = count_and_answer(msg, "udp", counter, rcode)
                if reply is not None:
                    udp.sendto(reply, peer)
            else:
                conn, _ = tcp.accept()
                threading.Thread(target=serve_tcp_conn, daemon=True,
                                 args=(conn, counter, rcode)).start()


if __name__ == "__main__":
    sys.exit(main())
