#!/bin/bash
# The tools: onion-connect (every flag and exit status, against the test
# SOCKS5 server: routes, Tor reply codes, stalls, SMTP answers), the
# onionshim launcher (preload, refusals, --show), the man pages (render
# clean, name every option), the example files, and make install into a
# DESTDIR.
#
# usage: tests/integration/tools.sh [BUILD_DIR]
set -u
B=${1:-build}
cd "$(dirname "$0")/../.." || exit 2
. tests/lib.sh

W=$(mktemp -d /tmp/onionshim-tools.XXXXXX)
FAKE_PID=""
trap 'socks5d_stop; [ -z "$FAKE_PID" ] || kill "$FAKE_PID" 2>/dev/null; rm -rf "$W"' EXIT

O1=pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion
O2=sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd.onion
O3=xa4r2iadxm55fbnqgwwi5mymqdcofiu3w6rpbtqn7b2dyn7mgwj64jyd.onion
OBAD=ag6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion
# a fourth valid v3 onion, outside every map: key 32 x 0x01
O4=$(python3 -c '
import base64, hashlib
key = bytes([1]) * 32
check = hashlib.sha3_256(b".onion checksum" + key + b"\x03").digest()[:2]
print(base64.b32encode(key + check + b"\x03").decode().lower() + ".onion")')
# what --check asks Tor about: v3-shaped, bad checksum
PROBE=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad.onion

cat > "$W/map" <<MAP
# the test map
example.org        $O1
ported.example     $O2:2525
.example.net       $O3
MAP

# a port on which nothing listens: bound, then released
DEAD_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# conf [NAME = VALUE...] - the config for the running socks5d; the lines
# given replace the defaults of the test (a name may appear once)
conf() {
	local given=" " l
	for l in "$@"; do given="$given${l%% =*} "; done
	{
		[[ $given == *" socks_server "* ]] || echo "socks_server = 127.0.0.1:$SOCKS_PORT"
		[[ $given == *" onion_map "* ]] || echo "onion_map = $W/map"
		[[ $given == *" route "* ]] || echo "route = onion"
		for l in "$@"; do echo "$l"; done
	} > "$W/conf"
}

# oc ARGS... - run onion-connect with the test config (a later -c wins);
# OUT, ERR and RC hold what it did
oc() {
	"$B/onion-connect" -c "$W/conf" "$@" > "$W/out" 2> "$W/err"
	RC=$?
	OUT=$(cat "$W/out")
	ERR=$(cat "$W/err")
}

# json EXPR - evaluate a Python expression over the JSON object in OUT (j)
json() {
	printf '%s' "$OUT" | python3 -c 'import json, sys; j = json.load(sys.stdin); print('"$1"')'
}

rec() { sed -n "${1}p" "$W/record"; }
nrec() { wc -l < "$W/record" | tr -d ' '; }

# expect_one_line WHAT - stderr is exactly one line, stdout as given
expect_one_line() {
	expect_eq "$1: stderr lines" "$(printf '%s\n' "$ERR" | wc -l | tr -d ' ')" 1
}

# fake_socks MODE - a SOCKS5 server in Python that socks5d has no plan for:
# "close" (success reply, then close before any banner) or "ehlo5xx"
# (banner 220, then 502 to everything but QUIT); sets FAKE_PORT
fake_socks() {
	rm -f "$W/fake.port"
	python3 - "$1" "$W/fake.port" <<'PY' &
import os, socket, sys
mode, portfile = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)

def readn(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise EOFError
        b += x
    return b

def serve(c):
    g = readn(c, 2)
    methods = readn(c, g[1])
    m = 2 if 2 in methods else 0
    c.sendall(bytes([5, m]))
    if m == 2:
        _, ulen = readn(c, 2)
        readn(c, ulen)
        readn(c, readn(c, 1)[0])
        c.sendall(b"\x01\x00")
    head = readn(c, 4)
    readn(c, readn(c, 1)[0] if head[3] == 3 else 4 if head[3] == 1 else 16)
    readn(c, 2)
    c.sendall(b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00")
    if mode == "close":
        return
    c.sendall(b"220 fake ESMTP\r\n")
    buf = b""
    while True:
        x = c.recv(1024)
        if not x:
            return
        buf += x
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.upper().startswith(b"QUIT"):
                c.sendall(b"221 bye\r\n")
                return
            c.sendall(b"502 5.5.2 not today\r\n")

while True:
    c, _ = s.accept()
    try:
        serve(c)
    except (EOFError, OSError):
        pass
    c.close()
PY
	FAKE_PID=$!
	for _ in $(seq 1 100); do
		[ -s "$W/fake.port" ] && break
		sleep 0.05
	done
	FAKE_PORT=$(cat "$W/fake.port")
}

fake_stop() {
	[ -n "$FAKE_PID" ] || return 0
	kill "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=""
}

# ---- onion-connect: routes and the steps -----------------------------------

socks5d_start "$W" ok
conf

t_case "a mapped domain: route, SOCKS server, Tor reply, banner, phases, QUIT; exit 0"
oc example.org
expect_eq rc "$RC" 0
expect_match route "$OUT" "^route +example\.org -> map \(onion_map line 2\) -> $O1:25$"
expect_match socks "$OUT" "socks +127\.0\.0\.1:$SOCKS_PORT \(TCP to Tor: [0-9]+ ms\)"
expect_match tor "$OUT" "tor +reply 0x00 \(succeeded\) after [0-9]+ ms \(onion rendezvous"
expect_match banner "$OUT" "banner +220 onionshim-test ESMTP"
expect_match phases "$OUT" "time +TCP to Tor [0-9]+ ms, onion rendezvous [0-9]+ ms, SMTP banner [0-9]+ ms"
expect_match quit "$OUT" "quit +221 bye"
expect_match result "$OUT" "result +ok: the server answered 220"
expect_eq stderr "$ERR" ""

t_case "the CONNECT is the library's: by name, with the onion as isolation username"
r=$(rec 1)
expect_eq atyp "$(rfield atyp "$r")" 3
expect_eq host "$(rfield host "$r")" "$O1"
expect_eq port "$(rfield port "$r")" 25
expect_eq user "$(rfield auth_user "$r")" "$O1"
expect_match "isolation step" "$OUT" "isolation: SOCKS username $O1"

t_case "--ehlo NAME sends EHLO NAME and shows the capabilities"
oc --ehlo client.test example.org
expect_eq rc "$RC" 0
expect_match send "$OUT" "send +EHLO client\.test"
expect_match ehlo "$OUT" "^ehlo +250-onionshim-test$"
expect_match "ehlo, second line" "$OUT" "^ +250 PIPELINING$"
expect_match result "$OUT" "the server answered 250"

t_case "-p PORT sets the port"
: > "$W/record"
oc -p 587 example.org
expect_eq rc "$RC" 0
expect_eq port "$(rfield port "$(rec 1)")" 587
expect_match route "$OUT" "-> $O1:587"

t_case "a port in onion_map wins over -p, and the route says so"
: > "$W/record"
oc -p 587 ported.example
expect_eq port "$(rfield port "$(rec 1)")" 2525
expect_match route "$OUT" "-> $O2:2525 \(onion_map's port replaces -p 587\)"

t_case "a subdomain reaches its leading-dot entry"
: > "$W/record"
oc Mail.Example.NET
expect_eq rc "$RC" 0
expect_match route "$OUT" "Mail\.Example\.NET -> map \(onion_map line 4, a subdomain entry\) -> $O3:25"
expect_eq host "$(rfield host "$(rec 1)")" "$O3"

t_case "an onion name: the route says whether onion_map lists it"
oc "$O1"
expect_eq "listed rc" "$RC" 0
expect_match listed "$OUT" "$O1 -> onion \(listed in onion_map line 2\) -> $O1:25"
oc "$O2"
expect_eq "listed with a port rc" "$RC" 0
expect_match "listed with a port" "$OUT" "$O2 -> onion \(in onion_map only with port 2525, line 3: .*\) -> $O2:25"
oc "$(printf '%s' "$O1" | tr a-z A-Z)"
expect_eq "any case rc" "$RC" 0
expect_match "any case" "$OUT" "onion \(listed in onion_map line 2\) -> $O1:25"
oc "$O4"
expect_eq "unlisted rc" "$RC" 0
expect_match unlisted "$OUT" "$O4 -> onion \(not in onion_map: .*\) -> $O4:25"

t_case "isolation = none: no SOCKS username"
conf "isolation = none"
: > "$W/record"
oc example.org
expect_eq rc "$RC" 0
expect_eq user "$(rfield auth_user "$(rec 1)")" ""
expect_nomatch "isolation step" "$OUT" "isolation:"
conf

t_case "failover: the SOCKS server that failed is shown with why"
conf "socks_server = 127.0.0.1:$DEAD_PORT, 127.0.0.1:$SOCKS_PORT"
oc example.org
expect_eq rc "$RC" 0
expect_match failed "$OUT" "socks +127\.0\.0\.1:$DEAD_PORT: Connection refused \(failed\)"
expect_match used "$OUT" "socks +127\.0\.0\.1:$SOCKS_PORT \(TCP to Tor"

t_case "--json: one object with the same facts, nothing on stderr"
oc --json --ehlo client.test example.org
expect_eq rc "$RC" 0
expect_eq stderr "$ERR" ""
expect_eq "one line" "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 1
expect_eq facts "$(json '"%s %s %s %s %s %s" % (j["route"]["decision"], j["route"]["onion_map_line"], j["route"]["onion"], j["socks"]["server"], j["tor"]["reply_hex"], j["exit"])')" \
    "map 2 $O1 127.0.0.1:$SOCKS_PORT 0x00 0"
expect_eq failed "$(json 'j["socks"]["failed"]')" "[{'server': '127.0.0.1:$DEAD_PORT', 'why': 'Connection refused'}]"
expect_eq smtp "$(json '"%s %s %s %s" % (j["banner"]["code"], j["ehlo"]["lines"][-1], j["quit"]["code"], j["result"])')" \
    "220 250 PIPELINING 221 ok"
expect_eq times "$(json 'all(isinstance(j["ms"][k], int) for k in ("tcp", "rendezvous", "banner", "total"))')" True
conf
socks5d_stop

# ---- Tor's reply codes ------------------------------------------------------

t_case "each Tor reply code: exit 1, its meaning, and the errno the MTA sees"
codes="01:ECONNABORTED 04:EHOSTUNREACH 05:ECONNREFUSED F0:EHOSTUNREACH F2:EHOSTDOWN F3:ECONNRESET F6:EINVAL F7:ETIMEDOUT"
plan=$(for c in $codes; do printf 'code:%s,' "${c%%:*}"; done)
socks5d_start "$W" "${plan%,}"
conf
for c in $codes; do
	code=${c%%:*} err=${c#*:}
	oc example.org
	expect_eq "$code rc" "$RC" 1
	expect_match "$code step" "$OUT" "tor +reply 0x$code \("
	expect_match "$code message" "$ERR" "^onion-connect: Tor reply 0x$code \([a-z].*\): .*the MTA sees $err \("
	expect_one_line "$code"
done
socks5d_stop

t_case "--json carries Tor's reply code, meaning and errno"
socks5d_start "$W" code:F2
conf
oc --json example.org
expect_eq rc "$RC" 1
expect_eq tor "$(json '"%s %s %s %s" % (j["tor"]["reply"], j["tor"]["reply_hex"], j["tor"]["errno"], j["result"])')" \
    "242 0xF2 EHOSTDOWN route-failure"
expect_match error "$(json 'j["error"]')" "introduction failed"
expect_eq stderr "$ERR" ""
socks5d_stop

# ---- SOCKS servers that misbehave --------------------------------------------

t_case "a stalled SOCKS server: -t bounds the wait, exit 1"
socks5d_start "$W" stall
conf
t0=$(date +%s%N)
oc -t 1 example.org
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq rc "$RC" 1
expect_match message "$ERR" "sent no method reply within connect_timeout \(1000 ms\).*try a longer -t"
[ "$ms" -lt 3000 ] || t_fail "took $ms ms with -t 1"
expect_one_line stall
socks5d_stop

t_case "a server that never answers the CONNECT: exit 1 after -t"
socks5d_start "$W" stall-connect
conf
oc -t 1 example.org
expect_eq rc "$RC" 1
expect_match message "$ERR" "sent no reply within connect_timeout \(1000 ms\)"
socks5d_stop

t_case "-t takes connect_timeout's units; a bad -t is a usage error"
socks5d_start "$W" ok
conf
oc -t 1m example.org
expect_eq "1m rc" "$RC" 0
expect_match "1m" "$OUT" "connect_timeout 60s"
oc -t 0 example.org
expect_eq "0 rc" "$RC" 2
expect_match "0" "$ERR" "^onion-connect: -t 0: connect_timeout: "
oc -t 5ms example.org
expect_eq "5ms rc" "$RC" 2
socks5d_stop

t_case "no SOCKS server answers: exit 1, and it says to check tor"
conf "socks_server = 127.0.0.1:$DEAD_PORT"
oc example.org
expect_eq rc "$RC" 1
expect_match message "$ERR" "no SOCKS server answered.*is tor running\? Check socks_server in $W/conf"
expect_one_line dead

for c in "garbage:is socks_server a Tor SocksPort" "close-greeting:closed the connection before its method reply" \
    "short-reply:closed the connection before its reply was complete" "refuse-auth:refused the isolation username"; do
	plan=${c%%:*} want=${c#*:}
	t_case "SOCKS server plan $plan: exit 1 with what went wrong"
	socks5d_start "$W" "$plan"
	conf
	oc example.org
	expect_eq rc "$RC" 1
	expect_match message "$ERR" "$want"
	expect_one_line "$plan"
	socks5d_stop
done

# ---- the SMTP side -----------------------------------------------------------

t_case "a 5xx banner: exit 3, and QUIT is still sent"
socks5d_start "$W" ok --banner '554 5.7.1 no mail from you\r\n'
conf
oc --ehlo client.test example.org
expect_eq rc "$RC" 3
expect_match banner "$OUT" "banner +554 5\.7\.1 no mail from you"
expect_nomatch "no EHLO" "$OUT" "EHLO"
expect_match quit "$OUT" "quit +221 bye"
expect_match message "$ERR" "answered 554 instead of 2xx"
oc --json example.org
expect_eq json "$(json '"%s %s %s" % (j["banner"]["code"], j["exit"], j["result"])')" "554 3 smtp-not-2xx"
socks5d_stop

t_case "a multi-line banner is read whole"
socks5d_start "$W" ok --banner '220-mx.example.org first\r\n220 second\r\n'
conf
oc example.org
expect_eq rc "$RC" 0
expect_match banner "$OUT" "^banner +220-mx\.example\.org first$"
expect_match "banner, second line" "$OUT" "^ +220 second$"
socks5d_stop

t_case "a server that sends no banner: exit 1 after -t"
socks5d_start "$W" ok --banner ''
conf
oc -t 1 example.org
expect_eq rc "$RC" 1
expect_match message "$ERR" "no SMTP banner within 1000 ms"
socks5d_stop

t_case "a banner that is not SMTP: exit 3"
socks5d_start "$W" ok --banner 'HTTP/1.0 400 Bad Request\r\n'
conf
oc -t 2 example.org
expect_eq rc "$RC" 3
expect_match message "$ERR" "not an SMTP reply"
socks5d_stop

t_case "a server that closes before the banner: exit 1"
fake_socks close
SOCKS_PORT=$FAKE_PORT conf
oc example.org
expect_eq rc "$RC" 1
expect_match tor "$OUT" "tor +reply 0x00 \(succeeded\)"
expect_match message "$ERR" "closed before the SMTP banner.*HiddenServicePort"
expect_one_line close
fake_stop

t_case "EHLO answered 5xx: exit 3"
fake_socks ehlo5xx
SOCKS_PORT=$FAKE_PORT conf
oc --ehlo client.test example.org
expect_eq rc "$RC" 3
expect_match ehlo "$OUT" "ehlo +502 5\.5\.2 not today"
expect_match message "$ERR" "answered EHLO with 502"
oc example.org
expect_eq "without --ehlo" "$RC" 0
fake_stop

# ---- route = all, and names with no Tor route ------------------------------------

t_case "route = all: a plain name is resolved through Tor, then connected by address"
socks5d_start "$W" ok --resolve mail.example.com=192.0.2.7
conf "route = all"
oc mail.example.com
expect_eq rc "$RC" 0
expect_match route "$OUT" "mail\.example\.com -> not in onion_map; route = all: resolved through Tor"
expect_match resolve "$OUT" "resolve +mail\.example\.com -> 192\.0\.2\.7:25 through Tor"
expect_eq "resolve cmd" "$(rfield cmd "$(rec 1)")" f0
expect_eq "resolve name" "$(rfield host "$(rec 1)")" mail.example.com
expect_eq "connect atyp" "$(rfield atyp "$(rec 2)")" 1
expect_eq "connect host" "$(rfield host "$(rec 2)")" 192.0.2.7
expect_eq "isolation user" "$(rfield auth_user "$(rec 2)")" "192.0.2.7:25"

t_case "route = all: a numeric address is connected by address"
: > "$W/record"
oc -p 2525 192.0.2.9
expect_eq rc "$RC" 0
expect_match route "$OUT" "192\.0\.2\.9 -> route = all: CONNECT by address through Tor"
expect_eq host "$(rfield host "$(rec 1)")" 192.0.2.9
expect_eq port "$(rfield port "$(rec 1)")" 2525

t_case "route = all: a name Tor cannot resolve is exit 1"
oc nowhere.example
expect_eq rc "$RC" 1
expect_match message "$ERR" "Tor could not resolve nowhere\.example: reply 0x04"

t_case "route = all: loopback is refused as the library refuses it"
: > "$W/record"
oc 127.0.0.1
expect_eq rc "$RC" 1
expect_match message "$ERR" "refuses a connect to 127\.0\.0\.1:25 \(EPERM\): a loopback address"
expect_eq requests "$(nrec)" 0

t_case "route = onion: a name outside onion_map has no Tor route, exit 1"
conf
: > "$W/record"
oc other.example
expect_eq rc "$RC" 1
expect_match route "$OUT" "other\.example -> not in onion_map; route = onion"
expect_match message "$ERR" "add it to onion_map"
expect_eq requests "$(nrec)" 0

t_case "an invalid onion name is exit 2 and never reaches Tor"
oc "$OBAD"
expect_eq rc "$RC" 2
expect_match message "$ERR" "is not a valid v3 onion address \(onion address checksum mismatch"
oc "not a name"
expect_eq "bad name rc" "$RC" 2
expect_eq requests "$(nrec)" 0

t_case "a bad or conflicting onion_map entry is exit 2 with its file and line"
cp "$W/map" "$W/map.good"
printf 'bad.example %s\nboth.example %s\nboth.example %s\n' "$OBAD" "$O1" "$O2" >> "$W/map"
oc bad.example
expect_eq "bad rc" "$RC" 2
expect_match bad "$ERR" "$W/map:5: $OBAD is not a valid v3 onion address"
oc both.example
expect_eq "conflict rc" "$RC" 2
expect_match conflict "$ERR" "line 7: conflicting entries for both\.example \(lines 6 and 7\)"
expect_eq requests "$(nrec)" 0
socks5d_stop

# ---- usage and config errors -----------------------------------------------

t_case "bad arguments: exit 2, one line on stderr, nothing on stdout"
for args in "" "--bogus x" "-p 70000 x" "-p" "--check --all" "--all x" "a b" "--ehlo" \
    "--check --ehlo x" "-c"; do
	# shellcheck disable=SC2086
	oc $args
	expect_eq "[$args] rc" "$RC" 2
	expect_eq "[$args] stdout" "$OUT" ""
	expect_one_line "[$args]"
done
oc --ehlo 'a b' x
expect_eq "--ehlo with a space" "$RC" 2

t_case "--help prints the usage, exit 0"
oc --help
expect_eq rc "$RC" 0
expect_match usage "$OUT" "^usage: onion-connect \[-c CONF\]"

t_case "a missing or broken config, a missing map: exit 2 with what to do"
oc -c "$W/nonexistent.conf" example.org
expect_eq "missing rc" "$RC" 2
expect_match missing "$ERR" "nonexistent\.conf: No such file or directory; name an existing onionshim\.conf with -c"
printf 'route = sometimes\n' > "$W/bad.conf"
oc -c "$W/bad.conf" example.org
expect_eq "bad rc" "$RC" 2
expect_match bad "$ERR" "bad\.conf:1: route: "
printf 'onion_map = %s/nonexistent.map\n' "$W" > "$W/nomap.conf"
oc -c "$W/nomap.conf" example.org
expect_eq "no map rc" "$RC" 2
expect_match "no map" "$ERR" "nonexistent\.map: No such file or directory; create it, or set onion_map"
oc --json -c "$W/bad.conf" example.org
expect_eq json "$(json '"%s %s" % (j["exit"], j["result"])')" "2 config-error"

t_case "ONIONSHIM_CONF names the config when -c is not given"
printf 'route = onion\nonion_map =\n' > "$W/env.conf"
OUT=$(ONIONSHIM_CONF=$W/env.conf "$B/onion-connect" other.example 2>/dev/null)
expect_match config "$OUT" "^config +$W/env\.conf; onion_map \(none\); route = onion"

# ---- --check ------------------------------------------------------------------

t_case "--check: ExtendedErrors on (reply F6) and off (reply 01), with how to turn it on"
cp "$W/map.good" "$W/map"
socks5d_start "$W" code:F6,code:01,code:F6,code:01 --listen 127.0.0.1:0 --listen 127.0.0.1:0
PORT2=$(sed -n 2p "$W/port")
conf "socks_server = 127.0.0.1:$SOCKS_PORT 127.0.0.1:$PORT2"
oc --check
expect_eq rc "$RC" 0
expect_match config "$OUT" "config +$W/conf: ok"
expect_match map "$OUT" "map +$W/map: 3 entries, 3 destinations, 0 skipped"
expect_match on "$OUT" "socks +127\.0\.0\.1:$SOCKS_PORT: answers \([0-9]+ ms\); ExtendedErrors: on"
expect_match off "$OUT" "socks +127\.0\.0\.1:$PORT2: answers \([0-9]+ ms\); ExtendedErrors: off \(a probe of an invalid onion got 0x01"
expect_match how "$OUT" "SocksPort 127\.0\.0\.1:$PORT2 ExtendedErrors\) and reload tor"
expect_eq "probe host" "$(rfield host "$(rec 1)")" "$PROBE"
expect_eq "probe cmd" "$(rfield cmd "$(rec 1)")" 01

t_case "--check --json: the same facts"
oc --check --json
expect_eq rc "$RC" 0
expect_eq socks "$(json '" ".join("%s:%s:%s" % (s["answers"], s["reply"], s["extended_errors"]) for s in j["socks"])')" \
    "True:246:True True:1:False"
expect_eq map "$(json '"%s %s %s" % (j["onion_map"]["entries"], j["onion_map"]["problems"], j["exit"])')" "3 [] 0"
socks5d_stop

t_case "--check: a SOCKS server that does not answer is exit 1"
socks5d_start "$W" code:F6
conf "socks_server = 127.0.0.1:$SOCKS_PORT, 127.0.0.1:$DEAD_PORT"
oc --check
expect_eq rc "$RC" 1
expect_match dead "$OUT" "socks +127\.0\.0\.1:$DEAD_PORT: does not work: no answer"
expect_one_line dead

t_case "--check: every bad map line, with file and line, is exit 2"
printf 'bad.example %s\nboth.example %s\nboth.example %s\nno-onion.example\n' "$OBAD" "$O1" "$O2" >> "$W/map"
conf
oc --check
expect_eq rc "$RC" 2
expect_match bad "$OUT" "map +$W/map:5: error: bad\.example -> $OBAD: not a valid v3 onion address"
expect_match conflict "$OUT" "map +$W/map:7: error: conflicting entries for both\.example"
expect_match "no destination" "$OUT" "map +$W/map:8: error: no-onion\.example: no destination"
expect_match stderr "$ERR" "fix the onion_map lines above"
expect_one_line map
socks5d_stop
cp "$W/map.good" "$W/map"

# ---- --all ------------------------------------------------------------------------

t_case "--all: a table of every map entry; one unreachable destination is exit 1"
cat > "$W/allmap" <<MAP
a.example $O1
b.example $O2
c.example $O1
d.example $OBAD
MAP
socks5d_start "$W" ok,code:F0
conf "onion_map = $W/allmap"
oc --all
expect_eq rc "$RC" 1
expect_match header "$OUT" "^DOMAIN +ONION +RESULT +TIME"
expect_match a "$OUT" "a\.example +$O1:25 +ok 220 +[0-9]+ ms"
expect_match b "$OUT" "b\.example +$O2:25 +tor 0xF0 onion service descriptor can not be found +[0-9]+ ms"
expect_match "c shares a's probe" "$OUT" "c\.example +$O1:25 +ok 220"
expect_match d "$OUT" "d\.example +$OBAD:25 +not a valid v3 onion address"
expect_match summary "$OUT" "^2 of 4 map entries reachable"
expect_eq requests "$(nrec)" 2
expect_one_line all
socks5d_stop

t_case "--all --json, every destination reachable: exit 0"
printf 'a.example %s\nb.example %s:2525\n' "$O1" "$O2" > "$W/allmap"
socks5d_start "$W" ok
conf "onion_map = $W/allmap"
oc --all --json --ehlo client.test
expect_eq rc "$RC" 0
expect_eq rows "$(json '" ".join("%s:%s:%s" % (d["domain"], d["port"], d["result"]) for d in j["destinations"])')" \
    "a.example:25:ok 250 b.example:2525:ok 250"
expect_eq summary "$(json '"%s/%s %s" % (j["reachable"], j["total"], j["exit"])')" "2/2 0"

t_case "--all with no onion_map is exit 2"
conf "onion_map ="
oc --all
expect_eq rc "$RC" 2
expect_match message "$ERR" "onion_map is empty"
socks5d_stop

# ---- the onionshim launcher ------------------------------------------------------

socks5d_start "$W" ok
conf
# the child of the launcher needs what the sanitizer build needs
if [ "${ONIONSHIM_SANITIZE:-0}" = 1 ]; then
	RUNTIMES="$(${CC:-cc} -print-file-name=libasan.so) $(${CC:-cc} -print-file-name=libubsan.so)"
else
	RUNTIMES=""
fi
LIB=$PWD/$B/libonionshim.so
launch() {
	LD_PRELOAD=$RUNTIMES "$B/onionshim" "$@" > "$W/out" 2> "$W/err"
	RC=$?
	OUT=$(cat "$W/out")
	ERR=$(cat "$W/err")
}

t_case "onionshim -c CONF COMMAND: the command runs with the library, through Tor"
: > "$W/record"
launch -c "$W/conf" "$B/tests/client" -q example.org
expect_eq rc "$RC" 0
expect_eq banner "$(field banner "$OUT")" '220 onionshim-test ESMTP\r\n'
expect_eq host "$(rfield host "$(rec 1)")" "$O1"

t_case "onionshim adds the library after an existing LD_PRELOAD and sets ONIONSHIM_CONF"
launch -c "$W/conf" sh -c 'printf "%s|%s" "$LD_PRELOAD" "$ONIONSHIM_CONF"'
expect_eq rc "$RC" 0
if [ -n "$RUNTIMES" ]; then want="$RUNTIMES $LIB"; else want=$LIB; fi
expect_eq env "$OUT" "$want|$W/conf"

t_case "onionshim searches PATH and passes the command's arguments and status"
launch -c "$W/conf" sh -c 'exit 7' ignored
expect_eq rc "$RC" 7

t_case "onionshim refuses a set-user-ID target: exit 126, it says why"
cp "$(type -P true)" "$W/suid-true"
chown nobody "$W/suid-true" && chmod 4755 "$W/suid-true"
launch -c "$W/conf" "$W/suid-true"
expect_eq rc "$RC" 126
expect_match message "$ERR" "suid-true is set-user-ID \(owner uid [0-9]+\): the loader ignores LD_PRELOAD"
# chgrp first: changing the group clears the set-ID bits
chmod 755 "$W/suid-true" && chgrp nogroup "$W/suid-true" && chmod 2755 "$W/suid-true"
launch -c "$W/conf" "$W/suid-true"
expect_eq "set-group-ID rc" "$RC" 126

t_case "onionshim refuses a statically linked target: exit 126"
printf 'int main(void) { return 0; }\n' > "$W/static.c"
if ${CC:-cc} -static -o "$W/static" "$W/static.c" 2>/dev/null; then
	launch -c "$W/conf" "$W/static"
	expect_eq rc "$RC" 126
	expect_match message "$ERR" "is statically linked: LD_PRELOAD has no effect"
else
	t_fail "cannot build a static program (libc6-dev's libc.a missing?)"
fi

t_case "onionshim: no command, unknown command, bad config: 125, 127, 125"
launch
expect_eq "no command" "$RC" 125
launch -c "$W/conf" no-such-command-here
expect_eq "not found" "$RC" 127
expect_match "not found message" "$ERR" "no-such-command-here: command not found"
launch -c "$W/bad.conf" true
expect_eq "bad config" "$RC" 125
expect_match "bad config message" "$ERR" "bad\.conf:1: route: .*fix it first"
launch -c "$W/nonexistent.conf" true
expect_eq "missing config" "$RC" 125
launch -c "$W/nomap.conf" true
expect_eq "missing map" "$RC" 125
launch --bogus
expect_eq "unknown option" "$RC" 125

t_case "onionshim --show: every setting with its default, then the map"
printf 'route = onion\nonion_map = %s/map\nconnect_timeout = 2m\n' "$W" > "$W/show.conf"
launch --show -c "$W/show.conf"
expect_eq rc "$RC" 0
for name in $(sed -n 's/^\.It Cm \([a-z_0-9]*\) No =.*/\1/p' docs/man/onionshim.conf.5); do
	expect_match "$name" "$OUT" "^$name = "
done
expect_match route "$OUT" "^route = onion$"
expect_match timeout "$OUT" "^connect_timeout = 120s$"
expect_match socks "$OUT" "socks_server = 127\.0\.0\.1:9050"
expect_match default "$OUT" "fake_network = 240\.0\.0\.0/5"
expect_match entry "$OUT" "2 +example\.org +$O1 +24[0-7]\.[0-9.]+ +valid"
expect_match ported "$OUT" "3 +ported\.example +$O2:2525 +24[0-7]\.[0-9.]+ +valid"

t_case "onionshim --show: the environment's log overrides, and a bad map is exit 1"
OUT=$(ONIONSHIM_LOG_LEVEL=debug LD_PRELOAD=$RUNTIMES "$B/onionshim" --show -c "$W/show.conf")
expect_match override "$OUT" "log_level = debug"
printf 'bad.example %s\n' "$OBAD" >> "$W/map"
launch --show -c "$W/show.conf"
expect_eq rc "$RC" 1
expect_match bad "$OUT" "5 +bad\.example +$OBAD .*checksum mismatch"
cp "$W/map.good" "$W/map"
socks5d_stop

# ---- man pages, example files -----------------------------------------------------

t_case "the man pages render without warnings (mandoc -Tlint)"
if command -v mandoc >/dev/null; then
	out=$(mandoc -Tlint -Wwarning docs/man/* 2>&1)
	expect_eq "mandoc exit" "$?" 0
	expect_eq "mandoc says" "$out" ""
	[ "$(ls docs/man | wc -l)" -eq 4 ] || t_fail "expected 4 pages, have: $(ls docs/man)"
else
	t_fail "mandoc is not installed (tests/deps.sh installs it)"
fi

t_case "every option of the tools is in its man page"
# each option as the page writes it: "Fl c", "Fl \-ehlo"
man_has() {
	local page=$1 opt=$2 pat
	case $opt in
	--*) pat="Fl \\-${opt#--}" ;;
	*) pat="Fl ${opt#-}" ;;
	esac
	grep -qF -- "$pat" "docs/man/$page" || t_fail "$page lacks $opt"
}
opts=$("$B/onion-connect" --help | grep -oE '(^|[ [])--?[a-z]+' | tr -d ' [' | sort -u)
[ -n "$opts" ] || t_fail "no options in onion-connect --help"
for opt in $opts; do man_has onion-connect.1 "$opt"; done
for opt in $("$B/onionshim" --help | grep -oE '(^|[ [])--?[a-z]+' | tr -d ' [' | sort -u); do
	man_has onionshim.1 "$opt"
done

t_case "the example onionshim.conf and onion_map load cleanly, and their examples are valid"
{ cat etc/onionshim.conf; printf 'onion_map = %s/ex.map\n' "$W"; } > "$W/ex.conf"
cp etc/onion_map "$W/ex.map"
LD_PRELOAD=$RUNTIMES "$B/onionshim" --show -c "$W/ex.conf" > "$W/out" 2>&1
expect_eq "as shipped" "$?" 0
expect_match "as shipped" "$(cat "$W/out")" "# 0 entries"
sed -n 's/^#   //p' etc/onion_map > "$W/ex.map"
LD_PRELOAD=$RUNTIMES "$B/onionshim" --show -c "$W/ex.conf" > "$W/out" 2>&1
expect_eq "examples uncommented" "$?" 0
expect_match "examples" "$(cat "$W/out")" "# 4 entries, 4 destinations, 0 skipped"

# ---- make install ----------------------------------------------------------------

if [ "${ONIONSHIM_SANITIZE:-0}" = 1 ]; then
	SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
	MAKEFLAGS_INSTALL=(CFLAGS="-O1 -g $SAN" LDFLAGS="$SAN")
else
	MAKEFLAGS_INSTALL=()
fi
R=$W/root
install_into() {
	make -s --no-print-directory B="$B" "${MAKEFLAGS_INSTALL[@]}" PREFIX=/opt/onionshim-test \
	    DESTDIR="$R" "$@" > "$W/make.out" 2>&1
}

t_case "make install DESTDIR=... installs the library, tools, man pages and etc files"
install_into install
expect_eq "make" "$?" 0
for f in opt/onionshim-test/lib/libonionshim.so opt/onionshim-test/bin/onion-connect \
    opt/onionshim-test/bin/onionshim opt/onionshim-test/share/man/man1/onion-connect.1 \
    opt/onionshim-test/share/man/man1/onionshim.1 opt/onionshim-test/share/man/man5/onionshim.conf.5 \
    opt/onionshim-test/share/man/man8/smtp_onion.8 etc/onionshim/onionshim.conf etc/onionshim/onion_map; do
	[ -f "$R/$f" ] || t_fail "$f not installed"
done
cmp -s etc/onionshim.conf "$R/etc/onionshim/onionshim.conf" || t_fail "onionshim.conf differs"
[ -x "$R/opt/onionshim-test/bin/onion-connect" ] || t_fail "onion-connect not executable"

t_case "the installed launcher names the library in LIBDIR, without DESTDIR"
grep -q "/opt/onionshim-test/lib/libonionshim.so" "$R/opt/onionshim-test/bin/onionshim" ||
	t_fail "LIBDIR path not in the installed onionshim"
LD_PRELOAD=$RUNTIMES "$R/opt/onionshim-test/bin/onionshim" -c "$W/conf" true 2> "$W/err"
expect_eq rc "$?" 125
expect_match message "$(cat "$W/err")" "the library /opt/onionshim-test/lib/libonionshim\.so cannot be read"

t_case "make install keeps existing onionshim.conf and onion_map"
echo "route = onion" > "$R/etc/onionshim/onionshim.conf"
echo "mine.example $O1" > "$R/etc/onionshim/onion_map"
install_into install
expect_eq "make" "$?" 0
expect_eq conf "$(cat "$R/etc/onionshim/onionshim.conf")" "route = onion"
expect_eq map "$(cat "$R/etc/onionshim/onion_map")" "mine.example $O1"
expect_match said "$(cat "$W/make.out")" "kept the existing $R/etc/onionshim/onionshim\.conf"

t_case "make install-postfix puts smtp_onion into postconf's daemon_directory"
mkdir -p "$W/fakebin"
printf '#!/bin/sh\n[ "$*" = "-h daemon_directory" ] && echo /usr/lib/postfix-test/sbin\n' > "$W/fakebin/postconf"
chmod 755 "$W/fakebin/postconf"
PATH=$W/fakebin:$PATH install_into install-postfix
expect_eq "make" "$?" 0
[ -x "$R/usr/lib/postfix-test/sbin/smtp_onion" ] || t_fail "smtp_onion not installed: $(cat "$W/make.out")"
grep -q "/opt/onionshim-test/lib/libonionshim.so" "$R/usr/lib/postfix-test/sbin/smtp_onion" ||
	t_fail "installed smtp_onion does not name LIBDIR's library"

t_summary tools
