# tests/lib.sh - shared by the shell test suites: counting, assertions,
# the preload line (plain or sanitizer build) and the test SOCKS5 server.
# Sourced by bash scripts; B is the build directory.

T_PASS=0
T_FAIL=0
T_CASE=""
T_CASE_FAILED=0

# case NAME - start a test case
t_case() {
	t_end
	T_CASE=$1
	T_CASE_FAILED=0
}

# t_end - close the current case, counting it once
t_end() {
	[ -n "$T_CASE" ] || return 0
	if [ "$T_CASE_FAILED" = 0 ]; then
		T_PASS=$((T_PASS + 1))
		printf 'ok   %s\n' "$T_CASE"
	else
		T_FAIL=$((T_FAIL + 1))
		printf 'FAIL %s\n' "$T_CASE"
	fi
	T_CASE=""
}

t_fail() {
	T_CASE_FAILED=1
	printf '     %s: %s\n' "$T_CASE" "$*"
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || t_fail "$1: got [$2], want [$3]"
}

# expect_match WHAT TEXT REGEX (extended)
expect_match() {
	printf '%s' "$2" | grep -Eq -- "$3" || t_fail "$1: [$2] does not match /$3/"
}

expect_nomatch() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then t_fail "$1: [$2] matches /$3/"; fi
}

# field KEY TEXT - the value of a KEY=... line (values may hold spaces)
field() {
	printf '%s\n' "$2" | sed -n "s/^$1=//p" | head -n 1
}

# rfield KEY RECORD - the value of KEY=... in a one-line, space-separated record
rfield() {
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

# t_summary SUITE - print the closing line; exit status says whether all passed
t_summary() {
	t_end
	printf '%s: %d passed, %d failed\n' "$1" "$T_PASS" "$T_FAIL"
	[ "$T_FAIL" = 0 ]
}

# Debian's own python3: a python3 from a version manager may be a shell
# shim that runs several processes, each of them under the library.
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH

# The preload line: the sanitizer build needs its runtimes first.
preload_line() {
	if [ "${ONIONSHIM_SANITIZE:-0}" = 1 ]; then
		printf '%s %s %s' "$(${CC:-cc} -print-file-name=libasan.so)" \
		    "$(${CC:-cc} -print-file-name=libubsan.so)" "$PWD/$B/libonionshim.so"
	else
		printf '%s' "$PWD/$B/libonionshim.so"
	fi
}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}

# socks5d_start DIR PLAN [ARGS...] - start the test SOCKS5 server; sets
# SOCKS_PORT and SOCKS_PID; records go to DIR/record
socks5d_start() {
	local dir=$1 plan=$2 i
	shift 2
	rm -f "$dir/port" "$dir/record"
	: > "$dir/record"
	"$B/tests/socks5d" --port-file "$dir/port" --record "$dir/record" --plan "$plan" \
	    "$@" 2>>"$dir/socks5d.err" &
	SOCKS_PID=$!
	for i in $(seq 1 100); do
		[ -s "$dir/port" ] && break
		sleep 0.05
	done
	SOCKS_PORT=$(head -n 1 "$dir/port")
	[ -n "$SOCKS_PORT" ] || { echo "socks5d did not start" >&2; return 1; }
}

socks5d_stop() {
	[ -n "${SOCKS_PID:-}" ] || return 0
	kill "$SOCKS_PID" 2>/dev/null
	wait "$SOCKS_PID" 2>/dev/null
	SOCKS_PID=""
}
