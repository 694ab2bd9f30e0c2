#!/usr/bin/env bash
# npm test: install what is missing, then lint, type check, unit and end-to-end
# tests against the real parts. Prints one closing line "N passed, N failed".
source "$(dirname "$0")/lib/toolchain.sh"
ensure_all
cd "$REPO_ROOT"

log "node $(node --version), $(redis-server --version | cut -d' ' -f3)"
log "lint"; npx eslint .
log "type check"; npx tsc -p tsconfig.json

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
status=0
log "unit tests"; npx mocha --config .mocharc.unit.json 2>&1 | tee -a "$out" || status=1
log "end-to-end tests"; npx mocha --config .mocharc.e2e.json 2>&1 | tee -a "$out" || status=1

# awk alone (not grep | awk): a count that never appears must not fail the script under pipefail.
count() { awk -v word="$1" '$2 == word && $1 ~ /^[0-9]+$/ {s += $1} END {print s + 0}' "$out"; }
passed=$(count passing)
failed=$(count failing)
pending=$(count pending)
[ "$passed" -gt 0 ] || status=1
echo "tests: $passed passed, $failed failed, $pending skipped"
exit $status
