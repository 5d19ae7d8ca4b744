#!/usr/bin/env bash
# Create .venv, install, initialise instance/ with the demo data on first run, and
# serve on http://127.0.0.1:8000. Later runs keep the data (and apply new migrations).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/ensure-venv.sh
ensure_venv
if [ ! -f instance/surveyapp.sqlite3 ]; then
  .venv/bin/surveyapp init
  .venv/bin/surveyapp demo
else
  .venv/bin/surveyapp init >/dev/null
fi
exec .venv/bin/surveyapp serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
