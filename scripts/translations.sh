#!/usr/bin/env bash
# Refresh the catalogs after changing UI text: extract the Japanese source strings
# into messages.pot, merge them into en/messages.po (new entries come back empty for
# a translator), and compile messages.mo, which is committed so a clean checkout runs
# without a build step. tests/test_i18n_catalog.py fails while any step is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=surveyapp/translations
.venv/bin/pybabel extract -F "$dir/babel.cfg" -k lazy_gettext -k _l \
  --no-location --sort-output --omit-header --no-wrap -o "$dir/messages.pot" . \
  2> >(grep -v "^extracting messages from\|^writing PO template" >&2)
.venv/bin/pybabel update -i "$dir/messages.pot" -d "$dir" -l en \
  --no-fuzzy-matching --ignore-obsolete --no-wrap --ignore-pot-creation-date
.venv/bin/pybabel compile -d "$dir" -l en
