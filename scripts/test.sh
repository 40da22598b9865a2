#!/usr/bin/env bash
# Runs every test: setup, one build, then the fast tests and the real checkpoint/restore tests.
# Ends with the line "N passed, N failed" and exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1
scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }
export FERRY_BIN="$PWD/out/ferry"
log=$(mktemp)
status=0
for project in tests/Ferry.Tests tests/Ferry.IntegrationTests; do
  dotnet test "$project" -c Release --no-build --nologo 2>&1 | tee -a "$log" || status=1
done
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE "Skipped: +[0-9]+" "$log" | awk "{s+=\$2} END {print s+0}")
# A test host that crashed ("Test Run Aborted") ran only part of its tests: count it as a failure.
aborted=$(grep -c 'Test Run Aborted' "$log")
failed=$((failed + aborted))
rm -f "$log"
[ "$failed" -gt 0 ] && status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
