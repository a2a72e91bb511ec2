#!/bin/bash
# NAME
#	run.sh - run the end-to-end tests inside one network namespace
# SYNOPSIS
#	tests/e2e/run.sh [TEST_NAME...]		(as root)
#	make check-e2e
# DESCRIPTION
#	Re-executes itself under unshare (lib.sh: e2e_enter_ns), brings up
#	one world for all cases (world_up: counting DNS listener, Tor
#	network, two receivers, both onions reachable, and the sending
#	Postfix with onionshim), runs the cases and tears the world
#	down, leaving no process behind.
#
#	Cases are shell functions named test_* defined in
#	tests/e2e/cases/*.sh (files in name order, cases in the order they
#	appear in their file). Each runs in its own
#	subshell with set -e, with every lib.sh function and world variable
#	available (ONION1, RECV1_MAILDIR, SOCKS_PORT, DNS_COUNT_FILE,
#	E2E_TOP, ...); it passes when it returns 0. With TEST_NAME
#	arguments only those functions run. A case must wait with e2e_wait
#	(polling with a deadline), never with a fixed sleep, and must leave
#	the world as it found it (stop what it starts).
#
#	Output: one "ok"/"FAIL" line per case with its duration, a summary
#	line "e2e: N passed, M failed", and the world's timings. Where the
#	world cannot run (not root, no namespaces, a missing package) it
#	says why and fails: a case that did not run never counts as passed.
#	E2E_KEEP=1 keeps the world directory; it is kept anyway when
#	something failed.
# EXIT STATUS
#	0 when every case passed and teardown was clean.

# make check-e2e runs "sh run.sh": this is a bash script.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_ns "$0" "$@"
trap e2e_exit EXIT

for f in "$E2E_HERE"/cases/*.sh; do
	[ -e "$f" ] || continue
	# shellcheck disable=SC1090
	. "$f"
done

if [ $# -gt 0 ]; then
	CASES=("$@")
else
	mapfile -t CASES < <(sed -n 's/^\(test_[A-Za-z0-9_]*\)[ \t]*()[ \t]*{.*/\1/p' \
		"$E2E_HERE"/cases/*.sh)
fi
for c in "${CASES[@]}"; do
	declare -F "$c" >/dev/null || e2e_die "no such case: $c"
done

# Should the world not come up, every case has failed (e2e_exit says so).
E2E_CASES_PENDING=${#CASES[@]}
world_up --with-sender

PASSED=0
FAILED=()
for c in "${CASES[@]}"; do
	t0=$(e2e_now)
	# Outside any condition, so that set -e holds inside the case.
	set +e
	( set -euo pipefail; "$c" ) >"$E2E_WORLD/case.$c.log" 2>&1
	rc=$?
	set -e
	if [ "$rc" = 0 ]; then
		status=ok
		PASSED=$((PASSED + 1))
	else
		status=FAIL
		FAILED+=("$c")
	fi
	t=$(awk -v a="$t0" -v b="$(e2e_now)" 'BEGIN { printf "%.1f", b - a }')
	echo "$status $c (${t}s)" >&2
	[ "$status" = ok ] || sed 's/^/    /' "$E2E_WORLD/case.$c.log" >&2
done
e2e_lap "run: ${#CASES[@]} case(s) done"

world_down
e2e_assert_no_leftovers
e2e_lap "run: world down"
E2E_CASES_PENDING=
echo "e2e: $PASSED passed, ${#FAILED[@]} failed${FAILED:+ (${FAILED[*]})}" >&2
[ "${#FAILED[@]}" = 0 ]
