# NAME
#	lib.sh - the end-to-end test world: namespace, DNS counter, Tor,
#	receivers, the sending Postfix with onionshim
# SYNOPSIS
#	. tests/e2e/lib.sh
#	e2e_enter_ns "$0" "$@"	# first thing: re-exec inside a fresh namespace
#	trap e2e_exit EXIT	# tears the world down, whatever happens
#	world_up [--with-sender] # dnscount, Tor network, two receivers,
#				# onions reachable (and the sender)
#	...			# the test
#	world_down; e2e_assert_no_leftovers
# DESCRIPTION
#	e2e_enter_ns SCRIPT ARGS...
#		Outside the namespace: check that the world can run here
#		(root, namespaces, tor, Postfix, swaks; if not, say why and
#		print "e2e: 0 passed, 1 failed"), create the world directory,
#		run SCRIPT ARGS under 'unshare --net --mount --pid --fork
#		--mount-proc --kill-child' (E2E_PIDNS=0 drops --pid), then
#		check from outside that nothing of the world is left, run the
#		script's e2e_after_ns function if it has one, and exit with
#		the script's status. Inside (E2E_IN_NS=1): set the namespace
#		up (ns_setup) and return. E2E_HOST_MNTNS names the host's
#		mount namespace, so that sender.sh can refuse to mount there.
#	ns_setup
#		lo up; tmpfs over /run/nscd and /run/systemd/resolve when
#		they exist; /etc/resolv.conf bind-mounted to
#		$E2E_WORLD/resolv.conf naming $E2E_RESOLVER (default
#		127.0.0.1, the counting listener).
#	ns_with_resolver ADDR CMD...
#		Run CMD in a nested mount namespace whose resolv.conf names
#		ADDR (127.0.0.2 is dead: nothing listens there). Daemons
#		started this way keep that view. world_up starts Tor and
#		the receivers this way: the counting listener on 127.0.0.1
#		then counts the sender alone.
#	dns_start / dns_stop / dns_count / dns_log
#		The counting listener on 127.0.0.1:53 (tests/dnscount.py):
#		dns_count prints the total, dns_log the "NAME TYPE PROTO"
#		lines. DNS_COUNT_FILE names the count file.
#	world_up [--with-sender] / world_down
#		Start (stop) dnscount, the Tor network (tornet.sh) and the
#		two receivers (receiver.sh), and wait until both onions
#		accept a SOCKS CONNECT. Receivers start while Tor bootstraps.
#		--with-sender: also the sending Postfix (sender_start while
#		Tor bootstraps, sender_map once the onions are known).
#	sender_start / sender_map / sender_down
#		The sending Postfix (sender.sh): the namespace's own Postfix
#		with the smtptor transports under smtp_onion; its env.
#	e2e_lap LABEL
#		Print "[  12.3s] LABEL" (seconds since E2E_T0) and record it
#		in $E2E_WORLD/timings.
#	e2e_wait SECONDS CMD...
#		Poll CMD until it succeeds, or fail after SECONDS.
#	maildir_has MAILDIR RCPT SUBJECT / maildir_count MAILDIR
#	maildir_file MAILDIR SUBJECT / maildir_count_subject MAILDIR SUBJECT
#		Delivered mail in a receiver's Maildir.
#	mail_body FILE TAG / mail_send RCPT SUBJECT BODYFILE
#		A body that SMTP could damage; one message into the sender's
#		queue with sendmail -i (prints its Message-ID).
#	queue_id MSGID / queue_id_wait MSGID / delivery_lines QID
#	mail_status_is QID STATUS / mail_sent QID / mail_queued QID
#	queue_empty
#		The sender's queue and log (SENDER_LOG) about one message.
#	body_of FILE / is_fake_addr ADDR / log_mark FILE / log_since FILE MARK
#	expect_no_dns_since MARK / fail MESSAGE
#		Small checks for cases.
#	smtp_send [--torsocks] SERVER PORT RCPT SUBJECT [swaks args]
#	smtp_accepted TRANSCRIPT / smtp_relay_denied TRANSCRIPT
#		One message with swaks (through Tor with --torsocks and
#		TORSOCKS_CONF_FILE), and verdicts on its transcript.
#	e2e_assert_no_leftovers
#		Fail unless every process of the world is gone (inside a pid
#		namespace: no process but this shell).
#	e2e_exit
#		EXIT trap: world_down, leftovers check, keep the world
#		directory on failure or with E2E_KEEP=1, remove it otherwise.
# VARIABLES (after world_up)
#	E2E_WORLD	world directory (E2E_WORLD may be set by the caller)
#	TORNET_DIR SOCKS_PORT CONTROL_PORT CONTROL_COOKIE ONION1 ONION2
#	ONION1_TARGET_PORT ONION2_TARGET_PORT	from tornet.sh's env
#	RECV1_DIR RECV1_PORT RECV1_CONF RECV1_MAILDIR RECV1_LOG
#	RECV1_DOMAINS (receiver1.test r1-alias.test) and RECV2_*
#	(receiver2.test r2-alias.test)
#	DNS_COUNT_FILE	the listener's count file ($DNS_COUNT_FILE.log)
#	TORSOCKS_CONF_FILE	a torsocks.conf for the test SocksPort
#	RECV1_TRAP_PORT RECV2_TRAP_PORT	each receiver's smtpd with main.cf's
#			(loopback-trusting) settings, the control for relaying
# VARIABLES (after world_up --with-sender)
#	SENDER_DIR SENDER_LOG SENDER_PREFIX ONIONSHIM_CONF ONIONSHIM_MAP
#	ONIONSHIM_LOG	from sender.sh's env; ONION_DEAD, a valid onion
#			that nothing publishes (nowhere.test in onion_map)
# NEVER
#	Runs the world outside a network namespace, or leaves a process
#	behind when the script exits.

E2E_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_TESTS=$(cd "$E2E_HERE/.." && pwd)
# The repository's top (build/libonionshim.so lives under it): for cases.
export E2E_TOP
E2E_TOP=$(cd "$E2E_TESTS/.." && pwd)
E2E_PYTHON=${PYTHON:-python3}
E2E_ONION_TIMEOUT=${E2E_ONION_TIMEOUT:-120}

e2e_now() { date +%s.%N; }

e2e_lap() {
	local t
	t=$(awk -v a="${E2E_T0:-0}" -v b="$(e2e_now)" 'BEGIN { printf "%6.1f", b - a }')
	echo "[${t}s] $*" >&2
	[ -z "${E2E_WORLD:-}" ] || echo "$t $*" >>"$E2E_WORLD/timings"
}

e2e_die() { echo "e2e: $*" >&2; exit 1; }

# e2e_cannot_run WHY: the tests cannot run here; say so, count it failed.
e2e_cannot_run() {
	echo "e2e: cannot run: $*" >&2
	echo "e2e: 0 passed, 1 failed (not run)" >&2
	exit 1
}

# Zombies count as gone: a PID 1 shell may reap late.
e2e_pid_alive() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

e2e_enter_ns() {
	local script=$1 rc=0 pidns=()
	shift
	if [ "${E2E_IN_NS:-}" = 1 ]; then
		# A script run by another inside the namespace finds it ready.
		if [ "${E2E_NS_READY:-}" != 1 ]; then
			# PID 1 gets only the signals it handles; exiting on them
			# runs the script's EXIT trap, which tears the world down.
			trap 'exit 143' TERM
			trap 'exit 130' INT
			ns_setup
			export E2E_NS_READY=1
		fi
		return 0
	fi
	e2e_preflight
	: "${E2E_WORLD:=$(mktemp -d /tmp/onionshim-e2e.XXXXXX)}"
	mkdir -p "$E2E_WORLD"
	chmod 755 "$E2E_WORLD"
	[ "${E2E_PIDNS:-1}" = 0 ] || pidns=(--pid --mount-proc --kill-child)
	E2E_T0=${E2E_T0:-$(e2e_now)}
	E2E_HOST_MNTNS=$(readlink /proc/self/ns/mnt)
	export E2E_WORLD E2E_T0 E2E_HOST_MNTNS
	E2E_IN_NS=1 unshare --net --mount --fork "${pidns[@]}" -- \
		bash "$script" "$@" &
	E2E_NS_PID=$!
	# A TERM for this shell (a CI timeout) goes on to the script inside,
	# which tears its world down; unshare itself ignores TERM and INT.
	trap 'e2e_forward TERM' TERM
	trap 'e2e_forward INT' INT
	while :; do
		set +e
		wait "$E2E_NS_PID"
		rc=$?
		set -e
		[ "$rc" -gt 128 ] && e2e_pid_alive "$E2E_NS_PID" && continue
		break
	done
	trap - TERM INT
	e2e_leftovers_outside || rc=1
	# A script's own check from the host's side, after the world is gone.
	if declare -F e2e_after_ns >/dev/null; then e2e_after_ns || rc=1; fi
	exit "$rc"
}

# Say plainly why the world cannot run here; the caller fails (a test
# that cannot run is never a test that passed).
e2e_preflight() {
	local c missing=""
	[ "$(id -u)" = 0 ] ||
		e2e_cannot_run "needs root (network and mount namespaces, Postfix instances)"
	for c in unshare ip tor tor-gencert postconf postfix swaks "$E2E_PYTHON" make cc; do
		command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
	done
	[ -z "$missing" ] ||
		e2e_cannot_run "missing$missing (sh tests/deps.sh installs them)"
	[ -d /usr/lib/postfix/sbin ] && [ -r /etc/postfix/master.cf ] ||
		e2e_cannot_run "Debian's Postfix files (/usr/lib/postfix/sbin, /etc/postfix/master.cf) are missing"
	unshare --net --mount true 2>/dev/null ||
		e2e_cannot_run "'unshare --net --mount' fails here (a container without CAP_SYS_ADMIN?)"
}

e2e_forward() {
	local child
	child=$(cat "/proc/$E2E_NS_PID/task/$E2E_NS_PID/children" 2>/dev/null) || return 0
	[ -z "$child" ] || kill -s "$1" $child 2>/dev/null || true
}

# From the host: a process of the world names the world directory on its
# command line (tor, dnscount) or works in it (every Postfix daemon).
e2e_leftovers_outside() {
	local found
	# grep finds nothing in the good case: keep pipefail from failing.
	found=$( {
		grep -lsF -- "$E2E_WORLD/" /proc/[0-9]*/cmdline || true
		find /proc -mindepth 2 -maxdepth 2 -name cwd -lname "$E2E_WORLD/*" 2>/dev/null || true
	} | awk -F/ -v me="$$" '$3 != me { print $3 }' | sort -u | tr '\n' ' ')
	[ -z "$found" ] && return 0
	echo "e2e: processes left behind:" >&2
	ps -o pid,args -p "$found" >&2 || true
	return 1
}

ns_setup() {
	local d real
	ip link set lo up
	for d in /run/nscd /run/systemd/resolve; do
		if [ -d "$d" ]; then mount -t tmpfs -o mode=755 tmpfs "$d"; fi
	done
	printf 'nameserver %s\n' "${E2E_RESOLVER:-127.0.0.1}" >"$E2E_WORLD/resolv.conf"
	real=$(readlink -f /etc/resolv.conf)
	if [ ! -e "$real" ]; then
		# A dangling link into a tmpfs we just mounted: fill it there,
		# never on the host's file systems.
		case $real in
		/run/nscd/* | /run/systemd/resolve/*) : >"$real" ;;
		*) e2e_die "/etc/resolv.conf resolves to missing $real" ;;
		esac
	fi
	mount --bind "$E2E_WORLD/resolv.conf" "$real"
}

ns_with_resolver() {
	local addr=$1
	shift
	printf 'nameserver %s\n' "$addr" >"$E2E_WORLD/resolv.$addr"
	# E2E_NS_EXEC=1: replace the calling (background) shell, so that its
	# pid becomes the command's.
	${E2E_NS_EXEC:+exec} unshare --mount -- bash -c '
		mount --bind "$1" "$(readlink -f /etc/resolv.conf)" || exit 1
		shift
		exec "$@"' _ "$E2E_WORLD/resolv.$addr" "$@"
}

dns_start() {
	local deadline
	mkdir -p "$E2E_WORLD/dns"
	DNS_COUNT_FILE=$E2E_WORLD/dns/count
	"$E2E_PYTHON" "$E2E_TESTS/dnscount.py" --addr 127.0.0.1 --port 53 \
		--count-file "$DNS_COUNT_FILE" --pid-file "$E2E_WORLD/dns/pid" \
		</dev/null >"$E2E_WORLD/dns/stderr" 2>&1 &
	echo $! >"$E2E_WORLD/dns/pid.launch"
	deadline=$(( $(date +%s) + 10 ))
	until [ -s "$DNS_COUNT_FILE" ]; do
		if [ "$(date +%s)" -ge "$deadline" ] ||
			! e2e_pid_alive "$(cat "$E2E_WORLD/dns/pid.launch")"; then
			cat "$E2E_WORLD/dns/stderr" >&2
			e2e_die "dnscount did not start"
		fi
		sleep 0.05
	done
}

dns_count() { cat "$DNS_COUNT_FILE"; }

dns_log() { cat "$DNS_COUNT_FILE.log" 2>/dev/null || true; }

dns_stop() {
	local pid deadline
	[ -r "$E2E_WORLD/dns/pid.launch" ] || return 0
	pid=$(cat "$E2E_WORLD/dns/pid.launch")
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$(( $(date +%s) + 5 ))
	while e2e_pid_alive "$pid"; do
		[ "$(date +%s)" -lt "$deadline" ] || kill -KILL "$pid" 2>/dev/null || true
		sleep 0.05
	done
	mv "$E2E_WORLD/dns/pid.launch" "$E2E_WORLD/dns/pid.stopped"
}

# receiver.sh writes RECV_*; export them as RECV1_* / RECV2_*.
e2e_load_receiver() {
	local n=$1 dir=$2 key val
	while IFS='=' read -r key val; do
		eval "RECV${n}_${key#RECV_}=$val"
		export "RECV${n}_${key#RECV_}"
	done <"$dir/env"
}

world_up() {
	local tor_pid w1 w2 with_sender=0
	[ "${1:-}" != --with-sender ] || with_sender=1
	E2E_T0=${E2E_T0:-$(e2e_now)}
	E2E_WORLD_DOWN=0
	e2e_lap "world: starting in $E2E_WORLD"
	dns_start
	e2e_lap "world: dnscount listening on 127.0.0.1:53"
	eval "$("$E2E_HERE/tornet.sh" layout)"
	# Everything but the sender sees a resolver where nothing listens, so
	# that the counting listener counts the sender alone.
	E2E_NS_EXEC=1 ns_with_resolver 127.0.0.2 "$E2E_HERE/tornet.sh" up "$E2E_WORLD/tor" \
		>"$E2E_WORLD/tornet-up.log" 2>&1 &
	tor_pid=$!
	E2E_JOBS="$tor_pid"
	# Postfix's start scripts are CPU-hungry; let the keys be made and
	# the relays start first (tornet.sh then writes 'launched').
	until [ -e "$E2E_WORLD/tor/launched" ]; do
		e2e_pid_alive "$tor_pid" || break
		sleep 0.1
	done
	ns_with_resolver 127.0.0.2 "$E2E_HERE/receiver.sh" start "$E2E_WORLD/recv1" \
		"$ONION1_TARGET_PORT" receiver1.test r1-alias.test
	ns_with_resolver 127.0.0.2 "$E2E_HERE/receiver.sh" start "$E2E_WORLD/recv2" \
		"$ONION2_TARGET_PORT" receiver2.test r2-alias.test
	e2e_load_receiver 1 "$E2E_WORLD/recv1"
	e2e_load_receiver 2 "$E2E_WORLD/recv2"
	e2e_lap "world: receivers on 127.0.0.1:$RECV1_PORT and :$RECV2_PORT"
	[ "$with_sender" = 0 ] || sender_start
	if ! wait "$tor_pid"; then
		cat "$E2E_WORLD/tornet-up.log" >&2
		e2e_die "Tor network did not come up"
	fi
	# shellcheck disable=SC1091
	. "$E2E_WORLD/tor/env"
	export TORNET_DIR SOCKS_PORT CONTROL_PORT CONTROL_COOKIE ONION1 ONION2 \
		ONION1_TARGET_PORT ONION2_TARGET_PORT
	e2e_lap "world: Tor client bootstrapped ($(sed -n 's/^tornet: \(keys.*\); env.*/\1/p' "$E2E_WORLD/tornet-up.log"))"
	"$E2E_HERE/tornet.sh" wait-onion "$TORNET_DIR" "$ONION1" 25 "$E2E_ONION_TIMEOUT" \
		2>"$E2E_WORLD/wait-onion1.log" &
	w1=$!
	"$E2E_HERE/tornet.sh" wait-onion "$TORNET_DIR" "$ONION2" 25 "$E2E_ONION_TIMEOUT" \
		2>"$E2E_WORLD/wait-onion2.log" &
	w2=$!
	E2E_JOBS="$w1 $w2"
	wait "$w1" || { cat "$E2E_WORLD/wait-onion1.log" >&2; e2e_die "onion 1 unreachable"; }
	wait "$w2" || { cat "$E2E_WORLD/wait-onion2.log" >&2; e2e_die "onion 2 unreachable"; }
	e2e_lap "world: both onions reachable"
	[ "$with_sender" = 0 ] || sender_map
	TORSOCKS_CONF_FILE=$E2E_WORLD/torsocks.conf
	printf 'TorAddress 127.0.0.1\nTorPort %s\nOnionAddrRange 127.42.42.0/24\nAllowOutboundLocalhost 0\n' \
		"$SOCKS_PORT" >"$TORSOCKS_CONF_FILE"
	export TORSOCKS_CONF_FILE DNS_COUNT_FILE
}

world_down() {
	local rc=0
	[ -n "${E2E_WORLD:-}" ] && [ "${E2E_WORLD_DOWN:-0}" = 0 ] || return 0
	# A world_up cut short leaves its helpers running (tornet.sh up would
	# go on starting tors): stop them before the world they work on.
	local j
	for j in ${E2E_JOBS:-}; do
		if e2e_pid_alive "$j"; then
			kill -TERM "$j" 2>/dev/null || true
			wait "$j" 2>/dev/null || true
		fi
	done
	sender_down || rc=1
	"$E2E_HERE/receiver.sh" stop "$E2E_WORLD/recv1" || rc=1
	"$E2E_HERE/receiver.sh" stop "$E2E_WORLD/recv2" || rc=1
	"$E2E_HERE/tornet.sh" down "$E2E_WORLD/tor" || rc=1
	dns_stop || rc=1
	[ "$rc" != 0 ] || E2E_WORLD_DOWN=1
	e2e_lap "world: down"
	return $rc
}

# In our own pid namespace, anything but this shell is a leftover: tor
# and Postfix daemons are reparented to it. ps writes to a file so that
# no subshell of ours shows up in the list.
e2e_assert_no_leftovers() {
	local pid args others=""
	if [ "${E2E_PIDNS:-1}" != 0 ] && [ "$$" = 1 ]; then
		ps -e -o pid=,args= >"$E2E_WORLD/ps.after"
		while read -r pid args; do
			[ "$pid" = "$$" ] && continue
			case $args in "ps -e -o"*) continue ;; esac
			others="$others$pid $args"$'\n'
		done <"$E2E_WORLD/ps.after"
		[ -z "$others" ] && return 0
		printf 'e2e: processes left in the namespace:\n%s' "$others" >&2
		return 1
	fi
	e2e_leftovers_outside
}

# e2e_wait SECONDS CMD...: poll CMD every 0.1 s until it succeeds; fail
# after SECONDS. The one way tests wait for something.
e2e_wait() {
	local limit=$1 deadline
	shift
	deadline=$(( $(date +%s) + limit ))
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# maildir_has MAILDIR RCPT SUBJECT: a delivered message with that
# Subject was for RCPT (virtual(8) writes Delivered-To).
maildir_has() {
	local f
	for f in "$1"/new/*; do
		[ -f "$f" ] || continue
		grep -qx "Subject: $3" "$f" && grep -qix "Delivered-To: $2" "$f" && return 0
	done
	return 1
}

maildir_count() { find "$1/new" -type f | wc -l; }

# smtp_send [--torsocks] SERVER PORT RCPT SUBJECT [swaks options...]:
# one message with swaks; prints the transcript, never fails by itself.
smtp_send() {
	local wrap=()
	if [ "$1" = --torsocks ]; then wrap=(torsocks); shift; fi
	local server=$1 port=$2 rcpt=$3 subject=$4
	shift 4
	# The transcript also goes to $E2E_WORLD/swaks.log for post-mortems.
	"${wrap[@]}" swaks --server "$server" --port "$port" \
		--helo sender.test --from e2e@sender.test --to "$rcpt" \
		--header "Subject: $subject" --timeout 60 "$@" 2>&1 |
		tee -a "$E2E_WORLD/swaks.log" || true
}

# Verdicts on a swaks transcript.
smtp_accepted() { grep -q '^<-  250 2.0.0 Ok: queued' <<<"$1"; }
smtp_relay_denied() { grep -q '^<\*\* 554 5.7.1 <.*>: Relay access denied' <<<"$1"; }

# --- the sender -------------------------------------------------------

# sender_start: the sending Postfix with onionshim (sender.sh start);
# needs the SocksPort only, so world_up --with-sender runs it while Tor
# bootstraps. sender_map: what needs the onions (sender.sh map), and
# ONION_DEAD, a valid onion that nothing publishes.
sender_start() {
	SOCKS_PORT=$SOCKS_PORT "$E2E_HERE/sender.sh" start "$E2E_WORLD/sender"
	# shellcheck disable=SC1091
	. "$E2E_WORLD/sender/env"
	export SENDER_DIR SENDER_LOG SENDER_PREFIX ONIONSHIM_CONF ONIONSHIM_MAP ONIONSHIM_LOG
	e2e_lap "world: sender Postfix up (smtptor transports under smtp_onion)"
}

sender_map() {
	ONION_DEAD=$("$E2E_PYTHON" "$E2E_HERE/tortool.py" make-onion)
	export ONION_DEAD
	"$E2E_HERE/sender.sh" map "$E2E_WORLD/sender"
	e2e_lap "world: sender's onion_map and transport map written"
}

sender_down() {
	[ -n "${E2E_WORLD:-}" ] && [ -d "$E2E_WORLD/sender" ] || return 0
	"$E2E_HERE/sender.sh" stop "$E2E_WORLD/sender"
}

# mail_body FILE TAG: a body that SMTP could damage if anything on the way
# got it wrong: dot-stuffing, a lone dot, "From " at a line start, white
# space at line ends, long lines, a unique tag.
mail_body() {
	{
		echo "tag $2"
		echo "."
		echo "..two dots at the start"
		echo ".leading dot"
		echo "From the start of a line"
		printf 'trailing blanks   \n'
		printf 'a tab\there\n'
		head -c 600 /dev/zero | tr '\0' 'x'
		echo
		echo "end $2"
	} >"$1"
}

# mail_send RCPT SUBJECT BODYFILE: one message into the sender's queue with
# Postfix's sendmail; prints its Message-ID (without <>).
mail_send() {
	local rcpt=$1 subject=$2 body=$3 id
	id="e2e.$(date +%s%N).$RANDOM@sender.test"
	{
		printf 'From: e2e@sender.test\nTo: %s\nSubject: %s\nMessage-ID: <%s>\n\n' \
			"$rcpt" "$subject" "$id"
		cat "$body"
	} | sendmail -i -f e2e@sender.test -- "$rcpt"
	echo "$id"
}

# queue_id MSGID: the sender's queue id for that message ("" until cleanup
# has logged it).
queue_id() {
	awk -v want="message-id=<$1>" '
		index($0, want) && $0 ~ /postfix\/cleanup\[/ {
			for (i = 1; i <= NF; i++) if ($i ~ /^[0-9A-F]+:$/) { sub(":", "", $i); print $i; exit }
		}' "$SENDER_LOG"
}

# queue_id_wait MSGID: the queue id, waiting up to 20 s for it.
queue_id_wait() {
	local qid="" deadline=$(( $(date +%s) + 20 ))
	while :; do
		qid=$(queue_id "$1")
		[ -z "$qid" ] || { echo "$qid"; return 0; }
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# delivery_lines QID: the sender's to=... status=... lines for QID.
delivery_lines() { grep -F " $1: to=<" "$SENDER_LOG" | grep 'status=' || true; }

# mail_status_is QID STATUS: the last delivery line for QID says STATUS.
mail_status_is() { delivery_lines "$1" | tail -n 1 | grep -q "status=$2 "; }

# mail_sent QID: delivered (status=sent).
mail_sent() { mail_status_is "$1" sent; }

# mail_queued QID: still in the sender's queue.
mail_queued() { postqueue -j | grep -q "\"queue_id\": *\"$1\""; }

# queue_empty: the sender's queue holds nothing.
queue_empty() { postqueue -p | grep -q '^Mail queue is empty'; }

# maildir_file MAILDIR SUBJECT: the delivered file with that Subject.
maildir_file() {
	local f
	f=$(find "$1/new" -type f -exec grep -lFx "Subject: $2" {} + | head -n 1)
	[ -n "$f" ] && echo "$f"
}

# maildir_count_subject MAILDIR SUBJECT: how many files carry that Subject.
maildir_count_subject() {
	find "$1/new" -type f -exec grep -lFx "Subject: $2" {} + | wc -l
}

# body_of FILE: the message body (after the first empty line).
body_of() { sed '1,/^$/d' "$1"; }

# is_fake_addr ADDR: inside fake_network (240.0.0.0/5) or fake_network6
# (2001:db8::/32), the defaults.
is_fake_addr() {
	case $1 in
	24[0-7].*.*.*) return 0 ;;
	2001:db8:* | 2001:DB8:*) return 0 ;;
	*) return 1 ;;
	esac
}

# log_mark FILE: the current size of FILE; log_since FILE MARK: what was
# written to FILE after MARK. Cases read only their own part of a log.
log_mark() { stat -c %s "$1" 2>/dev/null || echo 0; }
log_since() { tail -c +$(($2 + 1)) "$1" 2>/dev/null || true; }

# expect_no_dns_since MARK: the counting listener saw no query since
# dns_count printed MARK; prints the queries if it did.
expect_no_dns_since() {
	local n
	n=$(dns_count)
	[ "$n" = "$1" ] && return 0
	echo "the counting DNS listener saw $((n - $1)) queries:" >&2
	dns_log | tail -n +$(($1 + 1)) >&2
	return 1
}

# fail MESSAGE: end a case with a reason.
fail() { echo "FAILED: $*" >&2; return 1; }

e2e_exit() {
	local rc=$?
	trap - EXIT
	if [ -n "${E2E_CASES_PENDING:-}" ]; then
		echo "e2e: 0 passed, $E2E_CASES_PENDING failed (the world did not come up)" >&2
	fi
	world_down || rc=1
	e2e_assert_no_leftovers || rc=1
	if [ "$rc" != 0 ] || [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "e2e: world kept in $E2E_WORLD (status $rc)" >&2
	else
		rm -rf "$E2E_WORLD"
	fi
	exit "$rc"
}
