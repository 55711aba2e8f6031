#!/usr/bin/env bash
# Create ./.venv with every dependency, pinned. Idempotent: does nothing when the venv is current.
# torch goes first, from its exact CPU release: resolved later as a plain dependency, pip would pull a
# multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV=.venv
stamp="$VENV/.cx_platform-installed"
want="$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
echo "== setting up $VENV (torch 2.13.0 CPU first, then the pinned dependency set)"
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check torch==2.13.0
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[test]"
echo "$want" > "$stamp"
