#!/bin/bash
# Leak tests: in a fresh network and mount namespace (loopback only), the
# process under test sees an /etc/resolv.conf that points at a counting DNS
# listener on 127.0.0.1:53 (UDP and TCP). Every resolving entry point is
# called under the library and must leave the count at zero; the same calls
# without the library must raise it, so that a zero means something.
#
# usage: tests/integration/leak.sh [BUILD_DIR]    (needs root: namespaces)
set -u
B=${1:-build}
cd "$(dirname "$0")/../.." || exit 2

if [ "${2:-}" != --inner ]; then
	if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
		echo "leak tests need root and unshare(1) for their network namespace"
		echo "leak: 0 passed, 1 failed"
		exit 1
	fi
	exec unshare --net --mount --fork bash "$0" "$B" --inner
fi

. tests/lib.sh
W=$(mktemp -d /tmp/onionshim-leak.XXXXXX)
DNS_PID=""
trap 'socks5d_stop; [ -n "$DNS_PID" ] && kill $DNS_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
PRELOAD=$(preload_line)

# The namespace: loopback up, our resolv.conf, local resolver daemons hidden.
ip link set lo up
mount --make-rprivate /
for d in /run/nscd /run/systemd/resolve; do
	[ -d "$d" ] && mount -t tmpfs tmpfs "$d"
done
printf 'nameserver 127.0.0.1\nsearch example.com\noptions attempts:1 timeout:1\n' > "$W/resolv.conf"
mount --bind "$W/resolv.conf" /etc/resolv.conf
printf '127.0.0.1 localhost\n::1 localhost\n' > "$W/hosts"
mount --bind "$W/hosts" /etc/hosts

python3 tests/dnscount.py --addr 127.0.0.1 --port 53 --count-file "$W/count" 2>"$W/dns.err" &
DNS_PID=$!
for i in $(seq 1 100); do [ -s "$W/count" ] && break; sleep 0.05; done
[ -s "$W/count" ] || { echo "the counting DNS listener did not start"; cat "$W/dns.err"; exit 1; }

O1=pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion
printf 'mapped.example %s\n.mapped.example %s\n' "$O1" "$O1" > "$W/map"
# The SOCKS server answers every RESOLVE with "host unreachable": route =
# all lookups of other names then fail, as they would with Tor unable to
# resolve, and the test sees that they went there and nowhere else.
socks5d_start "$W" ok

conf() {
	{
		echo "socks_server = 127.0.0.1:$SOCKS_PORT"
		echo "onion_map = $W/map"
		echo "route = $1"
		echo "log_to = $W/log"
		echo "log_level = info"
		echo "connect_timeout = 5s"
	} > "$W/conf"
}

count() { cat "$W/count"; }

# under ROUTE CMD... - run CMD under the library; OUT holds its output,
# DELTA the queries the listener counted meanwhile
under() {
	local route=$1 before
	shift
	conf "$route"
	before=$(count)
	OUT=$(ONIONSHIM_CONF=$W/conf LD_PRELOAD=$PRELOAD "$@" 2>>"$W/err")
	DELTA=$(( $(count) - before ))
}

# bare CMD... - the same call without the library (the control)
bare() {
	local before
	before=$(count)
	OUT=$("$@" 2>>"$W/err")
	DELTA=$(( $(count) - before ))
}

R=$B/tests/resolver
RES_FUNCS="res_query res_search res_querydomain res_send res_nquery res_nsearch res_nquerydomain res_nsend"

# --- other names, route = all: fail closed, nothing counted -------------

for mode in unspec inet inet6 null canon; do
	t_case "route=all getaddrinfo($mode) of a plain name: EAI_AGAIN, 0 queries (control counts)"
	under all "$R" getaddrinfo leak.example.net $mode
	expect_eq rc "$(field rc "$OUT")" EAI_AGAIN
	expect_eq queries "$DELTA" 0
	bare "$R" getaddrinfo leak.example.net $mode
	[ "$DELTA" -gt 0 ] || t_fail "control: the listener counted no query without the library"
done

t_case "AI_NUMERICHOST with a name: EAI_NONAME, 0 queries"
under all "$R" getaddrinfo leak.example.net numeric
expect_eq rc "$(field rc "$OUT")" EAI_NONAME
expect_eq queries "$DELTA" 0

for fn in gethostbyname gethostbyname2 gethostbyname_r gethostbyname2_r; do
	t_case "route=all $fn of a plain name: TRY_AGAIN, 0 queries (control counts)"
	under all "$R" $fn leak.example.net
	expect_eq h_errno "$(field h_errno "$OUT")" TRY_AGAIN
	expect_eq queries "$DELTA" 0
	bare "$R" $fn leak.example.net
	[ "$DELTA" -gt 0 ] || t_fail "control: no query counted"
done

for fn in $RES_FUNCS; do
	for spelling in $fn __$fn; do
		t_case "route=all $spelling of a plain name: TRY_AGAIN where the caller reads it, 0 queries"
		under all "$R" $spelling leak.example.net mx
		expect_eq rc "$(field rc "$OUT")" -1
		expect_eq h_errno "$(field h_errno "$OUT")" TRY_AGAIN
		case $fn in res_n*) expect_eq res_h_errno "$(field res_h_errno "$OUT")" TRY_AGAIN ;; esac
		expect_eq queries "$DELTA" 0
	done
	t_case "control: $fn without the library reaches the listener"
	bare "$R" $fn leak.example.net mx
	[ "$DELTA" -gt 0 ] || t_fail "no query counted"
done

t_case "route=all res_search of a short name with a search list: 0 queries (control counts)"
under all "$R" res_search mx mx
expect_eq h_errno "$(field h_errno "$OUT")" TRY_AGAIN
expect_eq queries "$DELTA" 0
bare "$R" res_search mx mx
[ "$DELTA" -gt 0 ] || t_fail "control: no query counted"

t_case "route=all UDP sendto to 127.0.0.1:53: EPERM, 0 queries (control counts)"
udp='import socket,errno
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
q=bytes.fromhex("123401000001000000000000046c65616b076578616d706c65036e65740000010001")
try:
    s.sendto(q,("127.0.0.1",53)); print("sent")
except OSError as e: print(errno.errorcode[e.errno])'
under all python3 -c "$udp"
expect_eq sendto "$OUT" EPERM
expect_eq queries "$DELTA" 0
bare python3 -c "$udp"
expect_eq "control sendto" "$OUT" sent
sleep 0.2
[ "$(count)" -gt 0 ] || t_fail "control: no query counted"

t_case "route=all UDP sendmsg and connect+send to port 53: EPERM, 0 queries"
udp2='import socket,errno
q=bytes.fromhex("123401000001000000000000046c65616b076578616d706c65036e65740000010001")
out=[]
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
try: s.sendmsg([q],[],0,("127.0.0.1",53)); out.append("sent")
except OSError as e: out.append(errno.errorcode[e.errno])
try: s.connect(("127.0.0.1",53)); s.send(q); out.append("sent")
except OSError as e: out.append(errno.errorcode[e.errno])
print(" ".join(out))'
under all python3 -c "$udp2"
expect_eq results "$OUT" "EPERM EPERM"
expect_eq queries "$DELTA" 0

t_case "route=all TCP connect to 127.0.0.1:53: EPERM, 0 queries (control counts)"
tcp='import socket,errno,struct
q=bytes.fromhex("123401000001000000000000046c65616b076578616d706c65036e65740000010001")
s=socket.socket(socket.AF_INET,socket.SOCK_STREAM)
try:
    s.connect(("127.0.0.1",53)); s.sendall(struct.pack("!H",len(q))+q); s.recv(512); print("sent")
except OSError as e: print(errno.errorcode[e.errno])'
under all python3 -c "$tcp"
expect_eq connect "$OUT" EPERM
expect_eq queries "$DELTA" 0
bare python3 -c "$tcp"
[ "$DELTA" -gt 0 ] || t_fail "control: no query counted"

t_case "route=all getnameinfo and gethostbyaddr of a plain address: no PTR query"
under all "$R" getnameinfo 192.0.2.7
expect_eq rc "$(field rc "$OUT")" 0
expect_eq host "$(field host "$OUT")" 192.0.2.7
expect_eq queries "$DELTA" 0
under all "$R" getnameinfo 192.0.2.7 namereqd
expect_eq "namereqd rc" "$(field rc "$OUT")" EAI_AGAIN
under all "$R" gethostbyaddr 192.0.2.7
expect_eq h_errno "$(field h_errno "$OUT")" TRY_AGAIN
expect_eq queries "$DELTA" 0
bare "$R" getnameinfo 192.0.2.7 namereqd
[ "$DELTA" -gt 0 ] || t_fail "control: no PTR query counted"

t_case "getaddrinfo_a is refused under route=all (its lookups bypass every hook)"
under all "$R" getaddrinfo_a leak.example.net
expect_eq rc "$(field rc "$OUT")" EAI_AGAIN
expect_eq queries "$DELTA" 0
bare "$R" getaddrinfo_a leak.example.net
[ "$DELTA" -gt 0 ] || t_fail "control: no query counted"

# --- onion and mapped names: answered by the library, under both routes --

for route in all onion; do
	for mode in unspec inet inet6 null canon; do
		t_case "route=$route getaddrinfo($mode) of a mapped name: fake address, 0 queries"
		under $route "$R" getaddrinfo mx.mapped.example $mode
		expect_eq rc "$(field rc "$OUT")" 0
		case $mode in
		inet6) expect_match addr "$(field addr "$OUT")" '^2001:db8:' ;;
		*) expect_match addr "$(field addr "$OUT")" '^24[0-7]\.' ;;
		esac
		[ $mode = canon ] && expect_eq canon "$(field canon "$OUT")" mx.mapped.example
		expect_eq queries "$DELTA" 0
	done
	for fn in gethostbyname gethostbyname2 gethostbyname_r gethostbyname2_r; do
		t_case "route=$route $fn of an onion: answered, 0 queries"
		under $route "$R" $fn "$O1"
		expect_eq h_errno "$(field h_errno "$OUT")" 0
		expect_eq h_name "$(field h_name "$OUT")" "$O1"
		expect_eq queries "$DELTA" 0
	done
	for fn in $RES_FUNCS; do
		for spelling in $fn __$fn; do
			t_case "route=$route $spelling MX of a mapped domain: the onion, AD clear, 0 queries"
			under $route "$R" $spelling mapped.example mx
			expect_eq rc "$(field rc "$OUT")" 0
			expect_eq mx "$(field mx "$OUT")" "$O1"
			expect_eq ad "$(field ad "$OUT")" 0
			expect_eq queries "$DELTA" 0
		done
	done
	t_case "route=$route res_nsend answers with the caller's id, question and OPT"
	under $route "$R" res_nsend mapped.example a+edns
	expect_eq id "$(field id "$OUT")" 16962
	expect_eq question "$(field question "$OUT")" mapped.example
	expect_match a "$(field a "$OUT")" '^24[0-7]\.'
	expect_eq arcount "$(field arcount "$OUT")" 1
	expect_eq queries "$DELTA" 0
	t_case "route=$route res_query AAAA gives the IPv6 fake, TXT is NODATA, 0 queries"
	under $route "$R" res_query "$O1" aaaa
	expect_match aaaa "$(field aaaa "$OUT")" '^2001:db8:'
	under $route "$R" res_query "$O1" txt
	expect_eq "txt h_errno" "$(field h_errno "$OUT")" NO_DATA
	expect_eq queries "$DELTA" 0
	t_case "route=$route res_search of a short name whose search-list form is mapped: 0 queries"
	printf 'mapped.example %s\nmx.example.com %s\n' "$O1" "$O1" > "$W/map"
	under $route "$R" res_search mx mx
	expect_eq mx "$(field mx "$OUT")" "$O1"
	expect_eq queries "$DELTA" 0
	printf 'mapped.example %s\n.mapped.example %s\n' "$O1" "$O1" > "$W/map"
	t_case "route=$route an invalid onion is deferred by every entry point, 0 queries"
	under $route "$R" getaddrinfo abcdef.onion
	expect_eq getaddrinfo "$(field rc "$OUT")" EAI_AGAIN
	under $route "$R" res_nquery abcdef.onion mx
	expect_eq res_h_errno "$(field res_h_errno "$OUT")" TRY_AGAIN
	under $route "$R" gethostbyname abcdef.onion
	expect_eq h_errno "$(field h_errno "$OUT")" TRY_AGAIN
	expect_eq queries "$DELTA" 0
done

t_case "route=onion passes other names to libc (the listener counts them)"
under onion "$R" getaddrinfo leak.example.net
[ "$DELTA" -gt 0 ] || t_fail "route = onion did not let a plain name through"
under onion "$R" res_query leak.example.net mx
[ "$DELTA" -gt 0 ] || t_fail "route = onion did not let res_query through"

t_case "route=onion getaddrinfo_a of a plain name works; of a mapped name refused, 0 queries"
under onion "$R" getaddrinfo_a mapped.example
expect_eq rc "$(field rc "$OUT")" EAI_AGAIN
expect_eq queries "$DELTA" 0

t_case "getnameinfo on a fake address gives the onion; numeric gives the address; overflow"
under onion "$R" getaddrinfo mapped.example inet
fake=$(field addr "$OUT")
under onion "$R" getnameinfo "$fake"
expect_eq host "$(field host "$OUT")" "$O1"
expect_eq serv "$(field serv "$OUT")" 25
under onion "$R" getnameinfo "$fake" numeric
expect_eq numeric "$(field host "$OUT")" "$fake"
under onion "$R" getnameinfo "$fake" small
expect_eq overflow "$(field rc "$OUT")" EAI_OVERFLOW
under onion "$R" gethostbyaddr "$fake"
expect_eq gethostbyaddr "$(field h_name "$OUT")" "$O1"
expect_eq queries "$DELTA" 0

t_summary leak
