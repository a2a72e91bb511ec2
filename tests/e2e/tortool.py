#!/usr/bin/env python3
"""tortool.py - small Tor client helpers for the end-to-end test world.

SYNOPSIS
    tortool.py socks-connect --socks-port P [--socks-host H] [--user U]
                             [--timeout S] [--expect-banner] HOST PORT
    tortool.py control --port P [--cookie FILE] COMMAND...
    tortool.py make-onion

DESCRIPTION
    socks-connect performs one SOCKS5 CONNECT by name (ATYP 3) through the
    given SocksPort and prints Tor's reply code in hex ("00" on success,
    "f0".."f7" for Tor's ExtendedErrors). With --user the request carries
    username/password authentication, which Tor's IsolateSOCKSAuth uses to
    isolate circuits. With --expect-banner it also waits for the first
    line the server sends (an SMTP banner) and prints it.

    control sends each COMMAND to a Tor ControlPort after authenticating
    (cookie when --cookie is given, otherwise the null method) and prints
    the replies.

    make-onion prints a valid v3 onion address that no service publishes:
    the public key of a fresh random Ed25519 secret scalar (so Tor's own
    check, a point of prime order on the curve, passes), its SHA3-256
    checksum and version 3. The secret is thrown away.

EXIT STATUS
    0 on success; 1 when Tor answered with a non-zero reply code or the
    control command failed; 2 on local or protocol trouble (no SocksPort,
    timeout, garbled reply).

NEVER
    Resolves a name itself, or talks to anything but the given loopback
    ports. Standard library only.
"""

import argparse
import base64
import hashlib
import secrets
import socket
import sys
import time


def recv_exact(sock, count):
    """Read exactly count bytes; a short read means the peer went away."""
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes"
                           % (len(data), count))
        data += chunk
    return data


def socks_greet(sock, user):
    """Negotiate the method; Tor wants the method reply read before auth."""
    method = 2 if user is not None else 0
    sock.sendall(bytes([5, 1, method]))
    ver, chosen = recv_exact(sock, 2)
    if ver != 5 or chosen != method:
        raise ValueError("socks method refused: %02x %02x" % (ver, chosen))
    if user is None:
        return
    name = user.encode()
    secret = b"x"
    sock.sendall(bytes([1, len(name)]) + name + bytes([len(secret)]) + secret)
    ver, status = recv_exact(sock, 2)
    if status != 0:
        raise ValueError("socks auth refused: %02x" % status)


def socks_connect(sock, host, port):
    """Send CONNECT by name and consume the reply exactly, by its ATYP."""
    name = host.encode()
    sock.sendall(bytes([5, 1, 0, 3, len(name)]) + name + port.to_bytes(2, "big"))
    ver, rep, _rsv, atyp = recv_exact(sock, 4)
    if ver != 5:
        raise ValueError("not a socks5 reply: version %02x" % ver)
    if atyp == 1:
        recv_exact(sock, 4 + 2)
    elif atyp == 4:
        recv_exact(sock, 16 + 2)
    elif atyp == 3:
        recv_exact(sock, recv_exact(sock, 1)[0] + 2)
    else:
        raise ValueError("unknown atyp %02x" % atyp)
    return rep


def read_line(sock, deadline):
    """Read one CRLF-terminated line (the SMTP banner's first line)."""
    data = b""
    while not data.endswith(b"\n"):
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").rstrip("\r\n")


def cmd_socks_connect(args):
    deadline = time.monotonic() + args.timeout
    try:
        sock = socket.create_connection((args.socks_host, args.socks_port),
                                        timeout=args.timeout)
    except OSError as exc:
        print("socks-connect: %s:%d: %s" % (args.socks_host, args.socks_port, exc),
              file=sys.stderr)
        return 2
    with sock:
        try:
            socks_greet(sock, args.user)
            rep = socks_connect(sock, args.host, args.port)
            print("%02x" % rep)
            if rep != 0:
                return 1
            if args.expect_banner:
                print(read_line(sock, deadline))
        except (OSError, EOFError, ValueError) as exc:
            print("socks-connect: %s" % exc, file=sys.stderr)
            return 2
    return 0


def control_reply(stream):
    """Collect one complete control reply (lines up to 'NNN ' form)."""
    lines = []
    while True:
        line = stream.readline()
        if not line:
            raise EOFError("control connection closed")
        line = line.decode(errors="replace").rstrip("\r\n")
        lines.append(line)
        if len(line) >= 4 and line[3] == " ":
            return lines


def cmd_control(args):
    if args.cookie:
        with open(args.cookie, "rb") as handle:
            auth = "AUTHENTICATE " + handle.read().hex()
    else:
        auth = "AUTHENTICATE"
    try:
        sock = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    except OSError as exc:
        print("control: 127.0.0.1:%d: %s" % (args.port, exc), file=sys.stderr)
        return 2
    status = 0
    with sock, sock.makefile("rb") as stream:
        for command in [auth] + args.commands:
            sock.sendall(command.encode() + b"\r\n")
            reply = control_reply(stream)
            if command is not auth:
                print("\n".join(reply))
            if not reply[-1].startswith("250"):
                print("control: %s: %s" % (command.split()[0], reply[-1]),
                      file=sys.stderr)
                status = 1
                break
    return status


# Ed25519 (RFC 8032): the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2
# over GF(2^255 - 19). Only what a public key needs: affine addition and
# scalar multiplication of the base point; speed does not matter here.
ED_P = 2 ** 255 - 19
ED_D = -121665 * pow(121666, ED_P - 2, ED_P) % ED_P


def ed_add(a, b):
    x1, y1 = a
    x2, y2 = b
    t = ED_D * x1 * x2 * y1 * y2 % ED_P
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, ED_P - 2, ED_P) % ED_P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, ED_P - 2, ED_P) % ED_P
    return x3, y3


def ed_base():
    """The base point: y = 4/5, x the even square root."""
    y = 4 * pow(5, ED_P - 2, ED_P) % ED_P
    xx = (y * y - 1) * pow(ED_D * y * y + 1, ED_P - 2, ED_P) % ED_P
    x = pow(xx, (ED_P + 3) // 8, ED_P)
    if (x * x - xx) % ED_P != 0:
        x = x * pow(2, (ED_P - 1) // 4, ED_P) % ED_P
    if x % 2:
        x = ED_P - x
    return x, y


def ed_public(scalar):
    """Encode scalar * B: y little-endian, the sign of x in the top bit."""
    result, addend = (0, 1), ed_base()
    while scalar:
        if scalar & 1:
            result = ed_add(result, addend)
        addend = ed_add(addend, addend)
        scalar >>= 1
    x, y = result
    return (y | (x & 1) << 255).to_bytes(32, "little")


def onion_from_key(pubkey):
    """rend-spec-v3: base32(PUBKEY | CHECKSUM | VERSION) + ".onion"."""
    version = b"\x03"
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + version).digest()[:2]
    return base64.b32encode(pubkey + checksum + version).decode().lower() + ".onion"


def cmd_make_onion(_args):
    # A clamped scalar, as an Ed25519 secret key would give.
    scalar = int.from_bytes(secrets.token_bytes(32), "little")
    scalar &= (1 << 254) - 8
    scalar |= 1 << 254
    print(onion_from_key(ed_public(scalar)))
    return 0


def main():
    parser = argparse.ArgumentParser(prog="tortool.py")
    sub = parser.add_subparsers(dest="what", required=True)
    sc = sub.add_parser("socks-connect")
    sc.add_argument("--socks-host", default="127.0.0.1")
    sc.add_argument("--socks-port", type=int, required=True)
    sc.add_argument("--user")
    sc.add_argument("--timeout", type=float, default=30.0)
    sc.add_argument("--expect-banner", action="store_true")
    sc.add_argument("host")
    sc.add_argument("port", type=int)
    ct = sub.add_parser("control")
    ct.add_argument("--port", type=int, required=True)
    ct.add_argument("--cookie")
    ct.add_argument("commands", nargs="+")
    sub.add_parser("make-onion")
    args = parser.parse_args()
    if args.what == "make-onion":
        return cmd_make_onion(args)
    if args.what == "socks-connect":
        return cmd_socks_connect(args)
    return cmd_control(args)


if __name__ == "__main__":
    sys.exit(main())
