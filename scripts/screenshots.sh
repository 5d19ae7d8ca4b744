#!/usr/bin/env bash
# Take the pictures of the manual again into docs/screenshots/ (a normal test run takes
# them into a temporary folder and leaves the committed ones alone); look at them and
# commit the ones that changed. Extra arguments go to pytest, e.g. -k 1280.
set -euo pipefail
cd "$(dirname "$0")/.."
RETAKE_SCREENSHOTS=1 ./test.sh tests/e2e/test_screenshots.py "$@"
git status --short docs/screenshots/
