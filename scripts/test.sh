#!/usr/bin/env bash
# The one test command (`npm test`). Runs every stage even after a failure, so one run
# reports everything; exits non-zero if anything failed. The last line is always
# "N passed, N failed": vitest + Playwright test counts, plus one failure for each
# failed stage (setup, typecheck, lint, build) or runner that failed without a count.
set -uo pipefail
cd "$(dirname "$0")/.."

results=test-results
mkdir -p "$results"
rm -f "$results/vitest.json" "$results/playwright.json"

stage_failures=0
declare -a summary=()

run_stage() { # name, command...
  local name=$1; shift
  echo "=== $name: $*"
  if "$@"; then summary+=("$name: ok"); return 0; fi
  summary+=("$name: FAILED"); stage_failures=$((stage_failures + 1)); return 1
}

# Prints "passed failed" from a runner's JSON report; "0 0" when it is missing or unreadable.
count() { # kind, file
  node -e '
    const [kind, file] = process.argv.slice(1);
    let r; try { r = JSON.parse(require("fs").readFileSync(file, "utf8")); } catch { r = null; }
    let passed = 0, failed = 0;
    if (r && kind === "vitest") { passed = r.numPassedTests ?? 0; failed = r.numFailedTests ?? 0; }
    if (r && kind === "playwright") {
      const s = r.stats ?? {};
      passed = (s.expected ?? 0) + (s.flaky ?? 0); failed = s.unexpected ?? 0;
    }
    console.log(passed, failed);
  ' "$1" "$2"
}

passed=0
failed=0
# Adds a runner's counts; a non-zero exit with no failed test (crash, load error,
# web server that never started) still counts as one failure.
add_counts() { # kind, file, exit code
  local p f
  read -r p f < <(count "$1" "$2")
  if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  summary+=("$1: $p passed, $f failed")
}

run_stage setup bash scripts/setup.sh
run_stage typecheck npm run typecheck
run_stage lint npm run lint

echo "=== vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results/vitest.json"
add_counts vitest "$results/vitest.json" $?

if run_stage build npm run build; then
  echo "=== playwright"
  npx playwright test
  add_counts playwright "$results/playwright.json" $?
else
  summary+=("playwright: skipped (no build)")
fi

failed=$((failed + stage_failures))
echo "=== summary"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
