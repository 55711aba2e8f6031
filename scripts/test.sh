#!/usr/bin/env bash
# Set up (first time only) and run the whole test suite, the real MiniLM model included.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The dashboard's browser test drives Debian's Chromium through Playwright (never a downloaded browser).
if ! command -v chromium >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian's chromium for the dashboard browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "== chromium not found and not root: the dashboard browser test will be skipped" >&2
  fi
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
