# NAME
#	exim.sh - Debian's Exim, unpacked (never installed) for the e2e cases
# SYNOPSIS
#	. tests/e2e/exim.sh	(sourced by tests/e2e/cases/20_exim.sh)
#	exim_fetch		# the .debs, cached under build/exim-debs
#	exim_world DIR		# unpack, user, mounts, library: inside the namespace
#	exim_conf FILE		# install FILE as /etc/exim4/exim4.conf
#	exim_shim_conf ROUTE ALLOW_INBOUND [LOG_LEVEL]
#	exim_daemon_start ARGS.. / exim_daemon_stop
#	exim_run_bounded SECONDS ARGS..	# Exim in the foreground, preloaded
#	exim_unworld		# undo exim_world
# DESCRIPTION
#	Debian's exim4 and postfix packages conflict, so Exim is fetched
#	with apt-get download and unpacked with dpkg -x into DIR/root,
#	which keeps the binary's set-user-ID bit. Its compiled-in paths
#	(/etc/exim4, /var/spool/exim4, /var/log/exim4, /var/lib/exim4)
#	get DIR's directories bind-mounted over them, inside the test's
#	mount namespace only; an empty mount point that did not exist
#	is created first and removed again by exim_unworld. The
#	Debian-exim user and group exist only in a copy of /etc/passwd
#	and /etc/group bind-mounted over the originals.
#
#	The library: a set-user-ID process ignores preload paths with a
#	slash and loads only from trusted directories (ld.so(8)), so a
#	set-user-ID copy of build/libonionshim.so is bind-mounted over an
#	unused library file in /usr/lib/x86_64-linux-gnu (EXIM_PRELOAD,
#	no slash), and its configuration is /etc/onionshim/onionshim.conf
#	(a tmpfs over /etc/onionshim), the only one a set-user-ID process
#	reads.
# VARIABLES (after exim_world)
#	EXIM_DIR EXIM_BIN EXIM_LOG (mainlog) EXIM_PANICLOG EXIM_PRELOAD
#	EXIM_LIBPATH (the path /proc/PID/maps shows) EXIM_SHIM_LOG
# NEVER
#	Installs exim4, or mounts anything outside the test's namespace.

EXIM_DEBS_DIR=${EXIM_DEBS_DIR:-${E2E_TOP:-.}/build/exim-debs}
# libidn12: a library exim4-daemon-light needs that Postfix's hosts lack.
EXIM_PACKAGES="exim4-daemon-light exim4-base exim4-config libidn12"
EXIM_PRELOAD=${EXIM_PRELOAD:-libcmocka.so.0}
EXIM_MOUNTS="etc:/etc/exim4 spool:/var/spool/exim4 log:/var/log/exim4 lib:/var/lib/exim4"

exim_fetch() {
	local p missing=""
	mkdir -p "$EXIM_DEBS_DIR"
	for p in $EXIM_PACKAGES; do
		compgen -G "$EXIM_DEBS_DIR/${p}_*.deb" >/dev/null || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	# Inside the test namespace there is only loopback (and the counting
	# DNS listener): the cache must be filled from outside.
	if [ "${E2E_IN_NS:-}" = 1 ]; then
		echo "exim: missing$missing in $EXIM_DEBS_DIR: run 'bash tests/e2e/exim.sh fetch' first" >&2
		return 1
	fi
	echo "exim: downloading$missing into $EXIM_DEBS_DIR" >&2
	(cd "$EXIM_DEBS_DIR" && apt-get download $missing) >&2 ||
		{ echo "exim: apt-get download$missing failed" >&2; return 1; }
}

# Mount SRC over DST, creating DST (and remembering it) when missing.
exim_bind() {
	local src=$1 dst=$2
	if [ ! -e "$dst" ]; then
		if [ -d "$src" ]; then mkdir -p "$dst"; else : >"$dst"; fi
		echo "$dst" >>"$EXIM_DIR/created"
	elif [ -f "$dst" ] && [ ! -s "$dst" ] && ! mountpoint -q "$dst"; then
		# An empty mount point an interrupted run left behind.
		echo "$dst" >>"$EXIM_DIR/created"
	fi
	mount --bind "$src" "$dst"
	echo "$dst" >>"$EXIM_DIR/mounted"
}

exim_world() {
	EXIM_DIR=$1
	local d libdir
	mkdir -p "$EXIM_DIR/root" "$EXIM_DIR/shim"
	: >"$EXIM_DIR/created"
	: >"$EXIM_DIR/mounted"
	for d in $EXIM_PACKAGES; do dpkg -x "$(compgen -G "$EXIM_DEBS_DIR/${d}_*.deb" | tail -n 1)" "$EXIM_DIR/root"; done
	[ -u "$EXIM_DIR/root/usr/sbin/exim4" ] || { echo "exim: the unpacked exim4 is not set-user-ID" >&2; return 1; }
	# The world directory is 0755 root; the binary must be reachable.
	chmod 755 "$EXIM_DIR"

	cp /etc/passwd "$EXIM_DIR/passwd"
	cp /etc/group "$EXIM_DIR/group"
	grep -q '^Debian-exim:' "$EXIM_DIR/group" || echo 'Debian-exim:x:4242:' >>"$EXIM_DIR/group"
	grep -q '^Debian-exim:' "$EXIM_DIR/passwd" ||
		echo 'Debian-exim:x:4242:4242::/var/spool/exim4:/usr/sbin/nologin' >>"$EXIM_DIR/passwd"
	chmod 644 "$EXIM_DIR/passwd" "$EXIM_DIR/group"
	exim_bind "$EXIM_DIR/passwd" /etc/passwd
	exim_bind "$EXIM_DIR/group" /etc/group

	# Debian's postinst layout and modes.
	mkdir -p "$EXIM_DIR/etc" "$EXIM_DIR/spool" "$EXIM_DIR/log" "$EXIM_DIR/lib"
	cp -a "$EXIM_DIR/root/etc/exim4/." "$EXIM_DIR/etc/"
	chown Debian-exim:Debian-exim "$EXIM_DIR/spool" "$EXIM_DIR/lib"
	chown Debian-exim:adm "$EXIM_DIR/log" 2>/dev/null || chown Debian-exim "$EXIM_DIR/log"
	chmod 750 "$EXIM_DIR/spool" "$EXIM_DIR/log"
	local m
	for m in $EXIM_MOUNTS; do exim_bind "$EXIM_DIR/${m%%:*}" "${m#*:}"; done
	# Exim re-executes itself by its compiled-in path.
	exim_bind "$EXIM_DIR/root/usr/sbin/exim4" /usr/sbin/exim4
	EXIM_BIN=/usr/sbin/exim4
	EXIM_LOG=/var/log/exim4/mainlog
	EXIM_PANICLOG=/var/log/exim4/paniclog

	# The library where a set-user-ID process will load it from.
	libdir=/usr/lib/x86_64-linux-gnu
	[ -e "$libdir/$EXIM_PRELOAD" ] || { echo "exim: $libdir/$EXIM_PRELOAD missing" >&2; return 1; }
	cp "$E2E_TOP/build/libonionshim.so" "$EXIM_DIR/shim/libonionshim.so"
	chmod 4755 "$EXIM_DIR/shim/libonionshim.so"
	exim_bind "$EXIM_DIR/shim/libonionshim.so" "$libdir/$EXIM_PRELOAD"
	EXIM_LIBPATH=$libdir/$EXIM_PRELOAD
	# Exim's own dependencies the host lacks, where a set-user-ID
	# process finds them (LD_LIBRARY_PATH does not count there).
	local so
	for so in "$EXIM_DIR/root$libdir"/*.so.*; do
		[ -e "$so" ] && [ ! -s "$libdir/${so##*/}" ] || continue
		cp -L "$so" "$EXIM_DIR/shim/${so##*/}"
		exim_bind "$EXIM_DIR/shim/${so##*/}" "$libdir/${so##*/}"
	done
	mkdir -p "$EXIM_DIR/onionshim"
	exim_bind "$EXIM_DIR/onionshim" /etc/onionshim
	EXIM_SHIM_LOG=$EXIM_DIR/onionshim.log
	: >"$EXIM_SHIM_LOG"
	# Written by Exim's processes, whichever user they run as.
	chmod 666 "$EXIM_SHIM_LOG"
	export EXIM_DIR EXIM_BIN EXIM_LOG EXIM_PANICLOG EXIM_LIBPATH EXIM_SHIM_LOG
}

# exim_shim_conf ROUTE ALLOW_INBOUND [LOG_LEVEL]: the library's system
# configuration, with the world's onion map (log_level info by default;
# debug also logs each res_* query the library answers).
exim_shim_conf() {
	cat >/etc/onionshim/onion_map <<EOF
receiver1.test   $ONION1
receiver2.test   $ONION2
EOF
	# A valid onion that nothing publishes (the world's ONION_DEAD).
	[ -z "${ONION_DEAD:-}" ] || echo "nowhere.test     $ONION_DEAD" >>/etc/onionshim/onion_map
	cat >/etc/onionshim/onionshim.conf <<EOF
# written by tests/e2e/exim.sh
socks_server = 127.0.0.1:$SOCKS_PORT
onion_map = /etc/onionshim/onion_map
route = $1
allow_inbound = $2
connect_timeout = 60s
log_level = ${3:-info}
log_to = $EXIM_SHIM_LOG
EOF
	chmod 644 /etc/onionshim/onionshim.conf /etc/onionshim/onion_map
}

exim_conf() {
	install -m 644 -o root -g root "$1" /etc/exim4/exim4.conf
}

# exim_daemon_start ARGS...: Exim as a daemon with the library preloaded
# the way a postmaster would (no slash, so also in set-user-ID re-execs).
exim_daemon_start() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LD_PRELOAD="$EXIM_PRELOAD" \
		"$EXIM_BIN" -bd "$@" >"$EXIM_DIR/daemon.out" 2>&1
}

# exim_run_bounded SECONDS ARGS...: Exim in the foreground with the
# library preloaded as for the daemon, killed after SECONDS (status 124).
exim_run_bounded() {
	local secs=$1
	shift
	timeout "$secs" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LD_PRELOAD="$EXIM_PRELOAD" \
		"$EXIM_BIN" "$@"
}

# Exim writes its pid file only with the default options: find the daemon
# by its command line instead.
exim_daemon_pids() {
	local p
	for p in /proc/[0-9]*; do
		{ tr '\0' ' ' <"$p/cmdline" | grep -q "^$EXIM_BIN -bd"; } 2>/dev/null || continue
		e2e_pid_alive "${p#/proc/}" && echo "${p#/proc/}"
	done
	return 0
}

exim_processes() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$EXIM_BIN" ] || continue
		e2e_pid_alive "${p#/proc/}" && echo "${p#/proc/}"
	done
	return 0
}

exim_daemon_stop() {
	local pids
	pids=$(exim_daemon_pids)
	[ -z "$pids" ] || kill $pids 2>/dev/null || true
	e2e_wait 20 exim_all_gone || { pids=$(exim_processes); [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true; }
	e2e_wait 10 exim_all_gone
}

exim_all_gone() { [ -z "$(exim_processes)" ]; }

exim_unworld() {
	[ -n "${EXIM_DIR:-}" ] && [ -d "$EXIM_DIR" ] || return 0
	exim_daemon_stop || true
	local m
	if [ -f "$EXIM_DIR/mounted" ]; then
		for m in $(tac "$EXIM_DIR/mounted"); do umount -l "$m" || true; done
		: >"$EXIM_DIR/mounted"
	fi
	if [ -f "$EXIM_DIR/created" ]; then
		for m in $(tac "$EXIM_DIR/created"); do
			if [ -d "$m" ]; then rmdir "$m" || true; else rm -f "$m" || true; fi
		done
		: >"$EXIM_DIR/created"
	fi
}

# bash tests/e2e/exim.sh fetch: fill the cache, outside any namespace.
if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "${1:-}" = fetch ]; then
	E2E_TOP=$(cd "$(dirname "$0")/../.." && pwd)
	EXIM_DEBS_DIR=$E2E_TOP/build/exim-debs
	exim_fetch
fi
