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

# exim_main_conf ROUTERS_FILE [MAIN_FILE]: a whole exim4.conf, in the
# list compiled into Debian's binary (/etc/exim4/exim4.conf), with the
# router section from ROUTERS_FILE and MAIN_FILE's lines added to the
# main section. keep_environment = LD_PRELOAD is the postmaster's line
# that keeps the library in Exim's re-executed delivery processes.
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
log_selector = +smtp_connection +pid +outgoing_port +pipelining
$(if [ -n "${2:-}" ]; then cat "$2"; fi)

begin acl
acl_check_rcpt:
  accept hosts = 127.0.0.1
  deny message = relay not permitted

begin routers
$(cat "$1")

begin transports
remote_smtp:
  driver = smtp
  # Pipelining at Exim's default: the library leaves Exim's
  # shutdown(SHUT_WR) after a pipelined QUIT undone on a Tor stream,
  # which cannot be half-closed (case 4, docs/exim.md).
  # The test's gate: the delivery process waits for its filter, which
  # waits for /var/spool/exim4/go, so that the test can read the
  # process's /proc/PID/maps while it is sure to be alive.
  transport_filter = /bin/sh -c "while [ ! -e /var/spool/exim4/go ]; do sleep 0.05; done; exec /bin/cat"

# Mail for a clear domain, straight to the second receiver's smtpd on
# loopback (case 3), through the same gate.
clear_smtp:
  driver = smtp
  port = $RECV2_PORT
  allow_localhost
  transport_filter = /bin/sh -c "while [ ! -e /var/spool/exim4/go ]; do sleep 0.05; done; exec /bin/cat"

begin retry
*  *  F,1h,1m
EOF
	exim_conf "$EXIM_DIR/exim4.conf"
	"$EXIM_BIN" -bV >"$EXIM_DIR/bV.out" 2>&1 ||
		{ cat "$EXIM_DIR/bV.out" >&2; fail "Exim rejects its configuration"; }
}

# exim_daemon_up: the daemon under the library, which it has mapped.
exim_daemon_up() {
	local daemon
	exim_daemon_start || { cat "$EXIM_DIR/daemon.out" >&2; fail "exim -bd failed"; }
	e2e_wait 20 test -n "$(exim_daemon_pids)" || fail "no Exim daemon"
	daemon=$(exim_daemon_pids | head -n 1)
	grep -qF "$EXIM_LIBPATH" "/proc/$daemon/maps" || fail "the daemon does not have the library mapped"
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

# exim_deliver TAG RCPT SUBJECT: submit one message with a body SMTP
# could damage, hold its delivery at the gate and check that the -Mc
# process has the library mapped, and wait until Exim completes it.
# Sets EXIM_ID, EXIM_BODY, EXIM_SUBJ, EXIM_SHIM_MARK (the library's log
# before the message) and EXIM_DPID (the pid on Exim's => line, which
# must have had the library mapped at the gate).
exim_deliver() {
	local tag=$1 rcpt=$2
	EXIM_SUBJ=$3
	EXIM_SHIM_MARK=$(log_mark "$EXIM_SHIM_LOG")
	EXIM_BODY=$E2E_WORLD/body.exim.$tag
	mail_body "$EXIM_BODY" "$EXIM_SUBJ"
	rm -f /var/spool/exim4/go
	EXIM_ID=$(exim_submit "$rcpt" "$EXIM_SUBJ" "$EXIM_BODY")
	[ -n "$EXIM_ID" ] || fail "Exim did not accept the message for $rcpt (see swaks.log)"
	exim_gate_check
	e2e_wait 120 exim_completed "$EXIM_ID" ||
		{ cat "$EXIM_LOG" >&2; fail "$EXIM_ID not completed within 120 s"; }
	EXIM_DPID=$(grep -F " $EXIM_ID => $rcpt " "$EXIM_LOG" |
		sed -n 's/^[0-9-]* [0-9:]* \[\([0-9]*\)\] .*/\1/p' | tail -n 1)
	[ -n "$EXIM_DPID" ] || { cat "$EXIM_LOG" >&2; fail "no delivery line with a pid for $EXIM_ID"; }
	grep -q "^$EXIM_DPID " "$EXIM_DIR/watch" ||
		{ cat "$EXIM_DIR/watch" >&2; fail "delivery process $EXIM_DPID did not have $EXIM_LIBPATH in /proc/$EXIM_DPID/maps"; }
	echo "delivery process: $(grep "^$EXIM_DPID " "$EXIM_DIR/watch" | head -n 1)"
}

# exim_arrived_intact MAILDIR RCPT: the message of the last exim_deliver
# is in MAILDIR, exactly once, for RCPT, with its body unchanged.
exim_arrived_intact() {
	local maildir=$1 rcpt=$2 file n
	e2e_wait 20 maildir_file "$maildir" "$EXIM_SUBJ" >/dev/null || fail "'$EXIM_SUBJ' not in $maildir"
	file=$(maildir_file "$maildir" "$EXIM_SUBJ")
	grep -qix "Delivered-To: $rcpt" "$file" || fail "Delivered-To is not $rcpt"
	# swaks ends the DATA it reads from stdin with one empty line of its own.
	diff -u "$EXIM_BODY" <(body_of "$file" | sed '${/^$/d}') >&2 || fail "the body changed on the way"
	n=$(maildir_count_subject "$maildir" "$EXIM_SUBJ")
	[ "$n" = 1 ] || fail "'$EXIM_SUBJ' arrived $n times in $maildir"
}

# exim_onion_delivery TAG RCPT ROUTER HOST ONION MAILDIR: one message
# through the daemon (exim_deliver), delivered by ROUTER over
# remote_smtp to HOST at a fake address, carried by the library to
# ONION:25 in the transport process Exim forked from the -Mc process
# (both had the library mapped at the gate), arrived intact in MAILDIR;
# the paniclog is empty. Sets EXIM_LINE (Exim's => line) and EXIM_ADDR.
exim_onion_delivery() {
	local tag=$1 rcpt=$2 router=$3 host=$4 onion=$5 maildir=$6 line pid
	exim_deliver "$tag" "$rcpt" "exim $tag $RANDOM$RANDOM"
	EXIM_LINE=$(grep -F " $EXIM_ID => $rcpt R=$router T=remote_smtp H=$host [" "$EXIM_LOG") ||
		{ cat "$EXIM_LOG" >&2; fail "no delivery line for $EXIM_ID by $router to $host"; }
	echo "mainlog: $EXIM_LINE"
	EXIM_ADDR=$(sed -n 's/.* H=[^ ]* \[\([^]]*\)\].*/\1/p' <<<"$EXIM_LINE")
	is_fake_addr "$EXIM_ADDR" || fail "Exim delivered to $EXIM_ADDR, not a fake address: $EXIM_LINE"
	line=$(log_since "$EXIM_SHIM_LOG" "$EXIM_SHIM_MARK" |
		grep -F "[$EXIM_ADDR]:25 -> $onion:25 via 127.0.0.1:$SOCKS_PORT: connected in ") ||
		{ cat "$EXIM_SHIM_LOG" >&2; fail "no library line for the onion connection to $EXIM_ADDR"; }
	echo "library: ${line#* onionshim}"
	# The library's line names the process that connected: the transport
	# process Exim forks from its "exim -Mc" delivery process, which it
	# re-executed set-user-ID and which logs the delivery (log_selector
	# +pid). Both had the library in /proc/PID/maps at the gate.
	pid=$(sed -n 's/.* onionshim\[\([0-9]*\)\]: .*/\1/p' <<<"$line" | tail -n 1)
	grep -q "^$pid " "$EXIM_DIR/watch" ||
		{ cat "$EXIM_DIR/watch" >&2; fail "transport process $pid did not have $EXIM_LIBPATH in /proc/$pid/maps"; }
	echo "transport process: $(grep "^$pid " "$EXIM_DIR/watch" | head -n 1)"
	exim_arrived_intact "$maildir" "$rcpt"
	[ ! -s "$EXIM_PANICLOG" ] || { cat "$EXIM_PANICLOG" >&2; fail "Exim wrote to its paniclog"; }
}

# exim_res_answered NAME TYPE: the library's debug line that it answered
# a res_* query for NAME of TYPE itself, since the last exim_deliver.
exim_res_answered() {
	log_since "$EXIM_SHIM_LOG" "$EXIM_SHIM_MARK" |
		grep -qF "DNS query $1 type $2 answered by the library" ||
		{ cat "$EXIM_SHIM_LOG" >&2; fail "the library did not answer a res_* query for $1 type $2"; }
}

# 1a. manualroute with route_data = NAME byname: Exim looks the name up
# with gethostbyname2, the library answers with a fake address, Exim
# connects to it and the library carries the connection to the onion.
# The delivery process, re-executed set-user-ID root with a cleaned
# environment, has the library mapped; the message arrives intact and no
# DNS query leaves.
test_exim_manualroute_byname_delivers_over_the_onion() {
	local dns0
	dns0=$(dns_count)
	exim_case_up byname
	exim_shim_conf onion yes debug
	cat >"$EXIM_DIR/routers" <<'EOF'
onion_byname:
  driver = manualroute
  domains = receiver1.test
  transport = remote_smtp
  route_data = receiver1.test byname
EOF
	exim_main_conf "$EXIM_DIR/routers"
	exim_daemon_up
	exim_onion_delivery 1a byname@receiver1.test onion_byname receiver1.test "$ONION1" "$RECV1_MAILDIR"
	# gethostbyname2's path: the library answered no DNS query.
	if log_since "$EXIM_SHIM_LOG" "$EXIM_SHIM_MARK" | grep -F "DNS query " >&2; then
		fail "Exim went through res_* although the router says byname"
	fi
	expect_no_dns_since "$dns0"
}

# 1b. The same router without byname: Exim looks the host up in DNS
# (res_search for its A and AAAA records), the library answers with the
# fake address itself, and the rest is as in 1a.
test_exim_manualroute_dns_delivers_over_the_onion() {
	local dns0
	dns0=$(dns_count)
	exim_case_up bydns
	exim_shim_conf onion yes debug
	cat >"$EXIM_DIR/routers" <<'EOF'
onion_dns:
  driver = manualroute
  domains = receiver1.test
  transport = remote_smtp
  route_data = receiver1.test
EOF
	exim_main_conf "$EXIM_DIR/routers"
	exim_daemon_up
	exim_onion_delivery 1b bydns@receiver1.test onion_dns receiver1.test "$ONION1" "$RECV1_MAILDIR"
	exim_res_answered receiver1.test 1
	expect_no_dns_since "$dns0"
}

# 1c. Debian's own dnslookup router, included unchanged from the
# unpacked exim4-config (conf.d/router/200_exim4-config_primary, with
# the DCconfig_internet macro Debian's generator sets for an internet
# site), so its stock ignore_target_hosts list applies. Exim asks for
# the domain's MX through res_search, the library answers with the
# onion as exchanger and the onion's address with a fake one; Exim's
# mainlog names the onion as the host it delivered to.
test_exim_debian_dnslookup_delivers_to_the_onion_mx() {
	local dns0 stock
	dns0=$(dns_count)
	exim_case_up dnslookup
	exim_shim_conf onion yes debug
	stock=/etc/exim4/conf.d/router/200_exim4-config_primary
	[ -r "$stock" ] || fail "no $stock in the unpacked exim4-config"
	grep -qx '  ignore_target_hosts = ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS' "$stock" ||
		fail "Debian's dnslookup router has no stock ignore_target_hosts"
	cat >"$EXIM_DIR/main" <<'EOF'
DCconfig_internet = 1
domainlist local_domains = sender.test
domainlist relay_to_domains =
EOF
	echo ".include $stock" >"$EXIM_DIR/routers"
	exim_main_conf "$EXIM_DIR/routers" "$EXIM_DIR/main"
	# The list Exim applies is Debian's, untouched.
	"$EXIM_BIN" -bP router dnslookup >"$EXIM_DIR/router.out"
	grep -q '^ignore_target_hosts = <; 0.0.0.0 ; 127.0.0.0/8 ; .*fc00::/7' "$EXIM_DIR/router.out" ||
		{ cat "$EXIM_DIR/router.out" >&2; fail "the dnslookup router lacks Debian's ignore_target_hosts"; }
	exim_daemon_up
	exim_onion_delivery 1c mx@receiver1.test dnslookup "$ONION1" "$ONION1" "$RECV1_MAILDIR"
	exim_res_answered receiver1.test 15
	exim_res_answered "$ONION1" 1
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

# exim_clear_untouched: the library's log since the last exim_deliver
# holds no connection of its own: no SOCKS exchange, no refusal, no
# mention of the clear receiver's port.
exim_clear_untouched() {
	local since
	since=$(log_since "$EXIM_SHIM_LOG" "$EXIM_SHIM_MARK")
	if grep -E "connect to |via 127\.0\.0\.1:$SOCKS_PORT|:$RECV2_PORT|refused" <<<"$since" >&2; then
		fail "the library touched the clear delivery"
	fi
}

# 3. Exim as a whole-MTA daemon under the library, route = onion and
# allow_inbound = yes: it accepts mail on its loopback port, delivers
# mail for a mapped domain over the onion service and mail for a clear
# domain (r2-alias.test, which onion_map does not list) directly to the
# second receiver's smtpd on loopback, which the library leaves alone.
# Then with allow_inbound = no the daemon cannot listen: the library
# says why in one line, Exim says so too and exits with an error.
test_exim_daemon_onion_and_clear_mail_then_no_inbound() {
	local dns0 mark rc out since
	dns0=$(dns_count)
	exim_case_up daemon
	exim_shim_conf onion yes
	cat >"$EXIM_DIR/routers" <<'EOF'
onion_byname:
  driver = manualroute
  domains = receiver1.test
  transport = remote_smtp
  route_data = receiver1.test byname
clear_route:
  driver = manualroute
  domains = r2-alias.test
  transport = clear_smtp
  route_data = 127.0.0.1
  # the receiver listens on this host's loopback, on another port
  self = send
EOF
	exim_main_conf "$EXIM_DIR/routers"
	exim_daemon_up
	exim_onion_delivery 3-onion daemon@receiver1.test onion_byname receiver1.test "$ONION1" "$RECV1_MAILDIR"

	exim_deliver 3-clear clear@r2-alias.test "exim 3-clear $RANDOM$RANDOM"
	EXIM_LINE=$(grep -F " $EXIM_ID => clear@r2-alias.test R=clear_route T=clear_smtp H=127.0.0.1 [127.0.0.1]:$RECV2_PORT " "$EXIM_LOG") ||
		{ cat "$EXIM_LOG" >&2; fail "no direct delivery line for $EXIM_ID"; }
	echo "mainlog: $EXIM_LINE"
	exim_clear_untouched
	exim_arrived_intact "$RECV2_MAILDIR" clear@r2-alias.test
	[ ! -s "$EXIM_PANICLOG" ] || { cat "$EXIM_PANICLOG" >&2; fail "Exim wrote to its paniclog"; }
	if grep -Ei ' == | \*\* |defer|error|fail' "$EXIM_LOG" >&2; then
		fail "Exim's mainlog has lines a postmaster would worry about"
	fi

	# allow_inbound = no: the same daemon, in the foreground so that its
	# exit status and its error are ours to read.
	exim_daemon_stop
	exim_shim_conf onion no
	mark=$(log_mark "$EXIM_SHIM_LOG")
	rc=0
	out=$(exim_run_bounded 60 -bdf 2>&1) || rc=$?
	echo "exim -bdf: status $rc: $out"
	[ "$rc" != 0 ] || fail "Exim's daemon exited 0 although it cannot listen"
	[ "$rc" != 124 ] || fail "Exim's daemon ran on (it listened) with allow_inbound = no"
	grep -q 'listen() failed on .*Operation not permitted' <<<"$out" ||
		fail "Exim's own output does not say that listen() failed: $out"
	grep -q 'listen() failed on .*Operation not permitted' "$EXIM_PANICLOG" ||
		{ cat "$EXIM_PANICLOG" >&2; fail "Exim's paniclog does not say that listen() failed"; }
	since=$(log_since "$EXIM_SHIM_LOG" "$mark")
	grep -q 'onionshim\[[0-9]*\]: warning: listen() on an inet socket refused: allow_inbound = no$' <<<"$since" ||
		{ echo "$since" >&2; fail "the library did not log its refusal"; }
	echo "library: $(grep 'listen()' <<<"$since" | head -n 1 | sed 's/^.* onionshim/onionshim/')"
	[ -z "$(exim_daemon_pids)" ] || fail "an Exim daemon is running"
	if (exec 3<>"/dev/tcp/127.0.0.1/$EXIM_SMTP_PORT") 2>/dev/null; then
		fail "something accepts connections on 127.0.0.1:$EXIM_SMTP_PORT"
	fi
	expect_no_dns_since "$dns0"
}

# 4. Exim's default pipelining over a Tor stream. With PIPELINING and
# CHUNKING Exim sends BDAT LAST and QUIT together, then half-closes its
# socket with shutdown(SHUT_WR); a Tor stream cannot be half-closed, and
# before the library left that shutdown undone the server's replies were
# lost: the message arrived, Exim deferred it and sent it again. Now each
# of two messages is delivered once (Exim completes it with no deferral,
# which is when the copy used to come), with pipelining (Exim's L field),
# and the library logs the half-close it left undone in the transport
# process.
test_exim_default_pipelining_delivers_each_message_once() {
	local dns0 n pid
	dns0=$(dns_count)
	exim_case_up pipelining
	exim_shim_conf onion yes debug
	cat >"$EXIM_DIR/routers" <<'EOF'
onion_byname:
  driver = manualroute
  domains = receiver1.test
  transport = remote_smtp
  route_data = receiver1.test byname
EOF
	exim_main_conf "$EXIM_DIR/routers"
	if "$EXIM_BIN" -bP transport remote_smtp | grep -E '^hosts_avoid_pipelining = .+' >&2; then
		fail "the transport avoids pipelining: this case tests Exim's default"
	fi
	exim_daemon_up
	for n in 1 2; do
		exim_onion_delivery "4-$n" "pipe$n@receiver1.test" onion_byname receiver1.test "$ONION1" "$RECV1_MAILDIR"
		grep -q ' L ' <<<"$EXIM_LINE" || grep -q ' L$' <<<"$EXIM_LINE" ||
			fail "Exim did not pipeline (no L field): $EXIM_LINE"
		pid=$(log_since "$EXIM_SHIM_LOG" "$EXIM_SHIM_MARK" |
			sed -n 's/.* onionshim\[\([0-9]*\)\]: .*connect to .* connected in .*/\1/p' | tail -n 1)
		log_since "$EXIM_SHIM_LOG" "$EXIM_SHIM_MARK" |
			grep -q "onionshim\[$pid\]: debug: shutdown(SHUT_WR) on descriptor [0-9]* left undone" ||
			{ cat "$EXIM_SHIM_LOG" >&2; fail "the transport process $pid did not half-close its Tor stream"; }
		if grep -F " $EXIM_ID " "$EXIM_LOG" | grep -Ei ' == |defer|retry|closed connection' >&2; then
			fail "Exim deferred $EXIM_ID"
		fi
	done
	expect_no_dns_since "$dns0"
}

# 5. A mapped domain whose onion publishes no descriptor, through
# Debian's dnslookup router: Exim defers the message (==, never a **
# bounce) and keeps it queued; the library logs Tor's reason for each of
# the two fake addresses Exim tries (IPv6, then IPv4), and nothing goes
# out in the clear or to DNS.
test_exim_unreachable_onion_defers_and_keeps_the_mail() {
	local dns0 id line n
	dns0=$(dns_count)
	[ -n "${ONION_DEAD:-}" ] || fail "the world has no ONION_DEAD"
	exim_case_up dead
	exim_shim_conf onion yes
	cat >"$EXIM_DIR/main" <<'EOF'
DCconfig_internet = 1
domainlist local_domains = sender.test
domainlist relay_to_domains =
EOF
	echo ".include /etc/exim4/conf.d/router/200_exim4-config_primary" >"$EXIM_DIR/routers"
	exim_main_conf "$EXIM_DIR/routers" "$EXIM_DIR/main"
	exim_daemon_up
	EXIM_SHIM_MARK=$(log_mark "$EXIM_SHIM_LOG")
	mail_body "$E2E_WORLD/body.exim.5" "exim 5"
	id=$(exim_submit nobody@nowhere.test "exim 5 $RANDOM" "$E2E_WORLD/body.exim.5")
	[ -n "$id" ] || fail "Exim did not accept the message (see swaks.log)"
	# (the gate holds a delivery only once it has connected: not here)
	touch /var/spool/exim4/go
	e2e_wait 180 grep -qF " $id == nobody@nowhere.test R=dnslookup T=remote_smtp defer " "$EXIM_LOG" ||
		{ cat "$EXIM_LOG" >&2; fail "$id not deferred within 180 s"; }
	line=$(grep -F " $id == nobody@nowhere.test " "$EXIM_LOG")
	echo "mainlog: $line"
	# Exim logs each host it tried: the onion, at both fake addresses.
	grep -F " $id H=$ONION_DEAD [" "$EXIM_LOG" >"$EXIM_DIR/tried" || true
	cat "$EXIM_DIR/tried"
	grep -q " H=$ONION_DEAD \[2001:db8:" "$EXIM_DIR/tried" &&
		grep -q " H=$ONION_DEAD \[24[0-7]\." "$EXIM_DIR/tried" ||
		{ cat "$EXIM_LOG" >&2; fail "Exim did not try the onion at both fake addresses"; }
	if grep -F " $id " "$EXIM_LOG" | grep -E ' \*\* | => |Completed' >&2; then
		fail "Exim bounced or delivered $id"
	fi
	n=$("$EXIM_BIN" -bpc)
	[ "$n" = 1 ] || fail "Exim's queue holds $n messages, not 1"
	log_since "$EXIM_SHIM_LOG" "$EXIM_SHIM_MARK" | grep -F -- "-> $ONION_DEAD:25 failed via 127.0.0.1:$SOCKS_PORT after " >"$EXIM_DIR/failed"
	cat "$EXIM_DIR/failed"
	grep -q '\[2001:db8:' "$EXIM_DIR/failed" || fail "no failed attempt at the IPv6 fake address"
	grep -q '\[24[0-7]\.' "$EXIM_DIR/failed" || fail "no failed attempt at the IPv4 fake address"
	grep -qF 'Tor reply 0xF0 (onion service descriptor can not be found)' "$EXIM_DIR/failed" ||
		fail "the library's lines do not say the descriptor was not found"
	[ ! -s "$EXIM_PANICLOG" ] || { cat "$EXIM_PANICLOG" >&2; fail "Exim wrote to its paniclog"; }
	"$EXIM_BIN" -Mrm "$id" >/dev/null
	expect_no_dns_since "$dns0"
}
