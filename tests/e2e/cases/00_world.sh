# Cases about the test world itself: if these fail, no other case means
# anything. Sourced by tests/e2e/run.sh; see there for the conventions.

test_onions_answer_with_their_receivers_banner() {
	local out
	out=$("$E2E_PYTHON" "$E2E_HERE/tortool.py" socks-connect --socks-port "$SOCKS_PORT" \
		--expect-banner --timeout 60 "$ONION1" 25)
	grep -q '^220 mx.receiver1.test ' <<<"$out"
	out=$("$E2E_PYTHON" "$E2E_HERE/tortool.py" socks-connect --socks-port "$SOCKS_PORT" \
		--expect-banner --timeout 60 "$ONION2" 25)
	grep -q '^220 mx.receiver2.test ' <<<"$out"
}

test_receiver_refuses_relay_from_loopback() {
	local out
	out=$(smtp_send 127.0.0.1 "$RECV2_PORT" someone@elsewhere.test "relay probe")
	smtp_relay_denied "$out"
}

test_counting_listener_sees_a_plain_lookup() {
	local before
	before=$(dns_count)
	getent hosts counted-probe.test >/dev/null || true
	[ "$(dns_count)" -gt "$before" ]
	grep -q '^counted-probe.test A udp$' "$DNS_COUNT_FILE.log"
}
