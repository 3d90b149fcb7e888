"""api.generate / api.clear on the real bpy: the scene says what engine.state_at says, and nothing else changes."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from animatedai_addon import api  # noqa: E402
from animatedai_addon.engine import presets  # noqa: E402
from animatedai_addon.engine.errors import SpecError  # noqa: E402
from animatedai_addon.engine.spec import (AvgPool2d, Conv2d, ConvTranspose2d, MaxPool2d, PixelShuffle,  # noqa: E402
                                          PixelUnshuffle, depthwise_separable)
from animatedai_addon.engine.timeline import Look, Timing, count_cubes  # noqa: E402
from animatedai_addon.scene import materials, mesh, writer  # noqa: E402

DEFAULT_CLIP = "conv-3x3-stride2-valid"


def sample_frames(timeline, count: int, seed: int = 0) -> list[int]:
    """The first and last frames, and ``count`` frames at or just after events (pops, moves, highlights)."""
    events = [timeline.step_frames]
    for t in timeline.tensors:
        events += [t.appear, t.disappear, t.move_start, t.move_end, t.highlight_start, t.highlight_end, t.key_frames]
    for b in timeline.boxes:
        events.append(b.key_frames)
    frames = np.concatenate([np.asarray(e, np.float64).ravel() for e in events])
    frames = frames[np.isfinite(frames)]
    frames = np.unique(np.floor(frames)[:, None] + np.arange(-1, 3)[None, :])
    frames = frames[(frames >= timeline.frame_start - 1) & (frames <= timeline.frame_end + 1)].astype(int)
    picked = np.random.default_rng(seed).choice(frames, size=min(count, len(frames)), replace=False)
    return sorted({timeline.frame_start, timeline.frame_end, *picked.tolist()})


def check_against_engine(result, mismatches, count=24, seed=0, cube_size=None):
    cube = Look().cube_size if cube_size is None else cube_size
    frames = sample_frames(result.timeline, count, seed)
    assert mismatches(result.timeline, result.cells, result.boxes, frames, cube) == []


# --------------------------------------------------------------------------------------------- the scene


@pytest.mark.parametrize("name", presets.list_presets())
def test_every_preset_matches_the_engine(name, mismatches):
    result = api.generate(name)
    preset = presets.load_preset_file(name)
    assert result.collection.name == f"AnimatedAI {api.clip_label(name)}"
    assert sum(len(c) for c in result.cells.values()) == result.timeline.cube_count == count_cubes(preset.spec)
    check_against_engine(result, mismatches, cube_size=preset.look.cube_size)


SMALL_SPECS = [
    Conv2d(3, 5, 6, 2, kernel_size=(3, 2), stride=(2, 1), padding="same"),
    Conv2d(4, 5, 5, 4, kernel_size=3, padding=1, dilation=2, groups=2),
    ConvTranspose2d(2, 3, 3, 2, kernel_size=3, stride=2, padding=1, output_padding=1),
    MaxPool2d(2, 5, 5, kernel_size=2, stride=1, padding=1),
    AvgPool2d(2, 4, 6, kernel_size=3, stride=2, padding=1),
    PixelShuffle(8, 2, 3, 2),
    PixelUnshuffle(2, 4, 2, 2),
    depthwise_separable(3, 4, 4, 2),
]
TIMINGS = [
    Timing(),
    Timing(easing="linear", pop_frames=0, frames_per_step=1),
    Timing(easing="constant", pop_frames=2, hold_frames=0, move_frames=4),
    Timing(loop=True, intro_frames=2, outro_frames=3, speedup_after_rows=1, speedup=2),
]


@pytest.mark.parametrize("case", range(len(SMALL_SPECS)))
def test_small_specs_with_varied_timing_match_the_engine(case, mismatches):
    rng = np.random.default_rng(case)
    timing = TIMINGS[case % len(TIMINGS)]
    look = Look(cube_size=float(rng.choice([0.6, 0.9])), gap=0.2, value_shading=float(rng.choice([0.0, 1.0])))
    order = ("filter", "position")[case % 2]
    result = api.generate(SMALL_SPECS[case], timing=timing, look=look, seed=case, order=order)
    check_against_engine(result, mismatches, count=30, seed=case, cube_size=look.cube_size)


def test_output_colours_at_the_last_frame_are_the_engine_output_pattern():
    look = Look(value_shading=1.0)
    result = api.generate(Conv2d(2, 5, 5, 3, 3), look=look, seed=3)
    bpy.context.scene.frame_set(result.frame_end)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    track = result.timeline.tensor("output")
    colors = np.array([tuple(o.evaluated_get(depsgraph).color) for o in result.cells["output"]])
    scales = np.array([o.evaluated_get(depsgraph).matrix_world.to_scale()[0] for o in result.cells["output"]])
    assert np.allclose(scales, look.cube_size)
    assert np.allclose(colors, track.color, atol=1e-6)
    # brighter cubes hold larger values, filter by filter, as in the plan's output
    values = result.plan.output[tuple(track.cells.T)]
    for f in range(3):
        mine = track.cells[:, 0] == f
        brightness = colors[mine, :3].sum(axis=1)
        order = np.argsort(values[mine], kind="stable")
        assert np.all(np.diff(brightness[order]) >= -1e-6)


def test_results_name_the_tensors_and_boxes():
    result = api.generate(DEFAULT_CLIP, set_scene=True, use_template_camera=True)
    assert result.mode == "objects"
    assert set(result.tensors) >= {"input", "output", "filter0"}
    assert all(obj.type == "EMPTY" for obj in result.tensors.values())
    assert "window" in result.boxes and result.boxes["window"].type == "MESH"
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end) == (result.frame_start, result.frame_end)
    assert scene.camera is not None                      # the stage is set up


def test_shuffle_output_is_an_alias_of_the_input_cubes():
    result = api.generate("pixel-shuffle-2x2")
    assert result.timeline.aliases.get("output") == "input"
    assert result.tensors["output"] == result.tensors["input"]


def test_instanced_mode_makes_one_point_object_per_tensor():
    result = api.generate(DEFAULT_CLIP, mode="instanced")
    assert result.mode == "instanced" and result.cells == {}
    for name, obj in result.tensors.items():
        assert obj.type == "MESH" and obj.parent is not None
        assert len(obj.data.vertices) == len(result.timeline.tensor(name))
        assert any(m.type == "NODES" for m in obj.modifiers)


def test_auto_mode_switches_to_instanced_above_the_threshold():
    small = api.generate(Conv2d(2, 4, 4, 2, 3), mode="auto")
    assert small.mode == "objects"
    big_spec = Conv2d(16, 40, 40, 4, 3, padding="same")
    assert count_cubes(big_spec) > api.AUTO_INSTANCED_ABOVE
    big = api.generate(big_spec, mode="auto")
    assert big.mode == "instanced"


def test_timing_and_look_dicts_override_the_preset():
    preset = presets.load_preset_file(DEFAULT_CLIP)
    result = api.generate(DEFAULT_CLIP, timing={"fps": 30}, look={"cube_size": 0.5}, set_scene=True)
    assert result.timeline.fps == 30 and bpy.context.scene.render.fps == 30
    assert result.timeline.pop_frames == preset.timing.pop_frames
    cell = result.cells["input"][0]
    assert tuple(cell.scale) == pytest.approx((0.5, 0.5, 0.5))
    replaced = api.generate(DEFAULT_CLIP, timing=Timing(fps=12))
    assert replaced.timeline.fps == 12


def test_generate_into_another_scene():
    other = bpy.data.scenes.new("other")
    result = api.generate(Conv2d(1, 3, 3, 1, 2), scene=other)
    assert result.collection.name in other.collection.children
    assert result.collection.name not in bpy.context.scene.collection.children


# --------------------------------------------------------------------------------------------- regenerate, clear


def _addon_blocks() -> dict[str, set[str]]:
    """Names of the data-blocks the add-on made (clips, cubes, boxes, actions, materials, node groups)."""
    return {
        "collections": {c.name for c in bpy.data.collections if c.get(writer.PROP_CLIP) is not None},
        "meshes": {m.name for m in bpy.data.meshes if m.get(mesh.TAG) is not None},
        "materials": {m.name for m in bpy.data.materials if m.get(materials.TAG) is not None},
        "actions": {a.name for a in bpy.data.actions},
        "node_groups": {g.name for g in bpy.data.node_groups if g.get(writer.TAG) is not None},
        "cube holders": {o.name for o in bpy.data.objects if o.data is not None and o.data.get(mesh.TAG) == "cube"
                         and o.users == 0},
    }


def test_regenerating_replaces_the_clip_and_nothing_more(datablock_counts):
    api.generate(DEFAULT_CLIP)
    first = datablock_counts()
    api.generate(DEFAULT_CLIP)
    assert datablock_counts() == first
    api.generate(DEFAULT_CLIP, mode="instanced")
    api.generate(DEFAULT_CLIP)
    assert datablock_counts()["objects"] == first["objects"]
    assert len(writer.clip_collections()) == 1


def test_regenerating_rewrites_the_same_cell_objects(mismatches):
    first = api.generate(DEFAULT_CLIP)
    cells = {name: [o.as_pointer() for o in objects] for name, objects in first.cells.items()}
    first.cells["output"][0].rotation_euler = (0.3, 0.2, 0.1)          # a user's stray edit
    second = api.generate(DEFAULT_CLIP, timing={"easing": "linear", "pop_frames": 5}, look={"cube_size": 0.7},
                          seed=5, if_edited="replace")
    assert {name: [o.as_pointer() for o in objects] for name, objects in second.cells.items()} == cells
    assert tuple(second.cells["output"][0].rotation_euler) == (0.0, 0.0, 0.0)
    check_against_engine(second, mismatches, cube_size=0.7)
    assert not [o for o in bpy.data.objects if o.users == 0]


def test_regenerating_into_another_mode_leaves_no_cells_behind(datablock_counts):
    api.generate(DEFAULT_CLIP, mode="instanced")
    instanced = datablock_counts()
    api.generate(DEFAULT_CLIP)
    api.generate(DEFAULT_CLIP, mode="instanced")
    assert datablock_counts()["objects"] == instanced["objects"]
    assert not [o for o in bpy.data.objects if o.users == 0 and not o.name.startswith("AnimatedAI cube")]


def test_user_objects_and_edited_materials_survive_regeneration():
    user_mesh = bpy.data.meshes.new("my mesh")
    user_object = bpy.data.objects.new("my object", user_mesh)
    bpy.context.scene.collection.objects.link(user_object)
    first = api.generate(DEFAULT_CLIP)
    # the user also puts a cell of the clip into their own collection: it stays with them
    mine = bpy.data.collections.new("mine")
    bpy.context.scene.collection.children.link(mine)
    kept_cell = first.cells["input"][0]
    mine.objects.link(kept_cell)
    edited = bpy.data.materials["AnimatedAI input"]
    edited.node_tree.nodes["Principled BSDF"].inputs["Roughness"].default_value = 0.987
    second = api.generate(DEFAULT_CLIP)
    assert bpy.data.objects.get("my object") == user_object and user_object.data == user_mesh
    assert kept_cell.name in mine.objects
    assert bpy.data.materials["AnimatedAI input"] == edited
    roughness = edited.node_tree.nodes["Principled BSDF"].inputs["Roughness"].default_value
    assert roughness == pytest.approx(0.987)
    assert second.cells["input"][1].material_slots[0].material == edited


def test_clear_removes_every_clip_and_the_addons_orphans():
    user_material = bpy.data.materials.new("my material")
    user_material.use_fake_user = True
    user_object = bpy.data.objects.new("my empty", None)
    bpy.context.scene.collection.objects.link(user_object)
    api.generate(DEFAULT_CLIP)
    api.generate("pixel-shuffle-2x2", mode="instanced")
    made = _addon_blocks()
    assert made["collections"] and made["meshes"] and made["materials"] and made["actions"] and made["node_groups"]
    assert api.clear() == 2
    assert _addon_blocks() == {k: set() for k in _addon_blocks()}
    assert not [m for m in bpy.data.meshes if m.users == 0]
    assert bpy.data.objects.get("my empty") == user_object
    assert bpy.data.materials.get("my material") == user_material


def test_clear_one_clip_keeps_the_others(mismatches):
    kept = api.generate(Conv2d(1, 3, 3, 1, 2))
    api.generate(DEFAULT_CLIP)
    assert api.clear(DEFAULT_CLIP) == 1
    assert [c.name for c in writer.clip_collections()] == [kept.collection.name]
    assert bpy.data.materials.get("AnimatedAI input") is not None
    check_against_engine(kept, mismatches, count=8)


# --------------------------------------------------------------------------------------------- refusals


BAD_CALLS = {
    "unknown preset": (("conv-4x4-nonsense",), {}, "preset"),
    "mode": ((DEFAULT_CLIP,), {"mode": "points"}, "mode"),
    "timing key": ((DEFAULT_CLIP,), {"timing": {"speed": 2}}, "timing.speed"),
    "timing value": ((DEFAULT_CLIP,), {"timing": {"fps": 0}}, "timing.fps"),
    "look value": ((DEFAULT_CLIP,), {"look": {"cube_size": -1.0}}, "look.cube_size"),
    "template": ((DEFAULT_CLIP,), {"template": "disco"}, "template"),
    "input shape": ((DEFAULT_CLIP,), {"input": np.zeros((2, 2, 2))}, "input"),
    "order": ((DEFAULT_CLIP,), {"order": "random"}, "order"),
    "spec type": ((42,), {}, "spec"),
    "spec dict": (({"op": "conv2d", "in_channels": 2},), {}, "height"),
    "scene": ((DEFAULT_CLIP,), {"scene": "Scene"}, "scene"),
    "budget": ((Conv2d(64, 64, 64, 64, 3),), {}, "cube_budget"),
    "budget value": ((DEFAULT_CLIP,), {"cube_budget": 0}, "cube_budget"),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_arguments_raise_spec_error_and_change_nothing(case, datablock_counts):
    api.generate(Conv2d(1, 3, 3, 1, 2))
    before = datablock_counts()
    scene = bpy.context.scene
    frames = (scene.frame_start, scene.frame_end)
    args, kwargs, parameter = BAD_CALLS[case]
    with pytest.raises(SpecError) as info:
        api.generate(*args, **kwargs)
    assert info.value.parameter.startswith(parameter.split(".")[0])
    assert parameter in str(info.value)
    assert datablock_counts() == before
    assert (scene.frame_start, scene.frame_end) == frames


def test_cube_budget_refusal_names_the_count():
    spec = Conv2d(8, 30, 30, 8, 3)
    count = count_cubes(spec)
    with pytest.raises(SpecError) as info:
        api.generate(spec, cube_budget=count - 1)
    assert f"{count:,}" in str(info.value)
    assert api.generate(spec, cube_budget=count, mode="instanced").mode == "instanced"


def test_each_mode_has_its_own_default_budget(datablock_counts):
    million = Conv2d(8, 250, 250, 8, 3, padding="same")            # ~1M cubes
    assert 1_000_000 <= count_cubes(million) <= api.CUBE_BUDGETS["instanced"]
    assert api.check_cube_budget(count_cubes(million), None, "instanced") == count_cubes(million)
    before = datablock_counts()
    with pytest.raises(SpecError) as info:                            # objects mode: refused before anything
        api.generate(million, mode="objects")
    assert info.value.parameter == "cube_budget" and "mode='instanced'" in str(info.value)
    with pytest.raises(SpecError) as info:                            # instanced: only a bigger budget helps
        api.generate(million, mode="instanced", cube_budget=500_000)
    assert "raise cube_budget" in str(info.value) and "mode='instanced'" not in str(info.value)
    assert datablock_counts() == before
    over = Conv2d(8, 60, 60, 8, 3, padding="same")                    # 60,128 cubes: over the objects default
    assert count_cubes(over) > api.CUBE_BUDGETS["objects"]
    assert api.generate(over, mode="auto", template=None).mode == "instanced"   # auto: no budget to raise


def test_clear_with_a_bad_spec_raises_and_keeps_the_clips():
    api.generate(Conv2d(1, 3, 3, 1, 2))
    with pytest.raises(SpecError):
        api.clear("no-such-preset")
    assert len(writer.clip_collections()) == 1
