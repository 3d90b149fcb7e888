"""What a clip costs, from shapes alone (before anything is planned): cubes, cell reads, clip length."""

from __future__ import annotations

import math
import numbers

from .errors import SpecError
from .graph import Chain, Graph
from .options import Look, check_look
from .specbase import Spec
from .tracks import Timeline


def _stages(spec) -> tuple[Spec, ...]:
    if isinstance(spec, (Chain, Graph)):
        return spec.stages
    if isinstance(spec, Spec):
        return (spec,)
    raise SpecError("spec", spec, "a spec of one operation (Conv2d, ConvTranspose2d, PixelShuffle, ...), a Chain or a Graph")


def count_cubes(spec, look: Look | None = None) -> int:
    """Cubes a clip of ``spec`` shows, from shapes alone: the input, padding of every windowed stage,
    filters and outputs; a chain shows each stage's output once (it is the next stage's input), and a
    shuffle moves cubes without adding any; a batch shows every sample (one filter set). Each operation says
    what it shows (``Spec.padding_cubes`` from ``Spec.virtual_extent``,
    ``Spec.filter_cubes``, ``Spec.moves_cells``)."""
    if look is not None:
        check_look(look)
    stages = _stages(spec)
    total = math.prod(stages[0].input_grid)
    for stage in stages:
        if stage.moves_cells:
            continue
        total += stage.padding_cubes() + stage.filter_cubes() + math.prod(stage.output_grid)
    return total


#: The last frame Blender keeps (MAXFRAME): a longer clip would be clamped silently.
MAX_FRAME = 1_048_574
#: Objects mode keys a highlight for each cell a step reads (filter cells under the pulse, or the input cells
#: under the window): at most this many cell-steps, so the keyframes stay within memory; instanced mode lights
#: cells in Geometry Nodes and has no such limit.
MAX_CELL_READS = 1 << 24


#: Clips above this many cubes are refused unless ``cube_budget`` says otherwise, per scene mode. Measured with
#: ``benchmarks/memory.py`` (bpy 5.0.1): objects mode ~36 KB a cube, instanced ~0.5 KB a cube once evaluated,
#: so either default clip stays near 1-2 GB, safe on an 8 GB machine with Blender's undo copy beside it.
CUBE_BUDGETS = {"objects": 50_000, "instanced": 2_000_000}


def check_cubes(cubes: int, budget=None, mode: str = "objects") -> int:
    """``cubes`` if within ``budget`` (None: the mode's default), else SpecError naming ``cube_budget``."""
    budget = CUBE_BUDGETS.get(mode, CUBE_BUDGETS["objects"]) if budget is None else budget
    if isinstance(budget, bool) or not isinstance(budget, numbers.Integral) or budget < 1:
        raise SpecError("cube_budget", budget, "a positive integer (None: the mode's default)")
    if cubes > budget:
        advice = ("raise cube_budget (instanced mode needs ~0.5 KB a cube) or make the tensors smaller"
                  if mode == "instanced" else
                  "use mode='instanced' (up to 2,000,000 cubes by default), raise cube_budget (objects mode "
                  "needs ~36 KB a cube), or make the tensors smaller")
        raise SpecError("cube_budget", budget, f"at least {cubes:,} cubes for this clip in {mode} mode: {advice}")
    return cubes


def check_cube_budget(spec, budget=None, look: Look | None = None, mode: str = "objects") -> int:
    """The clip's cube count (:func:`count_cubes`) if within ``budget`` (None: ``CUBE_BUDGETS[mode]``), else
    SpecError naming ``cube_budget``."""
    return check_cubes(count_cubes(spec, look), budget, mode)


def count_cell_reads(spec) -> int:
    """Cell-steps a clip of ``spec`` lights in objects mode: for every windowed stage, steps x the cells each
    step reads (``Spec.reads_per_step``); from shapes alone."""
    return sum(math.prod(stage.output_grid) * stage.reads_per_step() for stage in _stages(spec))


def check_cell_reads(spec, limit: int = MAX_CELL_READS) -> int:
    """``count_cell_reads(spec)``; SpecError("mode", "objects", ...) when objects mode could not key them."""
    reads = count_cell_reads(spec)
    if reads > limit:
        raise SpecError("mode", "objects", f"mode='instanced' for this clip: its steps read {reads:,} cells, and "
                        f"objects mode keys each read (at most {limit:,})")
    return reads


def check_clip_length(timeline: "Timeline") -> int:
    """The clip's last frame; SpecError when Blender could not hold it (frames past MAX_FRAME are clamped)."""
    if timeline.frame_end > MAX_FRAME:
        raise SpecError("timing", f"a clip ending at frame {int(timeline.frame_end):,}",
                        f"a clip ending by Blender's last frame {MAX_FRAME:,}: fewer steps or faster timing "
                        "(timing.frames_per_step, timing.speedup)")
    return int(timeline.frame_end)
