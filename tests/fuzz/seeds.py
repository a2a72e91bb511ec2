#!/usr/bin/env python3
"""Write the hand-made seed inputs of every fuzz target.

usage: tests/fuzz/seeds.py [CORPUS_DIR]     (default tests/fuzz/corpus)

Each seed is named seed-WHAT, so that seeds are told apart from the inputs
libFuzzer added (named by their SHA-1) when the corpus was merged. The
seeds cover every accepted form and every class of refusal the module's
header names; fuzzing then starts from there. Running this again rewrites
the seeds and leaves the merged inputs alone.
"""
import base64
import hashlib
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def onion(seed):
    """A valid v3 onion (no .onion) whose key is derived from SEED."""
    pub = hashlib.sha256(seed.encode()).digest()
    check = hashlib.sha3_256(b".onion checksum" + pub + b"\x03").digest()[:2]
    return base64.b32encode(pub + check + b"\x03").decode().lower()


# rend-spec-v3's example addresses, and one with a bad checksum
O1 = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd"
O2 = "sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd"
O3 = "xa4r2iadxm55fbnqgwwi5mymqdcofiu3w6rpbtqn7b2dyn7mgwj64jyd"
OBAD = "ag6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd"


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# --- config ------------------------------------------------------------------

def config_seeds():
    full = (
        "# onionshim.conf\n"
        "socks_server = 127.0.0.1:9050\n"
        "onion_map = /etc/onionshim/onion_map\n"
        "route = all\n"
        "allow_inbound = no\n"
        "allow_localhost = no\n"
        "isolation = destination\n"
        "connect_timeout = 120s\n"
        "fake_network = 240.0.0.0/5\n"
        "fake_network6 = 2001:db8::/32\n"
        "log_level = notice\n"
        "log_to = syslog\n"
    )
    seeds = {
        "empty": "",
        "full": full,
        "full-crlf": full.replace("\n", "\r\n"),
        "other-values": (
            "socks_server = [::1]:9050, 127.0.0.1:9150 localhost:9050\n"
            "onion_map =\n"
            "route = ONION\n"
            "allow_inbound = Yes\n"
            "allow_localhost = yes\n"
            "isolation = none\n"
            "connect_timeout = 2m\n"
            "fake_network = 10.64.0.0/10\n"
            "fake_network6 = fd00:1234::/48\n"
            "log_level = debug\n"
            "log_to = /var/log/onionshim.log\n"
        ),
        "continuation": (
            "socks_server = 127.0.0.1:9050,\n"
            "\t[::1]:9050\n"
            "# a comment between does not end the line\n"
            "    127.0.0.2:9050\n"
            "log_to = stderr\n"
        ),
        "v4-in-brackets": "socks_server = [127.0.0.1]:9050\n",
        "nine-servers": "socks_server = " + " ".join("127.0.0.%d:9050" % i for i in range(1, 10)) + "\n",
        "unknown-name": "sock_server = 127.0.0.1:9050\n",
        "missing-equals": "route all\n",
        "missing-name": " = all\nroute = all\n",
        "twice": "route = all\nroute = onion\n",
        "leading-space": "  route = all\n",
        "nul": "route = all\nlog_to = sys\0log\n",
        "too-long": "onion_map = /" + "x" * 5000 + "\n",
        "bad-port": "socks_server = 127.0.0.1:0\n",
        "bad-port-big": "socks_server = 127.0.0.1:65536\n",
        "name-not-numeric": "socks_server = tor.example:9050\n",
        "v6-without-brackets": "socks_server = ::1:9050\n",
        "empty-list": "socks_server = , ,\n",
        "relative-map": "onion_map = onion_map\n",
        "bad-route": "route = some\n",
        "bad-bool": "allow_inbound = true\n",
        "timeout-units": "connect_timeout = 24h\n",
        "timeout-too-long": "connect_timeout = 2d\n",
        "timeout-zero": "connect_timeout = 0\n",
        "timeout-ms": "connect_timeout = 500ms\n",
        "timeout-huge": "connect_timeout = 99999999999999999999w\n",
        "fake-loopback": "fake_network = 127.0.0.0/8\n",
        "fake-host-bits": "fake_network = 240.0.0.1/5\n",
        "fake-prefix-25": "fake_network = 240.0.0.0/25\n",
        "fake-no-prefix": "fake_network = 240.0.0.0\n",
        "fake6-mapped": "fake_network6 = ::ffff:0:0/96\n",
        "fake6-prefix-121": "fake_network6 = 2001:db8::/121\n",
        "fake6-host-bits": "fake_network6 = 2001:db8::1/32\n",
        "bad-level": "log_level = verbose\n",
        "bad-log-to": "log_to = mail.log\n",
        "control-bytes": "route = a\x1b[2J\x7f\n",
        "high-bytes": "route = \xc3\xa9\xff\n",
        "lone-cr": "route = all\rlog_to = stderr\n",
        "only-comments": "# nothing\n\n   \n\t# still nothing\n",
    }
    for name, text in seeds.items():
        write("config", name, text)


# --- map ---------------------------------------------------------------------

def map_seeds():
    seeds = {
        "empty": "",
        "integration": (
            "# plain syntax\n"
            "example.org        %s.onion\n"
            "ported.example     %s.onion:2525\n"
            ".example.net       %s.onion\n"
            "transport.example  smtptor:[%s.onion]:25\n"
            "nobrackets.example smtptor:%s.onion\n" % (O1, O2, O3, O2, O3)
        ),
        "case-and-dots": "EXAMPLE.Org.  %s.ONION.\n.Sub.Example.COM. %s.onion:25\n" % (O1.upper(), O2),
        "shared-onion": "a.example %s.onion\nb.example %s.onion\nc.example %s.onion:25\n" % (O1, O1, O1),
        "duplicate": "a.example %s.onion\na.example %s.onion\n" % (O1, O1),
        "conflict": "a.example %s.onion\nA.EXAMPLE. %s.onion\n" % (O1, O2),
        "bad-checksum": "bad.example %s.onion\n" % OBAD,
        "v2": "old.example expyuzz4wqqyqhjn.onion\n",
        "subdomain-target": "x.example mail.%s.onion\n" % O1,
        "bad-ports": "a.example %s.onion:0\nb.example %s.onion:65536\nc.example %s.onion:x\n" % (O1, O1, O1),
        "port-max": "a.example %s.onion:65535\n" % O1,
        "skipped-transports": (
            "relay.example smtp:[mx.relay.example]:25\n"
            "empty.example relay:\n"
            "bare.example smtp\n"
            "local.example local:\n"
        ),
        "bad-next-hop": "a.example smtptor:[%s.onion:25\nb.example [%s.onion]:25\n" % (O1, O1),
        "not-onion": "a.example mx.example.org\n",
        "three-tokens": "a.example %s.onion extra\n" % O1,
        "no-destination": "a.example\n",
        "bad-domain": "bad_domain..example %s.onion\n-x- %s.onion\n" % (O1, O1),
        "continuation": "a.example\n    %s.onion\n  \n# c\nb.example %s.onion\n" % (O1, O2),
        "orphan-continuation": "   %s.onion\na.example %s.onion\n" % (O1, O1),
        "crlf": "a.example %s.onion\r\nb.example %s.onion\r\n" % (O1, O2),
        "no-final-newline": "a.example %s.onion" % O1,
        "control-bytes": "a\x1b.example %s.onion\nb.example %s\x07.onion\n" % (O1, O1),
        "long-domain": ".".join(["a" * 63] * 3) + "." + "b" * 61 + " %s.onion\n" % O1,
        "dot-only": ". %s.onion\n.. %s.onion\n" % (O1, O1),
        "parent-and-child": ".example.org %s.onion\nmx.example.org %s.onion\nexample.org %s.onion\n" % (O1, O2, O3),
    }
    many = "".join("d%d.example %s.onion\n" % (i, onion("map-%d" % i)) for i in range(40))
    seeds["forty-destinations"] = many
    for name, text in seeds.items():
        write("map", name, text)


# --- onion -------------------------------------------------------------------

def onion_seeds():
    gen = onion("onion-seed")
    seeds = {
        "valid-1": O1 + ".onion",
        "valid-2": O2 + ".onion.",
        "valid-3-upper": O3.upper() + ".ONION",
        "valid-generated": gen + ".onion",
        "subdomain": "mail." + O1 + ".onion",
        "deep-subdomain": "a.b-c.d_e." + O2 + ".onion",
        "bad-checksum": OBAD + ".onion",
        "bad-version": base64.b32encode(b"\x00" * 34 + b"\x04").decode().lower() + ".onion",
        "v2": "expyuzz4wqqyqhjn.onion",
        "short": "abc.onion",
        "bad-base32": O1[:-1] + "1.onion",
        "bare-word": "onion",
        "dot-onion": ".onion",
        "empty-label": "a.." + O1 + ".onion",
        "not-onion": "example.org",
        "onion-ish": "xonion",
        "too-long": ("a" * 63 + ".") * 3 + O1 + ".onion",
        "bad-subdomain": "a b." + O1 + ".onion",
        "label": O1,
        "label-v2": "expyuzz4wqqyqhjn",
        "pubkey-bytes": bytes(range(32)) + b"mail",
    }
    for name, text in seeds.items():
        write("onion", name, text)


# --- socks5 ------------------------------------------------------------------

def reply(rep, atyp, addr, port=0):
    head = bytes([5, rep, 0, atyp])
    if atyp == 3:
        head += bytes([len(addr)])
    return head + addr + struct.pack(">H", port)


def socks5_seeds():
    seeds = {
        "ok-ipv4": reply(0, 1, b"\0\0\0\0"),
        "ok-ipv4-port": reply(0, 1, b"\x7f\0\0\x01", 9050),
        "ok-name": reply(0, 3, b"onionshim-bound.test", 25),
        "ok-name-255": reply(0, 3, b"n" * 255, 65535),
        "ok-ipv6": reply(0, 4, b"\0" * 15 + b"\x01"),
        "ok-with-banner": reply(0, 1, b"\0\0\0\0") + b"220 onionshim-test ESMTP\r\n",
        "rsv-set": bytes([5, 0, 0xFF, 1, 0, 0, 0, 0, 0, 0]),
        "bad-version": bytes([4, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        "bad-atyp": bytes([5, 0, 0, 9, 0, 0, 0, 0, 0, 0]),
        "empty-name": bytes([5, 0, 0, 3, 0, 0, 0]),
        "short": bytes([5, 0, 0]),
        "http": b"HTTP/1.1 400\r\n\r\n",
        # tor's failed RESOLVE: an error code, ATYP 0, an IPv4-sized address
        "resolve-failed-atyp0": bytes([5, 4, 0, 0, 0, 0, 0, 0, 0, 0]),
        "success-atyp0": bytes([5, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        "method-none": b"\x05\x00",
        "method-auth": b"\x05\x02",
        "method-refused": b"\x05\xff",
        "auth-ok": b"\x01\x00",
        "auth-refused": b"\x01\x01",
    }
    for code in list(range(0, 9)) + list(range(0xF0, 0xF8)) + [0x09, 0xFF]:
        seeds["code-%02x" % code] = reply(code, 1, b"\0\0\0\0")
    for name, data in seeds.items():
        write("socks5", name, data)


# --- dnsmsg ------------------------------------------------------------------

def dname(text):
    out = b""
    for label in text.split(".") if text else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(name, qtype, qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0, opt=None, tail=b""):
    msg = struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)
    msg += dname(name) if isinstance(name, str) else name
    msg += struct.pack(">HH", qtype, 1)
    if opt is not None:
        msg += opt
    return msg + tail


def opt_rr(udp=1232, do=False, options=b""):
    return b"\0" + struct.pack(">HHIH", 41, udp, 0x8000 if do else 0, len(options)) + options


def dnsmsg_seeds():
    on = O1 + ".onion"
    seeds = {
        "mx-example": query("example.org", 15),
        "a-example": query("example.org", 1),
        "aaaa-example": query("example.org", 28),
        "txt-example": query("example.org", 16),
        "mx-onion": query(on, 15),
        "a-onion-no-rd": query(on, 1, flags=0),
        "mx-edns": query("example.org", 15, ar=1, opt=opt_rr()),
        "mx-edns-do": query("example.org", 15, ar=1, opt=opt_rr(4096, True)),
        "mx-edns-cookie": query("example.org", 15, ar=1,
                                opt=opt_rr(1232, False, struct.pack(">HH", 10, 8) + b"\x01" * 8)),
        "class-chaos": query("example.org", 16)[:-2] + struct.pack(">H", 3),
        "root": query("", 2),
        "max-name": query(".".join(["a" * 63] * 3 + ["b" * 61]), 1),
        "label-64": query("a" * 64, 1),
        "name-254": query(".".join(["a" * 63] * 3 + ["b" * 62]), 1),
        "compression": query(b"\xc0\x0c", 1),
        "qr-set": query("example.org", 1, flags=0x8100),
        "opcode-notify": query("example.org", 6, flags=0x2000),
        "two-questions": query("example.org", 1, qd=2),
        "answer-count": query("example.org", 1, an=1),
        "two-additional": query("example.org", 1, ar=2, opt=opt_rr() + opt_rr()),
        "opt-owner": query("example.org", 1, ar=1, opt=b"\x01a\x00" + opt_rr()[1:]),
        "opt-short": query("example.org", 1, ar=1, opt=opt_rr()[:-1]),
        "trailing": query("example.org", 1, tail=b"\0"),
        "bad-char": query(b"\x03a.b\x03org\x00", 1),
        "underscore": query("_25._tcp.example.org", 52),
        "short-header": b"\x12\x34\x01\x00\x00",
        # the same bytes are also a name for res_query-style questions
        "text-name": b"example.org",
        "text-name-dot": b"Example.ORG.",
        "text-root": b".",
        "text-empty-label": b"a..b",
        "text-leading-dot": b".a",
        "text-long": ("a" * 63 + ".") * 4,
        "empty": b"",
    }
    for name, data in seeds.items():
        write("dnsmsg", name, data)


config_seeds()
map_seeds()
onion_seeds()
socks5_seeds()
dnsmsg_seeds()
