# Mail safety (issue 8): Tor's client killed while messages are in
# flight, a receiver stopped while it holds the reply to the final dot.
# Whatever breaks, every message is delivered or still queued, none
# bounces, none is lost; after the restart all arrive. A duplicate is
# allowed only where SMTP cannot avoid it (the reply to the final dot
# lost): each case counts and prints them. Sourced by run.sh; see there
# and lib.sh for the conventions. Uses tor_client_back (10_postfix.sh).

# The files in MAILDIR that carry Message-ID <ID>, counted.
safety_copies() {
	find "$1/new" -type f -exec grep -liFx "Message-ID: <$2>" {} + | wc -l
}

# safety_settled QID...: every message has a last delivery line that
# says sent or deferred (no smtp process still holds it).
safety_settled() {
	local q
	for q in "$@"; do
		delivery_lines "$q" | tail -n 1 | grep -q 'status=\(sent\|deferred\) ' || return 1
	done
}

# safety_any_arrived MAILDIR ID...: at least one of the messages is there.
safety_any_arrived() {
	local m=$1 id
	shift
	for id in "$@"; do
		[ "$(safety_copies "$m" "$id")" -gt 0 ] && return 0
	done
	return 1
}

# safety_all_arrived MAILDIR ID...: every message is there at least once.
safety_all_arrived() {
	local m=$1 id
	shift
	for id in "$@"; do
		[ "$(safety_copies "$m" "$id")" -gt 0 ] || return 1
	done
}

# safety_no_bounce MARK: since MARK the sender's log has no bounce and no
# permanent (5.x.x) status.
safety_no_bounce() {
	local bad
	bad=$(log_since "$SENDER_LOG" "$1" | grep -E 'status=bounced|dsn=5\.[0-9]+\.[0-9]+' || true)
	[ -z "$bad" ] || fail "a message bounced or failed permanently: $bad"
}

# safety_nothing_lost MAILDIR QID=ID...: each message is in MAILDIR or
# still in the sender's queue (and was never both dropped and absent).
safety_nothing_lost() {
	local m=$1 pair q id queued=0 arrived=0
	shift
	for pair in "$@"; do
		q=${pair%%=*} id=${pair#*=}
		if mail_queued "$q"; then
			queued=$((queued + 1))
		elif [ "$(safety_copies "$m" "$id")" -gt 0 ]; then
			arrived=$((arrived + 1))
		else
			fail "<$id> ($q) is neither delivered nor queued: $(delivery_lines "$q")"
		fi
	done
	echo "after the fault: $arrived delivered, $queued still queued"
	SAFETY_QUEUED=$queued
}

# safety_count_duplicates MAILDIR ID...: prints one line per extra copy
# and the total; fails when a message is missing.
safety_count_duplicates() {
	local m=$1 id n dups=0
	shift
	for id in "$@"; do
		n=$(safety_copies "$m" "$id")
		[ "$n" -ge 1 ] || fail "<$id> never arrived"
		if [ "$n" -gt 1 ]; then
			echo "duplicate: <$id> arrived $n times"
			dups=$((dups + n - 1))
		fi
	done
	echo "duplicates (reply to the final dot lost): $dups of $#"
}

# safety_receiver_up PORT: the receiver's smtpd answers with 220.
safety_receiver_up() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		IFS= read -r -t 5 line <&3 || exit 1
		printf 'QUIT\r\n' >&3
		[ "${line:0:4}" = "220 " ]
	) 2>/dev/null
}

# safety_smtpd_in_sleep SPOOL: an smtpd of the instance whose queue
# directory is SPOOL sleeps (the end-of-data sleep restriction: the
# final dot is in, its reply held back).
safety_smtpd_in_sleep() {
	# Builtins only (no fork per process): this polls every 0.1 s on a
	# busy machine.
	local p arg0 w
	for p in /proc/[0-9]*; do
		[ "$p/cwd" -ef "$1" ] || continue
		arg0='' w=''
		read -r -d '' arg0 <"$p/cmdline" 2>/dev/null || true
		[ "$arg0" = smtpd ] || continue
		read -r w <"$p/wchan" 2>/dev/null || true
		[[ $w == *nanosleep* ]] && return 0
	done
	return 1
}

safety_smtpd_awake() { ! safety_smtpd_in_sleep "$1"; }

# safety_receiver_slow N DIR CONF PORT: restart the receiver in DIR with
# its reply to the final dot held back N seconds (an end-of-data sleep
# restriction), until safety_receiver_back.
safety_receiver_slow() {
	"$E2E_HERE/receiver.sh" stop "$2"
	postconf -c "$3" -e "smtpd_end_of_data_restrictions = sleep $1"
	ns_with_resolver 127.0.0.2 postfix -c "$3" start >/dev/null 2>&1 ||
		fail "the receiver in $2 did not start with the sleep"
	e2e_wait 20 safety_receiver_up "$4" || fail "the receiver in $2 does not answer"
}

# safety_receiver_back DIR PORT DOMAIN...: the receiver as world_up
# started it (receiver.sh start writes a fresh main.cf), unless it is.
safety_receiver_back() {
	local dir=$1 port=$2
	shift 2
	safety_receiver_up "$port" && [ -e "$dir/env" ] && return 0
	"$E2E_HERE/receiver.sh" stop "$dir"
	ns_with_resolver 127.0.0.2 "$E2E_HERE/receiver.sh" start "$dir" "$port" "$@"
}

SAFETY_N=10

# 1. Ten messages on their way to receiver2 when Tor's client dies
# (SIGKILL, no goodbye to anyone) as soon as receiver2 has begun the
# first transaction: nothing bounces, each message is
# delivered or still queued. Tor back and the queue flushed: all ten
# arrive; duplicates are counted.
test_tor_client_killed_in_flight_loses_and_bounces_nothing() {
	local dns0 log0 i id qid pid tag=$RANDOM$RANDOM before t0 spool
	local ids=() qids=() pairs=()
	dns0=$(dns_count)
	queue_empty || fail "the sender's queue is not empty at the start: $(postqueue -p)"
	spool=$(cd "$RECV2_DIR/spool" && pwd -P)
	# shellcheck disable=SC2086
	trap 'tor_client_back; safety_receiver_back "$RECV2_DIR" "$RECV2_PORT" $RECV2_DOMAINS' EXIT
	# Five seconds a message (two at a time): the kill finds deliveries
	# under way, and most of the ten not yet tried.
	safety_receiver_slow 5 "$RECV2_DIR" "$RECV2_CONF" "$RECV2_PORT"
	log0=$(log_mark "$SENDER_LOG")
	mail_body "$E2E_WORLD/body.safety1" "safety1 $tag"
	for i in $(seq 1 "$SAFETY_N"); do
		id=$(mail_send "safety1-$i@receiver2.test" "safety1 $tag $i" "$E2E_WORLD/body.safety1")
		ids+=("$id")
	done
	for id in "${ids[@]}"; do
		qid=$(queue_id_wait "$id") || fail "no queue id for <$id>"
		qids+=("$qid")
		pairs+=("$qid=$id")
	done
	e2e_wait 120 safety_smtpd_in_sleep "$spool" ||
		fail "no smtpd of receiver2 reached the end-of-data sleep within 120 s"
	pid=$(cat "$TORNET_DIR/client/tor.pid")
	kill -KILL "$pid"
	before=0
	for id in "${ids[@]}"; do
		[ "$(safety_copies "$RECV2_MAILDIR" "$id")" = 0 ] || before=$((before + 1))
	done
	echo "Tor's client (pid $pid) killed with $before of $SAFETY_N delivered"
	# tornet.sh's bookkeeping: the node is stopped (it reaps nothing alive).
	"$E2E_HERE/tornet.sh" stop-node "$TORNET_DIR" client
	e2e_wait 120 safety_settled "${qids[@]}" || {
		for qid in "${qids[@]}"; do delivery_lines "$qid" >&2; done
		fail "not every message was sent or deferred within 120 s of the kill"
	}
	safety_no_bounce "$log0"
	safety_nothing_lost "$RECV2_MAILDIR" "${pairs[@]}"
	[ "$SAFETY_QUEUED" -ge 1 ] || fail "nothing was left in flight: the kill came too late to test anything"
	log_since "$SENDER_LOG" "$log0" | grep 'status=deferred' | grep -o 'dsn=.*' | sort | uniq -c || true
	log_since "$SENDER_LOG" "$log0" | grep 'lost connection' || true
	# The sleeping smtpd finishes its transaction (a duplicate to be),
	# then receiver2 goes back to normal.
	e2e_wait 30 safety_smtpd_awake "$spool" || fail "receiver2's smtpd still sleeps"
	# shellcheck disable=SC2086
	safety_receiver_back "$RECV2_DIR" "$RECV2_PORT" $RECV2_DOMAINS
	t0=$(e2e_now)
	tor_client_back
	trap - EXIT
	echo "Tor's client back after $(awk -v a="$t0" -v b="$(e2e_now)" 'BEGIN { printf "%.1f", b - a }') s"
	postqueue -f
	e2e_wait 180 all_have_status sent "${qids[@]}" || {
		postqueue -p >&2
		fail "not every message was delivered within 180 s of Tor's return"
	}
	e2e_wait 30 safety_all_arrived "$RECV2_MAILDIR" "${ids[@]}" ||
		fail "a message logged as sent is not in $RECV2_MAILDIR"
	safety_count_duplicates "$RECV2_MAILDIR" "${ids[@]}"
	safety_no_bounce "$log0"
	postconf -c "$RECV2_CONF" -h smtpd_end_of_data_restrictions | grep -q . &&
		fail "receiver2 still has an end-of-data restriction"
	queue_empty || fail "the sender's queue is not empty: $(postqueue -p)"
	expect_no_dns_since "$dns0"
}

# 2. receiver1 holds back its reply to the final dot (an end-of-data
# sleep restriction) and is stopped (postfix stop) while it does: the
# sender loses the connection after the dot, defers, bounces nothing.
# receiver1 back and the queue flushed: every message arrives. A
# message the receiver committed before dying may arrive twice: SMTP
# cannot avoid it; counted.
test_receiver_stopped_before_its_reply_to_the_dot_loses_and_bounces_nothing() {
	local dns0 log0 i id qid tag=$RANDOM$RANDOM spool n=5 lost
	local ids=() qids=() pairs=()
	dns0=$(dns_count)
	queue_empty || fail "the sender's queue is not empty at the start: $(postqueue -p)"
	spool=$(cd "$RECV1_DIR/spool" && pwd -P)
	# shellcheck disable=SC2086
	trap 'safety_receiver_back "$RECV1_DIR" "$RECV1_PORT" $RECV1_DOMAINS' EXIT
	# The same instance, with its reply to the final dot held for 60 s.
	safety_receiver_slow 60 "$RECV1_DIR" "$RECV1_CONF" "$RECV1_PORT"
	log0=$(log_mark "$SENDER_LOG")
	mail_body "$E2E_WORLD/body.safety2" "safety2 $tag"
	for i in $(seq 1 "$n"); do
		id=$(mail_send "safety2-$i@receiver1.test" "safety2 $tag $i" "$E2E_WORLD/body.safety2")
		ids+=("$id")
	done
	for id in "${ids[@]}"; do
		qid=$(queue_id_wait "$id") || fail "no queue id for <$id>"
		qids+=("$qid")
		pairs+=("$qid=$id")
	done
	e2e_wait 120 safety_smtpd_in_sleep "$spool" ||
		fail "no smtpd of receiver1 reached the end-of-data sleep within 120 s"
	"$E2E_HERE/receiver.sh" stop "$RECV1_DIR"
	echo "receiver1 stopped while an smtpd held its reply to the dot"
	e2e_wait 120 safety_settled "${qids[@]}" || {
		for qid in "${qids[@]}"; do delivery_lines "$qid" >&2; done
		fail "not every message was sent or deferred within 120 s of the stop"
	}
	safety_no_bounce "$log0"
	safety_nothing_lost "$RECV1_MAILDIR" "${pairs[@]}"
	lost=$(log_since "$SENDER_LOG" "$log0" | grep -c 'lost connection with .* while sending end of data' || true)
	log_since "$SENDER_LOG" "$log0" | grep 'status=deferred' | grep -o 'dsn=.*' | sort | uniq -c || true
	[ "$lost" -ge 1 ] || fail "no delivery was cut after the final dot (no 'while sending end of data')"
	# shellcheck disable=SC2086
	safety_receiver_back "$RECV1_DIR" "$RECV1_PORT" $RECV1_DOMAINS
	trap - EXIT
	postqueue -f
	e2e_wait 180 all_have_status sent "${qids[@]}" || {
		postqueue -p >&2
		fail "not every message was delivered within 180 s of receiver1's return"
	}
	e2e_wait 30 safety_all_arrived "$RECV1_MAILDIR" "${ids[@]}" ||
		fail "a message logged as sent is not in $RECV1_MAILDIR"
	safety_count_duplicates "$RECV1_MAILDIR" "${ids[@]}"
	safety_no_bounce "$log0"
	postconf -c "$RECV1_CONF" -h smtpd_end_of_data_restrictions | grep -q . &&
		fail "receiver1 still has an end-of-data restriction"
	queue_empty || fail "the sender's queue is not empty: $(postqueue -p)"
	expect_no_dns_since "$dns0"
}
