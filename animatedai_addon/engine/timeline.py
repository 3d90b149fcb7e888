"""Timelines: when every cell of every tensor appears, lights up and moves, and where it sits.

This module gathers the timeline's parts: the settings (:mod:`.options`), the tracks
(:mod:`.tracks`), the pacing (:mod:`.pacing`), the scheduler (:mod:`.schedule`), the
evaluation (:mod:`.evaluate`) and the costs from shapes (:mod:`.budget`).

This is the whole contract between the engine and the Blender layer. The
Blender layer writes exactly these arrays as objects, keyframes or point
attributes; it never decides timing or placement itself.

Conventions
-----------
* Frames are floats on Blender's frame axis; ranges are inclusive like Blender's
  (``frame_start .. frame_end``).
* ``appear = -inf``: visible from the start (no pop-in). ``disappear = +inf``:
  never leaves. A cell pops in by scaling 0 -> 1 over ``pop_frames`` starting at
  ``appear`` (so it has scale 0 before ``appear`` and 1 from ``appear + pop_frames``).
* Highlight intervals are half-open: highlighted for ``start <= frame < end``.
* Space: x runs along a tensor's width (columns, left to right), y along its
  channels (channel 0 nearest the camera), z along its height (row 0 on top,
  rows going down). Positions are of cube centres, in metres, relative to the
  tensor's origin (its empty in Blender); the world position is origin + local.
* Easing ``"ease"`` is smoothstep (3t^2 - 2t^3): what a Bezier segment with flat
  handles at one third of the interval evaluates to, so Blender matches numpy.
  It applies to travels (cell moves, the keys of a tensor's empty) and to pops;
  ``"constant"`` jumps at the END of each interval, as Blender's constant keys do.
* ``disappear`` hides a cell at once: shown while ``appear <= frame < disappear``.
* Highlights and window-box keys are constant: a highlight interval is two constant
  colour keys (highlight colour at ``start``, base colour at ``end``); a window box
  jumps to ``key_centers[k]`` at ``key_frames[k]`` and is shown with scale ``size``
  while ``appear <= frame < disappear`` and ``key_visible[k]`` (k = the last key at
  or before the frame, the first key before it), scale 0 otherwise.
* Moves of one cell never overlap in time; consecutive moves share a key (the end
  of one is the start of the next). ``state_at`` / ``box_state_at`` evaluate all of
  this exactly as Blender will, which the tests rely on.

How steps become frames (:func:`build_timeline`)
-------------------------------------------------
* The clip starts at ``FRAME_START`` (1) and holds still for ``intro_frames``,
  the first filter already standing in its slot. Then the steps of a stage speed
  up smoothly: step k lasts ``frames_per_step + (first_step_frames -
  frames_per_step) * exp(-k / ramp_steps)`` frames (frames may be fractional);
  after ``speedup_after_rows`` output rows of a pass, ``speedup`` times faster.
* Between passes (and stages) the filter slides home, the next one slides in
  (four legs: up, along the row, along the channel axis, down) and
  ``hold_frames`` pass. A slide lasts twice the next step, at least
  ``2 * frames_per_step`` and at most ``move_frames``: swaps speed up with the steps.
* Highlights (``Look.highlight``): ``"pulse"`` (Animated AI's) sends a white
  pulse along the active filter's channel axis, from its input end (channel 0)
  to its output end, over the first ``PULSE_SHARE`` of each step; the output
  cell then appears white (``step_frames``) and takes its filter's colour when
  the step ends (at least a frame after its pop-in completes). The pulse is a box (role ``"pulse"``) gliding with LINEAR keys
  over the filter, lighting the cells strictly inside it. ``"cells"`` lights the
  whole active filter for its pass and the input cells under the window while a
  step reads them, and the output cell pops in at the step's start in its colour.
* A shuffle transforms in place: every cell travels at once over
  ``shuffle_frames``, through the exploded lattice at the middle (:data:`EXPLODE`)
  to its new place; ``step_frames`` of a shuffle step is the arrival.
* An elementwise stage (ReLU, BatchNorm2d) changes its tensor in place under a
  sweep box gliding over the channels for ``shuffle_frames``: changed cells are
  replaced when it reaches them (see :mod:`.inplace`).
* After the last step: ``outro_frames``. With ``loop`` the clip then undoes
  itself (cells travel back, outputs vanish, the first filter returns) and
  ``frame_end`` shows the first frame's state again.
"""

from __future__ import annotations

from .budget import (MAX_CELL_READS, MAX_FRAME, check_cell_reads, check_clip_length, check_cube_budget,
                     count_cell_reads, count_cubes)
from .evaluate import box_state_at, ease, highlighted_at, local_at, origin_at, pop_scale, state_at
from .options import (EASINGS, FRAME_START, HIGHLIGHTS, MAX_FILTER_COLORS, Look, Timing, check_look,
                      check_timing)
from .pacing import EXPLODE, exploded_routes, slide_frames, step_durations, step_times
from .graph_schedule import build_graph_timeline
from .plans import GraphPlan
from .schedule import (PULSE_COLOR, PULSE_LEAD, PULSE_SHARE, bounds, build_timeline as build_chain_timeline,
                       window_read_intervals)
from .tracks import ROLES, BoxTrack, TensorState, TensorTrack, Timeline

__all__ = ["Timing", "Look", "EASINGS", "HIGHLIGHTS", "FRAME_START", "MAX_FILTER_COLORS", "check_timing",
           "check_look", "ROLES", "TensorTrack", "BoxTrack", "Timeline", "TensorState", "step_durations",
           "slide_frames", "step_times", "EXPLODE", "exploded_routes", "build_timeline", "bounds",
           "window_read_intervals", "PULSE_SHARE", "PULSE_LEAD", "PULSE_COLOR", "ease", "origin_at", "local_at",
           "pop_scale", "highlighted_at", "state_at", "box_state_at", "count_cubes", "check_cube_budget",
           "count_cell_reads", "check_cell_reads", "check_clip_length", "MAX_FRAME", "MAX_CELL_READS"]


def build_timeline(plan, timing: Timing = Timing(), look: Look = Look(), highlights: bool = True) -> Timeline:
    """When and where everything happens for a Plan, ChainPlan (:mod:`.schedule`) or GraphPlan
    (:mod:`.graph_schedule`)."""
    if isinstance(plan, GraphPlan):
        return build_graph_timeline(plan, timing, look, highlights)
    return build_chain_timeline(plan, timing, look, highlights)
