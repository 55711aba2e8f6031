#!/usr/bin/env bash
# Set up (first time only) and run the whole test suite, the real MiniLM model included.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
