#!/usr/bin/env bash
# Sets up .venv and renders the default clip (conv-3x3-stride2-valid) to out/default/ as PNG frames, MP4 and GIF.
# Cycles on the CPU at 480x270, 16 samples (about 2-4 s a frame, 391 frames, on a 2-core machine).
# Extra arguments go to scripts/render.py and win over these (e.g. --resolution 1920x1080 --samples 64).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/python scripts/render.py --preset conv-3x3-stride2-valid --out out/default \
  --engine cycles --resolution 480x270 --samples 16 --formats png,mp4,gif "$@"
