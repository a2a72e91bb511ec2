# Cases with the whole chain: the sender's Postfix, onionshim in its
# smtptor transports (smtp_onion, chrooted), the Tor network, the
# receivers' onion services and their Postfix. Sourced by run.sh; see
# there and lib.sh for the conventions and helpers. The sender is the
# namespace's own Postfix (sender.sh): postconf, postqueue, sendmail and
# postsuper here are the commands a postmaster types.

SERVICES_ALL="smtptor smtptor-nodns smtptor-v4 smtptor-v4-nodns"

# Wait until every queue id in the list has a delivery line with STATUS.
all_have_status() {
	local status=$1 q
	shift
	for q in "$@"; do mail_status_is "$q" "$status" || return 1; done
}

# The Subject of every message in MAILDIR, one a line.
subjects_in() {
	find "$1/new" -type f -exec sed -n 's/^Subject: //p' {} +
}

# arrived_at_least N PREFIX: both Maildirs hold N messages whose Subject
# starts with PREFIX.
arrived_at_least() {
	[ "$({ subjects_in "$RECV1_MAILDIR"; subjects_in "$RECV2_MAILDIR"; } | grep -cF "$2")" -ge "$1" ]
}

# The relay=NAME[ADDR]:PORT of the last delivery line of QID, as "NAME ADDR PORT".
relay_of() {
	delivery_lines "$1" | tail -n 1 |
		sed -n 's/.* relay=\([^[]*\)\[\([^]]*\)\]:\([0-9]*\),.*/\1 \2 \3/p'
}

# An smtp process of TRANSPORT that has the library mapped.
library_in_transport() {
	local p
	for p in /proc/[0-9]*; do
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q "^smtp .*-n $1 " || continue
		grep -q '/libonionshim\.so$' "$p/maps" 2>/dev/null && return 0
	done
	return 1
}

# 1. One message per smtptor service and per way of routing (the domain
# alone, which onionshim maps; smtptor:[x.onion]), with DNS on and off and
# inet_protocols all and ipv4: each arrives intact, the sender logs
# relay=NAME[fake address]:25 and status=sent, the library logs the
# onion and the Tor circuit time, and no DNS query leaves the sender.
test_mail_arrives_intact_for_every_service_and_route() {
	local dns0
	dns0=$(dns_count)
	local svc route rcpt subj body id qid name addr port onion maildir file want
	local -A Q SUBJ BODY RCPT ONION NAME MAILDIR
	local lib0 keys=() k
	lib0=$(log_mark "$ONIONSHIM_LOG")
	for svc in $SERVICES_ALL; do
		for route in domain onion; do
			k=$svc/$route
			if [ "$route" = domain ]; then
				RCPT[$k]=$svc-domain@receiver1.test
				ONION[$k]=$ONION1
				MAILDIR[$k]=$RECV1_MAILDIR
				# DNS on: the library answers MX with the onion.
				case $svc in *-nodns) NAME[$k]=receiver1.test ;; *) NAME[$k]=$ONION1 ;; esac
			else
				RCPT[$k]=$svc-onion@receiver2.test
				ONION[$k]=$ONION2
				MAILDIR[$k]=$RECV2_MAILDIR
				NAME[$k]=$ONION2
			fi
			SUBJ[$k]="case1 $svc $route $RANDOM$RANDOM"
			BODY[$k]=$E2E_WORLD/body.case1.${svc}.$route
			mail_body "${BODY[$k]}" "${SUBJ[$k]}"
			id=$(mail_send "${RCPT[$k]}" "${SUBJ[$k]}" "${BODY[$k]}")
			Q[$k]=$(queue_id_wait "$id") || fail "no queue id for $k ($id)"
			keys+=("$k")
		done
	done
	local qids=()
	for k in "${keys[@]}"; do qids+=("${Q[$k]}"); done
	if ! e2e_wait 120 all_have_status sent "${qids[@]}"; then
		for k in "${keys[@]}"; do echo "$k: $(delivery_lines "${Q[$k]}")" >&2; done
		fail "not every message was delivered within 120 s"
	fi
	for k in "${keys[@]}"; do
		svc=${k%/*}
		qid=${Q[$k]}
		delivery_lines "$qid" | tail -n 1 | grep -q "postfix/$svc/smtp\[[0-9]*\]: $qid: to=<${RCPT[$k]}>" ||
			fail "$k: not delivered by the $svc transport: $(delivery_lines "$qid")"
		read -r name addr port <<<"$(relay_of "$qid")"
		[ "$name" = "${NAME[$k]}" ] || fail "$k: relay name '$name', want '${NAME[$k]}'"
		[ "$port" = 25 ] || fail "$k: relay port '$port', want 25"
		is_fake_addr "$addr" || fail "$k: relay address '$addr' is not a fake address"
		case $svc in *-v4*) [[ $addr == *.*.*.* ]] || fail "$k: inet_protocols=ipv4 but relay $addr" ;; esac
		want="connect to $name[$addr]:25 -> ${ONION[$k]}:25 via 127.0.0.1:$SOCKS_PORT: connected in "
		log_since "$ONIONSHIM_LOG" "$lib0" | grep -qF "$want" ||
			fail "$k: no library line '$want...'"
		e2e_wait 20 maildir_file "${MAILDIR[$k]}" "${SUBJ[$k]}" >/dev/null ||
			fail "$k: '${SUBJ[$k]}' not in ${MAILDIR[$k]}"
		file=$(maildir_file "${MAILDIR[$k]}" "${SUBJ[$k]}")
		grep -qix "Delivered-To: ${RCPT[$k]}" "$file" || fail "$k: Delivered-To is not ${RCPT[$k]}"
		if ! diff -u "${BODY[$k]}" <(body_of "$file") >&2; then
			fail "$k: the body changed on the way"
		fi
		echo "ok $k: $(delivery_lines "$qid" | tail -n 1 | grep -o 'relay=.*')"
	done
	library_in_transport smtptor || fail "no smtptor smtp process has libonionshim.so mapped"
	expect_no_dns_since "$dns0"
	queue_empty || fail "the sender's queue is not empty: $(postqueue -p)"
}

# 2. Thirty messages to four domains on two onions, connection cache on:
# each lands at its own receiver only; connections are reused; Postfix
# warns about nothing (a fake address that differed between smtp
# processes would upset the connection cache, or reach the wrong onion).
test_thirty_messages_reach_the_right_receivers_over_cached_connections() {
	local dns0
	dns0=$(dns_count)
	local rcpts=(alice@receiver1.test bob@r1-alias.test carol@receiver2.test dave@r2-alias.test)
	local i r subj body id qid q log0 qids=() reused warnings tag=$RANDOM$RANDOM
	local -A SUBJ RCPT
	log0=$(log_mark "$SENDER_LOG")
	body=$E2E_WORLD/body.case2
	mail_body "$body" case2
	for i in $(seq 1 30); do
		r=${rcpts[$(( (i - 1) % 4 ))]}
		subj="case2 $tag $i"
		id=$(mail_send "$r" "$subj" "$body")
		SUBJ[$id]=$subj
		RCPT[$id]=$r
	done
	for id in "${!SUBJ[@]}"; do
		qid=$(queue_id_wait "$id") || fail "no queue id for $id"
		qids+=("$qid")
	done
	e2e_wait 240 all_have_status sent "${qids[@]}" || {
		postqueue -p >&2
		fail "not all 30 messages were delivered within 240 s"
	}
	e2e_wait 30 arrived_at_least 30 "case2 $tag " || fail "not all 30 reached a Maildir"
	# Each receiver's subjects, one line each, read once.
	local subj1 subj2 mine other
	subj1=$(subjects_in "$RECV1_MAILDIR")
	subj2=$(subjects_in "$RECV2_MAILDIR")
	for id in "${!SUBJ[@]}"; do
		case ${RCPT[$id]} in
		*@receiver1.test | *@r1-alias.test) mine=$subj1 other=$subj2 ;;
		*) mine=$subj2 other=$subj1 ;;
		esac
		[ "$(grep -cFx "${SUBJ[$id]}" <<<"$mine")" = 1 ] ||
			fail "'${SUBJ[$id]}' for ${RCPT[$id]} is not at its receiver exactly once"
		[ "$(grep -cFx "${SUBJ[$id]}" <<<"$other")" = 0 ] ||
			fail "'${SUBJ[$id]}' for ${RCPT[$id]} reached the other receiver"
	done
	reused=$(for q in "${qids[@]}"; do delivery_lines "$q"; done | grep -c 'conn_use=' || true)
	echo "deliveries over a reused connection: $reused of 30"
	[ "$reused" -gt 0 ] || fail "no delivery reused a cached connection (no conn_use=)"
	warnings=$(log_since "$SENDER_LOG" "$log0" |
		grep -E 'postfix/(scache|smtptor[a-z0-9-]*/smtp|qmgr)\[[0-9]+\]: (warning|error|fatal|panic):' || true)
	[ -z "$warnings" ] || fail "Postfix warned: $warnings"
	# One fake address per onion and family, in every smtp process.
	local pairs
	pairs=$(for q in "${qids[@]}"; do relay_of "$q"; done | awk '
		{ fam = ($2 ~ /:/) ? 6 : 4; key = $1 " " fam
		  if (key in seen && seen[key] != $2) print "two addresses for " key ": " seen[key] ", " $2
		  seen[key] = $2 }')
	[ -z "$pairs" ] || fail "$pairs"
	expect_no_dns_since "$dns0"
	queue_empty || fail "the sender's queue is not empty"
}

# Bring the Tor client back if a case leaves it stopped.
tor_client_back() {
	[ -e "$TORNET_DIR/client/tor.pid" ] && return 0
	"$E2E_HERE/tornet.sh" start-node "$TORNET_DIR" client
	"$E2E_HERE/tornet.sh" wait-onion "$TORNET_DIR" "$ONION1" 25 90
	"$E2E_HERE/tornet.sh" wait-onion "$TORNET_DIR" "$ONION2" 25 90
}

# 3. Tor's client stopped: the messages defer (4.x.x), none bounces, all
# stay queued. Tor back and the queue flushed: every one is delivered.
test_messages_defer_while_tor_is_down_and_go_when_it_is_back() {
	local dns0
	dns0=$(dns_count)
	local rcpts=(erin@receiver1.test frank@r2-alias.test smtptor-nodns-domain@receiver1.test
		smtptor-v4-onion@receiver2.test)
	local r id qid lib0 log0 qids=() t0
	local -A SUBJ MAILDIR
	trap tor_client_back EXIT
	"$E2E_HERE/tornet.sh" stop-node "$TORNET_DIR" client
	lib0=$(log_mark "$ONIONSHIM_LOG")
	log0=$(log_mark "$SENDER_LOG")
	mail_body "$E2E_WORLD/body.case3" case3
	for r in "${rcpts[@]}"; do
		SUBJ[$r]="case3 $r $RANDOM$RANDOM"
		id=$(mail_send "$r" "${SUBJ[$r]}" "$E2E_WORLD/body.case3")
		qid=$(queue_id_wait "$id") || fail "no queue id for $r"
		qids+=("$qid")
		SUBJ[$qid]=${SUBJ[$r]}
		case $r in *@receiver1.test | *@r1-alias.test) MAILDIR[$qid]=$RECV1_MAILDIR ;; *) MAILDIR[$qid]=$RECV2_MAILDIR ;; esac
	done
	e2e_wait 60 all_have_status deferred "${qids[@]}" || {
		for qid in "${qids[@]}"; do delivery_lines "$qid" >&2; done
		fail "not every message was deferred within 60 s"
	}
	for qid in "${qids[@]}"; do
		delivery_lines "$qid" | tail -n 1 | grep -q ' dsn=4\.[0-9]*\.[0-9]*, status=deferred ' ||
			fail "$qid: not a 4.x.x deferral: $(delivery_lines "$qid")"
		mail_queued "$qid" || fail "$qid: no longer in the queue"
		echo "deferred: $(delivery_lines "$qid" | tail -n 1 | grep -o 'relay=.*\|dsn=.*')"
	done
	if log_since "$SENDER_LOG" "$log0" | grep -q 'status=bounced'; then
		fail "a message bounced while Tor was down"
	fi
	log_since "$ONIONSHIM_LOG" "$lib0" | grep -q 'failed after [0-9]* ms: .*no SOCKS server answered' ||
		fail "the library did not log the SOCKS server as down"
	t0=$(e2e_now)
	tor_client_back
	trap - EXIT
	echo "Tor's client back and both onions reachable after $(awk -v a="$t0" -v b="$(e2e_now)" 'BEGIN { printf "%.1f", b - a }') s"
	postqueue -f
	e2e_wait 120 all_have_status sent "${qids[@]}" || {
		postqueue -p >&2
		fail "not every deferred message was delivered after the flush"
	}
	for qid in "${qids[@]}"; do
		e2e_wait 20 maildir_file "${MAILDIR[$qid]}" "${SUBJ[$qid]}" >/dev/null || true
		[ "$(maildir_count_subject "${MAILDIR[$qid]}" "${SUBJ[$qid]}")" = 1 ] ||
			fail "'${SUBJ[$qid]}' is not in ${MAILDIR[$qid]} exactly once"
	done
	if log_since "$SENDER_LOG" "$log0" | grep -q 'status=bounced'; then
		fail "a message bounced"
	fi
	queue_empty || fail "the sender's queue is not empty"
	expect_no_dns_since "$dns0"
}

# 4. A valid onion that no service publishes: the message defers (4.x.x)
# and the library's log line says the descriptor was not found.
test_onion_without_descriptor_defers_and_the_log_says_why() {
	local dns0
	dns0=$(dns_count)
	local id qid lib0 line
	lib0=$(log_mark "$ONIONSHIM_LOG")
	mail_body "$E2E_WORLD/body.case4" case4
	id=$(mail_send nobody@nowhere.test "case4 $RANDOM" "$E2E_WORLD/body.case4")
	qid=$(queue_id_wait "$id") || fail "no queue id"
	e2e_wait 120 mail_status_is "$qid" deferred || fail "not deferred: $(delivery_lines "$qid")"
	line=$(delivery_lines "$qid" | tail -n 1)
	echo "sender: $line"
	grep -q ' dsn=4\.[0-9]*\.[0-9]*, status=deferred ' <<<"$line" || fail "not a 4.x.x deferral"
	mail_queued "$qid" || fail "no longer queued"
	line=$(log_since "$ONIONSHIM_LOG" "$lib0" | grep -F -- "-> $ONION_DEAD:25 failed via 127.0.0.1:$SOCKS_PORT after " | head -n 1)
	echo "library: $line"
	grep -qF 'Tor reply 0xF0 (onion service descriptor can not be found)' <<<"$line" ||
		fail "the library's line does not say the descriptor was not found"
	postsuper -d "$qid"
	queue_empty || fail "the sender's queue is not empty"
	expect_no_dns_since "$dns0"
}

# A domain routed to smtptor but missing from onion_map (a slip in the
# maps): deferred, with DNS on (the library refuses smtp's MX query) and
# off (getaddrinfo through Tor, where no exit can resolve it); no DNS
# query leaves the host either way.
test_unmapped_domain_on_the_onion_transport_defers_without_dns() {
	local dns0
	dns0=$(dns_count)
	local rcpt id qid lib0 qids=()
	lib0=$(log_mark "$ONIONSHIM_LOG")
	mail_body "$E2E_WORLD/body.stray" stray
	for rcpt in someone@stray.test nodns@stray.test; do
		id=$(mail_send "$rcpt" "stray $rcpt $RANDOM" "$E2E_WORLD/body.stray")
		qid=$(queue_id_wait "$id") || fail "no queue id for $rcpt"
		qids+=("$qid")
	done
	e2e_wait 90 all_have_status deferred "${qids[@]}" || {
		for qid in "${qids[@]}"; do delivery_lines "$qid" >&2; done
		fail "not deferred"
	}
	for qid in "${qids[@]}"; do
		delivery_lines "$qid" | tail -n 1
		delivery_lines "$qid" | tail -n 1 | grep -q ' dsn=4\.[0-9]*\.[0-9]*, status=deferred ' ||
			fail "$qid: not a 4.x.x deferral"
	done
	log_since "$ONIONSHIM_LOG" "$lib0" | grep 'stray\.test'
	log_since "$ONIONSHIM_LOG" "$lib0" |
		grep -qF 'DNS query stray.test type 15 refused: route = all sends no DNS' ||
		fail "the library did not refuse smtp's MX query for stray.test"
	log_since "$ONIONSHIM_LOG" "$lib0" | grep -q 'lookup of stray\.test through Tor failed' ||
		fail "the library did not try stray.test through Tor (DNS off)"
	for qid in "${qids[@]}"; do postsuper -d "$qid"; done
	queue_empty || fail "the sender's queue is not empty"
	expect_no_dns_since "$dns0"
}

# 5. Through the receiver's onion service, with swaks under onionshim: a
# relay attempt to a third domain is refused (5.7.1) although the client
# arrives from 127.0.0.1, and mail for the receiver's own domain is
# accepted. Control: main.cf's own smtpd (the trap port) trusts
# 127.0.0.1 and would relay.
test_receiver_onion_refuses_relay_and_accepts_its_own_domain() {
	local dns0
	dns0=$(dns_count)
	local out subj recv0 svc=127.0.0.1:$RECV1_PORT/inet
	# The onion's smtpd carries its own overrides (docs/postfix.md).
	out=$(postconf -c "$RECV1_CONF" -P "$svc")
	echo "$out"
	grep -qx "$svc/mynetworks =" <<<"$out" || fail "the onion's smtpd does not empty mynetworks"
	grep -qx "$svc/smtpd_relay_restrictions = reject_unauth_destination" <<<"$out" ||
		fail "the onion's smtpd keeps main.cf's relay restrictions"
	recv0=$(log_mark "$RECV1_LOG")
	out=$("$SENDER_PREFIX/bin/onionshim" -c "$ONIONSHIM_CONF" swaks --server "$ONION1" --port 25 \
		--helo sender.test --from probe@sender.test --to victim@third.test \
		--quit-after RCPT --timeout 60 2>&1 || true)
	echo "$out"
	smtp_relay_denied "$out" || fail "the onion did not refuse relaying to third.test"
	log_since "$RECV1_LOG" "$recv0" | grep -q 'onion/smtpd\[[0-9]*\]: NOQUEUE: reject: RCPT from [^[]*\[127\.0\.0\.1\]: 554 5\.7\.1 <victim@third\.test>' ||
		fail "the receiver's log has no reject of a client at 127.0.0.1"
	out=$(swaks --server 127.0.0.1 --port "$RECV1_TRAP_PORT" --helo sender.test \
		--from probe@sender.test --to victim@third.test --quit-after RCPT --timeout 20 2>&1 || true)
	grep -q '^<-  250 2.1.5 Ok$' <<<"$out" ||
		fail "control: main.cf's own smtpd should trust 127.0.0.1 and relay; it said: $out"
	subj="case5 $RANDOM$RANDOM"
	out=$("$SENDER_PREFIX/bin/onionshim" -c "$ONIONSHIM_CONF" swaks --server "$ONION1" --port 25 \
		--helo sender.test --from probe@sender.test --to someone@r1-alias.test \
		--header "Subject: $subj" --timeout 60 2>&1 || true)
	smtp_accepted "$out" || { echo "$out"; fail "the onion did not accept mail for r1-alias.test"; }
	e2e_wait 20 maildir_has "$RECV1_MAILDIR" someone@r1-alias.test "$subj" || fail "not delivered"
	expect_no_dns_since "$dns0"
}

# onionshim --show and onion-connect with the sender's config, as
# docs/postfix.md shows them.
test_onion_connect_reaches_the_mapped_domains() {
	local dns0
	dns0=$(dns_count)
	local out rc d
	out=$("$SENDER_PREFIX/bin/onionshim" -c "$ONIONSHIM_CONF" --show)
	echo "$out"
	for d in receiver1.test:$ONION1 r1-alias.test:$ONION1 receiver2.test:$ONION2 \
		r2-alias.test:$ONION2 nowhere.test:$ONION_DEAD; do
		awk -v d="${d%%:*}" -v o="${d#*:}" '$2 == d && $3 == o && $4 ~ /^24[0-7]\./ && $5 == "valid" { f = 1 }
			END { exit !f }' <<<"$out" || fail "onionshim --show: no valid line for $d"
	done
	rc=0
	out=$("$SENDER_PREFIX/bin/onion-connect" -c "$ONIONSHIM_CONF" receiver2.test 2>&1) || rc=$?
	echo "$out"
	[ "$rc" = 0 ] || fail "onion-connect receiver2.test: exit $rc"
	grep -q '220 mx.receiver2.test ESMTP' <<<"$out" || fail "no banner of receiver2"
	rc=0
	out=$("$SENDER_PREFIX/bin/onion-connect" -c "$ONIONSHIM_CONF" --ehlo mx.sender.test receiver1.test 2>&1) || rc=$?
	echo "$out"
	[ "$rc" = 0 ] || fail "onion-connect receiver1.test: exit $rc"
	grep -q '220 mx.receiver1.test ESMTP' <<<"$out" || fail "no banner of receiver1"
	rc=0
	out=$("$SENDER_PREFIX/bin/onion-connect" -c "$ONIONSHIM_CONF" --check 2>&1) || rc=$?
	echo "$out"
	[ "$rc" = 0 ] || fail "onion-connect --check: exit $rc"
	rc=0
	out=$("$SENDER_PREFIX/bin/onion-connect" -c "$ONIONSHIM_CONF" --all -t 60 2>&1) || rc=$?
	echo "$out"
	# nowhere.test's onion publishes nothing: --all must say so.
	[ "$rc" = 1 ] || fail "onion-connect --all: exit $rc, want 1 (nowhere.test)"
	grep -q 'nowhere.test' <<<"$out" || fail "onion-connect --all does not name nowhere.test"
	expect_no_dns_since "$dns0"
}

# Control: Postfix's plain smtp transport, without onionshim, in the same
# chroot with the same resolv.conf, does reach the counting listener. So
# the zero counts above are the library's doing, not a deaf listener.
test_control_plain_smtp_reaches_the_counting_listener() {
	local id qid dns0
	dns0=$(dns_count)
	mail_body "$E2E_WORLD/body.control" control
	id=$(mail_send someone@unmapped.test "control $RANDOM" "$E2E_WORLD/body.control")
	qid=$(queue_id_wait "$id") || fail "no queue id"
	e2e_wait 60 mail_status_is "$qid" deferred || fail "not deferred: $(delivery_lines "$qid")"
	delivery_lines "$qid" | tail -n 1
	delivery_lines "$qid" | tail -n 1 | grep -q 'postfix/smtp\[' ||
		fail "not the plain smtp transport"
	postsuper -d "$qid"
	[ "$(dns_count)" -gt "$dns0" ] || fail "the listener counted nothing"
	dns_log | tail -n +$((dns0 + 1))
	dns_log | tail -n +$((dns0 + 1)) | grep -q '^unmapped.test MX udp$' ||
		fail "the listener did not see smtp's MX query for unmapped.test"
}

# Over the whole run, the listener saw only the controls' queries: the
# world's own probe (00_world.sh) and the plain smtp above.
test_the_whole_run_sent_no_other_dns_query() {
	local others
	others=$(dns_log | grep -v -e '^counted-probe\.test ' -e '^unmapped\.test ' || true)
	echo "queries counted in the whole run: $(dns_count)"
	[ -z "$others" ] || fail "queries from something else: $others"
}
