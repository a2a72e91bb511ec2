#!/bin/bash
# Run every integration suite (tests/integration/*.sh but this one); each
# prints its own "NAME: N passed, M failed" line. Fails if any suite did.
B=${1:-build}
cd "$(dirname "$0")/../.." || exit 2
status=0
for suite in tests/integration/*.sh; do
	[ "$suite" = tests/integration/all.sh ] && continue
	bash "$suite" "$B" || status=1
done
exit $status
