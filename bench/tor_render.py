#!/usr/bin/env python3
"""tor_render.py - the markdown section for bench/tor.sh's results

usage: python3 bench/tor_render.py [build/bench/tor.json] [OUT.md]

Reads the raw results of `make bench-tor` (default build/bench/tor.json)
and writes a markdown section (default: tor.md beside the JSON) meant to
sit under a "Real Tor" heading of docs/benchmarks.md: the versions, the
command, one table row per sender and batch size (median and min-max of
the three or more rounds, each sender's ratio to the floor), what the
logs say about connections, the cache and warnings, and the hand-written
analysis in bench/tor_notes.md, included as it is. It measures nothing
and can be re-run after an edit of the notes.
"""

import json
import os
import re
import statistics
import sys

NAMES = {
    "onion": "smtp_onion (onionshim)",
    "torsocks": "seed recipe (`torsocks smtp`)",
    "direct": "direct, no Tor (the floor)",
}
ORDER = ["onion", "torsocks", "direct"]


def med(xs):
    return statistics.median(xs) if xs else None


def fmt_s(x):
    return "–" if x is None else ("%.2f" % x)


def spread(xs, f="%.2f"):
    if not xs:
        return "–"
    m = med(xs)
    if len(xs) == 1:
        return f % m
    return (f + " (" + f + "–" + f + ")") % (m, min(xs), max(xs))


def ispread(xs):
    if not xs:
        return "–"
    m = med(xs)
    ms = ("%d" % m) if m == int(m) else ("%.1f" % m)
    if min(xs) == max(xs):
        return ms
    return "%s (%d–%d)" % (ms, min(xs), max(xs))


def norm_warning(line):
    # "Nov 25 05:16:18 mx postfix/x[123]: warning: ..." -> "postfix/x: warning: ..."
    line = re.sub(r"^\w{3} +\d+ [\d:]+ \S+ ", "", line)
    line = re.sub(r"\[\d+\]", "", line)
    line = re.sub(r"\b[0-9A-F]{10,}\b", "QID", line)
    line = re.sub(r"\bpid \d+\b", "pid N", line)
    return line


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "build/bench/tor.json"
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(src) or ".", "tor.md")
    doc = json.load(open(src))
    runs = doc["runs"]
    measured = [r for r in runs if r["rep"] > 0]
    counts = doc["counts"]
    senders = [s for s in ORDER if any(r["label"] == s for r in runs)]
    L = []
    w = L.append

    w("### 30 and 50 messages to one onion domain")
    w("")
    w("Postfix %s, tor %s (a private Tor network on loopback, tests/e2e), "
      "torsocks %s; %d CPUs, load average %s at the start; %d rounds; "
      "the connection cache on for every destination; the whole plan once with "
      "at most 2 connections per destination (`*_destination_concurrency_limit`, "
      "as the e2e sender has it) and once with Postfix's default. `make bench-tor` "
      "took %s s in all, the world's start-up included."
      % (doc["postfix"], re.sub(r"^Tor version ", "", doc["tor"]), doc["torsocks"],
         doc["cpus"], " ".join(doc["load_start"]), doc["reps"],
         "%.0f" % doc["total_s"] if doc.get("total_s") else "?"))
    w("")
    w("Command: `make bench-tor` (as root; `bash bench/tor.sh [OUTDIR]` after "
      "`make all`; `BENCH_TOR_REPS`, `BENCH_TOR_COUNTS`, `BENCH_TOR_CONCURRENCY`, "
      "`BENCH_TOR_SENDERS` change the plan). Raw results: build/bench/tor.json; "
      "the world's logs: build/bench/tor-logs/.")
    w("")
    w("The messages go in through one SMTP session to the sender's own smtpd; "
      "the time runs from the first submission until the last message is in the "
      "receiver's Maildir. All three senders deliver to the same receiver "
      "(receiver1.test, its smtpd on loopback behind the onion service):")
    w("")
    w("- **smtp_onion**: the e2e sender's `smtptor` transport as tests/e2e/sender.sh "
      "sets it up (smtp_onion, chrooted, DNS on: onionshim answers the MX lookup "
      "from onion_map; routed by the domain alone);")
    w("- **seed recipe**: a transport whose command runs `torsocks smtp \"$@\"`, "
      "with a torsocks.conf naming the world's SocksPort, "
      "`smtp_dns_support_level = disabled` and `inet_protocols = ipv4` (torsocks "
      "refuses IPv6 sockets, so smtp with the default `all` dies at start: "
      "`fatal: socket: Function not implemented`), routed to `[ONION]`;")
    w("- **direct**: Postfix's plain smtp to `[127.0.0.1]:PORT` of that smtpd, "
      "without Tor (the floor).")
    w("")
    concs = doc["concurrency"]
    ctext = {c: ("Postfix's default (20, slow start at 5)" if c == "default" else c) for c in concs}
    w("| connections per destination | sender | mails | all delivered, s | × floor | "
      "all `status=sent`, s | connections opened | deliveries on a reused connection | "
      "warnings | deferred | duplicates |")
    w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    ratio = {}
    for c in concs:
        for n in counts:
            fl = med([r["delivered_s"] for r in measured if r["label"] == "direct"
                      and r["count"] == n and r["concurrency"] == c
                      and r["delivered_s"] is not None])
            for s in senders:
                rs = [r for r in measured if r["label"] == s and r["count"] == n
                      and r["concurrency"] == c]
                if not rs:
                    continue
                done = [r["delivered_s"] for r in rs if r["delivered_s"] is not None]
                sent = [r["sent_s"] for r in rs if r["sent_s"] is not None]
                t = spread(done)
                if len(done) < len(rs):
                    t += " (%d of %d rounds: not all delivered)" % (len(rs) - len(done), len(rs))
                x = "–"
                if done and fl:
                    ratio[(c, s, n)] = med(done) / fl
                    x = "%.1f" % ratio[(c, s, n)]
                w("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    ctext[c], NAMES[s], n, t, x, spread(sent),
                    ispread([r["conns"] for r in rs]),
                    ispread([r["reused"] for r in rs]),
                    ispread([len(r["warnings"]) for r in rs]),
                    ispread([r["deferred"] for r in rs]),
                    ispread([r["duplicates"] for r in rs])))
    w("")
    w("Medians, with min–max over the rounds in brackets; \"× floor\" divides "
      "medians of the same batch size and concurrency. \"connections opened\": "
      "`connect from` lines of the receiver's smtpd; \"reused\": delivery lines "
      "with `conn_use=`; \"warnings\": `warning:` lines of the sender's Postfix "
      "while the batch ran. Submitting the batch (one SMTP session into the "
      "sender) took %s s for %d messages (median over every batch of that size)."
      % (fmt_s(med([r["submitted_s"] for r in measured if r["count"] == counts[-1]])),
         counts[-1]))
    w("")

    # Where the time goes: Postfix's own split of each delivery.
    w("Where the time of one delivery goes: Postfix's `delays=a/b/c/d`, medians "
      "over every delivery of the rounds, c (connection set-up: connect, "
      "banner, EHLO) for deliveries that opened their connection and for those "
      "that reused one, d (the transmission: MAIL, RCPT, DATA and the message, "
      "up to the final reply). The first message of each sender (the warm-up, "
      "not in the table above) pays for new smtp processes and, over Tor, the "
      "first stream on the circuit to the onion service.")
    w("")
    w("| connections per destination | sender | deliveries | c, new connection, s "
      "| c, reused, s | d, s | warm-up message, s | onionshim's SOCKS connect, ms |")
    w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c in concs:
        for s in senders:
            rs = [r for r in measured if r["label"] == s and r["concurrency"] == c]
            if not rs:
                continue
            ds = [d for r in rs for d in r["delays"]]
            warm = [r["delivered_s"] for r in runs if r["label"] == s and r["rep"] == 0
                    and r["concurrency"] == c]
            lib = [m for r in rs for m in r.get("lib_connect_ms", [])]
            w("| %s | %s | %d | %s | %s | %s | %s | %s |" % (
                ctext[c], NAMES[s], len(ds),
                fmt_s(med([d[2] for d in ds if len(d) > 4 and not d[4]])),
                fmt_s(med([d[2] for d in ds if len(d) > 4 and d[4]])),
                fmt_s(med([d[3] for d in ds])),
                fmt_s(warm[0]) if warm and warm[0] is not None else "not delivered",
                ("%d (%d–%d) over %d connects" % (med(lib), min(lib), max(lib), len(lib)))
                if lib else "–"))
    w("")

    if doc.get("rtt"):
        w("One SMTP round trip, measured apart from Postfix after each warm-up "
          "(bench/tor_rtt.py: its own SOCKS client, no preload library; 20 NOOPs "
          "one after another on one connection; \"onionshim's login\" logs in to "
          "Tor as onionshim does with isolation = destination, so it rides "
          "smtp_onion's circuit):")
        w("")
        w("| path | NOOP round trip, ms: median (min–max) | connect and banner, ms |")
        w("| --- | ---: | ---: |")
        for rec in doc["rtt"]:
            label = re.sub(r"^onion c=", "onion, no login (the circuit torsocks uses) c=",
                           rec["label"])
            label = re.sub(r" c=(\S+)$", lambda m: ", after the warm-up at %s connections"
                           % ("Postfix's default" if m.group(1) == "default" else m.group(1)),
                           label)
            w("| %s | %.1f (%.1f–%.1f) | %.0f |" % (
                label, med(rec["rtt_ms"]), min(rec["rtt_ms"]), max(rec["rtt_ms"]),
                rec["connect_ms"]))
        w("")

    # Every distinct warning and cache line, with how often it came.
    noted = False
    for s in senders:
        seen = {}
        for r in runs:
            if r["label"] != s:
                continue
            for l in r["warnings"] + [x for x in r["scache"] if x not in r["warnings"]]:
                k = norm_warning(l)
                seen[k] = seen.get(k, 0) + 1
        if not seen:
            continue
        if not noted:
            w("What the sender's log said (every distinct `warning:` or cache line, "
              "warm-up included, process ids and queue ids elided):")
            w("")
            noted = True
        w("- %s:" % NAMES[s])
        for k, c in sorted(seen.items(), key=lambda kv: -kv[1])[:8]:
            w("  - %d × `%s`" % (c, k))
    if not noted:
        w("The sender's log had no `warning:` line and no line about the "
          "connection cache for any sender.")
    w("")

    # The target, as the issue states it.
    for c in concs:
        for n in counts:
            r = ratio.get((c, "onion", n))
            if r is None:
                continue
            w("- **Target (within 2 × the floor), %d messages, %s connections per "
              "destination: %s**: smtp_onion %.1f × the floor%s."
              % (n, ctext[c], "met" if r <= 2 else "missed", r,
                 ", the seed recipe %.1f ×" % ratio[(c, "torsocks", n)]
                 if (c, "torsocks", n) in ratio else ""))
    w("")
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tor_notes.md")
    if os.path.exists(notes):
        w(open(notes).read().rstrip())
        w("")
    with open(out, "w") as f:
        f.write("\n".join(L).rstrip() + "\n")
    print("tor_render: wrote %s" % out, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
