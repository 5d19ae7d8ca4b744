#!/usr/bin/env bash
# The same .venv plus the test extras, then ruff, bandit and pytest (warnings are errors).
# Extra arguments go to pytest, e.g. ./test.sh -k scoring
set -euo pipefail
cd "$(dirname "$0")"
. scripts/ensure-venv.sh
ensure_venv test
echo "== ruff"
.venv/bin/ruff check surveyapp tests bench
echo "== bandit"
.venv/bin/bandit -q -c bandit.yaml -r surveyapp
echo "== pytest"
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
fi
exit "$status"
