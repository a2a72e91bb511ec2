#!/bin/bash
# NAME
#	smoke.sh - smoke test of the end-to-end test world itself
# SYNOPSIS
#	tests/e2e/smoke.sh		(as root)
# DESCRIPTION
#	Inside one network namespace: starts the counting DNS listener, the
#	Tor network and both receivers, waits for both onions, then checks
#	that each receiver accepts mail for its domains and refuses relaying
#	(554 5.7.1), both directly on 127.0.0.1 and over its onion with
#	'torsocks swaks' through the test SocksPort; that the messages land
#	in the Maildirs; that the exits reach loopback; that the world made
#	no DNS query while a plain lookup does reach the listener; and that
#	teardown leaves no process. Prints timings. E2E_KEEP=1 keeps the
#	world directory. This exercises the world, not onionshim.
# EXIT STATUS
#	0 when every check passed.

set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_ns "$0" "$@"
trap e2e_exit EXIT

FAILS=0
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok   $what" >&2
	else
		echo "FAIL $what" >&2
		FAILS=$((FAILS + 1))
	fi
}

dead_resolver_silent() {
	local before
	before=$(dns_count)
	ns_with_resolver 127.0.0.2 getent hosts other-control.test >/dev/null || true
	[ "$(dns_count)" = "$before" ]
}

exit_reaches_loopback() {
	local out
	out=$("$E2E_PYTHON" "$E2E_HERE/tortool.py" socks-connect --socks-port "$SOCKS_PORT" \
		--expect-banner --timeout 30 127.0.0.1 "$RECV1_PORT" 2>&1) || { echo "$out" >&2; return 1; }
	grep -q '^220 mx.receiver1.test ' <<<"$out"
}

world_up

out=$(smtp_send 127.0.0.1 "$RECV1_PORT" alice@receiver1.test "direct 1")
check "receiver1 accepts its domain on 127.0.0.1:$RECV1_PORT" smtp_accepted "$out"
out=$(smtp_send 127.0.0.1 "$RECV1_PORT" alice@elsewhere.test "relay 1")
check "receiver1 refuses relaying on 127.0.0.1:$RECV1_PORT" smtp_relay_denied "$out"
e2e_lap "smoke: direct SMTP checks"

out=$(smtp_send --torsocks "$ONION1" 25 alice@receiver1.test "onion 1")
check "receiver1 accepts alice@receiver1.test over its onion" smtp_accepted "$out"
out=$(smtp_send --torsocks "$ONION2" 25 bob@r2-alias.test "onion 2")
check "receiver2 accepts bob@r2-alias.test over its onion" smtp_accepted "$out"
out=$(smtp_send --torsocks "$ONION2" 25 bob@receiver1.test "relay 2")
check "receiver2 refuses relaying to receiver1.test over its onion" smtp_relay_denied "$out"
check "a Tor exit reaches 127.0.0.1:$RECV1_PORT (CONNECT by address)" exit_reaches_loopback
e2e_lap "smoke: SMTP over Tor"

check "message 'direct 1' in receiver1's Maildir" \
	e2e_wait 15 maildir_has "$RECV1_MAILDIR" alice@receiver1.test "direct 1"
check "message 'onion 1' in receiver1's Maildir" \
	e2e_wait 15 maildir_has "$RECV1_MAILDIR" alice@receiver1.test "onion 1"
check "message 'onion 2' in receiver2's Maildir" \
	e2e_wait 15 maildir_has "$RECV2_MAILDIR" bob@r2-alias.test "onion 2"
check "exactly 2 + 1 messages delivered" \
	test "$(maildir_count "$RECV1_MAILDIR") $(maildir_count "$RECV2_MAILDIR")" = "2 1"

check "the world made no DNS query (count $(dns_count))" test "$(dns_count)" = 0
getent hosts leak-control.test >/dev/null || true
check "a plain lookup reaches the counting listener" \
	grep -q '^leak-control.test A udp$' "$DNS_COUNT_FILE.log"
check "a lookup under ns_with_resolver 127.0.0.2 does not" dead_resolver_silent
e2e_lap "smoke: mailboxes and DNS checks"

world_down
check "teardown leaves no process" e2e_assert_no_leftovers
e2e_lap "smoke: world down"
echo "smoke: $FAILS failure(s)" >&2
[ "$FAILS" = 0 ]
