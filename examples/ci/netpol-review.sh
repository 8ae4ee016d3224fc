#!/usr/bin/env bash
# Review a change of network policies in CI: what it opens and closes, and whether the team's
# expectations still hold. Writes a markdown report and exits 1 when an expectation fails
# (2 on bad input), so that the pipeline fails.
#
#   netpol-review.sh BASE_DIR HEAD_DIR EXPECTATIONS_FILE REPORT.md
set -uo pipefail

base="$1" head="$2" expect="$3" report="$4"
NETPOL="${NETPOL:-netpol}"

{
  echo "## Network policy review"
  echo
} > "$report"

# What the change opens, closes and narrows, and which expectations it breaks or fixes.
"$NETPOL" diff "$base" "$head" --format md --expect "$expect" >> "$report"
diff_status=$?

# Every expectation against the proposed manifests, with the violating flows explained.
echo >> "$report"
"$NETPOL" check "$head" --expect "$expect" --format md >> "$report"
check_status=$?

for status in "$diff_status" "$check_status"; do
  if [ "$status" -ge 2 ]; then exit "$status"; fi
done
if [ "$diff_status" -ne 0 ] || [ "$check_status" -ne 0 ]; then exit 1; fi
exit 0
