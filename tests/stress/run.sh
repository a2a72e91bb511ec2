#!/bin/bash
# tests/stress/run.sh - the library under many threads and forks at once.
#
# usage: tests/stress/run.sh BUILD_DIR [--tsan]
#
# Starts the test SOCKS5 server (tests/socks5d.c, a child per connection),
# writes an onion_map of 64 mail domains, each mapped to an onion of its own
# (half as leading-dot entries reached through a subdomain), and runs
# BUILD_DIR/tests/stress under LD_PRELOAD=BUILD_DIR/libonionshim.so:
# STRESS_THREADS threads (64) of STRESS_CYCLES resolve+connect+close cycles
# (100; the figures in docs/reliability.md are from 1000), and with forks
# (STRESS_FORKS per forking thread, 25) unless --tsan. Then it checks what
# the program saw, what the server recorded and what the library logged.
#
# --tsan: BUILD_DIR holds a ThreadSanitizer build; threads only, no forks
# (TSan is unreliable across fork); any ThreadSanitizer report fails.
# STRESS_SOCKS5D names the server binary (default BUILD_DIR/tests/socks5d).
#
# Prints "stress: N passed, M failed" (or "stress-tsan: ...").
set -u
B=${1:?usage: run.sh BUILD_DIR [--tsan]}
TSAN=0
[ "${2:-}" = --tsan ] && TSAN=1
cd "$(dirname "$0")/../.." || exit 2
. tests/lib.sh

THREADS=${STRESS_THREADS:-64}
CYCLES=${STRESS_CYCLES:-100}
FORKS=${STRESS_FORKS:-25}
SUITE=stress
if [ "$TSAN" = 1 ]; then
	FORKS=0
	SUITE=stress-tsan
fi
# The watchdog: a thread that begins no new cycle for this long is stuck.
# A cycle takes milliseconds; each of its waits is bounded at 30-60 s.
WATCHDOG=${STRESS_WATCHDOG:-120}

W=$(mktemp -d /tmp/onionshim-stress.XXXXXX)
trap 'socks5d_stop; rm -rf "$W"' EXIT

# 64 valid v3 onions, derived from fixed seeds so that every run is alike.
python3 - "$THREADS" > "$W/pairs" <<'EOF'
import base64, hashlib, sys
for i in range(int(sys.argv[1])):
    pub = hashlib.sha256(b"onionshim-stress-%d" % i).digest()
    check = hashlib.sha3_256(b".onion checksum" + pub + b"\x03").digest()[:2]
    onion = base64.b32encode(pub + check + b"\x03").decode().lower() + ".onion"
    # even: the domain itself; odd: a subdomain of a leading-dot entry
    entry = "s%d.stress.test" % i if i % 2 == 0 else ".s%d.stress.test" % i
    name = entry if i % 2 == 0 else "mx" + entry
    print(entry, name, onion)
EOF
awk '{ print $1 "\t" $3 }' "$W/pairs" > "$W/map"
mapfile -t ARGS < <(awk '{ print $2 "=" $3 }' "$W/pairs")

if [ -n "${STRESS_SOCKS5D:-}" ]; then
	# socks5d_start runs $B/tests/socks5d: point B there for the server only.
	SB=$B
	B=$(dirname "$(dirname "$STRESS_SOCKS5D")")
	socks5d_start "$W" ok || exit 1
	B=$SB
else
	socks5d_start "$W" ok || exit 1
fi

cat > "$W/conf" <<EOF
socks_server = 127.0.0.1:$SOCKS_PORT
onion_map = $W/map
route = onion
log_to = $W/log
log_level = info
connect_timeout = 60s
EOF

if [ "$TSAN" = 1 ]; then
	PRELOAD="$(${CC:-cc} -print-file-name=libtsan.so) $PWD/$B/libonionshim.so"
	export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:exitcode=66:report_signal_unsafe=0:second_deadlock_stack=1}
else
	PRELOAD=$(preload_line)
fi

echo "running: $THREADS threads x $CYCLES cycles, $FORKS forks per forking thread," \
    "watchdog ${WATCHDOG}s"
ONIONSHIM_CONF=$W/conf LD_PRELOAD=$PRELOAD "$B/tests/stress" -t "$THREADS" -c "$CYCLES" \
    -f "$FORKS" -w "$WATCHDOG" "${ARGS[@]}" > "$W/out" 2> "$W/err"
rc=$?
out=$(cat "$W/out")
total=$((THREADS * CYCLES))
forks=$(field forks "$out")
forks=${forks:-0}

t_case "the run ends before the watchdog (no deadlock)"
expect_eq "exit status" "$([ "$rc" = 3 ] && echo deadlock || echo finished)" finished
[ "$rc" = 3 ] && t_fail "$(grep -E '^(deadlock|thread=.* at cycle)' "$W/out" | grep -v finished | head -n 20)"

t_case "$THREADS threads x $CYCLES cycles: every resolve, connect, peer and byte was right"
expect_eq connections_ok "$(field connections_ok "$out")" "$total"
expect_eq connections_failed "$(field connections_failed "$out")" 0
grep '^fail ' "$W/out" | head -n 10 | while read -r l; do printf '     %s\n' "$l"; done

if [ "$TSAN" = 0 ]; then
	t_case "forks while threads connect: every child resolves, connects and exits"
	expect_eq forks "$forks" "$((FORKS * ( (THREADS + 15) / 16 )))"
	expect_eq forks_ok "$(field forks_ok "$out")" "$forks"
	expect_eq forks_hung "$(field forks_hung "$out")" 0
fi

t_case "no descriptor leaked (/proc/self/fd before and after)"
expect_eq fds_after "$(field fds_after "$out")" "$(field fds_before "$out")"

t_case "the server saw every connection, each to its domain's onion, isolated by it"
bad=0
while read -r _ name onion; do
	want=$(grep -E "^thread=[0-9]+ name=$name " "$W/out" | sed -n 's/.* connects=\([0-9]*\).*/\1/p' |
	    awk '{ s += $1 } END { print s + 0 }')
	# isolation = destination: the SOCKS username is the onion too
	got=$(grep -cE " auth_user=$onion auth_pass=[^ ]+ cmd=01 atyp=3 host=$onion port=25 " \
	    "$W/record")
	if [ "$got" != "$want" ]; then
		bad=$((bad + 1))
		[ "$bad" -le 5 ] && t_fail "$name ($onion): server saw $got connections, program made $want"
	fi
done < "$W/pairs"
expect_eq "all connections recorded" "$(grep -c ' cmd=01 ' "$W/record")" "$((total + forks))"
expect_eq "other requests" "$(grep -vc ' cmd=01 ' "$W/record")" 0

t_case "the library logged each proxied connection once, and nothing worse than info"
expect_eq "connected lines" "$(grep -c ': connected in [0-9]* ms' "$W/log")" "$((total + forks))"
expect_eq "warnings and errors" "$(grep -ciE 'warning:|error:|fatal' "$W/log")" 0

if [ "$TSAN" = 1 ]; then
	t_case "ThreadSanitizer reports no data race, lock-order inversion or misuse"
	expect_eq "tsan reports" "$(grep -c 'WARNING: ThreadSanitizer' "$W/err")" 0
	expect_eq "exit status" "$rc" 0
	grep -A 30 'WARNING: ThreadSanitizer' "$W/err" | head -n 60
else
	t_case "no sanitizer or runtime report on stderr"
	expect_eq stderr "$(grep -cE 'ERROR: AddressSanitizer|runtime error' "$W/err")" 0
fi

t_end
echo "note: $(field elapsed_ms "$out") ms for $((total + forks)) connections" \
    "($(field connections_per_s "$out") connections/s), $forks forks," \
    "descriptors $(field fds_before "$out") before and $(field fds_after "$out") after"
# connect() as the library timed it: SOCKS handshake, server's fork included
sed -n 's/.*: connected in \([0-9]*\) ms.*/\1/p' "$W/log" | sort -n | awk '
	{ v[NR] = $1 }
	END { if (NR == 0) exit
	      p99 = int(NR * 0.99); if (p99 < 1) p99 = 1
	      printf "note: connect took %d ms median, %d ms at the 99th percentile, %d ms at most\n",
	      v[int((NR + 1) / 2)], v[p99], v[NR] }'
t_summary "$SUITE"
