#!/usr/bin/env python3
"""tor_run.py - one measured batch of mail through the e2e world (bench/tor.sh)

usage: tor_run.py --label L --count N --rcpt ADDR --tag TAG
                  --maildir DIR --recv-log FILE --sender-log FILE
                  [--lib-log FILE] [--smtp HOST:PORT] [--timeout S]
                  [--quiet-timeout S] --out FILE

Run by bench/tor.sh inside the world's namespace, never on the host: it
submits N messages for ADDR in one SMTP session to the sender's own smtpd
(HOST:PORT, default 127.0.0.1:25), which is how every sender
configuration gets its mail, then polls until all N are in the receiver's
Maildir and the sender has logged N status=sent lines (or --timeout
passes). Times are taken from the first submission. It then waits until
the world is quiet again (every connection the receiver accepted is
closed: the sender's connection cache has let go, so the next batch starts
from nothing), and reads what happened from the logs written since it
started:

  conns        the receiver's onion smtpd "connect from" lines
  reused       delivery lines with conn_use= (a cached connection)
  deferred, bounced   delivery lines with those statuses
  warnings     every "warning:" line of the sender's Postfix
  scache       every sender line that names the connection cache
  duplicates   Maildir files beyond one per Subject of this batch
  delays       Postfix's delays=a/b/c/d of each delivery, and whether it
               reused a connection
  lib_connect_ms  onionshim's "connected in N ms" (SOCKS + circuit)

It appends one JSON object to --out. It measures only: nothing here
passes or fails on a time. Exit status: 0 when all N were delivered, 2
when some were not within --timeout (recorded all the same), 1 when the
batch could not be submitted at all.
"""

import argparse
import json
import os
import re
import smtplib
import sys
import time


def size_of(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def read_since(path, mark):
    try:
        with open(path, "rb") as f:
            f.seek(mark)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def maildir_files(maildir):
    try:
        return os.listdir(os.path.join(maildir, "new"))
    except OSError:
        return []


class LogTail:
    """Lines appended to a file after a mark, read incrementally."""

    def __init__(self, path, mark):
        self.path = path
        self.pos = mark
        self.partial = ""

    def new_lines(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except OSError:
            return []
        self.pos += len(data)
        text = self.partial + data.decode("utf-8", "replace")
        lines = text.split("\n")
        self.partial = lines.pop()
        return lines


def message(i, args):
    subject = "bench %s %d" % (args.tag, i)
    body = "".join("line %d of a benchmark message, tag %s\r\n" % (k, args.tag)
                   for k in range(20))
    return subject, ("From: bench@sender.test\r\nTo: %s\r\nSubject: %s\r\n"
                     "Message-ID: <bench.%s.%d@sender.test>\r\n\r\n%s"
                     % (args.rcpt, subject, args.tag, i, body))


def submit(args):
    host, port = args.smtp.rsplit(":", 1)
    s = smtplib.SMTP(host, int(port), local_hostname="submit.sender.test",
                     timeout=60)
    try:
        for i in range(1, args.count + 1):
            _, msg = message(i, args)
            s.sendmail("bench@sender.test", [args.rcpt], msg.encode())
    finally:
        s.quit()


def subject_counts(maildir, tag):
    want = "Subject: bench %s " % tag
    counts = {}
    new = os.path.join(maildir, "new")
    for name in maildir_files(maildir):
        try:
            with open(os.path.join(new, name), "rb") as f:
                head = f.read(8192).decode("utf-8", "replace")
        except OSError:
            continue
        for line in head.split("\n"):
            line = line.rstrip("\r")
            if not line:
                break
            if line.startswith(want):
                counts[line] = counts.get(line, 0) + 1
                break
    return counts


def median(xs):
    xs = sorted(xs)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--rep", type=int, default=0)
    ap.add_argument("--concurrency", default="")
    ap.add_argument("--rcpt", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--recv-log", required=True)
    ap.add_argument("--sender-log", required=True)
    ap.add_argument("--lib-log")
    ap.add_argument("--smtp", default="127.0.0.1:25")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--quiet-timeout", type=float, default=30)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    marks = {"recv": size_of(args.recv_log), "sender": size_of(args.sender_log),
             "lib": size_of(args.lib_log) if args.lib_log else 0}
    base = len(maildir_files(args.maildir))
    tail = LogTail(args.sender_log, marks["sender"])
    to_rcpt = "to=<%s>" % args.rcpt
    sent = 0
    t_sent = t_in_maildir = None

    t0 = time.monotonic()
    try:
        submit(args)
    except (OSError, smtplib.SMTPException) as e:
        print("tor_run: submitting to %s failed: %s" % (args.smtp, e), file=sys.stderr)
        return 1
    t_submitted = time.monotonic() - t0

    deadline = t0 + args.timeout
    while time.monotonic() < deadline:
        for line in tail.new_lines():
            if to_rcpt in line and " status=sent " in line:
                sent += 1
        now = time.monotonic() - t0
        if t_sent is None and sent >= args.count:
            t_sent = now
        if t_in_maildir is None and len(maildir_files(args.maildir)) - base >= args.count:
            t_in_maildir = now
        if t_sent is not None and t_in_maildir is not None:
            break
        time.sleep(0.02)

    # Quiet: every connection the receiver's onion smtpd accepted since
    # the mark has been closed again (the sender's cache let go of it).
    quiet_at = None
    qdeadline = time.monotonic() + args.quiet_timeout
    while time.monotonic() < qdeadline:
        recv = read_since(args.recv_log, marks["recv"])
        opened = len(re.findall(r"/onion/smtpd\[\d+\]: connect from ", recv))
        closed = len(re.findall(r"/onion/smtpd\[\d+\]: disconnect from ", recv))
        if opened <= closed:
            quiet_at = time.monotonic() - t0
            break
        time.sleep(0.1)

    recv = read_since(args.recv_log, marks["recv"])
    slog = read_since(args.sender_log, marks["sender"])
    deliveries = [l for l in slog.split("\n") if to_rcpt in l and " status=" in l]
    delays = []
    for l in deliveries:
        m = re.search(r" delays=([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+),", l)
        if m and " status=sent " in l:
            # the four delays, then 1 when the delivery reused a connection
            delays.append([float(x) for x in m.groups()] + [int("conn_use=" in l)])
    warnings = [l for l in slog.split("\n")
                if re.search(r"\]: (warning|error|fatal|panic): ", l)]
    scache = [l for l in slog.split("\n") if re.search(r"scache|connection cache", l, re.I)]
    counts = subject_counts(args.maildir, args.tag)
    lib_ms = []
    if args.lib_log:
        lib = read_since(args.lib_log, marks["lib"])
        lib_ms = [int(x) for x in re.findall(r": connected in (\d+) ms", lib)]

    rec = {
        "label": args.label,
        "count": args.count,
        "rep": args.rep,
        "concurrency": args.concurrency,
        "tag": args.tag,
        "submitted_s": round(t_submitted, 3),
        "sent_s": None if t_sent is None else round(t_sent, 3),
        "delivered_s": None if t_in_maildir is None else round(t_in_maildir, 3),
        "quiet_s": None if quiet_at is None else round(quiet_at, 3),
        "sent": sum(1 for l in deliveries if " status=sent " in l),
        "deferred": sum(1 for l in deliveries if " status=deferred " in l),
        "bounced": sum(1 for l in deliveries if " status=bounced " in l),
        "reused": sum(1 for l in deliveries if " status=sent " in l and "conn_use=" in l),
        "conns": len(re.findall(r"/onion/smtpd\[\d+\]: connect from ", recv)),
        "arrived": len(counts),
        "duplicates": sum(c - 1 for c in counts.values()),
        "warnings": warnings,
        "scache": scache,
        "delays": delays,
        "delay_c_median": median([d[2] for d in delays]),
        "delay_d_median": median([d[3] for d in delays]),
        "lib_connect_ms": lib_ms,
    }
    with open(args.out, "a") as f:
        f.write(json.dumps(rec) + "\n")
    t = rec["delivered_s"]
    print("%-9s c=%-7s n=%-3d rep %d: %s s, %d conns, %d reused, %d deferred, %d warnings, %d dup"
          % (args.label, args.concurrency, args.count, args.rep, "%.2f" % t if t is not None else "not all",
             rec["conns"], rec["reused"], rec["deferred"], len(warnings), rec["duplicates"]),
          file=sys.stderr)
    return 0 if t is not None else 2


if __name__ == "__main__":
    sys.exit(main())
