#!/usr/bin/env bash
# Sets up .venv and renders the default clip (conv-3x3-stride2-valid) to out/default/ as PNG frames, MP4 and GIF.
# Extra arguments go to scripts/render.py (e.g. --engine eevee --resolution 1920x1080).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/python scripts/render.py --preset conv-3x3-stride2-valid --out out/default "$@"
