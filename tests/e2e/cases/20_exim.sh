# Cases with Debian's Exim as the sending MTA (issue 9): the shipped
# set-user-ID binary, unpacked with dpkg -x (tests/e2e/exim.sh), run as a
# daemon with onionshim preloaded the way docs/exim.md tells a postmaster,
# delivering to the world's receivers over their onion services. Sourced
# by run.sh; see there and lib.sh for the conventions and helpers.
#
# The .debs come from build/exim-debs; inside the namespace there is only
# loopback, so "bash tests/e2e/exim.sh fetch" fills that cache first (a
# case without them fails and says so).

# shellcheck source=tests/e2e/exim.sh
. "$E2E_HERE/exim.sh"

EXIM_SMTP_PORT=2625

# The case's Exim world, torn down whatever happens to the case.
exim_case_up() {
	exim_fetch || fail "no Exim packages in $EXIM_DEBS_DIR (bash tests/e2e/exim.sh fetch)"
	trap 'exim_unworld' EXIT
	exim_world "$E2E_WORLD/exim.$1"
}

# exim_main_conf ROUTERS_FILE: a whole exim4.conf, in the list compiled
# into Debian's binary (/etc/exim4/exim4.conf), with the router section
# from ROUTERS_FILE. keep_environment = LD_PRELOAD is the postmaster's
# line that keeps the library in Exim's re-executed delivery processes.
exim_main_conf() {
	cat >"$EXIM_DIR/exim4.conf" <<EOF
# written by tests/e2e/cases/20_exim.sh
primary_hostname = exim.sender.test
qualify_domain = sender.test
daemon_smtp_ports = $EXIM_SMTP_PORT
local_interfaces = 127.0.0.1
keep_environment = LD_PRELOAD
host_lookup =
tls_advertise_hosts =
rfc1413_hosts =
acl_smtp_rcpt = acl_check_rcpt
log_selector = +smtp_connection +pid

begin acl
acl_check_rcpt:
  accept hosts = 127.0.0.1
  deny message = relay not permitted

begin routers
$(cat "$1")

begin transports
remote_smtp:
  driver = smtp
  # Tor streams cannot be half-closed: Exim's pipelined QUIT, followed by
  # shutdown(SHUT_WR), ends the stream before the server's replies to the
  # end of data come back (the message arrives, Exim defers it and sends
  # it again). docs/exim.md.
  hosts_avoid_pipelining = *
  # The test's gate: the delivery process waits for its filter, which
  # waits for /var/spool/exim4/go, so that the test can read the
  # process's /proc/PID/maps while it is sure to be alive.
  transport_filter = /bin/sh -c "while [ ! -e /var/spool/exim4/go ]; do sleep 0.05; done; exec /bin/cat"

begin retry
*  *  F,1h,1m
EOF
	exim_conf "$EXIM_DIR/exim4.conf"
	"$EXIM_BIN" -bV >"$EXIM_DIR/bV.out" 2>&1 ||
		{ cat "$EXIM_DIR/bV.out" >&2; fail "Exim rejects its configuration"; }
}

# exim_delivery_pids: the running "exim4 -Mc" delivery processes.
exim_delivery_pids() { pgrep -f -- "^$EXIM_BIN -Mc " || true; }
exim_delivery_running() { [ -n "$(exim_delivery_pids)" ]; }

# exim_gate_check: wait for the delivery process held at the gate, record
# whether it has the library mapped (with its uid and euid), open the gate.
exim_gate_check() {
	local p
	e2e_wait 60 exim_delivery_running || fail "no exim -Mc delivery process appeared"
	for p in $(exim_delivery_pids); do
		# (the loader maps the preload just after the exec shows the new
		# command line: give it a moment)
		e2e_wait 10 grep -qF "$EXIM_LIBPATH" "/proc/$p/maps" &&
			echo "$p $(awk '/^Uid:/ { print "uid=" $2, "euid=" $3 }' "/proc/$p/status")" >>"$EXIM_DIR/watch"
	done
	touch /var/spool/exim4/go
}

# exim_submit RCPT SUBJECT BODYFILE: one message into the daemon over
# SMTP; prints Exim's message id.
exim_submit() {
	local out
	out=$({
		printf 'From: e2e@sender.test\nTo: %s\nSubject: %s\n\n' "$1" "$2"
		cat "$3"
	} | swaks --server 127.0.0.1 --port "$EXIM_SMTP_PORT" --helo sender.test \
		--from e2e@sender.test --to "$1" --timeout 60 --data - 2>&1) || true
	echo "$out" >>"$E2E_WORLD/swaks.log"
	sed -n 's/^<-  250 OK id=\([0-9A-Za-z-]*\)$/\1/p' <<<"$out" | tail -n 1
}

exim_completed() { grep -q " $1 Completed" "$EXIM_LOG"; }

# 1a. manualroute with route_data = NAME byname: Exim looks the name up
# with gethostbyname2, the library answers with a fake address, Exim
# connects to it and the library carries the connection to the onion.
# The delivery process, re-executed set-user-ID root with a cleaned
# environment, has the library mapped; the message arrives intact and no
# DNS query leaves.
test_exim_manualroute_byname_delivers_over_the_onion() {
	local dns0 body subj id file lib0
	dns0=$(dns_count)
	exim_case_up byname
	exim_shim_conf onion yes
	cat >"$EXIM_DIR/routers" <<'EOF'
onion_byname:
  driver = manualroute
  domains = receiver1.test
  transport = remote_smtp
  route_data = receiver1.test byname
EOF
	exim_main_conf "$EXIM_DIR/routers"
	exim_daemon_start || { cat "$EXIM_DIR/daemon.out" >&2; fail "exim -bd failed"; }
	e2e_wait 20 test -n "$(exim_daemon_pids)" || fail "no Exim daemon"
	local daemon
	daemon=$(exim_daemon_pids | head -n 1)
	grep -qF "$EXIM_LIBPATH" "/proc/$daemon/maps" || fail "the daemon does not have the library mapped"
	lib0=$(log_mark "$EXIM_SHIM_LOG")
	subj="exim 1a $RANDOM$RANDOM"
	body=$E2E_WORLD/body.exim.1a
	mail_body "$body" "$subj"
	rm -f /var/spool/exim4/go
	: >"$EXIM_DIR/watch"
	id=$(exim_submit byname@receiver1.test "$subj" "$body")
	[ -n "$id" ] || fail "Exim did not accept the message (see swaks.log)"
	exim_gate_check
	e2e_wait 120 exim_completed "$id" || { cat "$EXIM_LOG" >&2; fail "$id not completed within 120 s"; }
	local line addr pid dpid
	line=$(grep -F " $id => byname@receiver1.test R=onion_byname T=remote_smtp H=receiver1.test [" "$EXIM_LOG") ||
		{ cat "$EXIM_LOG" >&2; fail "no delivery line for $id"; }
	addr=$(sed -n 's/.* H=receiver1.test \[\([^]]*\)\].*/\1/p' <<<"$line")
	is_fake_addr "$addr" || fail "Exim delivered to $addr, not a fake address: $line"
	line=$(log_since "$EXIM_SHIM_LOG" "$lib0" |
		grep -F "connect to receiver1.test[$addr]:25 -> $ONION1:25 via 127.0.0.1:$SOCKS_PORT: connected in ") ||
		{ cat "$EXIM_SHIM_LOG" >&2; fail "no library line for the onion connection"; }
	# The library's line names the process that connected: the transport
	# process Exim forks from its "exim -Mc" delivery process, which it
	# re-executed set-user-ID and which logs the delivery (log_selector
	# +pid). Both had the library in /proc/PID/maps at the gate.
	pid=$(sed -n 's/.* onionshim\[\([0-9]*\)\]: .*/\1/p' <<<"$line" | tail -n 1)
	dpid=$(grep -F " $id => byname@receiver1.test " "$EXIM_LOG" | sed -n 's/^[0-9-]* [0-9:]* \[\([0-9]*\)\] .*/\1/p' | tail -n 1)
	[ -n "$dpid" ] || fail "no pid on Exim's delivery line for $id"
	grep -q "^$dpid " "$EXIM_DIR/watch" ||
		{ cat "$EXIM_DIR/watch" >&2; fail "delivery process $dpid did not have $EXIM_LIBPATH in /proc/$dpid/maps"; }
	grep -q "^$pid " "$EXIM_DIR/watch" ||
		{ cat "$EXIM_DIR/watch" >&2; fail "transport process $pid did not have $EXIM_LIBPATH in /proc/$pid/maps"; }
	echo "delivery process: $(grep "^$dpid " "$EXIM_DIR/watch" | head -n 1)"
	echo "delivery process: $(grep "^$pid " "$EXIM_DIR/watch" | head -n 1)"
	e2e_wait 20 maildir_file "$RECV1_MAILDIR" "$subj" >/dev/null || fail "'$subj' not in $RECV1_MAILDIR"
	file=$(maildir_file "$RECV1_MAILDIR" "$subj")
	grep -qix "Delivered-To: byname@receiver1.test" "$file" || fail "Delivered-To is not byname@receiver1.test"
	# swaks ends the DATA it reads from stdin with one empty line of its own.
	diff -u "$body" <(body_of "$file" | sed '${/^$/d}') >&2 || fail "the body changed on the way"
	[ ! -s "$EXIM_PANICLOG" ] || { cat "$EXIM_PANICLOG" >&2; fail "Exim wrote to its paniclog"; }
	expect_no_dns_since "$dns0"
}

# 2. TCP Fast Open left at Exim's default (hosts_try_fastopen = *): the
# library refuses the fast open to a fake address with EOPNOTSUPP and
# says so in its own log, Exim falls back to connect() and delivers (the
# delivery of case 1a, run again), and Exim logs nothing a postmaster
# would worry about: no error, no deferral, an empty paniclog.
test_exim_tcp_fast_open_default_falls_back_to_connect() {
	test_exim_manualroute_byname_delivers_over_the_onion
	"$EXIM_BIN" -bP transport remote_smtp | grep -qx 'hosts_try_fastopen = \*' ||
		fail "hosts_try_fastopen is not Exim's default '*': $("$EXIM_BIN" -bP transport remote_smtp | grep fastopen)"
	grep -q '^TCP Fast Open to .*:25 refused: it goes through Tor; the program falls back to connect()$' \
		<(sed 's/^.* onionshim\[[0-9]*\]: //' "$EXIM_SHIM_LOG") ||
		{ cat "$EXIM_SHIM_LOG" >&2; fail "the library did not refuse a fast open"; }
	if grep -Ei ' == | \*\* |defer|error|fail|not supported|TFO' "$EXIM_LOG" >&2; then
		fail "Exim's mainlog has lines a postmaster would worry about"
	fi
	[ ! -s "$EXIM_PANICLOG" ] || { cat "$EXIM_PANICLOG" >&2; fail "Exim wrote to its paniclog"; }
}
