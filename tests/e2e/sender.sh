#!/bin/bash
# NAME
#	sender.sh - the sending Postfix, with onionshim in its smtptor transports
# SYNOPSIS
#	sender.sh start DIR		(inside the test namespace)
#	sender.sh map DIR
#	sender.sh stop DIR
# DESCRIPTION
#	start sets up the namespace's own Postfix the way a postmaster sets
#	up a Debian host, so that every command docs/postfix.md shows is the
#	command run here, paths included:
#
#	-  Debian's /etc/postfix files are copied into DIR/etc, Postfix's
#	   daemon_directory into DIR/sbin; then DIR/etc, DIR/spool, DIR/data,
#	   DIR/sbin and DIR/log are bind-mounted over /etc/postfix,
#	   /var/spool/postfix, /var/lib/postfix, /usr/lib/postfix/sbin and
#	   /var/log. The mounts exist in the test's mount namespace only:
#	   the host's Postfix, its files and its queue are never touched.
#	-  make install-postfix PREFIX=DIR/prefix SYSCONFDIR=DIR/prefix/etc
#	   installs the library, the tools and smtp_onion, the latter into
#	   `postconf -h daemon_directory` (the copy in DIR/sbin).
#	-  main.cf is written with postconf -e; the smtptor transports are
#	   appended to master.cf (see SERVICES); onionshim.conf names the
#	   test SocksPort, route = all, log_level = info (or
#	   $SENDER_LOG_LEVEL) and log_to
#	   /var/log/onionshim.log. onion_map and /etc/postfix/transport
#	   start empty: start needs no onion yet, so it can run while Tor
#	   bootstraps.
#	-  /usr/lib/postfix/configure-instance.sh copies etc/services,
#	   etc/resolv.conf (the counting listener) and friends into the
#	   chroot, as Debian's service does before it starts Postfix; then
#	   postfix start. Chroot stays on, as Debian ships master.cf.
#
#	map writes what needs the onions: onion_map maps receiver1.test and
#	r1-alias.test to ONION1, receiver2.test and r2-alias.test to ONION2
#	and nowhere.test to ONION_DEAD (an onion that nothing publishes);
#	/etc/postfix/transport routes them (see TRANSPORT); then postmap
#	and postfix reload.
#
#	stop runs postfix stop, waits until no process of the instance is
#	left (killing what is left after 10 s), and unmounts.
# SERVICES
#	smtptor		Postfix's defaults: inet_protocols = all, DNS on
#	smtptor-nodns	-o smtp_dns_support_level=disabled
#	smtptor-v4	-o inet_protocols=ipv4
#	smtptor-v4-nodns both
#	Each logs as postfix/<service> and runs smtp_onion
#	onionshim_conf=$ONIONSHIM_CONF, chrooted.
# TRANSPORT
#	DOMAIN smtptor: for the five mapped domains (onionshim maps the
#	domain), and for case 1 one address per service and routing:
#	SERVICE-domain@receiver1.test SERVICE: and
#	SERVICE-onion@receiver2.test SERVICE:[ONION2]. stray.test smtptor:
#	and nodns@stray.test smtptor-nodns: with stray.test missing from
#	onion_map.
# ENVIRONMENT
#	start: E2E_TOP SOCKS_PORT; map: ONION1 ONION2 ONION_DEAD.
#	start writes DIR/env: SENDER_DIR SENDER_LOG ONIONSHIM_CONF
#	ONIONSHIM_MAP ONIONSHIM_LOG SENDER_PREFIX.
# NEVER
#	Runs outside the test's own mount and network namespaces, or
#	changes a file outside DIR.

set -euo pipefail

SERVICES="smtptor smtptor-nodns smtptor-v4 smtptor-v4-nodns"
# What is mounted where: DIR/<sub> over <path>.
MOUNTS="etc:/etc/postfix spool:/var/spool/postfix data:/var/lib/postfix sbin:/usr/lib/postfix/sbin log:/var/log"

die() { echo "sender: $*" >&2; exit 1; }

# Bind mounts over /etc/postfix in the host's mount namespace would
# replace the host's Postfix configuration: refuse, loudly.
check_ns() {
	[ "${E2E_IN_NS:-}" = 1 ] || die "run me inside the test namespace (tests/e2e/run.sh, demo.sh)"
	[ -n "${E2E_HOST_MNTNS:-}" ] || die "E2E_HOST_MNTNS unset: cannot tell the host's mount namespace from ours"
	[ "$(readlink /proc/self/ns/mnt)" != "$E2E_HOST_MNTNS" ] ||
		die "this is the host's mount namespace: refusing to mount over /etc/postfix"
	local links
	links=$(ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort -u | tr '\n' ' ')
	[ "$links" = "lo " ] || die "interfaces besides lo ($links): not the test's network namespace"
}

pid_alive() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Every Postfix daemon works in the queue directory (chrooted or not).
instance_pids() {
	local p cwd
	for p in /proc/[0-9]*; do
		cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
		case $cwd in /var/spool/postfix | /var/spool/postfix/* | "$DIR/spool" | "$DIR"/spool/*)
			pid_alive "${p#/proc/}" && echo "${p#/proc/}" ;;
		esac
	done
}

mount_all() {
	local m sub path
	for m in $MOUNTS; do
		sub=${m%%:*}
		path=${m#*:}
		[ -d "$path" ] || die "$path does not exist: is Postfix installed?"
		mount --bind "$DIR/$sub" "$path"
	done
}

umount_all() {
	local m path
	for m in $MOUNTS; do
		path=${m#*:}
		# Only our own bind: its device and inode are DIR's.
		if [ -d "$DIR/${m%%:*}" ] && [ "$(stat -c %d:%i "$path")" = "$(stat -c %d:%i "$DIR/${m%%:*}")" ]; then
			umount -l "$path"
		fi
	done
}

# main.cf, every line through postconf -e as docs/postfix.md shows it.
write_main_cf() {
	: >/etc/postfix/main.cf
	postconf -e \
		"compatibility_level = 3.6" \
		"myhostname = mx.sender.test" \
		"mydomain = sender.test" \
		"myorigin = \$mydomain" \
		"mydestination =" \
		"inet_interfaces = loopback-only" \
		"inet_protocols = all" \
		"alias_maps =" "alias_database =" "biff = no" \
		"maillog_file = /var/log/postfix.log" \
		"smtpd_peername_lookup = no" \
		"delay_warning_time = 0"
	postconf -e "transport_maps = hash:/etc/postfix/transport"
	# Tests only: retries within seconds, not minutes.
	postconf -e \
		"queue_run_delay = 5s" \
		"minimal_backoff_time = 5s" \
		"maximal_backoff_time = 10s"
}

# master.cf lines, appended as an editor would (onionshim_conf= has no
# dash, so postconf -M and -P would leave it alone too).
write_master_cf() {
	local conf=$1 svc
	{
		echo "# onionshim: SMTP over Tor for the domains in /etc/postfix/transport"
		for svc in $SERVICES; do
			printf '%-10s unix  -       -       y       -       -       smtp_onion onionshim_conf=%s\n' \
				"$svc" "$conf"
			printf '  -o syslog_name=postfix/$service_name\n'
			# Onion connections are worth keeping: cache them always.
			printf '  -o smtp_connection_cache_destinations=static:all\n'
			case $svc in *-v4*) printf '  -o inet_protocols=ipv4\n' ;; esac
			case $svc in *-nodns) printf '  -o smtp_dns_support_level=disabled\n' ;; esac
		done
	} >>/etc/postfix/master.cf
	# Two connections per destination at most: a backlog, so that
	# Postfix caches and reuses connections (case 2).
	for svc in $SERVICES; do
		postconf -e "${svc}_destination_concurrency_limit = 2"
	done
}

write_onionshim_conf() {
	local etc=$1
	cat >"$etc/onionshim.conf" <<EOF
# onionshim.conf for the e2e sender (written by tests/e2e/sender.sh)
socks_server = 127.0.0.1:$SOCKS_PORT
onion_map = $etc/onion_map
route = all
connect_timeout = 60s
log_level = ${SENDER_LOG_LEVEL:-info}
log_to = /var/log/onionshim.log
EOF
	echo "# filled in by sender.sh map" >"$etc/onion_map"
	: >/etc/postfix/transport
	postmap /etc/postfix/transport
}

write_maps() {
	local etc=$1
	cat >"$etc/onion_map.new" <<EOF
receiver1.test   $ONION1
r1-alias.test    $ONION1
receiver2.test   $ONION2
r2-alias.test    $ONION2
nowhere.test     $ONION_DEAD
EOF
	mv "$etc/onion_map.new" "$etc/onion_map"
	{
		for d in receiver1.test r1-alias.test receiver2.test r2-alias.test nowhere.test; do
			printf '%-40s smtptor:\n' "$d"
		done
		# Routed to Tor but missing from onion_map: a postmaster's slip.
		printf '%-40s smtptor:\n' stray.test
		printf '%-40s smtptor-nodns:\n' nodns@stray.test
		for svc in $SERVICES; do
			printf '%-40s %s:\n' "$svc-domain@receiver1.test" "$svc"
			printf '%-40s %s:[%s]\n' "$svc-onion@receiver2.test" "$svc" "$ONION2"
		done
	} >/etc/postfix/transport
	postmap /etc/postfix/transport
}

cmd_start() {
	check_ns
	: "${E2E_TOP:?}" "${SOCKS_PORT:?}"
	[ ! -e "$DIR/env" ] || die "$DIR/env exists: run 'sender.sh stop $DIR' first"
	mkdir -p "$DIR/etc" "$DIR/spool" "$DIR/data" "$DIR/sbin" "$DIR/log" "$DIR/prefix"
	chmod 755 "$DIR" "$DIR/etc" "$DIR/spool" "$DIR/sbin" "$DIR/log"
	# Debian's files, before our mount hides them.
	cp /etc/postfix/master.cf /etc/postfix/postfix-files /etc/postfix/dynamicmaps.cf "$DIR/etc/"
	cp -r /etc/postfix/postfix-files.d /etc/postfix/dynamicmaps.cf.d "$DIR/etc/"
	cp -a /usr/lib/postfix/sbin/. "$DIR/sbin/"
	chown postfix "$DIR/data"
	chmod 700 "$DIR/data"
	mount_all
	write_main_cf

	local prefix=$DIR/prefix etc=$DIR/prefix/etc/onionshim
	make -s -C "$E2E_TOP" install-postfix PREFIX="$prefix" SYSCONFDIR="$prefix/etc" \
		>"$DIR/install.log" 2>&1 || { cat "$DIR/install.log" >&2; die "make install-postfix failed"; }
	[ -x /usr/lib/postfix/sbin/smtp_onion ] || die "make install-postfix did not install smtp_onion"
	write_onionshim_conf "$etc"
	write_master_cf "$etc/onionshim.conf"

	/usr/lib/postfix/configure-instance.sh - >"$DIR/configure-instance.log" 2>&1 ||
		{ cat "$DIR/configure-instance.log" >&2; die "configure-instance.sh failed"; }
	if ! postfix start >"$DIR/start.log" 2>&1; then
		cat "$DIR/start.log" /var/log/postfix.log >&2 || true
		die "postfix start failed"
	fi
	local deadline=$(( $(date +%s) + 20 ))
	until postqueue -p 2>/dev/null | grep -q 'Mail queue is empty'; do
		[ "$(date +%s)" -lt "$deadline" ] || { tail -n 20 /var/log/postfix.log >&2; die "the queue manager did not answer"; }
		sleep 0.1
	done
	{
		printf "SENDER_DIR='%s'\n" "$DIR"
		printf "SENDER_LOG='%s'\n" /var/log/postfix.log
		printf "SENDER_PREFIX='%s'\n" "$prefix"
		printf "ONIONSHIM_CONF='%s'\n" "$etc/onionshim.conf"
		printf "ONIONSHIM_MAP='%s'\n" "$etc/onion_map"
		printf "ONIONSHIM_LOG='%s'\n" /var/log/onionshim.log
	} >"$DIR/env"
}

cmd_map() {
	check_ns
	: "${ONION1:?}" "${ONION2:?}" "${ONION_DEAD:?}"
	[ -r "$DIR/env" ] || die "$DIR/env missing: run 'sender.sh start $DIR' first"
	write_maps "$DIR/prefix/etc/onionshim"
	# Long-running daemons would notice the new transport map on their
	# own, after their current request; a reload makes it certain.
	postfix reload >>"$DIR/start.log" 2>&1 || die "postfix reload failed"
}

cmd_stop() {
	local pids deadline
	[ -d "$DIR/etc" ] || return 0
	if [ -e /etc/postfix/main.cf ] &&
		[ "$(stat -c %d:%i /etc/postfix)" = "$(stat -c %d:%i "$DIR/etc")" ]; then
		postfix stop >>"$DIR/stop.log" 2>&1 || true
	fi
	deadline=$(( $(date +%s) + 10 ))
	while pids=$(instance_pids) && [ -n "$pids" ]; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "sender: killing leftover pids" $pids >&2
			kill -KILL $pids 2>/dev/null || true
		fi
		sleep 0.1
	done
	umount_all
	rm -f "$DIR/env"
}

[ $# -eq 2 ] || die "usage: sender.sh start|map|stop DIR"
CMD=$1
[ "$CMD" != start ] || mkdir -p "$2"
[ -d "$2" ] || { [ "$CMD" = stop ] && exit 0; die "no such directory: $2"; }
DIR=$(cd "$2" && pwd -P)
case $CMD in
start) cmd_start ;;
map) cmd_map ;;
stop) cmd_stop ;;
*) die "unknown command '$CMD'" ;;
esac
