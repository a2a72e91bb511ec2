#!/bin/sh
# make check: build, then every suite; the last line adds them up.
# A suite that fails still lets the others run, so one report shows all.
set -u
cd "$(dirname "$0")/.." || exit 2
total_pass=0 total_fail=0 failed=""

# run_suite NAME CMD... - run one suite, add up every "X: N passed, M
# failed" line it prints; a suite that exits non-zero, or prints no such
# line, has failed whatever it counted.
run_suite() {
	name=$1
	shift
	log=$(mktemp)
	"$@" > "$log" 2>&1
	rc=$?
	cat "$log"
	lines=$(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed' "$log")
	p=$(printf '%s\n' "$lines" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p' | awk '{s+=$1} END {print s+0}')
	f=$(printf '%s\n' "$lines" | sed -n 's/.*passed, \([0-9]*\) failed.*/\1/p' | awk '{s+=$1} END {print s+0}')
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ -z "$lines" ] || [ "$rc" != 0 ]; then
		[ "$f" != 0 ] || total_fail=$((total_fail + 1))
		failed="$failed $name"
	fi
	rm -f "$log"
}

make all tests || { echo "check: build failed"; echo "0 passed, 1 failed"; exit 1; }
run_suite unit sh tests/unit/run.sh build
run_suite integration bash tests/integration/all.sh build
run_suite asan make -s check-asan
run_suite fuzz-replay make -s check-fuzz-replay
run_suite stress make -s check-stress
run_suite stress-tsan make -s check-tsan
if [ -x tests/e2e/run.sh ]; then
	# Exim's packages are fetched here: the test namespace has no network
	bash tests/e2e/exim.sh fetch ||
		{ apt-get update -qq && bash tests/e2e/exim.sh fetch; } ||
		echo "e2e: could not fetch Exim's packages; the Exim cases will fail"
	run_suite e2e bash tests/e2e/run.sh
fi
echo
[ -z "$failed" ] || echo "failed suites:$failed"
echo "$total_pass passed, $total_fail failed"
[ -z "$failed" ]
