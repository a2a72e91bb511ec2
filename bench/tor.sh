#!/bin/bash
# NAME
#	tor.sh - issue 7 part 5: mail through a real Tor, three senders
# SYNOPSIS
#	make bench-tor			(as root)
#	bash bench/tor.sh [OUTDIR]	(as root, after make all)
# DESCRIPTION
#	Brings up the end-to-end world of tests/e2e (lib.sh: a fresh network
#	and mount namespace, a private Tor network on loopback, the receiver
#	receiver1.test behind ONION1, the sending Postfix with onionshim) and
#	sends batches of mail to one onion domain (receiver1.test, mapped to
#	ONION1 in onion_map) through three senders of the same Postfix:
#
#	onion	the e2e sender's smtptor transport as sender.sh sets it up:
#		smtp_onion (onionshim preloaded), chrooted, DNS on (the library
#		answers the MX lookup), routed by the domain alone.
#	torsocks the seed recipe: a master.cf transport whose command is a
#		wrapper that runs "torsocks smtp $@" with a torsocks.conf
#		naming the world's SocksPort, smtp_dns_support_level =
#		disabled and inet_protocols = ipv4 (torsocks refuses IPv6
#		sockets), routed to bench-torsocks:[ONION1].
#	direct	the floor: Postfix's plain smtp to the receiver's loopback
#		port (the onion's target), routed to bench-direct:[127.0.0.1]:PORT.
#
#	All three have the same master.cf options otherwise (chroot, the
#	connection cache for every destination) and the same destination
#	concurrency limit. The whole plan runs once for each limit in
#	BENCH_TOR_CONCURRENCY (default "2 default": 2, as the e2e sender has,
#	then Postfix's own default, 20 with a slow start at 5).
#	Each recipient address has its own transport map entry, so the three
#	share the domain. Before measuring, one message per sender warms up
#	its smtp processes and Tor circuits (recorded, not counted). Then
#	BENCH_TOR_REPS rounds (default 3), each sending BENCH_TOR_COUNTS
#	messages (default "30 50") through every sender in turn
#	(BENCH_TOR_SENDERS, default "onion torsocks direct"); one batch is
#	bench/tor_run.py (see there for what it records). Every batch starts
#	from a quiet world: the previous one's connections are closed.
#
#	Results: OUTDIR/tor.json (default build/bench/tor.json): the world's
#	versions and settings, one record per batch and the round trips
#	(after each warm-up, bench/tor_rtt.py times one SMTP round trip over
#	the onion, with its own SOCKS client and no library, and on
#	loopback). make bench-tor then runs bench/tor_render.py, which writes
#	OUTDIR/tor.md. The world's logs are copied to OUTDIR/tor-logs/ for
#	post-mortems.
#
#	This measures; it asserts nothing about time. It fails only when the
#	world cannot come up or a batch cannot be submitted.
# NEVER
#	Runs outside its own network namespace (lib.sh re-executes it under
#	unshare), or sends a packet beyond loopback.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail
BENCH_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$BENCH_HERE/../tests/e2e/lib.sh"

if [ "${E2E_IN_NS:-}" != 1 ]; then
	BENCH_OUT=$(mkdir -p "${1:-$E2E_TOP/build/bench}" && cd "${1:-$E2E_TOP/build/bench}" && pwd)
	BENCH_T0=$(date +%s.%N)
	export BENCH_OUT BENCH_T0
	[ -e "$E2E_TOP/build/libonionshim.so" ] || e2e_die "build first: make all"
	command -v torsocks >/dev/null || e2e_die "torsocks is missing (sh bench/deps.sh)"
	rm -f "$BENCH_OUT/tor.json" "$BENCH_OUT/tor.runs" "$BENCH_OUT/tor.rtts"
	# From the host, once the world is gone: the whole run's wall time.
	e2e_after_ns() {
		[ -e "$BENCH_OUT/tor.json" ] || return 0
		python3 - "$BENCH_OUT/tor.json" "$BENCH_T0" <<'PY'
import json, sys, time
doc = json.load(open(sys.argv[1]))
doc["total_s"] = round(time.time() - float(sys.argv[2]), 1)
json.dump(doc, open(sys.argv[1], "w"), indent=1)
print("bench-tor: %.0f s in all" % doc["total_s"], file=sys.stderr)
PY
	}
fi
e2e_enter_ns "$0" "$@"
trap bench_exit EXIT

REPS=${BENCH_TOR_REPS:-3}
COUNTS=${BENCH_TOR_COUNTS:-30 50}
CONCURRENCY=${BENCH_TOR_CONCURRENCY:-2 default}
SENDERS=${BENCH_TOR_SENDERS:-onion torsocks direct}
RUNS=$BENCH_OUT/tor.runs
RTTS=$BENCH_OUT/tor.rtts

bench_exit() {
	local rc=$?
	# The logs, whatever happened, before the world goes.
	if [ -n "${SENDER_LOG:-}" ]; then
		mkdir -p "$BENCH_OUT/tor-logs"
		cp "$SENDER_LOG" "$BENCH_OUT/tor-logs/sender.log" 2>/dev/null || true
		cp "$ONIONSHIM_LOG" "$BENCH_OUT/tor-logs/onionshim.log" 2>/dev/null || true
		cp "$RECV1_LOG" "$BENCH_OUT/tor-logs/receiver1.log" 2>/dev/null || true
		cp "$E2E_WORLD/bench/master.cf.bench" "$BENCH_OUT/tor-logs/" 2>/dev/null || true
	fi
	(exit "$rc")
	e2e_exit
}

# The seed recipe's pieces: the wrapper in Postfix's daemon_directory (the
# sender's own copy, mounted there in this namespace) and its torsocks.conf.
seed_recipe() {
	local dir=$E2E_WORLD/bench
	printf 'TorAddress 127.0.0.1\nTorPort %s\nOnionAddrRange 127.42.42.0/24\nAllowOutboundLocalhost 0\n' \
		"$SOCKS_PORT" >"$dir/torsocks.conf"
	cat >/usr/lib/postfix/sbin/smtp-torsocks <<EOF
#!/bin/sh
# The seed recipe: Postfix's smtp under torsocks (written by bench/tor.sh).
TORSOCKS_CONF_FILE=$dir/torsocks.conf
export TORSOCKS_CONF_FILE
# master(8) gives its children no stderr to read: keep torsocks's own.
exec 2>>$dir/torsocks.stderr
exec /usr/bin/torsocks /usr/lib/postfix/sbin/smtp "\$@"
EOF
	chmod 755 /usr/lib/postfix/sbin/smtp-torsocks
}

# Two transports beside smtptor, with its options; one transport map entry
# per sender's recipient.
bench_setup() {
	local svc
	mkdir -p "$E2E_WORLD/bench"
	seed_recipe
	{
		echo "# bench/tor.sh: the seed recipe and the floor, with smtptor's options"
		printf '%-14s unix  -       -       y       -       -       smtp-torsocks\n' bench-torsocks
		printf '  -o syslog_name=postfix/$service_name\n'
		printf '  -o smtp_connection_cache_destinations=static:all\n'
		printf '  -o smtp_dns_support_level=disabled\n'
		# torsocks refuses IPv6 sockets: smtp with inet_protocols = all
		# dies at start ("fatal: socket: Function not implemented").
		printf '  -o inet_protocols=ipv4\n'
		printf '%-14s unix  -       -       y       -       -       smtp\n' bench-direct
		printf '  -o syslog_name=postfix/$service_name\n'
		printf '  -o smtp_connection_cache_destinations=static:all\n'
	} >"$E2E_WORLD/bench/master.cf.bench"
	cat "$E2E_WORLD/bench/master.cf.bench" >>/etc/postfix/master.cf
	{
		printf '%-40s smtptor:\n' bench-onion@receiver1.test
		printf '%-40s bench-torsocks:[%s]\n' bench-torsocks@receiver1.test "$ONION1"
		printf '%-40s bench-direct:[127.0.0.1]:%s\n' bench-direct@receiver1.test "$RECV1_PORT"
	} >>/etc/postfix/transport
	postmap /etc/postfix/transport
}

# concurrency LIMIT: at most LIMIT connections per destination for the
# three transports ("default": Postfix's own, 20 with a slow start at 5),
# then a reload; new smtp processes start with it.
concurrency() {
	local svc
	for svc in smtptor bench-torsocks bench-direct; do
		if [ "$1" = default ]; then
			postconf -X "${svc}_destination_concurrency_limit" 2>/dev/null
		else
			postconf -e "${svc}_destination_concurrency_limit = $1" 2>/dev/null
		fi
	done
	postfix reload >/dev/null 2>&1
	# The reload is done when the queue manager answers again.
	e2e_wait 20 queue_empty || e2e_die "the sender's queue manager did not come back"
}

settings_json() {
	local tor_v postfix_v torsocks_v
	tor_v=$(tor --version 2>/dev/null | head -n 1 | sed 's/\.$//')
	postfix_v=$(postconf -h mail_version 2>/dev/null)
	torsocks_v=$(dpkg-query -W -f '${Version}' torsocks 2>/dev/null || echo unknown)
	"$E2E_PYTHON" - "$tor_v" "$postfix_v" "$torsocks_v" <<EOF
import json, os, platform, sys
print(json.dumps({
    "tor": sys.argv[1], "postfix": sys.argv[2], "torsocks": sys.argv[3],
    "kernel": platform.release(), "cpus": os.cpu_count(),
    "load_start": open("/proc/loadavg").read().split()[:3],
    "reps": $REPS, "counts": [int(c) for c in "$COUNTS".split()],
    "concurrency": "$CONCURRENCY".split(),
    "onionshim_conf": open("$ONIONSHIM_CONF").read(),
    "master_cf": open("$E2E_WORLD/bench/master.cf.bench").read(),
    "command": "make bench-tor",
}))
EOF
}

# batch SENDER COUNT REP TIMEOUT: one measured batch (REP 0: the
# warm-up) at the current concurrency ($conc); fails when not every
# message arrived within TIMEOUT seconds.
batch() {
	local sender=$1 n=$2 rep=$3 timeout=$4 lib=() rc=0
	[ "$sender" != onion ] || lib=(--lib-log "$ONIONSHIM_LOG")
	"$E2E_PYTHON" "$BENCH_HERE/tor_run.py" --label "$sender" --count "$n" --rep "$rep" \
		--concurrency "$conc" \
		--rcpt "bench-$sender@receiver1.test" --tag "$sender-$conc-$n-$rep-$RANDOM" \
		--maildir "$RECV1_MAILDIR" --recv-log "$RECV1_LOG" --sender-log "$SENDER_LOG" \
		"${lib[@]}" --timeout "$timeout" --out "$RUNS" || rc=$?
	[ "$rc" != 1 ] || e2e_die "could not submit the batch for $sender"
	# Nothing left behind for the next batch: what is still queued (a
	# sender that failed) is counted in its record and thrown away.
	if ! queue_empty; then
		postsuper -d ALL >/dev/null 2>&1 || true
		e2e_wait 20 queue_empty || true
	fi
	return "$rc"
}

world_up --with-sender
bench_setup
e2e_lap "bench: transports ready ($REPS rounds of $COUNTS at concurrency $CONCURRENCY)"
for conc in $CONCURRENCY; do
	concurrency "$conc"
	# A sender whose first message does not arrive is broken, not slow:
	# it is left out of the rounds (its warm-up record says what happened).
	working=""
	for s in $SENDERS; do
		if batch "$s" 1 0 90; then working="$working $s"; else
			e2e_lap "bench: $s delivered nothing in its warm-up: left out"
		fi
	done
	e2e_lap "bench: concurrency $conc: warm-up done"
	# One SMTP round trip over the onion and on loopback, without any
	# preload library: what each waiting step of a delivery costs.
	"$E2E_PYTHON" "$BENCH_HERE/tor_rtt.py" --label "onion c=$conc" --socks "$SOCKS_PORT" \
		--onion "$ONION1" --out "$RTTS" || true
	"$E2E_PYTHON" "$BENCH_HERE/tor_rtt.py" --label "onion, onionshim's login c=$conc" \
		--socks "$SOCKS_PORT" --onion "$ONION1" --user "$ONION1" --out "$RTTS" || true
	"$E2E_PYTHON" "$BENCH_HERE/tor_rtt.py" --label "direct c=$conc" --direct "$RECV1_PORT" \
		--out "$RTTS" || true
	for rep in $(seq 1 "$REPS"); do
		for n in $COUNTS; do
			for s in $working; do batch "$s" "$n" "$rep" 150 || true; done
		done
		e2e_lap "bench: concurrency $conc: round $rep done"
	done
done
settings_json >"$BENCH_OUT/tor.json.head"
"$E2E_PYTHON" - "$BENCH_OUT/tor.json.head" "$RUNS" "$RTTS" "$BENCH_OUT/tor.json" <<'EOF'
import json, os, sys
doc = json.load(open(sys.argv[1]))
doc["runs"] = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
doc["rtt"] = ([json.loads(l) for l in open(sys.argv[3]) if l.strip()]
              if os.path.exists(sys.argv[3]) else [])
json.dump(doc, open(sys.argv[4], "w"), indent=1)
EOF
rm -f "$BENCH_OUT/tor.json.head"
e2e_lap "bench: results in $BENCH_OUT/tor.json"
