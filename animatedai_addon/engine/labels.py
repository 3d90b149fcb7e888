"""The clip's texts and captions, planned from the plan and the timeline: strings, places and when they show.

The scene layer writes each :class:`TextTrack` as an ordinary Blender text object turned to face the camera;
the render scripts write :func:`captions` as an ``.srt`` file. What an operation says about itself (its
PyTorch call, output-size formula, parameter and MAC counts) comes from its spec (``engine/ops/<name>.py``).

Where texts stand, so that none overlaps a cube, in space or in the picture. Every text lies in the plane
through the clip's centre facing the camera (``view``: the unit vector from the clip towards the camera), and
in that plane's picture coordinates (across, up; a parallel projection along ``view``):

* the tensors' shapes (and under them the captions) lie below the picture of every place a cube or a box
  ever is, each under its tensor, in rows that do not overlap;
* each stage's title block (call, formula, counts, step counter) lies above it.

Apart in the picture means apart in space too. A margin (:data:`MARGIN`, :data:`PERSPECTIVE_SHARE`) keeps
them apart in the camera's perspective picture as well, where the near corners look larger; the Blender
tests project the real objects through the real camera.

Text widths are estimated (:data:`CHAR_WIDTH` em per character, a little over Blender's default font), so
the margins hold for the real glyphs; the Blender tests measure the real objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .options import Look, shows_label
from .ops.torch_text import count_text, shape_text
from .plans import GraphPlan

#: What a text says: a tensor's shape, the stage's call, its output-size formula, its counts, the step
#: counter's parts, a caption (a close-up's products and sum are "closeup": engine/closeup.py).
TEXT_KINDS = ("shape", "call", "formula", "counts", "steps", "caption")
#: Widest advance of a character of Blender's default font (Inter), in em: estimates err wide.
CHAR_WIDTH = 0.62
#: Height of a text line (ascender to descender) and the pitch of stacked lines, in em.
LINE_HEIGHT, LINE_PITCH = 1.0, 1.3
#: Font size as a share of the picture's height (readable at 480×270: 0.05 · 270 px · 0.73 em for a digit's
#: height), the least (metres), the picture's aspect it is made for (the default render's) and the most of
#: the picture's height the texts may take (many stacked lines: they get smaller).
HEIGHT_SHARE, MIN_SIZE, ASPECT, MAX_TEXT_SHARE = 0.05, 0.35, 16 / 9, 0.75
#: Longest line of a PyTorch call before it wraps (a long line would make every text smaller).
WRAP = 44
#: Air between the cubes and the nearest text, in em; and room for perspective, as a share of the clip's
#: height in the picture (the camera sees the clip's near corners larger than a parallel projection).
MARGIN, PERSPECTIVE_SHARE = 0.8, 0.12


@dataclass
class TextTrack:
    """One text object: ``text`` at ``location`` (world, relative to the clip's root), ``size`` metres high
    (Blender's text size), aligned at its anchor by ``align``, shown during the frame intervals ``shown``
    ([start, end): from start on, gone from end on; -inf / +inf allowed)."""

    name: str
    kind: str
    text: str
    location: np.ndarray
    size: float
    align: str = "CENTER"
    shown: np.ndarray = field(default_factory=lambda: np.array([[-np.inf, np.inf]]))
    stage: int = -1                 # the stage it describes (-1: the clip)

    def width(self) -> float:
        """Estimated width (metres): wider than the real glyphs."""
        return CHAR_WIDTH * self.size * max(len(self.text), 1)

    def corners(self, view) -> np.ndarray:
        """(4, 3) corners of the estimated box around the text, facing ``view``."""
        right, up = view_basis(view)
        w, h = self.width(), LINE_HEIGHT * self.size
        lo, hi = {"LEFT": (0.0, w), "CENTER": (-w / 2, w / 2), "RIGHT": (-w, 0.0)}[self.align]
        return np.array([self.location + a * right + b * up for a in (lo, hi) for b in (-h / 2, h / 2)])

    def shown_at(self, frame: float) -> bool:
        return bool(np.any((self.shown[:, 0] <= frame) & (frame < self.shown[:, 1])))


@dataclass
class Cue:
    """One caption: shown from frame ``start`` up to (not including) ``end``."""

    start: float
    end: float
    text: str
    stage: int = -1                 # the stage it tells of (-1: the clip's result)


def view_basis(view) -> tuple[np.ndarray, np.ndarray]:
    """(right, up) of a camera looking along ``-view`` with z up: the axes of a text facing it."""
    w = np.asarray(view, float) / np.linalg.norm(view)
    right = np.cross(-w, (0.0, 0.0, 1.0))
    right /= np.linalg.norm(right)
    return right, np.cross(right, -w)


def _stages(plan) -> list:
    return list(plan.stages) if hasattr(plan, "stages") else [plan]


def _naming(plan):
    """How the scheduler names a plan's tracks: a graph's node names, else whether it is a chain."""
    return tuple(plan.spec.names) if isinstance(plan, GraphPlan) else hasattr(plan, "stages")


def _name(chain, i: int, base: str) -> str:
    """A track's name as the scheduler gives it (``chain``: :func:`_naming`'s answer)."""
    if base == "input" and i == 0:
        return "input"
    if isinstance(chain, tuple):
        return f"{chain[i]} {base}"
    return f"stage{i} {base}" if chain else base


def _stage_windows(timeline, count: int) -> np.ndarray:
    """(K, 2) [start, end) of each stage's title: from its span's start until the next stage's, the first
    from the clip's start, the last to its end."""
    spans = np.asarray(timeline.stage_spans, float).reshape(-1, 2)
    if len(spans) != count:
        raise ValueError(f"the timeline has {len(spans)} stage spans for {count} stages")
    starts = np.r_[-np.inf, spans[1:, 0]]
    return np.stack([starts, np.r_[starts[1:], np.inf]], axis=1)


def text_size(picture: np.ndarray, rows: int, aspect: float = ASPECT) -> float:
    """Font size: :data:`HEIGHT_SHARE` of the height of the picture at ``aspect`` (width / height) that holds
    the clip's picture and ``rows`` lines of text above and below it (with their margins), whichever of its
    width or height binds."""
    across, up = np.ptp(picture, axis=0)
    height = max(float(across) / aspect, float(up) * (1 + 2 * PERSPECTIVE_SHARE))
    texts = min(HEIGHT_SHARE * (rows * LINE_PITCH + 2 * MARGIN), MAX_TEXT_SHARE)
    return max(HEIGHT_SHARE * height / (1 - texts), MIN_SIZE)


# --- the steps ---------------------------------------------------------------------------

def stage_step_frames(plan, timeline) -> list[np.ndarray]:
    """Per stage, the sorted frames its steps happen at."""
    frames, start = [], 0
    for stage in _stages(plan):
        n = len(stage.steps)
        frames.append(np.sort(np.asarray(timeline.step_frames[start:start + n], float)))
        start += n
    return frames


def digit_intervals(frames: np.ndarray, window: tuple[float, float], place: int, digit: int) -> np.ndarray:
    """[start, end) intervals inside ``window`` where the step counter's digit at ``place`` (0: units) shows
    ``digit``: after k of ``frames`` the count is k; leading zeros are not shown."""
    starts = np.r_[window[0], frames]
    ends = np.r_[frames, window[1]]
    count = np.arange(len(starts))
    shown = ((count // 10 ** place) % 10 == digit) & ((count >= 10 ** place) | (place == 0)) & (ends > starts)
    return _merge(starts[shown], ends[shown])


def _merge(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Intervals with touching ones joined (inputs sorted)."""
    if len(starts) == 0:
        return np.zeros((0, 2))
    breaks = np.flatnonzero(starts[1:] > ends[:-1])
    first = np.r_[0, breaks + 1]
    last = np.r_[breaks, len(starts) - 1]
    return np.stack([starts[first], ends[last]], axis=1)


# --- captions ---------------------------------------------------------------------------

def _stage_prefix(i: int, count: int) -> str:
    return f"Stage {i + 1} of {count} \u00b7 " if count > 1 else ""


def _phases(stage, order_frames: np.ndarray) -> list[tuple[float, str]]:
    """(start, text) of each phase after a stage's first: one per filter pass (per channel for pooling)."""
    spec = stage.spec
    steps = stage.steps
    if stage.reduce == "move":
        return []
    if stage.reduce == "elementwise":       # one sweep over the tensor (engine/inplace.py)
        return [(np.nan, f"every cell changes in place: {shape_text(spec.input_shape)}")]
    if stage.reduce == "add":               # the skip's copy flies in, the sums pop in (engine/graph_schedule.py)
        return [(np.nan, f"the skip is added cell by cell: {shape_text(spec.output_shape)}")]
    if stage.reduce == "concat":
        return [(np.nan, f"the two blocks join along the channels: {shape_text(spec.output_shape)}")]
    if stage.order != "filter":
        return [(np.nan, f"every filter at each of {shape_text(spec.output_grid[1:])} positions")]
    passes = steps.filter
    firsts = np.r_[0, np.flatnonzero(passes[1:] != passes[:-1]) + 1]
    count = len(firsts)
    word = "channel" if stage.weights is None else "filter"
    target = "output feature" if spec.op == "linear" else "output channel"
    phases = []
    for k, first in enumerate(firsts.tolist()):
        start = np.nan if k == 0 else (order_frames[first - 1] + order_frames[first]) / 2
        phases.append((start, f"{word} {k + 1} of {count} \u2192 {target} {int(passes[first])}"))
    return phases


def captions(plan, timeline) -> list[Cue]:
    """The caption track: a cue per stage and step phase (each filter pass, each channel pooled; a
    shuffle's move; every filter at once in "position" order), then the result. Cues are contiguous from the clip's first frame to the frame after its last; a stage's first
    cue starts at the stage's first frame (``Timeline.stage_spans``)."""
    stages = _stages(plan)
    spans = np.asarray(timeline.stage_spans, float).reshape(-1, 2)
    if len(spans) != len(stages):
        raise ValueError(f"the timeline has {len(spans)} stage spans for {len(stages)} stages")
    starts, texts, owners = [], [], []
    step_start = 0
    for i, stage in enumerate(stages):
        n = len(stage.steps)
        order_frames = np.asarray(timeline.step_frames[step_start:step_start + n], float)
        step_start += n
        prefix = _stage_prefix(i, len(stages))
        spec = stage.spec
        phases = _phases(stage, order_frames)
        if not phases:
            phases = [(np.nan, f"every cell moves: {shape_text(spec.input_shape)} \u2192 "
                               f"{shape_text(spec.output_shape)}")]
        for k, (start, text) in enumerate(phases):
            starts.append(float(spans[i, 0]) if k == 0 else float(start))
            texts.append(prefix + text)
            owners.append(i)
    starts.append(float(spans[-1, 1]))
    texts.append(f"output {shape_text(stages[-1].spec.output_shape)}")
    owners.append(-1)                       # the result: the clip's, no stage's
    ends = starts[1:] + [float(timeline.frame_end) + 1.0]
    return [Cue(s, e, t, o) for s, e, t, o in zip(starts, ends, texts, owners) if e > s]


def srt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{ms:03d}"


def srt_text(cues: list[Cue], fps: float, first_frame: float = 1.0) -> str:
    """SubRip text of ``cues``: frame ``first_frame`` is 0 s (the first frame the film shows)."""
    blocks = []
    for n, cue in enumerate(cues, 1):
        start, end = ((f - first_frame) / fps for f in (cue.start, cue.end))
        blocks.append(f"{n}\n{srt_time(start)} --> {srt_time(end)}\n{cue.text}\n")
    return "\n".join(blocks)


# --- the texts ---------------------------------------------------------------------------

def _rest_box(track, final: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """World (low, high) of a track's cube centres at rest, or where its cells end their moves."""
    local = np.asarray(track.position, float)
    if final and len(track.move_to):
        local = local.copy()
        last = np.r_[track.move_cell[1:] != track.move_cell[:-1], True]
        local[track.move_cell[last]] = track.move_to[last]
    world = np.asarray(track.origin, float) + local
    return world.min(axis=0), world.max(axis=0)


def _shape_items(plan, timeline, view) -> list[tuple[str, str, float, tuple[float, float], int]]:
    """(name, text, picture place across, shown window, stage) of each tensor's shape label."""
    stages = _stages(plan)
    chain = _naming(plan)
    windows = _stage_windows(timeline, len(stages))
    spans = np.asarray(timeline.stage_spans, float)
    names = {t.name: t for t in timeline.tensors}
    items = []

    def hidden_from(i: int) -> float:
        """When the label of stage i's input goes: when that stage starts if it takes the tensor apart (a
        shuffle) or replaces it in place (ReLU, BatchNorm), else when it ends if more stages follow (a long
        chain names the tensors of the stage at work, not every tensor at once), else never."""
        if i >= len(stages):
            return np.inf
        if stages[i].reduce in ("move", "elementwise"):
            return float(spans[i, 0])
        return float(spans[i, 1]) if len(stages) > 1 else np.inf

    low, high = _rest_box(names["input"])
    across = lambda low, high: float(_picture((low + high) / 2, view)[0, 0])     # noqa: E731
    items.append(("input shape", shape_text(stages[0].spec.input_torch_shape), across(low, high),
                  (-np.inf, hidden_from(0)), 0))
    for i, stage in enumerate(stages):
        filters = [t for name, t in names.items() if name.startswith(_name(chain, i, "filter"))
                   and name[len(_name(chain, i, "filter")):].isdigit()]
        if stage.weights is not None and filters:     # BatchNorm's per-channel parameters are no filter cubes
            homes = np.array([t.origin for t in filters], float)
            items.append((_name(chain, i, "weights shape"), shape_text(stage.weights.shape),
                          across(homes.min(axis=0), homes.max(axis=0)), tuple(windows[i]), i))
        out = _name(chain, i, "output")
        if out in names:
            track = names[out]
            appear = track.appear[np.isfinite(track.appear)]
            shown_from = float(appear.min()) if len(appear) else -np.inf
            low, high = _rest_box(track)
        else:                               # a shuffle's output is its input's cubes, moved
            track = names[timeline.aliases[out]]
            shown_from = float(spans[i, 1])
            low, high = _rest_box(track, final=True)
        items.append((out + " shape", shape_text(stage.spec.output_torch_shape), across(low, high),
                      (shown_from, hidden_from(i + 1)), i))
    return items


def _clip_picture(timeline, view, cube: float) -> np.ndarray:
    """(2, 2) [[across lo, up lo], [across hi, up hi]] of the picture of every place a cube or a box ever is:
    per tensor, every place its empty is keyed at plus every place a cell rests or moves to (a parallel
    projection is linear: the sum's extremes are the sums of the extremes), and the boxes' corners."""
    right, up = view_basis(view)
    axes = np.stack([right, up])
    half = cube / 2 * np.abs(axes).sum(axis=1)                # a cube's half-extent in the picture
    lows, highs = [], []
    for track in timeline.tensors:
        if not len(track):
            continue
        origins = np.vstack([np.asarray(track.origin, float)[None],
                             np.asarray(track.key_locations, float).reshape(-1, 3)]) @ axes.T
        local = np.vstack([np.asarray(track.position, float), np.asarray(track.move_to, float).reshape(-1, 3)])
        local = local @ axes.T
        lows.append(origins.min(axis=0) + local.min(axis=0) - half)
        highs.append(origins.max(axis=0) + local.max(axis=0) + half)
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)
    for box in timeline.boxes:
        centers = np.asarray(box.key_centers, float).reshape(-1, 3)
        if len(centers):
            corners = (centers[:, None, :] + 0.5 * signs * np.asarray(box.size, float)).reshape(-1, 3) @ axes.T
            lows.append(corners.min(axis=0))
            highs.append(corners.max(axis=0))
    return np.stack([np.min(lows, axis=0), np.max(highs, axis=0)])


def _picture(points, view) -> np.ndarray:
    """(N, 2) (across, up) of world points on the picture plane through the origin (a parallel projection)."""
    right, up = view_basis(view)
    points = np.asarray(points, float).reshape(-1, 3)
    return np.stack([points @ right, points @ up], axis=1)


def _in_picture(timeline, view, across: float, up_: float) -> np.ndarray:
    """The world point at picture place (across, up) on the plane through the clip's centre facing the camera."""
    right, up = view_basis(view)
    w = np.asarray(view, float) / np.linalg.norm(view)
    depth = float(np.asarray(timeline.camera_target, float) @ w)     # (right, up, w) are orthonormal
    return depth * w + across * right + up_ * up


def _clearance(picture: np.ndarray, size: float) -> float:
    """Space (picture plane) kept between the clip's picture and a text: the margin, and room for the camera's
    perspective, which shows the clip's near parts larger than the parallel projection does."""
    return MARGIN * size + PERSPECTIVE_SHARE * float(picture[1, 1] - picture[0, 1])


def _below(timeline, view, picture, size: float, across: float, row: int) -> np.ndarray:
    """Anchor of a text in row ``row`` (0 nearest) under the clip's picture, at picture place ``across``."""
    up_ = picture[0, 1] - _clearance(picture, size) - (LINE_HEIGHT / 2 + row * LINE_PITCH) * size
    return _in_picture(timeline, view, across, up_)


def _above(timeline, view, picture, size: float, row: int) -> np.ndarray:
    """Anchor of a text in row ``row`` (0 lowest) of the block over the clip's picture, centred across it."""
    up_ = picture[1, 1] + _clearance(picture, size) + (LINE_HEIGHT / 2 + row * LINE_PITCH) * size
    return _in_picture(timeline, view, float(picture[:, 0].mean()), up_)


def _rows(items, size: float) -> list[int]:
    """A row per label, so that labels shown at the same time do not overlap across the picture (items: (..,
    text, across, shown window, ..)): a label shown only after another has gone may take its place."""
    placed: list[list[tuple[float, float, float, float]]] = []      # per row: (left, right, from, until)
    rows = [0] * len(items)
    for k in sorted(range(len(items)), key=lambda k: items[k][2]):
        centre, (shown_from, until) = items[k][2], items[k][3]
        half = CHAR_WIDTH * size * len(items[k][1]) / 2 + size
        left, right = centre - half, centre + half

        def fits(row) -> bool:
            return all(right <= l or left >= r or until <= f or shown_from >= u for l, r, f, u in row)
        row = next((r for r, taken in enumerate(placed) if fits(taken)), len(placed))
        if row == len(placed):
            placed.append([])
        placed[row].append((left, right, shown_from, until))
        rows[k] = row
    return rows


def plan_texts(plan, timeline, look: Look, view) -> list[TextTrack]:
    """The texts ``look`` asks for (none unless ``look.labels`` or a ``look.label_*`` switch is on).

    ``view``: unit vector from the clip towards the camera (the scene's framing direction)."""
    view = np.asarray(view, float)
    picture = _clip_picture(timeline, view, look.cube_size)
    stages = _stages(plan)
    title_rows = max(len(_title_lines(stage, look)) for stage in stages) + int(shows_label(look, "label_steps"))
    other_rows = int(shows_label(look, "label_captions"))
    items = _shape_items(plan, timeline, view) if shows_label(look, "label_shapes") else []
    size = text_size(picture, title_rows + other_rows + int(bool(items)))
    rows = _rows(items, size)
    size = text_size(picture, title_rows + other_rows + max(rows, default=-1) + 1)
    rows = _rows(items, size)             # the size changed a little: rows again, with it
    texts = [TextTrack(name, "shape", text, _below(timeline, view, picture, size, across, row), size,
                       shown=np.array([window], float), stage=stage)
             for (name, text, across, window, stage), row in zip(items, rows)]
    shape_rows = max(rows, default=-1) + 1
    texts += _title_texts(plan, timeline, look, view, picture, size)
    if shows_label(look, "label_captions"):
        cues = captions(plan, timeline)
        location = _below(timeline, view, picture, size, float(picture[:, 0].mean()), shape_rows)
        texts += [TextTrack(f"caption {k}", "caption", cue.text, location.copy(), size,
                            shown=np.array([[cue.start, cue.end]]), stage=cue.stage) for k, cue in enumerate(cues)]
    return texts


def _title_lines(stage, look) -> list[tuple[str, str]]:
    """(kind, text) of a stage's title block, top line first (the step counter is added apart)."""
    spec = stage.spec
    lines = []
    if shows_label(look, "label_call"):
        lines += [("call", line) for line in wrap(spec.torch_call())]
    if shows_label(look, "label_formula"):
        lines += [("formula", line) for line in spec.output_formula()]
    if shows_label(look, "label_counts"):
        per_sample = " per sample" if spec.batch > 1 else ""       # the counts are one sample's (torch_text)
        lines.append(("counts", f"{count_text(spec.parameter_count())} parameters \u00b7 "
                                f"{count_text(spec.mac_count())} MACs{per_sample}"))
    return lines


def wrap(text: str, width: int = WRAP) -> list[str]:
    """``text`` in lines of at most ``width`` characters where it can, broken after ", "."""
    lines, line = [], ""
    for piece in text.split(", "):
        candidate = f"{line}, {piece}" if line else piece
        if line and len(candidate) > width:
            lines.append(line + ",")
            candidate = piece
        line = candidate
    return lines + [line]


def _title_texts(plan, timeline, look, view, picture, size: float) -> list[TextTrack]:
    stages = _stages(plan)
    chain = len(stages) > 1
    windows = _stage_windows(timeline, len(stages))
    steps = shows_label(look, "label_steps")
    blocks = [_title_lines(stage, look) for stage in stages]
    if not steps and not any(blocks):
        return []
    frames = stage_step_frames(plan, timeline)
    right, _ = view_basis(view)
    texts = []
    for i, (stage, block) in enumerate(zip(stages, blocks)):
        window = np.array([windows[i]], float)
        rows = len(block) + int(steps)
        prefix = f"{plan.spec.names[i]} " if isinstance(plan, GraphPlan) else f"stage{i} " if chain else ""
        for j, (kind, text) in enumerate(block):
            location = _above(timeline, view, picture, size, rows - 1 - j)
            first = next(k for k, (other, _) in enumerate(block) if other == kind)
            name = f"{prefix}{kind}" if kind != "formula" and j == first else f"{prefix}{kind} {j - first + 1}"
            texts.append(TextTrack(name, kind, text, location, size, shown=window, stage=i))
        if steps:
            texts += _step_counter(prefix, i, len(stage.steps), frames[i], tuple(windows[i]),
                                   _above(timeline, view, picture, size, 0), size, right)
    return texts


def _step_counter(prefix: str, stage: int, total: int, frames: np.ndarray, window: tuple[float, float],
                  centre: np.ndarray, size: float, right: np.ndarray) -> list[TextTrack]:
    """``step 17 / 784``: the words and the total are fixed texts; each digit place has a text per digit
    shown while the count has that digit there (no text body changes: every render engine shows it)."""
    places = len(str(total))
    advance = CHAR_WIDTH * size
    half = places * advance / 2
    shown = np.array([window], float)
    texts = [TextTrack(f"{prefix}step word", "steps", "step", centre - (half + 0.4 * size) * right, size,
                       "RIGHT", shown, stage),
             TextTrack(f"{prefix}step total", "steps", f"/ {total}", centre + (half + 0.4 * size) * right, size,
                       "LEFT", shown, stage)]
    for place in range(places):
        location = centre + (half - (place + 0.5) * advance) * right
        for digit in range(10):
            intervals = digit_intervals(frames, window, place, digit)
            if len(intervals):
                texts.append(TextTrack(f"{prefix}step digit{place}={digit}", "steps", str(digit), location, size,
                                       "CENTER", intervals, stage))
    return texts


def step_count_at(texts: list[TextTrack], frame: float, stage: int = 0) -> int | None:
    """The number the step counter of ``stage`` shows at ``frame`` (None when it shows none): read back from
    the digit texts, as a viewer reads it."""
    digits = {}
    for t in texts:
        if t.kind == "steps" and t.stage == stage and "digit" in t.name and t.shown_at(frame):
            place = int(t.name.rsplit("digit", 1)[1].split("=")[0])
            digits[place] = int(t.text)
    if not digits:
        return None
    return sum(d * 10 ** p for p, d in digits.items())


# --- numbers on cells ----------------------------------------------------------------------

#: Most cubes a clip may show numbers on: each number is an object of its own, keyed as its cube.
NUMBER_MAX_CELLS = 2_000
#: Tensors whose cubes show their values (padding cells are zeros by definition).
NUMBER_ROLES = ("input", "filter", "output")


def number_text(value: float) -> str:
    """A cube's value as it shows: one decimal (no negative zero)."""
    text = f"{float(value):.1f}"
    return "0.0" if text == "-0.0" else text


def plan_numbers(timeline, look: Look) -> dict[str, list[str]]:
    """Per tensor track (inputs, filters, outputs), the text each of its cubes shows: the plan's values, which
    the timeline carries (``TensorTrack.value``). Empty unless ``look.numbers``; SpecError above
    :data:`NUMBER_MAX_CELLS` cubes."""
    if not look.numbers:
        return {}
    tracks = [t for t in timeline.tensors if t.role in NUMBER_ROLES and len(t)]
    cells = sum(len(t) for t in tracks)
    if cells > NUMBER_MAX_CELLS:
        from .errors import SpecError
        raise SpecError("look.numbers", True, f"false for a clip of {cells:,} cubes: numbers show on clips of "
                        f"at most {NUMBER_MAX_CELLS:,} cubes (each number is an object of its own)")
    return {t.name: [number_text(v) for v in np.asarray(t.value, float)] for t in tracks}
