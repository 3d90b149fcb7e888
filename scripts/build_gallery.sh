#!/usr/bin/env bash
# Renders the README gallery: the 13 Animated AI clips as GIF previews in docs/gallery/ (Cycles, 480x270,
# 6 samples, adaptive sampling and OpenImageDenoise like the README's main command), each made small by
# scripts/compact_gif.py (still pixels held, one palette), and the README's still (frame 21, 960x540).
# The presets' own pacing at half the frame rate: every frame count of the timing halved, played at 12 fps
# (the same seconds, every other frame). The convolutions are previewed by their first 3 seconds (36 frames:
# the still hold, the slow first step and the speed-up); the shuffles are whole. About 40 minutes on a shared
# 2-core machine. Needs ./scripts/setup.sh. Extra arguments go to both render_catalog.py calls.
set -euo pipefail
cd "$(dirname "$0")/.."
convs=conv-3x3-valid,conv-3x3-same,conv-3x3-stride2-valid,conv-3x3-stride2-same,conv-3x3-groups2
convs=$convs,conv-3x3-depthwise,depthwise-separable
shuffles=pixel-shuffle-2x2,pixel-shuffle-3x3,pixel-unshuffle-2x2,pixel-unshuffle-3x3,shuffle-loop-2x2,shuffle-loop-3x3
half_rate=(--set timing.frames_per_step=1 --set timing.first_step_frames=15 --set timing.hold_frames=1
           --set timing.intro_frames=6 --set timing.outro_frames=12 --set timing.pop_frames=2
           --set timing.move_frames=6 --set timing.shuffle_frames=22 --set timing.fps=12)
render=(.venv/bin/python scripts/render_catalog.py --engine cycles --samples 6 --resolution 480x270
        --formats gif --out out/gallery "${half_rate[@]}")
"${render[@]}" --presets "$convs" --frames 1-36 "$@"
"${render[@]}" --presets "$shuffles" "$@"
mkdir -p docs/gallery
for clip in ${convs//,/ } ${shuffles//,/ }; do
  .venv/bin/python scripts/compact_gif.py "out/gallery/$clip/$clip.gif" "docs/gallery/$clip.gif"
done
# the README's still: the default clip at the reference's frame 20 (our frame 21), full rate and size
.venv/bin/python scripts/render_catalog.py --engine cycles --samples 16 --resolution 960x540 --formats png \
  --out out/gallery-still --presets conv-3x3-stride2-valid --frames 21-21
cp out/gallery-still/conv-3x3-stride2-valid/frames/conv-3x3-stride2-valid_0021.png docs/gallery/conv-3x3-stride2-valid-frame20.png
