#!/usr/bin/env bash
# Set up (first time only) and run the main pipeline on the shipped real sample.
# Outputs: ./cx_lake (Parquet lake) and ./.dagster_home (local Dagster instance with the runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m cx_platform.demo "$@"
