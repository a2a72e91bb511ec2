#!/bin/sh
# tests/fuzz/run.sh - run the libFuzzer targets one after another (make fuzz).
#
# usage: tests/fuzz/run.sh BUILD_DIR TARGET...
#        tests/fuzz/run.sh --merge BUILD_DIR TARGET...
#
# Each target runs FUZZ_SECONDS (default 60) in one process, starting from
# its stored corpus (tests/fuzz/corpus/NAME) and crash regressions
# (tests/fuzz/regress/NAME); new inputs go to BUILD_DIR/fuzz/corpus/NAME,
# crashes to BUILD_DIR/fuzz/crashes/NAME/. The final statistics of each
# run (executions, exec/s, cov, ft, new units, peak RSS) go to stdout and
# to BUILD_DIR/fuzz/NAME.summary; BUILD_DIR/fuzz/summary.txt collects the
# latest line of every target.
#
# --merge folds BUILD_DIR/fuzz/corpus/NAME into tests/fuzz/corpus/NAME,
# keeping only inputs that add coverage (libFuzzer -merge=1).
#
# Exits 1 if any target crashed, leaked, hit a sanitizer or timed out.
set -u
cd "$(dirname "$0")/../.." || exit 2
merge=0
if [ "${1:-}" = --merge ]; then
	merge=1
	shift
fi
B=${1:?usage: run.sh [--merge] BUILD_DIR TARGET...}
shift
secs=${FUZZ_SECONDS:-60}
status=0

if [ "$merge" = 1 ]; then
	for t in "$@"; do
		mkdir -p "tests/fuzz/corpus/$t" "$B/fuzz/corpus/$t"
		mkdir -p "$B/fuzz/crashes/$t"
		# An input that fails is left out of the corpus: say so.
		"$B/fuzz/fuzz_$t" -merge=1 -artifact_prefix="$B/fuzz/crashes/$t/" \
		    "tests/fuzz/corpus/$t" "$B/fuzz/corpus/$t" >"$B/fuzz/merge-$t.log" 2>&1 ||
		    status=1
		if grep -q 'caused a failure' "$B/fuzz/merge-$t.log"; then
			echo "$t: inputs fail (left out; see $B/fuzz/merge-$t.log)"
			status=1
		fi
		printf '%s: %s files in tests/fuzz/corpus/%s\n' "$t" \
		    "$(ls "tests/fuzz/corpus/$t" | wc -l)" "$t"
	done
	exit $status
fi

# stat KEY LOG - a value from libFuzzer's -print_final_stats block
stat() {
	sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

# last_field KEY LOG - the last "KEY: N" on a progress line (cov, ft, corp)
last_field() {
	grep -E "^#[0-9]+" "$2" | tail -n 1 | sed -n "s/.* $1: \([0-9/a-zA-Z]*\).*/\1/p"
}

summary=$B/fuzz/summary.txt
for t in "$@"; do
	work=$B/fuzz/corpus/$t
	crashes=$B/fuzz/crashes/$t
	log=$B/fuzz/$t.log
	mkdir -p "$work" "$crashes" "tests/fuzz/corpus/$t" "tests/fuzz/regress/$t"
	dict=
	[ -f "tests/fuzz/$t.dict" ] && dict=-dict=tests/fuzz/$t.dict
	echo "fuzzing $t for ${secs}s ..."
	# shellcheck disable=SC2086
	"$B/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix="$crashes/" $dict \
	    "$work" "tests/fuzz/corpus/$t" "tests/fuzz/regress/$t" > "$log" 2>&1
	rc=$?
	result=ok
	if [ "$rc" != 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|check failed' "$log"; then
		result="FAILED (exit $rc; see $log and $crashes/)"
		status=1
	fi
	line=$(printf '%-7s execs=%s exec/s=%s cov=%s ft=%s corpus=%s new_units=%s peak_rss_mb=%s result=%s' \
	    "$t" "$(stat number_of_executed_units "$log")" "$(stat average_exec_per_sec "$log")" \
	    "$(last_field cov "$log")" "$(last_field ft "$log")" "$(last_field corp "$log")" \
	    "$(stat new_units_added "$log")" "$(stat peak_rss_mb "$log")" "$result")
	echo "$line"
	printf '%s seconds=%s date=%s\n' "$line" "$secs" "$(date -u '+%Y-%m-%dT%H:%MZ')" \
	    > "$B/fuzz/$t.summary"
done
# The last run of every target, whichever make fuzz ran it.
cat "$B"/fuzz/*.summary > "$summary"
echo "summary: $summary"
exit $status
