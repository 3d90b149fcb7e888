"""scene.keys and scene.source: the numpy half of the Blender layer, tested without Blender.

The keys and point attributes the writers write, the window lattice the node group uses, and the
versioned source a clip stores; and the rule that none of it imports ``bpy``.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from animatedai_addon.engine import Conv2d, plan
from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.timeline import Look, TensorTrack, Timing, build_timeline, state_at
from animatedai_addon.scene import keys, source

BASE = np.float32([0.05, 0.55, 0.6, 1.0])
LIT = np.float32([0.08, 0.88, 0.96, 1.0])


def track(name, role, shape, **fields):
    cells = np.indices(shape).reshape(3, -1).T.astype(np.int32)
    position = np.stack([cells[:, 2], cells[:, 0], -cells[:, 1]], axis=1).astype(np.float32)
    n = len(cells)
    values = dict(name=name, role=role, shape=shape, cells=cells, origin=np.zeros(3), position=position,
                  color=np.tile(BASE, (n, 1)), highlight_color=np.tile(LIT, (n, 1)), value=np.zeros(n, np.float32),
                  appear=np.full(n, -np.inf, np.float32), disappear=np.full(n, np.inf, np.float32))
    values.update(fields)
    return TensorTrack(**values)


def test_the_numpy_half_imports_no_blender():
    """In a fresh interpreter where ``bpy`` and ``mathutils`` cannot load, keys and source still import."""
    code = ("import sys\n"
            "class Refuse:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('bpy', 'mathutils', 'bmesh'):\n"
            "            raise ImportError('no Blender here: ' + name)\n"
            "sys.meta_path.insert(0, Refuse())\n"
            "import animatedai_addon.scene.keys, animatedai_addon.scene.source\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('bpy', 'mathutils', 'bmesh')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    refused = subprocess.run([sys.executable, "-c", code.replace("scene.source", "scene.writer")],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "no Blender here" in refused.stderr     # the guard does bite


# --------------------------------------------------------------------------------------------- objects mode


def test_visibility_keys():
    appear = np.float32([-np.inf, 5, 5, -np.inf, 5])
    disappear = np.float32([np.inf, np.inf, 20, 9, 6])
    got = keys.visibility_keys(appear, disappear, 3, keys.BEZIER)
    assert got.cells.tolist() == [1, 2, 3, 4]
    rows = [(got.frames[a:b].tolist(), got.values[a:b, 0].tolist(), got.interpolation[a:b].tolist())
            for a, b in zip(got.offsets[:-1], got.offsets[1:])]
    assert rows[0] == ([5, 8], [0, 1], [keys.BEZIER, keys.CONSTANT])
    assert rows[1] == ([5, 8, 20], [0, 1, 0], [keys.BEZIER, keys.CONSTANT, keys.CONSTANT])
    assert rows[2] == ([8, 9], [1, 0], [keys.CONSTANT, keys.CONSTANT])
    assert rows[3] == ([5, 6], [0, 0], [keys.BEZIER, keys.CONSTANT])    # leaves mid-pop: keys stay sorted
    instant = keys.visibility_keys(np.float32([5]), np.float32([np.inf]), 0, keys.BEZIER)
    assert instant.frames.tolist() == [4, 5] and instant.values[:, 0].tolist() == [0, 1]


def test_joined_moves_share_one_key_and_jumps_are_constant():
    t = track("t", "input", (1, 1, 2), move_cell=np.int32([0, 0, 1]), move_start=np.float32([2, 6, 5]),
              move_end=np.float32([6, 9, 5]), move_to=np.float32([[1, 0, 0], [2, 0, 0], [7, 7, 7]]))
    got = keys.move_keys(t, keys.BEZIER)
    assert got.cells.tolist() == [0, 1]
    assert got.frames[:3].tolist() == [2, 6, 9]
    assert got.values[:3, 0].tolist() == [0, 1, 2]
    assert got.interpolation[:3].tolist() == [keys.BEZIER, keys.BEZIER, keys.CONSTANT]
    assert got.frames[3:].tolist() == [5 - keys.JUMP, 5]
    assert got.interpolation[3:].tolist() == [keys.CONSTANT, keys.CONSTANT]


def test_handles_sit_at_thirds_of_each_neighbouring_segment():
    got = keys.group_keys([0, 0, 0, 1, 1], [2, 5, 11, 0, 3], np.zeros(5), [2] * 5)
    left, right = got.handles()
    assert left.tolist() == [1, 4, 9, -1, 2]
    assert right.tolist() == [3, 7, 12, 1, 4]


def test_highlight_keys_have_a_base_key_before_the_first_interval():
    t = track("t", "input", (1, 1, 3), highlight_cell=np.int32([0, 0, 1, 2]),
              highlight_start=np.float32([4, 9, -np.inf, 6]), highlight_end=np.float32([6, 12, 3, np.inf]))
    got = keys.highlight_keys(t, [0, 1, 2])
    assert got.cells.tolist() == [0, 1, 2]
    assert got.frames.tolist() == [3, 4, 6, 9, 12, 2, 3, 5, 6]
    lit = got.values[:, 1] == LIT[1]
    assert lit.tolist() == [False, True, False, True, False, True, False, False, True]
    assert (got.interpolation == keys.CONSTANT).all()


def first_identical_exact(n: int, kinds: list) -> np.ndarray:
    """The oracle: for each cell, the first cell whose keys of every kind are exactly the same."""
    first, out = {}, np.arange(n)
    rows = [k.row_lookup(n) for k in kinds]
    for cell in range(n):
        signature = []
        for kind, row in zip(kinds, rows):
            r = row[cell]
            a, b = (kind.offsets[r], kind.offsets[r + 1]) if r >= 0 else (0, 0)
            signature.append((kind.keys.frames[a:b].tobytes(), kind.keys.values[a:b].astype(np.float32).tobytes(),
                              kind.keys.interpolation[a:b].tobytes()))
        out[cell] = first.setdefault(tuple(signature), cell)
    return out


@pytest.mark.parametrize("preset", ["conv-3x3-stride2-valid", "pixel-shuffle-2x2", "mobilenet-block"])
def test_twins_found_from_signatures_are_the_cells_with_identical_keys(preset):
    """plan_cell_keys finds twins without making their keys: the same twins as comparing every cell's keys,
    and a twin's keys (its source's) are exactly the ones made for it alone."""
    from animatedai_addon import api
    request = api.resolve_spec(preset)
    timeline = build_timeline(plan(request.spec), request.timing, request.look, highlights=True)
    shared = 0
    for t in timeline.tensors:
        planned = keys.plan_cell_keys(t, timeline.pop_frames, keys.BEZIER, 0.8)
        every = keys.cell_channels(t, timeline.pop_frames, keys.BEZIER, 0.8)[1]
        expected = first_identical_exact(len(t), every)
        animated = planned.animated
        with_keys = np.any(np.stack([k.row_lookup(len(t)) for k in every]) >= 0, axis=0) if every else []
        assert animated.tolist() == np.flatnonzero(with_keys).tolist()
        assert planned.source[animated].tolist() == expected[animated].tolist()
        shared += int((planned.source[animated] != animated).sum())
        for kind, rows, full in zip(planned.kinds, planned.rows, every):
            full_rows = full.row_lookup(len(t))
            for cell in animated.tolist()[::7]:
                a, b = (kind.offsets[rows[cell]], kind.offsets[rows[cell] + 1]) if rows[cell] >= 0 else (0, 0)
                c, d = (full.offsets[full_rows[cell]], full.offsets[full_rows[cell] + 1]) \
                    if full_rows[cell] >= 0 else (0, 0)
                assert np.array_equal(kind.co[0][2 * a:2 * b], full.co[0][2 * c:2 * d])
    assert shared > 0 or preset != "conv-3x3-stride2-valid"


def test_cells_with_different_keys_never_share():
    lit_cell = np.int32([0, 0, 1, 1, 2, 3])
    lit_color = np.tile(LIT, (6, 1))
    lit_color[3, 0] = 0.5
    t = track("t", "input", (1, 2, 3), highlight_cell=lit_cell, highlight_start=np.float32([1, 5, 1, 5, 1, 1]),
              highlight_end=np.float32([2, 6, 2, 7, 2, 2]), appear=np.float32([0, 0, 0, 0, 0, 3]),
              highlight_color=lit_color)
    planned = keys.plan_cell_keys(t, 2.0, keys.BEZIER, 1.0)
    # 0 and 1 differ in one interval's end; 2 and 3 in their lit colour; 4 has no light; 5 appears later
    assert planned.source.tolist()[:6] == [0, 1, 2, 3, 4, 5]
    twin = track("t", "input", (1, 1, 2), highlight_cell=np.int32([0, 1]), highlight_start=np.float32([1, 1]),
                 highlight_end=np.float32([2, 2]), appear=np.float32([0, 0]))
    assert keys.plan_cell_keys(twin, 2.0, keys.BEZIER, 1.0).source.tolist() == [0, 0]
    assert not keys.plan_cell_keys(twin, 2.0, keys.BEZIER, 1.0, share_identical=False).source.tolist() == [0, 0]


# --------------------------------------------------------------------------------------------- instanced mode


def test_subset_track_renumbers_travels_and_highlights():
    t = track("t", "input", (2, 1, 2), move_cell=np.int32([1, 3]), move_start=np.float32([2, 4]),
              move_end=np.float32([3, 5]), move_to=np.float32([[9, 9, 9], [8, 8, 8]]),
              highlight_cell=np.int32([0, 3]), highlight_start=np.float32([1, 2]), highlight_end=np.float32([2, 3]))
    keep = np.array([False, True, False, True])
    sub = keys.subset_track(t, keep)
    assert sub.cells.tolist() == [[0, 0, 1], [1, 0, 1]]
    assert sub.move_cell.tolist() == [0, 1] and sub.move_to.tolist() == [[9, 9, 9], [8, 8, 8]]
    assert sub.highlight_cell.tolist() == [1] and sub.highlight_start.tolist() == [2]


def test_flat_cell_index_is_row_major_and_checked():
    t = track("t", "input", (2, 3, 4))
    c, y, x = t.cells.T
    assert keys.flat_cell_index(t).tolist() == ((c * 3 + y) * 4 + x).tolist()
    t.cells = t.cells + np.int32([0, 0, 4])
    with pytest.raises(SpecError, match="cells"):
        keys.flat_cell_index(t)


@pytest.mark.parametrize("kernel_size, dilation", [(3, 2), (2, 3), (3, 1)])
def test_window_lattice_lights_exactly_the_read_cells(kernel_size, dilation):
    """At every shown key of the window, box + lattice select the cells the engine's intervals light."""
    timeline = build_timeline(plan(Conv2d(2, 9, 9, 2, kernel_size, dilation=dilation)), look=Look(highlight="cells"))
    window = next(box for box in timeline.boxes if box.role == "window")
    spacing, phase = keys.window_lattice(window)
    shown = np.asarray(window.key_visible, bool) if len(window.key_visible) else np.ones(len(window.key_frames), bool)
    for frame, centre in zip(window.key_frames[shown][::5], window.key_centers[shown][::5]):
        state = state_at(timeline, float(frame))["input"]
        offset = state.world_position - centre
        inside = np.all(np.abs(offset) < np.asarray(window.size) / 2, axis=1)
        np.testing.assert_array_equal(inside & keys.on_lattice(offset, spacing, phase), state.highlighted)




# --------------------------------------------------------------------------------------------- a clip's source


def test_source_round_trips_with_the_seeded_input():
    spec = Conv2d(2, 5, 5, 3, 3, padding="same")
    made = source.ClipSource(spec, Timing(frames_per_step=3, easing="linear"),
                             Look(highlight="cells", filter_colors=((1.0, 0.0, 0.0, 1.0),)), seed=7, order="position")
    back = source.from_json(source.to_json(made))
    assert back == made
    np.testing.assert_array_equal(back.plan().output, plan(spec, seed=7, order="position").output)


def test_source_keeps_an_input_array_exactly():
    spec = Conv2d(2, 4, 3, 2, 3)
    values = np.random.default_rng(3).standard_normal(spec.input_shape)
    stored, path = source.input_values(spec, values, 0)
    assert path is None
    back = source.from_json(source.to_json(source.ClipSource(spec, Timing(), Look(), 0, "filter", stored)))
    np.testing.assert_array_equal(back.input, values)
    np.testing.assert_array_equal(back.plan().output, plan(spec, input=values).output)
    with pytest.raises(SpecError, match="input"):
        source.input_values(spec, np.zeros((1, 1, 1)), 0)


@pytest.mark.parametrize("text", [None, "", "[]", '{"version": 99}', '{"spec": {}}'])
def test_source_of_another_version_or_none_is_refused(text):
    with pytest.raises(SpecError) as info:
        source.from_json(text)
    assert info.value.parameter == "clip"


# --------------------------------------------------------------------------------------------- digests, frame map


def _grouped(frames, values, kinds):
    n = len(frames)
    return keys.group_keys(np.zeros(n), np.asarray(frames, np.float64), np.reshape(values, (n, 1)),
                           np.asarray(kinds, np.int32))


def test_a_frame_map_moves_keys_and_handles_together():
    grouped = _grouped([1.0, 10.0, 40.0], [0.0, 2.0, 1.0], [keys.BEZIER] * 3)
    plain = keys.Channels(grouped, [("location", 0, 0)])
    mapped = keys.Channels(grouped, [("location", 0, 0)], frame_map=(99.5, 0.5))      # start 100, speed 2
    for before, after in ((plain.co, mapped.co), (plain.left, mapped.left), (plain.right, mapped.right)):
        assert np.allclose(after[0][0::2], 99.5 + 0.5 * before[0][0::2])
        assert np.array_equal(after[0][1::2], before[0][1::2])


def test_the_digest_of_written_keys_equals_the_one_read_back():
    """What the writer files (interpolation None when every key is BEZIER, handles None when AUTO_CLAMPED)
    equals what read_curve_digest makes of the arrays Blender gives back; an edit changes it."""
    co = np.float32([1, 0, 5, 2, 9, 1])
    auto = np.full(3, keys.AUTO_CLAMPED, np.int32)
    handles = lambda: (auto, auto, np.zeros(6, np.float32), np.zeros(6, np.float32))   # noqa: E731
    bezier = np.full(3, keys.BEZIER, np.int32)
    assert keys.read_curve_digest(co, bezier, handles) == keys.curve_digest(co)
    steps = np.full(3, keys.CONSTANT, np.int32)
    assert keys.read_curve_digest(co, steps, handles) == keys.curve_digest(co, steps)
    free = np.full(3, keys.FREE, np.int32)
    left, right = np.float32([0, 0, 4, 2, 8, 1]), np.float32([2, 0, 6, 2, 10, 1])
    written = keys.curve_digest(co, None, (free, free, left, right))
    assert keys.read_curve_digest(co, bezier, lambda: (free, free, left, right)) == written
    moved = right.copy()
    moved[3] += 0.5
    assert keys.read_curve_digest(co, bezier, lambda: (free, free, left, moved)) != written
    aligned = auto.copy()
    aligned[1] = keys.ALIGNED
    assert keys.read_curve_digest(co, bezier, lambda: (auto, aligned, left, right)) != keys.curve_digest(co)
    shifted = co.copy()
    shifted[2] += 1
    assert keys.read_curve_digest(shifted, bezier, handles) != keys.curve_digest(co)


def test_curve_digests_ignore_the_order_curves_come_in():
    a, b = keys.CurveDigests(), keys.CurveDigests()
    entries = [(("act", 1), "location", 0, b"x" * 8), (("act", 1), "scale", 2, b"y" * 8),
               (("other", 0), "color", 3, b"z" * 8)]
    for entry in entries:
        a.add(*entry)
    for entry in reversed(entries):
        b.add(*entry)
    assert a.hexdigest() == b.hexdigest()
    assert a.driven() == {("act", 1): {("location", 0), ("scale", 2)}, ("other", 0): {("color", 3)}}
    b.add(("other", 0), "color", 3, b"w" * 8)
    assert a.hexdigest() != b.hexdigest()
