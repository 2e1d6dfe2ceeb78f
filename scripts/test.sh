#!/usr/bin/env bash
# The test command (`make test`): install, start the stack, lint, type-check, test, stop the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

bash scripts/bootstrap.sh
# Headless Chromium for the browser tests (tests/e2e), from Debian: Playwright's own browser
# downloads cannot be fetched here.
bash scripts/install_browser.sh
SP=.venv/bin/salespulse

# Stop the stack afterwards only if this run started it (a developer's running stack stays up).
started_here=0
if [ -z "${KAFKA_BOOTSTRAP:-}" ] || [ -z "${DATABASE_URL:-}" ]; then
  if ! $SP stack status >/dev/null 2>&1; then started_here=1; fi
fi
cleanup() {
  # The servers' addresses were exported for the tests; `down` must see the local stack again.
  if [ "$started_here" = 1 ]; then env -u KAFKA_BOOTSTRAP -u DATABASE_URL $SP stack down || true; fi
  echo "test.sh: wall time $(( $(date +%s) - start ))s"
}
trap cleanup EXIT

up_output=$($SP stack up)
echo "$up_output"
# The tests use exactly these servers (tests/conftest.py, provider 1).
# (Variables already set are kept: the printed URL has its password redacted.)
[ -n "${KAFKA_BOOTSTRAP:-}" ] || eval "export $(grep -E '^KAFKA_BOOTSTRAP=' <<<"$up_output")"
[ -n "${DATABASE_URL:-}" ] || eval "export $(grep -E '^DATABASE_URL=' <<<"$up_output")"

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest "$@"
