#!/usr/bin/env bash
# The same .venv plus the test extras, then ruff, bandit and pytest (warnings are errors).
# Extra arguments go to pytest, e.g. ./test.sh -k scoring
# The whole suite runs in TEST_WORKERS pytest-xdist workers (default 2, one per core of
# the reference machine; the browser journeys stay together in one of them). A run
# naming files or tests (./test.sh tests/test_x.py) or its own -n runs as asked.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/ensure-venv.sh
ensure_venv test
started=$SECONDS
echo "== ruff"
.venv/bin/ruff check surveyapp tests bench
echo "== bandit"
.venv/bin/bandit -q -c bandit.yaml -r surveyapp
echo "== pytest"
parallel=(-n "${TEST_WORKERS:-2}" --dist loadgroup)
for arg in "$@"; do
  case "$arg" in
    -n|-n*|--numprocesses*|-p|--pdb|--trace) parallel=() ;;
    -*) ;;
    *) if [ -e "${arg%%::*}" ]; then parallel=(); fi ;;
  esac
done
set +e
.venv/bin/python -m pytest "${parallel[@]}" "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
fi
echo "== test.sh took $((SECONDS - started)) s (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
exit "$status"
