#!/usr/bin/env bash
# Renders the README gallery: the 13 Animated AI clips as small GIFs in docs/gallery/ (Cycles, 240x136,
# 4 samples, timing sped up so each loop is short: about 20 minutes on a 2-core machine), each made small by
# scripts/compact_gif.py (still pixels held, one palette). Needs ./scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
clips=conv-3x3-valid,conv-3x3-same,conv-3x3-stride2-valid,conv-3x3-stride2-same,conv-3x3-groups2
clips=$clips,conv-3x3-depthwise,depthwise-separable,pixel-shuffle-2x2,pixel-shuffle-3x3,pixel-unshuffle-2x2
clips=$clips,pixel-unshuffle-3x3,shuffle-loop-2x2,shuffle-loop-3x3
.venv/bin/python scripts/render_catalog.py --presets "$clips" \
  --engine cycles --samples 4 --resolution 240x136 --formats gif --out out/gallery \
  --set timing.frames_per_step=1 --set timing.move_frames=4 --set timing.hold_frames=0 \
  --set timing.speedup_after_rows=1 --set timing.speedup=4 --set timing.intro_frames=2 \
  --set timing.outro_frames=8 --set timing.pop_frames=1 --set timing.fps=12 "$@"
mkdir -p docs/gallery
for clip in ${clips//,/ }; do
  .venv/bin/python scripts/compact_gif.py "out/gallery/$clip/$clip.gif" "docs/gallery/$clip.gif"
done
