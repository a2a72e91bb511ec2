#!/bin/sh
# Run every cmocka unit test binary in BUILD_DIR/tests and add up the counts.
# usage: tests/unit/run.sh [BUILD_DIR]
B=${1:-build}
pass=0 fail=0 status=0
for src in tests/unit/test_*.c; do
	t=$B/tests/$(basename "$src" .c)
	out=$("$t" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p')
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p')
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
	if [ "$rc" != 0 ] || [ -z "$p$f" ]; then
		# a crash or a sanitizer report counts as a failure even with no count
		[ -n "$f" ] || fail=$((fail + 1))
		status=1
		printf '%s\n' "$out" | grep -vE '^\[ +(OK|RUN) +\]' | tail -n 40
		printf 'FAIL %s (exit %d)\n' "$t" "$rc"
	else
		printf 'ok   %s: %s tests\n' "$t" "$p"
	fi
done
printf 'unit: %d passed, %d failed\n' "$pass" "$fail"
exit $status
