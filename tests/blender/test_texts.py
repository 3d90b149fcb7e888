"""Labels as text objects in real Blender (issue 14): the planned strings, facing the camera, shown when
planned, inside the camera frame at 480×270, readable there, clear of every cube; removed with their clip."""

import bpy
import numpy as np
import pytest

from animatedai_addon import api
from animatedai_addon.engine import labels
from animatedai_addon.engine.timeline import state_at
from animatedai_addon.scene.stage import project_to_frame

WIDTH, HEIGHT = 480, 270
#: Smallest height of a text's glyph box in the picture, in pixels (digits alone: the cap height, ~0.73 em).
READABLE_PX = 8


def generate(name="conv-3x3-valid", mode="objects", **look):
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = WIDTH, HEIGHT
    scene.render.resolution_percentage = 100
    return api.generate(name, mode, look=look or {"labels": True}, template="studio", use_template_camera=True)


def text_corners(obj, depsgraph) -> np.ndarray:
    """World corners of a text object's real (evaluated) glyph box."""
    evaluated = obj.evaluated_get(depsgraph)
    local = np.array([tuple(c) for c in evaluated.bound_box])
    matrix = np.array(evaluated.matrix_world)
    return local @ matrix[:3, :3].T + matrix[:3, 3]


def cube_rects(timeline, frame, cube=0.9) -> np.ndarray:
    """(N, 4) picture rectangles (x0, y0, x1, y1) of the visible cubes at ``frame``."""
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    rects = []
    for state in state_at(timeline, frame).values():
        half = (state.scale * cube / 2)[state.visible]
        corners = state.world_position[state.visible][:, None, :] + half[:, None, None] * signs
        where = project_to_frame(bpy.context.scene, corners.reshape(-1, 3)).reshape(-1, 8, 2)
        rects.append(np.c_[where.min(axis=1), where.max(axis=1)])
    return np.vstack(rects)


def test_text_objects_say_what_the_engine_planned():
    result = generate()
    planned = result.timeline.texts
    assert planned and set(result.texts) == {t.name for t in planned}
    assert {t.kind for t in planned} == set(labels.TEXT_KINDS)
    for text in planned:
        obj = result.texts[text.name]
        assert obj.type == "FONT" and obj.data.body == text.text and obj.data.size == pytest.approx(text.size)
        assert obj.name in result.collection.objects and obj.parent == result.root
    by_name = {t.name: t.text for t in planned}
    assert by_name["input shape"] == "8\u00d78\u00d78" and by_name["weights shape"] == "8\u00d78\u00d73\u00d73"
    assert by_name["call"] == "nn.Conv2d(8, 8, kernel_size=3, bias=False)"


def test_texts_face_the_camera_and_show_when_planned():
    result = generate()
    scene = bpy.context.scene
    camera_z = np.array(scene.camera.matrix_world)[:3, 2]
    timeline = result.timeline
    for frame in np.linspace(timeline.frame_start, timeline.frame_end, 7).round():
        scene.frame_set(int(frame))
        depsgraph = bpy.context.evaluated_depsgraph_get()
        for text in timeline.texts:
            evaluated = result.texts[text.name].evaluated_get(depsgraph)
            matrix = np.array(evaluated.matrix_world)[:3, :3]
            scale = np.linalg.norm(matrix, axis=0)
            assert (scale[0] > 0.5) == text.shown_at(frame), (text.name, frame)
            if scale[0] > 0.5:
                assert np.dot(matrix[:, 2] / scale[2], camera_z) > 0.9999


@pytest.mark.parametrize("name,mode", [("conv-3x3-valid", "objects"), ("espcn-x2", "objects"),
                                       ("conv-transpose-3x3-stride2", "instanced"),
                                       ("conv-batchnorm-relu6", "objects")])
def test_texts_are_in_frame_readable_and_clear_of_the_cubes(name, mode):
    result = generate(name, mode)
    scene = bpy.context.scene
    timeline = result.timeline
    frames = np.linspace(timeline.frame_start, timeline.frame_end, 9).round()
    for frame in frames:
        scene.frame_set(int(frame))
        depsgraph = bpy.context.evaluated_depsgraph_get()
        cubes = cube_rects(timeline, float(frame))
        for text in timeline.texts:
            if not text.shown_at(frame):
                continue
            where = project_to_frame(scene, text_corners(result.texts[text.name], depsgraph))
            assert where.min() >= 0.0 and where.max() <= 1.0, (text.name, frame, where.round(3))
            if text.kind != "steps":     # a lone digit's box is its glyph's; the line's is the words'
                assert np.ptp(where[:, 1]) * HEIGHT >= READABLE_PX, (text.name, np.ptp(where[:, 1]) * HEIGHT)
            x0, y0 = where.min(axis=0)
            x1, y1 = where.max(axis=0)
            overlap = (cubes[:, 0] < x1) & (cubes[:, 2] > x0) & (cubes[:, 1] < y1) & (cubes[:, 3] > y0)
            assert not overlap.any(), (text.name, frame, int(overlap.sum()))


def test_texts_leave_with_their_clip_and_a_regenerate_is_no_edit(datablock_counts):
    before = datablock_counts()
    generate()
    again = generate()
    assert again.replaced and not again.message
    api.clear()
    api.clear()
    after = datablock_counts()
    assert {k: v for k, v in after.items() if v != before[k]} == {}


def test_one_switch_shows_one_element():
    result = generate(label_call=True)
    assert [t.kind for t in result.timeline.texts] == ["call"]
    assert not generate("max-pool-2x2", label_steps=False).texts


# --- numbers on cells -------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["objects", "instanced"])
def test_numbers_show_the_plans_values_and_follow_their_cubes(mode):
    """Objects mode: a chain whose shuffle moves the numbered cubes; instanced: a conv."""
    from animatedai_addon.engine import Conv2d, espcn
    spec = espcn(1, 3, 3, 2, 1) if mode == "objects" else Conv2d(2, 4, 4, 2, 3)
    result = api.generate(spec, mode, look={"numbers": True})
    timeline, the_plan = result.timeline, result.plan
    stages = the_plan.stages if hasattr(the_plan, "stages") else [the_plan]
    numbers = {t.name: [o for o in bpy.data.objects if o.name.startswith(f"1:{t.name} value[")]
               for t in timeline.tensors if t.role != "padding"}
    shown = {t: n for t, n in numbers.items() if n}
    assert sum(len(n) for n in shown.values()) == sum(len(t) for t in timeline.tensors if t.role != "padding")
    assert np.allclose(timeline.tensor("input").value, stages[0].grid_input.ravel())
    for name, objects in shown.items():
        track = timeline.tensor(name)
        by_cell = {o.name: o for o in objects}
        for cell_name, value in zip(track.cell_names(), track.value):
            assert by_cell[f"1:{name} value" + cell_name[len(name):]].data.name == \
                f"AnimatedAI number {labels.number_text(value)}"
    scene = bpy.context.scene
    for frame in np.linspace(timeline.frame_start, timeline.frame_end, 6).round():
        scene.frame_set(int(frame))
        states = state_at(timeline, float(frame))
        for name, objects in shown.items():
            track = timeline.tensor(name)
            by_cell = {o.name: o for o in objects}
            for i, cell_name in enumerate(track.cell_names()):
                obj = by_cell[f"1:{name} value" + cell_name[len(name):]]
                matrix = np.array(obj.matrix_world)
                assert np.abs(matrix[:3, 3] - states[name].world_position[i]).max() < 1e-4
                assert np.linalg.norm(matrix[:3, 0]) == pytest.approx(states[name].scale[i] * 0.9, abs=1e-4)


def test_numbers_refused_above_their_size_before_the_scene_changes(datablock_counts):
    from animatedai_addon.engine import Conv2d, SpecError
    before = datablock_counts()
    with pytest.raises(SpecError, match="look.numbers.*2,000 cubes"):
        api.generate(Conv2d(8, 12, 12, 8, 3), look={"numbers": True})
    assert datablock_counts() == before
