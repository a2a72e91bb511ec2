#!/bin/sh
# tests/fuzz/replay.sh - replay every stored fuzz input (make check-fuzz-replay).
#
# usage: tests/fuzz/replay.sh BUILD_DIR TARGET...
#
# Runs BUILD_DIR/fuzz-replay/fuzz_NAME (gcc, ASan, UBSan, leak checking on)
# over tests/fuzz/corpus/NAME and tests/fuzz/regress/NAME. Every input is
# one case; the last line is "fuzz-replay: N passed, M failed". A target
# without any stored input fails: an empty corpus would prove nothing.
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${1:?usage: replay.sh BUILD_DIR TARGET...}
shift
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
pass=0
fail=0
for t in "$@"; do
	dirs=
	for d in "tests/fuzz/corpus/$t" "tests/fuzz/regress/$t"; do
		[ -d "$d" ] && dirs="$dirs $d"
	done
	# shellcheck disable=SC2086
	out=$("$B/fuzz-replay/fuzz_$t" $dirs 2>&1)
	rc=$?
	last=$(printf '%s\n' "$out" | tail -n 1)
	p=$(printf '%s\n' "$last" | sed -n 's/^replay .*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(printf '%s\n' "$last" | sed -n 's/^replay .*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then
		p=0
		f=1
	fi
	if [ "$rc" != 0 ]; then
		[ "$f" != 0 ] || f=1
		printf '%s\n' "$out" | grep -v '^replay ' | tail -n 60
		printf 'FAIL fuzz_%s: %s passed, %s failed\n' "$t" "$p" "$f"
	else
		printf 'ok   fuzz_%s: %s inputs\n' "$t" "$p"
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done
printf 'fuzz-replay: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" = 0 ]
