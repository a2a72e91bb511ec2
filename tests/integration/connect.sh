#!/bin/bash
# Integration tests: connect() under every condition (issue 3). Real
# programs (tests/integration/client.c, peers.c, threads.c) run under
# LD_PRELOAD against the scripted SOCKS5 server (tests/socks5d.c): every
# Tor reply code, garbled, short, silent and absent servers, failover,
# signals, AF_INET6 sockets, TCP Fast Open, getpeername across dup and
# close_range, the log (file, stderr, and syslog through a /dev/log of our
# own in a private mount namespace), threads, fork, and a double preload.
#
# Each case asserts what the program printed (exactly, where a failure
# must not add a byte to its stdout), the errno, the time taken where the
# behaviour is a bound, what the server received, and the log line.
#
# usage: tests/integration/connect.sh [BUILD_DIR]
set -u
B=${1:-build}
cd "$(dirname "$0")/../.." || exit 2
. tests/lib.sh

W=$(mktemp -d /tmp/onionshim-connect.XXXXXX)
BG_PIDS=""
cleanup() {
	socks5d_stop
	for p in $BG_PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
PRELOAD=$(preload_line)
# the sanitizer runtimes alone, for runs without the library
SAN_PRELOAD=""
[ "${ONIONSHIM_SANITIZE:-0}" = 1 ] && SAN_PRELOAD=${PRELOAD% *}
# the interpreter itself, not a wrapper script: background jobs are killed by PID
PY=$(python3 -c 'import sys; print(sys.executable)')
T0=$(date +%s)

# rend-spec-v3's example onions, and 32 more made the same way
O1=pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion
O2=sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd.onion
BANNER='220 onionshim-test ESMTP\r\n'
mapfile -t ONIONS < <(python3 -c '
import base64, hashlib
for i in range(32):
    key = hashlib.sha256(b"onionshim-connect-%d" % i).digest()
    sum2 = hashlib.sha3_256(b".onion checksum" + key + b"\x03").digest()[:2]
    print(base64.b32encode(key + sum2 + b"\x03").decode().lower() + ".onion")
')

# example.org and t0..t15.example are mapped; O2 and ONIONS[16..31] are not
{
	echo "example.org $O1"
	for i in $(seq 0 15); do echo "t$i.example ${ONIONS[$i]}"; done
} > "$W/map"

# a syslogd for the tests: each datagram at ARGV[1] becomes a line of ARGV[2]
SYSLOGD_PY='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\n") + b"\n")
'

# errno name -> strerror text, as the program (and Postfix) shows it
declare -A STRERR
while read -r name text; do STRERR[$name]=$text; done < <(python3 -c '
import errno, os, sys
for n in sys.argv[1:]:
    print(n, os.strerror(getattr(errno, n)))
' ECONNABORTED EACCES ENETUNREACH EHOSTUNREACH ECONNREFUSED ETIMEDOUT EOPNOTSUPP \
  EAFNOSUPPORT EBADMSG EHOSTDOWN ECONNRESET ENOKEY EKEYREJECTED EINVAL EPROTO ENETDOWN \
  EINTR ECONNREFUSED)

# conf [EXTRA LINES...] - the config; SOCKS_SERVERS, TIMEOUT, LOG_TO, ROUTE,
# CONF_FILE, LOG_FILE and LOG_LEVEL override the defaults for one call
conf() {
	local log=${LOG_FILE:-$W/log}
	{
		echo "socks_server = ${SOCKS_SERVERS:-127.0.0.1:$SOCKS_PORT}"
		echo "onion_map = $W/map"
		echo "route = ${ROUTE:-onion}"
		echo "log_to = ${LOG_TO:-$log}"
		echo "log_level = ${LOG_LEVEL:-info}"
		echo "connect_timeout = ${TIMEOUT:-10s}"
		for l in "$@"; do echo "$l"; done
	} > "${CONF_FILE:-$W/conf}"
	: > "$log"
}

client() {
	ONIONSHIM_CONF=$W/conf LD_PRELOAD=$PRELOAD "$B/tests/client" "$@" 2>"$W/client.err"
}

rec() { sed -n "${1}p" "$W/record"; }
nrec() { wc -l < "$W/record" | tr -d ' '; }
log() { printf '%s' "$(<"$W/log")"; }
without_elapsed() { printf '%s\n' "$1" | grep -v '^elapsed_ms='; }

# val KEY TEXT / rval KEY RECORD - as lib.sh's field and rfield, in bash
# alone: starting processes is what costs most on a loaded machine
val() {
	local line
	while IFS= read -r line; do
		if [[ $line == "$1="* ]]; then
			printf '%s' "${line#"$1="}"
			return
		fi
	done <<< "$2"
}
rval() {
	local - w
	set -f
	for w in $2; do
		if [[ $w == "$1="* ]]; then
			printf '%s' "${w#"$1="}"
			return
		fi
	done
}

# expect_has WHAT TEXT FIXED-STRING
expect_has() {
	printf '%s' "$2" | grep -Fq -- "$3" || t_fail "$1: [$2] does not contain [$3]"
}

# expect_between WHAT N LO HI
expect_between() {
	if [ -z "$2" ] || [ "$2" -lt "$3" ] || [ "$2" -ge "$4" ]; then
		t_fail "$1: got [$2], want $3 <= x < $4"
	fi
}

# count_lines TEXT FIXED-STRING
count_lines() { printf '%s\n' "$1" | grep -cF -- "$2"; }

# free_port - a loopback port that nothing listens on
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# blackhole_start - a listener whose accept queue is full: SYNs to it go
# unanswered, as with a SocksPort behind a firewall that drops. Sets BH_PORT.
blackhole_start() {
	"$PY" -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
port = s.getsockname()[1]
fill = []
for i in range(2):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    fill.append(c)
time.sleep(0.2)
open(sys.argv[1] + ".tmp", "w").write("%d\n" % port)
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)
' "$W/bh.port" &
	BG_PIDS="$BG_PIDS $!"
	for _ in $(seq 1 100); do [ -s "$W/bh.port" ] && break; sleep 0.05; done
	BH_PORT=$(cat "$W/bh.port")
}

# The fake addresses the map and the hash give, for the asserts
socks5d_start "$W" ok
conf
ADDR=$(val addr "$(client -4 -r example.org)")
ADDR_HOST=${ADDR%:25}
ADDR6=$(val addr "$(client -6 -r example.org)")
socks5d_stop

# ---- every Tor reply code ---------------------------------------------------
# code | errno | Tor's meaning, as the log must carry it
REPLY_TABLE='01|ECONNABORTED|general SOCKS server failure
02|EACCES|connection not allowed by ruleset
03|ENETUNREACH|network unreachable
04|EHOSTUNREACH|host unreachable
05|ECONNREFUSED|connection refused
06|ETIMEDOUT|TTL expired
07|EOPNOTSUPP|command not supported
08|EAFNOSUPPORT|address type not supported
F0|EHOSTUNREACH|onion service descriptor can not be found
F1|EBADMSG|onion service descriptor is invalid
F2|EHOSTDOWN|onion service introduction failed
F3|ECONNRESET|onion service rendezvous failed
F4|ENOKEY|onion service missing client authorization
F5|EKEYREJECTED|onion service wrong client authorization
F6|EINVAL|onion service invalid address
F7|ETIMEDOUT|onion service introduction timed out
09|EPROTO|unknown reply code
FF|EPROTO|unknown reply code'

# both_modes [ARGS...] - the client blocking and non-blocking at once (the
# server's plan has each action twice); stdout in $W/out. and $W/out.n, the
# exit status in $W/rc. and $W/rc.n
both_modes() {
	local a n
	{ client "$@" > "$W/out."; echo $? > "$W/rc."; } &
	a=$!
	{ ONIONSHIM_CONF=$W/conf LD_PRELOAD=$PRELOAD "$B/tests/client" -n "$@" > "$W/out.n" \
	    2>"$W/client.err.n"; echo $? > "$W/rc.n"; } &
	n=$!
	wait "$a" "$n"
}

# plan_twice TABLE - "a,a,b,b,...": the first field of each row, twice
plan_twice() { printf '%s\n' "$1" | cut -d'|' -f1 | sed 's/.*/&,&/' | paste -sd, -; }

# Every row at once, on one server: row I asks for port 2000+I, and the
# server answers a CONNECT to that port with the row's code.
args=()
i=0
while IFS='|' read -r code err meaning; do
	args+=(--port-plan "$((2000 + i))=code:$code")
	i=$((i + 1))
done <<< "$REPLY_TABLE"
socks5d_start "$W" ok "${args[@]}"
TIMEOUT=2s conf
pids=()
for i in $(seq 0 $((${#args[@]} / 2 - 1))); do
	port=$((2000 + i))
	{ client -p $port -t example.org > "$W/out.$port."; echo $? > "$W/rc.$port."; } &
	pids+=($!)
	{ ONIONSHIM_CONF=$W/conf LD_PRELOAD=$PRELOAD "$B/tests/client" -n -p $port -t example.org \
	    > "$W/out.$port.n" 2>/dev/null; echo $? > "$W/rc.$port.n"; } &
	pids+=($!)
done
wait "${pids[@]}"
socks5d_stop

i=0
while IFS='|' read -r code err meaning; do
	port=$((2000 + i))
	i=$((i + 1))
	t_case "Tor reply 0x$code is $err, blocking and non-blocking, at once, flags restored, logged with code and meaning"
	for mode in "" n; do
		out=$(<"$W/out.$port.$mode")
		expect_eq "exit status ${mode:-blocking}" "$(<"$W/rc.$port.$mode")" 1
		expect_eq "stdout ${mode:-blocking}" "$(without_elapsed "$out")" \
		    "$(printf 'results=1\naddr=%s:%s\nconnect=%s\nflags_restored=1' "$ADDR_HOST" $port "$err")"
		expect_between "ms ${mode:-blocking}" "$(val elapsed_ms "$out")" 0 2000
	done
	lines=$(grep -F "]:$port -> " "$W/log")
	expect_eq "failure lines" "$(count_lines "$lines" "failed via")" 2
	expect_match "log line" "$lines" "onionshim\[[0-9]+\]: connect to example\.org\[$ADDR_HOST\]:$port -> $O1:$port failed via 127\.0\.0\.1:$SOCKS_PORT after [0-9]+ ms: "
	expect_has "log: code, meaning, errno text" "$lines" "Tor reply 0x$code ($meaning) -> ${STRERR[$err]}"
	r=$(grep -F " plan=code:$code " "$W/record" | grep -F " port=$port " | head -n 1)
	expect_eq "server saw CONNECT to the onion" "$(rval cmd "$r") $(rval host "$r")" "01 $O1"
done <<< "$REPLY_TABLE"

# ---- garbled, short, cut off, refusing and silent servers -------------------
# plan | errno | what the log must say | ms lower bound | ms upper bound
BAD_TABLE='garbage|EPROTO|sent a bad method reply (not SOCKS5?)|0|1500
garbage-reply|EPROTO|sent a reply that is not SOCKS5|0|1500
garbage-atyp|EPROTO|sent a reply that is not SOCKS5|0|1500
short-reply|EPROTO|closed the connection before its reply was complete|0|1500
close-greeting|EPROTO|closed the connection before its method reply was complete|0|1500
close-request|EPROTO|closed the connection before its reply was complete|0|1500
reset-request|EPROTO|reset the connection before its reply|0|1500
refuse-auth|EACCES|refused the isolation username|0|1500
noauth-only|EACCES|accepts none of our methods|0|1500
stall|ETIMEDOUT|sent no method reply within connect_timeout (2000 ms)|1900|4000
stall-connect|ETIMEDOUT|sent no reply within connect_timeout (2000 ms)|1900|4000'

socks5d_start "$W" "$(plan_twice "$BAD_TABLE")"
TIMEOUT=2s conf
while IFS='|' read -r plan err says lo hi; do
	t_case "a server that does '$plan' gives $err within connect_timeout, flags restored, and a log line that says so"
	: > "$W/log"
	both_modes -t example.org
	for mode in "" n; do
		out=$(cat "$W/out.$mode")
		expect_eq "exit status ${mode:-blocking}" "$(cat "$W/rc.$mode")" 1
		expect_eq "stdout ${mode:-blocking}" "$(without_elapsed "$out")" \
		    "$(printf 'results=1\naddr=%s\nconnect=%s\nflags_restored=1' "$ADDR" "$err")"
		expect_between "ms ${mode:-blocking}" "$(val elapsed_ms "$out")" "$lo" "$hi"
	done
	expect_eq "failure lines" "$(count_lines "$(log)" "failed via 127.0.0.1:$SOCKS_PORT")" 2
	expect_has "log says" "$(log)" "SOCKS server 127.0.0.1:$SOCKS_PORT $says -> ${STRERR[$err]}"
done <<< "$BAD_TABLE"
socks5d_stop

t_case "no SOCKS server listening: ENETDOWN at once; the log names the server and why"
DEAD=$(free_port)
SOCKS_SERVERS=127.0.0.1:$DEAD TIMEOUT=2s conf
out=$(client -t example.org)
expect_eq stdout "$(without_elapsed "$out")" \
    "$(printf 'results=1\naddr=%s\nconnect=ENETDOWN\nflags_restored=1' "$ADDR")"
expect_between ms "$(val elapsed_ms "$out")" 0 1000
expect_has log "$(log)" "failed after "
expect_has log "$(log)" "no SOCKS server answered (127.0.0.1:$DEAD: Connection refused) -> Network is down"

t_case "a SOCKS server that never answers the TCP handshake: ENETDOWN at connect_timeout"
blackhole_start
SOCKS_SERVERS=127.0.0.1:$BH_PORT TIMEOUT=2s conf
out=$(client -n -t example.org)
expect_eq stdout "$(without_elapsed "$out")" \
    "$(printf 'results=1\naddr=%s\nconnect=ENETDOWN\nflags_restored=1' "$ADDR")"
expect_between ms "$(val elapsed_ms "$out")" 1900 4000
expect_has log "$(log)" "no SOCKS server answered (127.0.0.1:$BH_PORT: no TCP answer within 2000 ms)"

# ---- failover ----------------------------------------------------------------
socks5d_start "$W" ok

t_case "failover: a dead first server, a live second one: connected; the log says which failed and why"
: > "$W/record"
SOCKS_SERVERS="127.0.0.1:$DEAD, 127.0.0.1:$SOCKS_PORT" conf
out=$(client -q example.org)
expect_eq connect "$(val connect "$out")" ok
expect_eq banner "$(val banner "$out")" "$BANNER"
expect_eq reply "$(val reply "$out")" '221 bye\r\n'
expect_eq host "$(rval host "$(rec 1)")" "$O1"
expect_has warning "$(log)" "warning: SOCKS server failed over: 127.0.0.1:$DEAD: Connection refused; using 127.0.0.1:$SOCKS_PORT"
expect_match info "$(log)" "connect to example\.org\[$ADDR_HOST\]:25 -> $O1:25 via 127\.0\.0\.1:$SOCKS_PORT: connected in [0-9]+ ms"

t_case "failover: a first server that drops SYNs costs only its share of connect_timeout"
SOCKS_SERVERS="127.0.0.1:$BH_PORT 127.0.0.1:$SOCKS_PORT" TIMEOUT=2s conf
out=$(client -t example.org)
expect_eq connect "$(val connect "$out")" ok
expect_eq banner "$(val banner "$out")" "$BANNER"
expect_between ms "$(val elapsed_ms "$out")" 900 1900
expect_has warning "$(log)" "SOCKS server failed over: 127.0.0.1:$BH_PORT: no TCP answer within 1000 ms; using 127.0.0.1:$SOCKS_PORT"

t_case "failover: every server dead is ENETDOWN; the log lists each in order"
DEAD2=$(free_port)
SOCKS_SERVERS="127.0.0.1:$DEAD 127.0.0.1:$DEAD2" conf
out=$(client -n example.org)
expect_eq connect "$(val connect "$out")" ENETDOWN
expect_eq flags "$(val flags_restored "$out")" 1
expect_has log "$(log)" "no SOCKS server answered (127.0.0.1:$DEAD: Connection refused; 127.0.0.1:$DEAD2: Connection refused)"
socks5d_stop

# ---- signals -------------------------------------------------------------------
# Four cases at once, each with a server and a config of its own: they
# wait for timers, not for the CPU.
declare -A SIG_PID
# sig_start NAME PLAN - a server and a config in $W/NAME
sig_start() {
	mkdir -p "$W/$1"
	socks5d_start "$W/$1" "$2"
	SIG_PID[$1]=$SOCKS_PID
	SOCKS_PID=""
	SOCKS_SERVERS=127.0.0.1:$SOCKS_PORT CONF_FILE=$W/$1/conf LOG_FILE=$W/$1/log conf
}
# sig_client NAME ARGS... - the client against NAME's server, output in $W/NAME/out
sig_client() {
	local n=$1
	shift
	ONIONSHIM_CONF=$W/$n/conf LD_PRELOAD=$PRELOAD "$B/tests/client" "$@" > "$W/$n/out" \
	    2>"$W/$n/err"
}
sig_start eintr stall-connect
sig_start eintr_nb stall
sig_start restart delay:1500
sig_start goes_on stall-connect,ok
sig_client eintr -a 1 -t example.org & p1=$!
sig_client eintr_nb -n -a 1 -t example.org & p2=$!
sig_client restart -a 1 -R -t -q example.org & p3=$!
sig_client goes_on -a 1 -c 2 example.org & p4=$!
wait $p1 $p2 $p3 $p4
for n in "${!SIG_PID[@]}"; do kill "${SIG_PID[$n]}"; wait "${SIG_PID[$n]}" 2>/dev/null; done

t_case "SIGALRM without SA_RESTART (Exim's timeout) interrupts a blocking connect with EINTR after ~1 s"
out=$(<"$W/eintr/out")
expect_eq stdout "$(without_elapsed "$out")" \
    "$(printf 'results=1\naddr=%s\nconnect=EINTR\nflags_restored=1\nalarms=1' "$ADDR")"
expect_between ms "$(val elapsed_ms "$out")" 900 3000
expect_match log "$(<"$W/eintr/log")" "connect to example\.org\[$ADDR_HOST\]:25 -> $O1:25 failed via 127\.0\.0\.1:[0-9]+ after [0-9]+ ms: interrupted by a signal -> ${STRERR[EINTR]}"

t_case "SIGALRM without SA_RESTART interrupts a non-blocking connect too; flags restored"
out=$(<"$W/eintr_nb/out")
expect_eq stdout "$(without_elapsed "$out")" \
    "$(printf 'results=1\naddr=%s\nconnect=EINTR\nflags_restored=1\nalarms=1' "$ADDR")"
expect_between ms "$(val elapsed_ms "$out")" 900 3000

t_case "a handler with SA_RESTART does not interrupt: the connect goes on, as libc's would"
out=$(<"$W/restart/out")
expect_eq connect "$(val connect "$out")" ok
expect_eq alarms "$(val alarms "$out")" 1
expect_between ms "$(val elapsed_ms "$out")" 1400 5000
expect_eq banner "$(val banner "$out")" "$BANNER"
expect_eq reply "$(val reply "$out")" '221 bye\r\n'

t_case "after EINTR the program goes on: its next connect works"
out=$(<"$W/goes_on/out")
expect_eq "connects" "$(printf '%s\n' "$out" | grep '^connect=' | tr '\n' ' ')" "connect=EINTR connect=ok "
expect_eq banner "$(val banner "$out")" "$BANNER"

# ---- a connected socket, and the program's stdout -----------------------------
socks5d_start "$W" ok

t_case "connect() again on a proxied socket is EISCONN, as libc; the first connection survives"
: > "$W/record"
conf
out=$(client -2 -q example.org)
expect_eq reconnect "$(val reconnect "$out")" EISCONN
expect_eq banner "$(val banner "$out")" "$BANNER"
expect_eq reply "$(val reply "$out")" '221 bye\r\n'
expect_eq "SOCKS connections" "$(nrec)" 1

t_case "log_to = stderr: lines on stderr, stdout exactly what the program printed"
LOG_TO=stderr conf
out=$(client -q example.org)
expect_eq stdout "$out" "$(printf 'results=1\naddr=%s\nconnect=ok\nflags_restored=1\npeer=%s\nbanner=%s\nreply=221 bye\\r\\n' "$ADDR" "$ADDR" "$BANNER")"
expect_match stderr "$(cat "$W/client.err")" "^onionshim\[[0-9]+\]: connect to example\.org\[$ADDR_HOST\]:25 -> $O1:25 via 127\.0\.0\.1:$SOCKS_PORT: connected in [0-9]+ ms$"

t_case "a broken config: lookups defer, inet connects fail closed (EPERM), one error line, stdout untouched, no abort"
conf "no_such_setting = 1"
out=$(ONIONSHIM_LOG_TO=stderr client "$O1")
expect_eq "exit status" "$?" 1
expect_eq stdout "$out" "resolve=EAI_AGAIN"
out=$(ONIONSHIM_LOG_TO=stderr client -p "$SOCKS_PORT" 127.0.0.1)
expect_eq "exit status" "$?" 1
expect_eq stdout "$out" "$(printf 'results=1\naddr=127.0.0.1:%s\nconnect=EPERM\nflags_restored=1' "$SOCKS_PORT")"
expect_eq "error lines" "$(grep -c 'error: .*no_such_setting' "$W/client.err")" 1
expect_has "names the file" "$(cat "$W/client.err")" "$W/conf:7"

t_case "the host closes our log descriptor (closefrom) and reuses it: no log byte enters its connection"
conf
: > "$W/record"
out=$(client -Z -q example.org)
expect_eq connect "$(val connect "$out")" ok
expect_eq banner "$(val banner "$out")" "$BANNER"
expect_eq "reply (an echoed log line would show here)" "$(val reply "$out")" '221 bye\r\n'
expect_match "the line reached the reopened log" "$(log)" "connect to example\.org\[$ADDR_HOST\]:25 -> $O1:25 via .*: connected in"

# ---- AF_INET6 sockets -----------------------------------------------------------
t_case "AF_INET6 dual-stack socket reaches an IPv4 SocksPort v4-mapped, not replaced"
conf
out=$(client -6 -I -q example.org)
expect_eq connect "$(val connect "$out")" ok
expect_eq domain "$(val domain "$out")" AF_INET6
expect_eq fd "$(val fd_same "$out")" 1
expect_eq peer "$(val peer "$out")" "$ADDR6"
expect_eq banner "$(val banner "$out")" "$BANNER"
expect_nomatch log "$(log)" "replaced"
a6=${ADDR6%]:25}
expect_has "log: Postfix's name[address]:port form" "$(log)" "connect to example.org[${a6#[}]:25 -> $O1:25 via"

t_case "AF_INET6 socket to a v4-mapped fake address: proxied, getpeername gives the mapped address"
out=$(client -S 6 -I example.org)
expect_eq connect "$(val connect "$out")" ok
expect_eq domain "$(val domain "$out")" AF_INET6
expect_eq peer "$(val peer "$out")" "[::ffff:$ADDR_HOST]:25"
expect_eq banner "$(val banner "$out")" "$BANNER"

t_case "IPV6_V6ONLY socket: replaced via dup3, same fd number, FD_CLOEXEC and options kept"
conf
out=$(client -6 -V -C -K -I example.org)
expect_eq connect "$(val connect "$out")" ok
expect_eq "fd same" "$(val fd_same "$out")" 1
expect_eq domain "$(val domain "$out")" AF_INET
expect_eq cloexec "$(val cloexec "$out")" 1
expect_eq keepalive "$(val keepalive "$out")" 1
expect_eq nodelay "$(val nodelay "$out")" 1
expect_eq peer "$(val peer "$out")" "$ADDR6"
expect_eq banner "$(val banner "$out")" "$BANNER"
expect_has log "$(log)" "connected in"
expect_has log "$(log)" "(socket replaced to reach the SOCKS server)"

t_case "IPV6_V6ONLY socket without FD_CLOEXEC, non-blocking: replaced, stays inheritable, flags restored"
out=$(client -6 -V -n -I example.org)
expect_eq connect "$(val connect "$out")" ok
expect_eq cloexec "$(val cloexec "$out")" 0
expect_eq flags "$(val flags_restored "$out")" 1
expect_eq banner "$(val banner "$out")" "$BANNER"

t_case "a bound AF_INET6 socket is replaced too"
out=$(client -6 -b -I example.org)
expect_eq connect "$(val connect "$out")" ok
expect_eq domain "$(val domain "$out")" AF_INET
expect_eq banner "$(val banner "$out")" "$BANNER"

t_case "a socket that cannot be replaced (no descriptor left) fails clearly: EAFNOSUPPORT and a log line"
conf
# descriptors 0-2, the log file, the socket: a sixth one is over the limit
# (whatever this shell inherited is closed first)
out=$(for f in /proc/$BASHPID/fd/*; do
	n=${f##*/}
	[ "$n" -gt 2 ] && eval "exec $n>&-"
done 2>/dev/null
ulimit -n 5
client -6 -V example.org)
expect_eq connect "$(val connect "$out")" EAFNOSUPPORT
expect_eq flags "$(val flags_restored "$out")" 1
expect_has log "$(log)" "cannot replace the AF_INET6 socket by an AF_INET one to reach SOCKS server 127.0.0.1:$SOCKS_PORT"
socks5d_stop

t_case "an IPv6 SocksPort ([::1]) works from AF_INET6 sockets, and from AF_INET ones (replaced)"
socks5d_start "$W" ok --listen '[::1]:0'
: > "$W/record"
SOCKS_SERVERS="[::1]:$SOCKS_PORT" conf
out=$(client -I -q example.org)
expect_eq "AF_INET connect" "$(val connect "$out")" ok
expect_eq "AF_INET replaced" "$(val domain "$out")" AF_INET6
expect_eq "AF_INET peer" "$(val peer "$out")" "$ADDR"
expect_eq "AF_INET reply" "$(val reply "$out")" '221 bye\r\n'
out=$(client -6 -I example.org)
expect_eq "AF_INET6 connect" "$(val connect "$out")" ok
expect_eq "AF_INET6 kept" "$(val domain "$out")" AF_INET6
expect_eq "AF_INET6 banner" "$(val banner "$out")" "$BANNER"
expect_eq "both reached the server" "$(rval host "$(rec 1)") $(rval host "$(rec 2)")" "$O1 $O1"
expect_has log "$(log)" "via [::1]:$SOCKS_PORT: connected in"
socks5d_stop

# ---- TCP Fast Open ------------------------------------------------------------------
# In a network namespace of its own (loopback down): should the hook be
# missing, the SYN has nowhere to go. The syslog cases need a mount
# namespace. Both need root (unshare).
UNSHARE_OK=1
unshare --net --mount --fork true 2>/dev/null || UNSHARE_OK=0
if [ "$UNSHARE_OK" = 0 ]; then
	t_case "namespaces for the TCP Fast Open and syslog cases"
	t_fail "unshare --net --mount does not work here (run as root): those cases cannot run"
else
	socks5d_start "$W" ok
	conf
	for how in sendto sendmsg; do
		t_case "TCP Fast Open ($how, MSG_FASTOPEN) to a fake address fails with EOPNOTSUPP"
		out=$(unshare --net env ONIONSHIM_CONF="$W/conf" LD_PRELOAD="$PRELOAD" \
		    "$B/tests/client" -T $how example.org 2>"$W/client.err")
		expect_eq stdout "$out" "$(printf 'results=1\naddr=%s\ntfo=EOPNOTSUPP' "$ADDR")"
	done
	t_case "TCP Fast Open under route = all fails with EOPNOTSUPP for any address (control: libc alone says otherwise)"
	ROUTE=all conf
	out=$(unshare --net env ONIONSHIM_CONF="$W/conf" LD_PRELOAD="$PRELOAD" \
	    "$B/tests/client" -T sendto 192.0.2.1 2>"$W/client.err")
	expect_eq "with the library" "$(val tfo "$out")" EOPNOTSUPP
	out=$(unshare --net "$B/tests/client" -T sendto 192.0.2.1 2>/dev/null)
	expect_nomatch "libc alone" "$(val tfo "$out")" "EOPNOTSUPP"
	expect_eq "nothing reached the SOCKS server" "$(nrec)" 0
	socks5d_stop
fi

# ---- getpeername, dup, close_range, closefrom -------------------------------------------
socks5d_start "$W" ok --listen 127.0.0.1:0 --listen 127.0.0.1:0
SOCKS_PORT2=$(sed -n 2p "$W/port")
SOCKS_SERVERS="127.0.0.1:$SOCKS_PORT 127.0.0.1:$SOCKS_PORT2" conf
for how in close close_range closefrom; do
	t_case "getpeername: fake peer on the socket and its dups; after $how, a new socket on the same fd number has its real peer"
	out=$(ONIONSHIM_CONF=$W/conf LD_PRELOAD=$PRELOAD "$B/tests/peers" $how example.org \
	    "127.0.0.1:$SOCKS_PORT2" 2>"$W/client.err")
	expect_eq peer "$(val peer "$out")" "$ADDR"
	expect_eq "dup peer" "$(val dup_peer "$out")" "$ADDR"
	expect_eq "F_DUPFD peer" "$(val dupfd_peer "$out")" "$ADDR"
	expect_eq "fd reused" "$(val fd_reused "$out")" 1
	expect_eq "new peer" "$(val new_peer "$out")" "127.0.0.1:$SOCKS_PORT2"
done
t_case "getpeername: a new socket with the old socket's fd number AND local address still has its real peer"
out=$(ONIONSHIM_CONF=$W/conf LD_PRELOAD=$PRELOAD "$B/tests/peers" -s close_range example.org \
    "127.0.0.1:$SOCKS_PORT2" 2>"$W/client.err")
expect_eq peer "$(val peer "$out")" "$ADDR"
expect_eq "fd reused" "$(val fd_reused "$out")" 1
expect_eq "bind" "$(val bind "$out")" ""
expect_eq "new peer" "$(val new_peer "$out")" "127.0.0.1:$SOCKS_PORT2"
socks5d_stop

# ---- shutdown(SHUT_WR): a Tor stream cannot be half-closed -------------------------------
# socks5d --tor-eof ends a stream without answering once the client
# half-closes, as tor does. Exim pipelines QUIT (after BDAT LAST) and
# half-closes at once; the library must keep the stream open so that the
# replies come back.
socks5d_start "$W" ok --tor-eof
LOG_LEVEL=debug conf
t_case "shutdown(SHUT_WR) after a pipelined QUIT on a proxied socket: the stream stays open, the 221 arrives"
out=$(client -q -w example.org)
expect_eq shutdown "$(val shutdown "$out")" ok
expect_eq reply "$(val reply "$out")" '221 bye\r\n'
expect_match "debug line" "$(log)" "shutdown\(SHUT_WR\) on descriptor [0-9]* left undone: a Tor stream cannot be half-closed"
t_case "control: the same half-close made with syscall(), past the hook, loses the 221"
out=$(client -q -W example.org)
expect_eq shutdown "$(val shutdown "$out")" ok
expect_eq reply "$(val reply "$out")" ""
socks5d_stop
t_case "shutdown(SHUT_WR) on a socket not carried through Tor still half-closes it"
# A plain loopback server: banner, then "221 eof" once it reads the
# client's end, or "421 no eof" if none came within 5 s; it gives up
# waiting for the client after 20 s.
rm -f "$W/plain.port"
"$PY" -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1); s.settimeout(20)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept(); c.sendall(b"220 plain\r\n"); c.settimeout(5)
try:
    while c.recv(512): pass
    c.sendall(b"221 eof\r\n")
except socket.timeout:
    c.sendall(b"421 no eof\r\n")
c.close()
' "$W/plain.port" &
PLAIN_PID=$!
for _ in $(seq 1 100); do [ -s "$W/plain.port" ] && break; sleep 0.05; done
conf "allow_localhost = yes"
out=$(client -q -w -p "$(cat "$W/plain.port")" 127.0.0.1)
wait "$PLAIN_PID" 2>/dev/null || true
expect_eq banner "$(val banner "$out")" '220 plain\r\n'
expect_eq shutdown "$(val shutdown "$out")" ok
expect_eq reply "$(val reply "$out")" '221 eof\r\n'

# ---- the log through syslog ---------------------------------------------------------
if [ "$UNSHARE_OK" = 1 ]; then
	# A /dev of our own, in a private mount namespace: the device nodes a
	# program needs, bound from the real /dev, and /dev/log, a datagram socket
	# of a small listener that writes each message as one line to $W/syslog.
	mkdir -p "$W/dev"
	: > "$W/syslog"
	"$PY" -c "$SYSLOGD_PY" "$W/dev/log" "$W/syslog" &
	BG_PIDS="$BG_PIDS $!"
	for _ in $(seq 1 100); do [ -S "$W/dev/log" ] && break; sleep 0.05; done
	for n in null zero full random urandom tty; do : > "$W/dev/$n"; done

	# in_devns CMD... - run CMD with $W/dev as /dev
	in_devns() {
		unshare --mount --fork sh -c '
			d=$1; shift
			for n in null zero full random urandom tty; do
				[ -e "/dev/$n" ] && mount --bind "/dev/$n" "$d/$n"
			done
			mount --rbind "$d" /dev || exit 97
			exec "$@"' sh "$W/dev" "$@"
	}

	# syslog_wait N - wait until the listener has written N lines
	syslog_wait() {
		for _ in $(seq 1 100); do
			[ "$(wc -l < "$W/syslog")" -ge "$1" ] && return 0
			sleep 0.02
		done
	}

	slclient() {
		in_devns env ONIONSHIM_CONF="$W/conf" LD_PRELOAD="$PRELOAD" "$B/tests/client" "$@" \
		    2>"$W/client.err"
	}

	MON='(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]'

	socks5d_start "$W" ok,code:F0,ok
	LOG_TO=syslog conf

	t_case "syslog: one RFC 3164 line at info (PRI 22) tagged onionshim[PID] per proxied connection; the program keeps its own tag"
	: > "$W/syslog"
	out=$(slclient -L mytag -q example.org)
	expect_eq connect "$(val connect "$out")" ok
	expect_eq reply "$(val reply "$out")" '221 bye\r\n'
	syslog_wait 2
	s=$(cat "$W/syslog")
	pid=$(printf '%s\n' "$s" | sed -n 's/.*mytag\[\([0-9]*\)\]: .*/\1/p' | head -n 1)
	expect_match "program's own line (mail.notice)" "$s" "^<21>$MON mytag\[$pid\]: client connect: ok$"
	expect_match "our line" "$s" "^<22>$MON onionshim\[$pid\]: connect to example\.org\[$ADDR_HOST\]:25 -> $O1:25 via 127\.0\.0\.1:$SOCKS_PORT: connected in [0-9]+ ms$"
	expect_eq "lines from us" "$(count_lines "$s" "onionshim[")" 1
	expect_eq "program lines tagged onionshim" "$(printf '%s\n' "$s" | grep -F 'mytag[' | grep -c onionshim)" 0
	expect_eq "stdout has no log" "$(printf '%s\n' "$out" | grep -c 'onionshim\[')" 0

	t_case "syslog: a failed connect is one line at notice (PRI 21) with the onion, Tor's code and meaning, and the time"
	: > "$W/syslog"
	out=$(slclient example.org)
	expect_eq connect "$(val connect "$out")" EHOSTUNREACH
	syslog_wait 1
	expect_match "notice line" "$(cat "$W/syslog")" "^<21>$MON onionshim\[[0-9]+\]: connect to example\.org\[$ADDR_HOST\]:25 -> $O1:25 failed via 127\.0\.0\.1:$SOCKS_PORT after [0-9]+ ms: Tor reply 0xF0 \(onion service descriptor can not be found\) -> No route to host$"
	expect_eq "lines" "$(wc -l < "$W/syslog")" 1

	t_case "syslog: two connects to the same unmapped onion in one process give one warning (PRI 20)"
	: > "$W/syslog"
	out=$(slclient -c 2 "$O2")
	expect_eq connects "$(printf '%s\n' "$out" | grep -c '^connect=ok')" 2
	syslog_wait 3
	s=$(cat "$W/syslog")
	expect_eq "warnings" "$(printf '%s\n' "$s" | grep -Ec "^<20>$MON onionshim\[[0-9]+\]: warning: $O2 is not in onion_map")" 1
	expect_eq "info lines" "$(printf '%s\n' "$s" | grep -Ec "^<22>$MON onionshim\[[0-9]+\]: connect to $O2\[")" 2

	t_case "syslog: the constructor opened /dev/log before main(), close-on-exec"
	# against the same program without the library: whatever it inherited
	base=$(in_devns env LD_PRELOAD="$SAN_PRELOAD" "$B/tests/client" -E -r 192.0.2.1)
	out=$(slclient -E -r example.org)
	expect_eq "open descriptors at main()" "$(val fds_open "$out")" $(( $(val fds_open "$base") + 1 ))
	expect_eq "inheritable ones" "$(val fds_inheritable "$out")" "$(val fds_inheritable "$base")"

	t_case "syslog: after closefrom, the log reconnects and never writes into the program's socket"
	: > "$W/syslog"
	out=$(slclient -Z -q example.org)
	expect_eq reply "$(val reply "$out")" '221 bye\r\n'
	syslog_wait 1
	expect_match "line" "$(cat "$W/syslog")" "^<22>$MON onionshim\[[0-9]+\]: connect to example\.org"
	socks5d_stop

fi
# ---- threads, fork, a double preload ----------------------------------------------------
socks5d_start "$W" ok
conf
NAMES=()
for i in $(seq 0 15); do NAMES+=("t$i.example"); done
for i in $(seq 16 31); do NAMES+=("${ONIONS[$i]}"); done

t_case "32 threads resolving and connecting at once get distinct, correct connections"
: > "$W/record"
out=$(ONIONSHIM_CONF=$W/conf LD_PRELOAD=$PRELOAD timeout 60 "$B/tests/threads" connect \
    "${NAMES[@]}" 2>"$W/client.err")
expect_eq "threads ok" "$(val threads_ok "$out")" 32
expect_eq "echo ok" "$(printf '%s\n' "$out" | grep -c ' echo=ok$')" 32
expect_eq "distinct addresses" "$(printf '%s\n' "$out" | sed -n 's/.* addr=\([^ ]*\) .*/\1/p' | sort -u | wc -l)" 32
expect_eq "peer = own address" "$(printf '%s\n' "$out" | grep -cE ' addr=([^ ]+) peer=\1 ')" 32
want=$(for i in $(seq 0 31); do echo "${ONIONS[$i]} ${ONIONS[$i]}"; done | sort)
got=$(while read -r line; do
	echo "$(rval host "$line") $(rval auth_user "$line")"; done < "$W/record" | sort)
expect_eq "each thread's own onion reached the server (host, isolation user)" "$got" "$want"

if [ -n "$SAN_PRELOAD" ]; then
	# GCC 12's libasan keeps its allocator's locks across fork: a child of
	# a threaded parent can hang in malloc, with or without onionshim
	# (seen: a child stuck in SizeClassAllocator64::GetFromAllocator).
	echo "note: fork case not run in the sanitizer build (libasan's allocator is not fork-safe)"
else
	t_case "fork while other threads resolve, 25 times: each child connects at once, none hangs"
	out=$(ONIONSHIM_CONF=$W/conf LD_PRELOAD=$PRELOAD timeout 120 "$B/tests/threads" fork 25 \
	    example.org "$O1" t0.example "${ONIONS[20]}" 2>"$W/client.err")
	expect_eq result "$(printf '%s\n' "$out" | grep '^forks=')" "forks=25 ok=25 hung=0 failed=0"
	[ "$(val resolves_during "$out")" -gt 0 ] 2>/dev/null ||
		t_fail "the threads did not resolve during the forks: [$out]"
fi

t_case "preloaded twice under two paths: connect works, nothing recurses"
mkdir -p "$W/a" "$W/b"
cp "$B/libonionshim.so" "$W/a/"
cp "$B/libonionshim.so" "$W/b/"
twice="$W/a/libonionshim.so $W/b/libonionshim.so"
[ -n "$SAN_PRELOAD" ] && twice="$SAN_PRELOAD $twice"
out=$(ONIONSHIM_CONF=$W/conf LD_PRELOAD=$twice timeout 20 "$B/tests/client" -q example.org 2>"$W/client.err")
expect_eq "exit status" "$?" 0
expect_eq connect "$(val connect "$out")" ok
expect_eq peer "$(val peer "$out")" "$ADDR"
expect_eq banner "$(val banner "$out")" "$BANNER"
expect_eq reply "$(val reply "$out")" '221 bye\r\n'
socks5d_stop

echo "note: connect.sh ran $(( $(date +%s) - T0 )) s"
t_summary connect
