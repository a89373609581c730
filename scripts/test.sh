#!/usr/bin/env bash
# `npm test`: setup (cached), type check, architecture rules, unit tests, workflow tests (the real workflows on a
# Temporal dev server with stub activities, seconds per file), then integration tests against real servers, all
# on Node >= 22 (scripts/lib/node.sh). Every stage runs even if an earlier one failed, so one report shows
# everything; the exit code is non-zero if any stage failed. The last line is the plain summary
# "N passed, N failed" over all jest tests and the architecture check.
#
#   npm test                        everything
#   npm test -- path/or/pattern     setup, then only the matching tests (all projects)
#
# PATCHWAVE_TEST_WORKERS (default 1 = --runInBand) sets the integration project's parallelism.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { echo "[test] $*"; }

# Node >= 22 first on PATH (.tools/node when the machine's is older), for setup and every stage below.
. scripts/lib/node.sh
use_supported_node "$ROOT" || {
  log "no supported Node.js"
  echo "0 passed, 1 failed"
  exit 1
}

bash scripts/setup.sh --allow-build-errors || {
  log "setup failed"
  echo "0 passed, 1 failed"
  exit 1
}

REPORTS="$(mktemp -d "${TMPDIR:-/tmp}/patchwave-jest-XXXXXX")"
trap 'rm -rf "$REPORTS"' EXIT
status=0
failed_stages=()

# --forceExit: a test that leaks a handle must not hang CI; globalTeardown still runs before the exit.
JEST=(npx jest --ci --forceExit)
WORKERS="${PATCHWAVE_TEST_WORKERS:-1}"
if [ "$WORKERS" = 1 ]; then INTEGRATION_PARALLELISM=(--runInBand); else INTEGRATION_PARALLELISM=(--maxWorkers="$WORKERS"); fi

if [ $# -gt 0 ]; then
  log "jest $*"
  "${JEST[@]}" --json --outputFile="$REPORTS/selected.json" "${INTEGRATION_PARALLELISM[@]}" "$@" || { status=1; failed_stages+=(jest); }
else
  log "type check (tsc --noEmit; the console against the API's generated types)"
  if ! npx tsc -p tsconfig.json --noEmit || ! (cd console && npx tsc -p tsconfig.json --noEmit); then
    status=1
    failed_stages+=(typecheck)
  fi

  # The layering rules of .dependency-cruiser.cjs (no cycles, workflows/ deterministic, nothing below api/
  # imports it, …): one check, counted in the summary as one test.
  log "architecture (dependency-cruiser)"
  if npm run --silent arch; then echo pass >"$REPORTS/architecture.check"; else
    echo fail >"$REPORTS/architecture.check"
    status=1
    failed_stages+=(architecture)
  fi

  log "unit tests"
  "${JEST[@]}" --selectProjects unit --json --outputFile="$REPORTS/unit.json" || { status=1; failed_stages+=(unit); }

  log "workflow tests"
  "${JEST[@]}" --selectProjects workflow --json --outputFile="$REPORTS/workflow.json" || { status=1; failed_stages+=(workflow); }

  log "integration tests"
  "${JEST[@]}" --selectProjects integration "${INTEGRATION_PARALLELISM[@]}" --json --outputFile="$REPORTS/integration.json" ||
    { status=1; failed_stages+=(integration); }
fi

# Jest's JSON report counts tests; a suite that failed to load has no tests, so it counts as one failure,
# and a run that produced no report at all (e.g. global setup failed) counts as one failure too. Each
# non-jest check (*.check: "pass" or "fail") counts as one test.
summary="$(node - "$REPORTS" "$@" <<'EOF'
const fs = require('fs');
const path = require('path');
const dir = process.argv[2];
const expected = process.argv.length > 3 ? ['selected'] : ['unit', 'workflow', 'integration'];
let passed = 0, failed = 0;
for (const name of expected) {
  const file = path.join(dir, `${name}.json`);
  if (!fs.existsSync(file)) { failed += 1; console.error(`[test] ${name}: jest wrote no report`); continue; }
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  for (const s of r.testResults) {
    if (s.status === 'failed' && s.assertionResults.every((a) => a.status !== 'failed')) failed += 1;
  }
}
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.check'))) {
  if (fs.readFileSync(path.join(dir, f), 'utf8').trim() === 'pass') passed += 1;
  else failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
EOF
)" || summary="0 passed, 1 failed"

if [ "${#failed_stages[@]}" -gt 0 ]; then log "FAILED: ${failed_stages[*]}"; else log "all stages passed"; fi
echo "$summary"
exit "$status"
