#!/usr/bin/env bash
# Creates .venv (Blender 5.0.1 as the bpy module, PyTorch CPU, test tools) and, with --with-4.2,
# .venv42 (Blender 4.2 LTS, the oldest supported version). Idempotent: re-running only fills gaps.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
want_42=0
[ "${1:-}" = "--with-4.2" ] && want_42=1

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"

if [ "$want_42" = 1 ]; then
  if [ ! -x .venv42/bin/python ]; then
    "$PYTHON" -m venv .venv42
  fi
  .venv42/bin/python -m pip install -q --upgrade pip
  .venv42/bin/python -m pip install -q "bpy==4.2.0" pytest hypothesis pillow
fi
