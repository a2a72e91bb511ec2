#!/bin/bash
# Policy tests: what goes through Tor, what is refused, what is left alone,
# and how a broken setup fails closed. Runs in its own network namespace
# (loopback only), so that a regression can never reach another host.
#
# usage: tests/integration/policy.sh [BUILD_DIR]    (needs root)
set -u
B=${1:-build}
cd "$(dirname "$0")/../.." || exit 2

if [ "${2:-}" != --inner ]; then
	if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
		echo "policy tests need root and unshare(1) for their network namespace"
		echo "policy: 0 passed, 1 failed"
		exit 1
	fi
	exec unshare --net --mount --fork bash "$0" "$B" --inner
fi

. tests/lib.sh
ip link set lo up
mount --make-rprivate /
W=$(mktemp -d /tmp/onionshim-policy.XXXXXX)
LISTEN_PID=""
trap 'socks5d_stop; [ -n "$LISTEN_PID" ] && kill $LISTEN_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
PRELOAD=$(preload_line)
O1=pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion
printf 'mapped.example %s\n' "$O1" > "$W/map"
socks5d_start "$W" ok

conf() {
	{
		echo "socks_server = 127.0.0.1:$SOCKS_PORT"
		echo "onion_map = $W/map"
		echo "log_to = $W/log"
		echo "log_level = info"
		echo "connect_timeout = 5s"
		for l in "$@"; do echo "$l"; done
	} > "$W/conf"
	: > "$W/log"
	: > "$W/record"
}

py() {
	ONIONSHIM_CONF=$W/conf LD_PRELOAD=$PRELOAD python3 -c "$1" 2>>"$W/err"
}

# A plain loopback TCP listener that says hello, for direct connections.
python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
open("'"$W"'/plainport", "w").write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept(); c.sendall(b"hello direct\r\n"); c.close()
' &
LISTEN_PID=$!
for i in $(seq 1 100); do [ -s "$W/plainport" ] && break; sleep 0.05; done
PLAIN=$(cat "$W/plainport")

CONNECT='import socket,errno,sys
def go(host, port, fam=socket.AF_INET):
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.settimeout(10); s.connect((host, port)); return s.recv(100).decode().strip()
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e))
'

t_case "route=onion: a plain loopback connection is left alone"
conf "route = onion"
out=$(py "$CONNECT
print(go('127.0.0.1', $PLAIN))")
expect_eq banner "$out" "hello direct"
expect_eq "socks requests" "$(wc -l < "$W/record")" 0

t_case "route=all: a plain IPv4 address goes through Tor by address (ATYP 1)"
conf "route = all"
out=$(py "$CONNECT
print(go('192.0.2.10', 25))")
expect_eq banner "$out" "220 onionshim-test ESMTP"
r=$(sed -n 1p "$W/record")
expect_eq atyp "$(rfield atyp "$r")" 1
expect_eq host "$(rfield host "$r")" 192.0.2.10
expect_eq port "$(rfield port "$r")" 25

t_case "route=all: a plain IPv6 address goes through Tor by address (ATYP 4)"
conf "route = all"
out=$(py "$CONNECT
print(go('2001:470:1::25', 25, socket.AF_INET6))")
expect_eq banner "$out" "220 onionshim-test ESMTP"
r=$(sed -n 1p "$W/record")
expect_eq atyp "$(rfield atyp "$r")" 4
expect_eq host "$(rfield host "$r")" 2001:470:1::25

t_case "route=all: loopback TCP is refused (EPERM) unless allow_localhost"
conf "route = all"
out=$(py "$CONNECT
print(go('127.0.0.1', $PLAIN))")
expect_eq refused "$out" EPERM
expect_match log "$(cat "$W/log")" "connect to 127.0.0.1:$PLAIN refused: loopback, and allow_localhost = no"
conf "route = all" "allow_localhost = yes"
out=$(py "$CONNECT
print(go('127.0.0.1', $PLAIN))")
expect_eq allowed "$out" "hello direct"

t_case "route=all: the SOCKS server itself is always reachable"
conf "route = all"
out=$(py "import socket
s = socket.create_connection(('127.0.0.1', $SOCKS_PORT)); s.sendall(b'\x05\x01\x00'); print(s.recv(2).hex())")
expect_eq "method reply" "$out" 0500

TFO='import socket,errno
def tfo(host, port):
    s = socket.socket()
    try:
        s.sendto(b"EHLO x\r\n", socket.MSG_FASTOPEN, (host, port)); return "sent"
    except OSError as e:
        return "EOPNOTSUPP" if e.errno == errno.EOPNOTSUPP else errno.errorcode.get(e.errno, str(e))
'
t_case "TCP Fast Open to a fake address fails with EOPNOTSUPP (the program falls back)"
conf "route = onion"
out=$(py "$TFO
print(tfo(socket.getaddrinfo('mapped.example', 25, socket.AF_INET)[0][4][0], 25))")
expect_eq tfo "$out" EOPNOTSUPP
expect_eq "socks requests" "$(wc -l < "$W/record")" 0

t_case "TCP Fast Open under route=all to a plain address fails with EOPNOTSUPP"
conf "route = all"
out=$(py "$TFO
print(tfo('192.0.2.10', 25))")
expect_eq tfo "$out" EOPNOTSUPP

t_case "route=onion: a datagram to a fake address is refused (EPERM)"
conf "route = onion"
out=$(py "import socket,errno
a = socket.getaddrinfo('mapped.example', 25, socket.AF_INET)[0][4][0]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try: s.sendto(b'x', (a, 25)); print('sent')
except OSError as e: print(errno.errorcode[e.errno])")
expect_eq udp "$out" EPERM

INBOUND='import socket,errno,os
def inet_listen():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0)); s.listen(1); return "listening"
    except OSError as e:
        return errno.errorcode[e.errno]
'
t_case "inbound: inet listen() is refused (EPERM) with allow_inbound = no, and logged"
conf "route = onion"
out=$(py "$INBOUND
print(inet_listen())")
expect_eq listen "$out" EPERM
expect_match log "$(cat "$W/log")" "listen\(\) on an inet socket refused: allow_inbound = no"

t_case "inbound: inet listen() and accept() work with allow_inbound = yes"
conf "route = onion" "allow_inbound = yes"
out=$(py "import socket
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)
c = socket.create_connection(s.getsockname()); a, _ = s.accept(); a.sendall(b'in'); print(c.recv(2).decode())")
expect_eq accepted "$out" in

t_case "inbound: AF_UNIX listen, accept(fd, NULL, NULL) and accept4 always work"
conf "route = all"
make -s "$B/tests/unixaccept" >/dev/null 2>&1
out=$(ONIONSHIM_CONF=$W/conf LD_PRELOAD=$PRELOAD "$B/tests/unixaccept" "$W/sock" 2>&1)
expect_eq unix "$out" "accept=ok accept4=ok"

t_case "inbound: accept() on an inherited inet listener is refused (EPERM)"
conf "route = onion"
out=$(ONIONSHIM_CONF=$W/conf python3 -c "
import socket, os, subprocess, sys
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)
os.set_inheritable(s.fileno(), True)
env = dict(os.environ, LD_PRELOAD='$PRELOAD')
code = 'import socket,errno\ns=socket.socket(fileno=%d)\ns.setblocking(False)\ntry: s.accept(); print(\"accepted\")\nexcept OSError as e: print(errno.errorcode[e.errno])' % s.fileno()
print(subprocess.run([sys.executable, '-c', code], env=env, pass_fds=[s.fileno()], capture_output=True, text=True).stdout.strip())")
expect_eq accept "$out" EPERM

BROKEN='import socket,errno,os
out = []
try: socket.getaddrinfo("mapped.example", 25); out.append("resolved")
except socket.gaierror as e: out.append("EAI_AGAIN" if e.errno == socket.EAI_AGAIN else str(e))
s = socket.socket()
try: s.connect(("192.0.2.10", 25)); out.append("connected")
except OSError as e: out.append(errno.errorcode[e.errno])
out.append(socket.getaddrinfo("127.0.0.1", 25, socket.AF_INET)[0][4][0])
a, b = socket.socketpair(); a.sendall(b"u"); out.append(b.recv(1).decode())
p = "'"$W"'/bsock"
if os.path.exists(p): os.unlink(p)
u = socket.socket(socket.AF_UNIX); u.bind(p); u.listen(1)
c = socket.socket(socket.AF_UNIX); c.connect("'"$W"'/bsock"); out.append("unix-ok")
print(" ".join(out))
'
t_case "a config that does not parse: lookups EAI_AGAIN, inet connects EPERM, AF_UNIX and numeric work, one log line"
conf "route = tor"
out=$(py "$BROKEN"; echo "exit=$?")
expect_eq calls "$out" "$(printf 'EAI_AGAIN EPERM 127.0.0.1 u unix-ok\nexit=0')"
expect_match log "$(head -n 1 "$W/log")" "error: $W/conf:6: route: \"tor\" is not one of all, onion; inet connections and name lookups fail until it is fixed"
expect_eq "start-up error lines" "$(grep -c 'fail until it is fixed' "$W/log")" 1

t_case "a missing onion_map fails closed the same way, naming the map"
conf "route = onion"
sed -i "s#^onion_map = .*#onion_map = $W/nonexistent#" "$W/conf"
out=$(py "$BROKEN")
expect_eq calls "$out" "EAI_AGAIN EPERM 127.0.0.1 u unix-ok"
expect_match log "$(head -n 1 "$W/log")" "onion_map $W/nonexistent: No such file or directory"

t_case "a missing config file named by ONIONSHIM_CONF fails closed"
out=$(ONIONSHIM_CONF=$W/absent.conf ONIONSHIM_LOG_TO=$W/log2 LD_PRELOAD=$PRELOAD python3 -c "$BROKEN")
expect_eq calls "$out" "EAI_AGAIN EPERM 127.0.0.1 u unix-ok"
expect_match log "$(cat "$W/log2")" "absent.conf"

t_case "an unreachable SocksPort: connect fails ENETDOWN within the call, the program goes on"
conf "route = onion"
sed -i "s#^socks_server = .*#socks_server = 127.0.0.1:9#" "$W/conf"
out=$(py "$CONNECT
a = socket.getaddrinfo('mapped.example', 25, socket.AF_INET)[0][4][0]
print(go(a, 25)); print('still running')")
expect_eq calls "$out" "$(printf 'ENETDOWN\nstill running')"
expect_match log "$(cat "$W/log")" "no SOCKS server answered \(127.0.0.1:9: Connection refused\)"

t_case "environment overrides are ignored in a set-user-ID process"
# The loader only preloads a library from a trusted directory into a
# secure-execution process, so bind our library over a system library file
# that the test program does not use, with the set-user-ID bit as ld.so(8)
# asks, and run a set-user-ID copy of python as nobody.
libdir=$(dirname "$(ldconfig -p | sed -n 's/.*libcmocka.so.0 .*=> //p' | head -n 1)")
# (the plain build: a sanitizer build cannot load without its runtime first)
[ -f build/libonionshim.so ] || make -s build/libonionshim.so >/dev/null
if [ -n "$libdir" ] && cp build/libonionshim.so "$W/shim.so" && chmod 4755 "$W/shim.so" &&
   mount --bind "$W/shim.so" "$libdir/libcmocka.so.0" && mkdir -p "$W/etc" &&
   cp /usr/bin/python3 "$W/py" && chmod 4755 "$W/py" && chmod 755 "$W"; then
	mkdir -p /etc/onionshim
	mount -t tmpfs tmpfs /etc/onionshim
	printf 'onion_map =\nroute = onion\nlog_to = %s/syslike\n' "$W" > /etc/onionshim/onionshim.conf
	touch "$W/syslike"; chmod 666 "$W/syslike"
	conf "route = onion"
	chmod 644 "$W/conf" "$W/map"
	code='import socket
try: socket.getaddrinfo("abc.onion", 25)
except socket.gaierror: pass
try: print(socket.getaddrinfo("mapped.example", 25, socket.AF_INET)[0][4][0])
except socket.gaierror as e: print("gaierror", e.errno)'
	# Only the set-user-ID process runs with euid 0, so only it could create
	# a file in $W; setpriv and env run as nobody.
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env "$@"; }
	# not set-user-ID: the environment names the config, the map applies
	out=$(as_nobody ONIONSHIM_CONF=$W/conf LD_PRELOAD=libcmocka.so.0 /usr/bin/python3 -c "$code")
	expect_match "plain process" "$out" '^24[0-7]\.'
	# set-user-ID: ONIONSHIM_CONF and ONIONSHIM_LOG_TO are ignored
	out=$(as_nobody ONIONSHIM_CONF=$W/conf ONIONSHIM_LOG_TO=$W/evil.log LD_PRELOAD=libcmocka.so.0 "$W/py" -c "$code")
	expect_nomatch "setuid process" "$out" '^24[0-7]\.'
	[ -e "$W/evil.log" ] && t_fail "ONIONSHIM_LOG_TO was honoured in a set-user-ID process"
	grep -q "^" "$W/syslike" || t_fail "the library did not run in the set-user-ID process (no log line from the system config)"
	umount "$libdir/libcmocka.so.0" /etc/onionshim
else
	t_fail "could not set up the set-user-ID test"
fi

t_summary policy
