#!/usr/bin/env bash
# Sets up .venv and renders the default clip (conv-3x3-stride2-valid) to out/default/ as PNG frames, MP4 and GIF.
# Cycles on the CPU at 480x270, 6 samples, denoised (about 1.1 s a frame on a 2-core machine: under 10 minutes
# for the clip; `.venv/bin/python benchmarks/render.py --main-command` measures it).
# Extra arguments go to scripts/render.py and win over these (e.g. --resolution 1920x1080 --samples 64).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/python scripts/render.py --preset conv-3x3-stride2-valid --out out/default \
  --engine cycles --resolution 480x270 --samples 6 --formats png,mp4,gif "$@"
