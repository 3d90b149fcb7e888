"""api.trace and its operator: the receptive field of a picked cell lit stage by stage, on real Blender."""

import bpy
import numpy as np
import pytest

from animatedai_addon import api
from animatedai_addon.engine import load_preset_file, plan, trace
from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.timeline import build_timeline, state_at
from animatedai_addon.scene import clip as clips
from animatedai_addon.scene.trace import PROP_TRACE, trace_objects


def lit_centres(obj) -> np.ndarray:
    """World centres of the trace object's cubes (8 vertices each)."""
    corners = np.empty(len(obj.data.vertices) * 3)
    obj.data.vertices.foreach_get("co", corners)
    local = corners.reshape(-1, 8, 3).mean(axis=1)
    return local + np.array(obj.matrix_world.translation)


def expected_centres(name, node, cell, track_name, root):
    preset = load_preset_file(name)
    the_plan = plan(preset.spec)
    timeline = build_timeline(the_plan, preset.timing, preset.look, highlights=False)
    settled = float(timeline.step_frames.max()) + timeline.pop_frames + 1.0
    where = state_at(timeline, settled)[track_name].world_position
    tensor = "input" if track_name == "input" else track_name.removesuffix(" output")
    mask = trace(the_plan, node, cell)[tensor]
    return where[np.flatnonzero(mask.ravel())] + np.array(root.matrix_world.translation), int(mask.sum())


@pytest.mark.parametrize("mode", ["objects", "instanced"])
def test_trace_lights_the_receptive_field_stage_by_stage(scene, mode, datablock_counts):
    before = datablock_counts()
    result = api.generate("concat-skip", mode=mode, location=(3.0, -1.0, 0.0))
    scene.frame_set(40)
    made = api.trace(result, (1, 0, 3), node="concat", frames_per_stage=10)
    assert [o[PROP_TRACE] for o in made] == ["concat output", "conv output", "input"]
    assert {o.name for o in trace_objects(result.collection)} == {o.name for o in made}
    root = clips.root_of(result.collection)
    bpy.context.view_layer.update()
    for obj in made:
        want, count = expected_centres("concat-skip", "concat", (1, 0, 3), obj[PROP_TRACE], root)
        assert len(obj.data.vertices) == 8 * count
        np.testing.assert_allclose(np.sort(lit_centres(obj), axis=0), np.sort(want, axis=0), atol=1e-4)
    # the input's 3x3 window at the top edge: 2 rows x 3 columns x 4 channels; the conv cell; the picked one
    assert [len(o.data.vertices) // 8 for o in made] == [1, 1, 24]
    for frame, shown in ((39, []), (40, [0]), (49, [0]), (50, [0, 1]), (60, [0, 1, 2])):
        scene.frame_set(frame)
        assert [i for i, o in enumerate(made) if not o.hide_render and not o.hide_viewport] == shown, frame
    assert clips.edits(result.collection) == []            # the trace is the add-on's
    again = api.trace(result, (5, 2, 2), node="concat")    # a channel of the skip: the input only
    assert len(trace_objects(result.collection)) == 2 and [o[PROP_TRACE] for o in again] == ["concat output",
                                                                                             "input"]
    api.clear()
    after = datablock_counts()
    for kind in ("objects", "meshes", "actions", "collections"):
        assert after[kind] == before[kind], kind


def test_operator_traces_the_selected_cell(scene):
    result = api.generate("mobilenet-block", mode="objects")
    cell = next(o for o in result.cells["add output"] if o.name.endswith("add output[c2,y0,x7]"))
    bpy.context.view_layer.objects.active = cell
    assert api.picked_cell(cell)[1:] == ("add", (2, 0, 7))
    assert bpy.ops.animatedai.trace() == {'FINISHED'}
    lit = {o[PROP_TRACE]: len(o.data.vertices) // 8 for o in trace_objects(result.collection)}
    # the skip reads input[2, 0, 7]; the 1x1 project reads all 8 depthwise channels at (0, 7), whose 3x3
    # windows at the corner read 2x2 cells of their own channel, which the 1x1 expand reads from all 4 inputs
    assert lit == {"add output": 1, "project output": 1, "depthwise_relu6 output": 8, "depthwise output": 8,
                   "expand_relu6 output": 32, "expand output": 32, "input": 16}
    bpy.context.view_layer.objects.active = result.cells["input"][0]
    with pytest.raises(RuntimeError, match="depends on nothing"):
        bpy.ops.animatedai.trace()


def test_bad_trace_arguments_are_named(scene):
    result = api.generate("concat-skip", mode="objects")
    for kwargs, parameter in (({"cell": (9, 0, 0)}, "cell"), ({"cell": (0, 0, 0), "node": "nope"}, "node"),
                              ({"cell": (0, 0, 0), "frames_per_stage": 0}, "frames_per_stage")):
        with pytest.raises(SpecError) as caught:
            api.trace(result, **kwargs)
        assert caught.value.parameter == parameter
    assert trace_objects(result.collection) == []
    with pytest.raises(SpecError):
        api.trace("concat-skip", (0, 0, 0))
