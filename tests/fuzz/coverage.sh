#!/bin/sh
# tests/fuzz/coverage.sh - how much of the pure modules the stored fuzz
# inputs reach (make fuzz-coverage).
#
# usage: tests/fuzz/coverage.sh BUILD_DIR TARGET...
#
# Replays tests/fuzz/corpus and tests/fuzz/regress through the --coverage
# build in BUILD_DIR/fuzz-cov (every target adds to the same counters) and
# prints gcov's line and branch figures for each library file.
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${1:?usage: coverage.sh BUILD_DIR TARGET...}
shift
find "$B/fuzz-cov" -name '*.gcda' -delete
for t in "$@"; do
	dirs=
	for d in "tests/fuzz/corpus/$t" "tests/fuzz/regress/$t"; do
		[ -d "$d" ] && dirs="$dirs $d"
	done
	# shellcheck disable=SC2086
	"$B/fuzz-cov/fuzz_$t" $dirs | tail -n 1
done
for src in lib/config.c lib/dnsmsg.c lib/fake.c lib/map.c lib/onion.c lib/sha3.c \
    lib/socks5.c lib/util.c; do
	gcov -n -b -o "$B/fuzz-cov/obj/lib" "$src" 2>/dev/null | awk -v f="$src" '
		/^File / { keep = index($0, f) > 0 }
		keep && /^Lines executed:/ { sub(/^Lines executed:/, ""); l = $0 }
		keep && /^Taken at least once:/ { sub(/^Taken at least once:/, ""); t = $0 }
		END { printf "%-14s lines %-18s branches taken %s\n", f, l, t }'
done
