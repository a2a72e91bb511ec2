#!/bin/bash
# NAME
#	demo.sh - one mail from a Postfix host to an onion service, told
# SYNOPSIS
#	make demo		(as root: installs what is missing, builds, runs this)
#	tests/e2e/demo.sh	(as root, after make all)
# DESCRIPTION
#	In a fresh network and mount namespace (lib.sh), brings up the
#	end-to-end world: a private Tor network on loopback, two receiving
#	Postfix instances behind onion services, and the sending Postfix
#	whose smtptor transport runs smtp_onion (onionshim preloaded into
#	smtp, chrooted, as Debian ships it). Sends one message to
#	alice@receiver1.test and prints what happened: the onion, the route
#	onionshim chose (onion_map, fake address, the DNS answers it made
#	up), the Tor circuit time, Postfix's delivery line, the message as
#	the receiver got it, and how many DNS queries left the sender. Then
#	tears everything down and checks, from the host, that the host's own
#	Postfix and Tor files and processes are as they were.
#
#	The story goes to stdout; the world's timings to stderr.
#	E2E_KEEP=1 keeps the world directory.
# EXIT STATUS
#	0 when the message was delivered, no DNS query left the sender and
#	the host is untouched.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# From the host: the files and processes of its own Postfix and Tor.
# Processes in other network namespaces (other tests) do not count.
host_state() {
	local mine p
	mine=$(readlink /proc/self/ns/net)
	{
		find /etc/postfix /usr/lib/postfix /etc/tor -type f -exec md5sum {} + 2>/dev/null || true
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/ns/net" 2>/dev/null)" = "$mine" ] || continue
			case $(cat "$p/comm" 2>/dev/null) in
			tor | master) echo "process ${p#/proc/} $(cat "$p/comm")" ;;
			esac
		done
	} | sort | md5sum
}

e2e_after_ns() {
	if [ "$(host_state)" = "$DEMO_HOST_STATE" ]; then
		echo "The host's own Postfix and Tor: files and processes as before."
		return 0
	fi
	echo "The host's Postfix or Tor changed during the demo!" >&2
	return 1
}

if [ "${E2E_IN_NS:-}" != 1 ]; then
	DEMO_HOST_STATE=$(host_state)
	export DEMO_HOST_STATE
	[ -e "$E2E_TOP/build/libonionshim.so" ] || e2e_die "build first: make all (or make demo)"
fi
e2e_enter_ns "$0" "$@"
trap e2e_exit EXIT

say() { printf '%s\n' "$*"; }
# part TITLE: a heading; then indented lines from stdin.
part() { printf '\n%s\n' "$1"; sed 's/^/    /'; }

# The library's debug lines show the DNS answers it makes up.
export SENDER_LOG_LEVEL=debug
world_up --with-sender

rcpt=alice@receiver1.test
subject="Hello over Tor ($(date -u +%H:%M:%S))"
body=$E2E_WORLD/demo.body
cat >"$body" <<EOF
Hi Alice,

this message left mx.sender.test through Postfix's smtp, with onionshim
preloaded by smtp_onion. No DNS query, no clear-text connection: a Tor
circuit to your onion service.

. (a line with a lone dot, to show that the body arrives intact)
EOF
lib0=$(log_mark "$ONIONSHIM_LOG")
dns0=$(dns_count)
id=$(mail_send "$rcpt" "$subject" "$body")
qid=$(queue_id_wait "$id") || e2e_die "the message did not enter the queue"
if ! e2e_wait 90 mail_sent "$qid"; then
	delivery_lines "$qid" >&2
	e2e_die "not delivered within 90 s"
fi
e2e_wait 20 maildir_file "$RECV1_MAILDIR" "$subject" >/dev/null || e2e_die "not in the Maildir"
e2e_lap "demo: delivered"

say
say "=== onionshim demo: one mail from a Postfix host to an onion service ==="
say "A private Tor network (3 directory authorities, 3 relays, a client, onion"
say "services) and three Postfix instances run on loopback in a network"
say "namespace of their own. mx.sender.test mails $rcpt."

{
	say "receiver1.test is served by mx.receiver1.test behind the onion service"
	say "$ONION1"
	say "(torrc: HiddenServicePort 25 -> 127.0.0.1:$RECV1_PORT, a relay-safe smtpd)"
} | part "1. The onion"

{
	say "/etc/postfix/transport:  $(grep '^receiver1.test ' /etc/postfix/transport | tr -s ' ')"
	say "master.cf:               $(grep '^smtptor ' /etc/postfix/master.cf | tr -s ' ')"
	say "onion_map:               $(grep '^receiver1.test ' "$ONIONSHIM_MAP" | tr -s ' ')"
	say "onionshim --show:        $("$SENDER_PREFIX/bin/onionshim" -c "$ONIONSHIM_CONF" --show |
		awk '$2 == "receiver1.test" { print $2, "->", $3, "fake address", $4, "(" $5 ")" }')"
	say "The library's answers to smtp's DNS queries (no packet sent):"
	log_since "$ONIONSHIM_LOG" "$lib0" | grep -F 'answered by the library' |
		sed 's/^.*onionshim\[[0-9]*\]: /  /' | sort -u
} | part "2. The route onionshim chose"

log_since "$ONIONSHIM_LOG" "$lib0" | grep -F 'connected in' | sed 's/^.*\(onionshim\[\)/\1/' |
	part "3. The Tor circuit (library log)"

delivery_lines "$qid" | sed 's/^.*\(postfix\/\)/\1/' | part "4. Postfix's delivery line"

cat "$(maildir_file "$RECV1_MAILDIR" "$subject")" | part "5. The message in alice's Maildir at mx.receiver1.test"

leaks=$(( $(dns_count) - dns0 ))
{
	say "DNS queries that left the sender: $leaks"
	say "(a counting DNS listener is behind /etc/resolv.conf, inside smtp's chroot too)"
} | part "6. DNS"
say
[ "$leaks" = 0 ] || e2e_die "DNS queries left the sender: $(dns_log)"
e2e_lap "demo: tearing down"
