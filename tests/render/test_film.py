"""The film language of the Animated AI clips, rendered (issue 9): the white pulse along the active filter,
the new output cell white at its first visible frame, the input under the window not lit."""

import bpy
import numpy as np
import pytest

from animatedai_addon import api
from animatedai_addon.engine.timeline import PULSE_COLOR
from animatedai_addon.scene import compat
from animatedai_addon.scene.stage import project_to_frame

from .conftest import read_png

pytestmark = pytest.mark.render


def evaluated_colour(obj):
    return np.array(obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).color)


def first_visible_frame(timeline, appear: float) -> int:
    """The first whole frame at which a cell popping in at ``appear`` has a size (Blender shows whole frames)."""
    frame = int(np.floor(appear)) + 1 if timeline.easing != "constant" else int(np.ceil(appear + timeline.pop_frames))
    return frame


@pytest.mark.parametrize("mode, engine", [("objects", "CYCLES"), ("instanced", "CYCLES"), ("objects", "EEVEE")])
def test_the_pulse_runs_along_the_filter_and_the_new_cell_is_white(mode, engine):
    result = api.generate("conv-3x3-stride2-valid", mode=mode, template="studio", use_template_camera=True)
    timeline, scene = result.timeline, bpy.context.scene
    pulse = next(b for b in timeline.boxes if b.role == "pulse")
    start, arrive = float(pulse.key_frames[0]), float(pulse.key_frames[1])
    out = timeline.tensor("output")
    first = int(np.argmin(out.appear))
    frame = first_visible_frame(timeline, float(out.appear[first]))
    scene.frame_set(frame)
    if mode == "objects":
        assert np.allclose(evaluated_colour(result.cells["output"][first]), PULSE_COLOR, atol=1e-4)
        # in the middle of the first pulse one channel layer of filter0 is white, the rest keep the red
        scene.frame_set(int(round((start + arrive) / 2)))
        colours = np.array([evaluated_colour(o) for o in result.cells["filter0"]])
        white = np.all(np.abs(colours - PULSE_COLOR) < 1e-4, axis=1)
        layers = timeline.tensor("filter0").cells[:, 0]
        assert white.any() and len(np.unique(layers[white])) == 1 and not white.all()
        inputs = np.array([evaluated_colour(o) for o in result.cells["input"]])
        assert np.allclose(inputs, timeline.tensor("input").color, atol=1e-4)     # the window does not light
    # and in the render: the lit layer is near white, its neighbours red
    if engine == "CYCLES":
        scene.render.engine = "CYCLES"
        scene.cycles.samples = 8
        scene.cycles.device = "CPU"
    else:
        scene.render.engine = compat.eevee_engine_id()
        scene.eevee.taa_render_samples = 4
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 320, 180, 100
    middle = int(round((start + arrive) / 2))
    scene.frame_set(middle)
    from animatedai_addon.engine.timeline import box_state_at, state_at
    states = state_at(timeline, middle)
    track = timeline.tensor("filter0")
    _, centre, size = box_state_at(timeline, middle)[pulse.name]      # what the pulse box lights (both modes)
    lit = np.all(np.abs(states["filter0"].world_position - centre) < size / 2, axis=1)
    assert lit.any()
    path = f"{bpy.app.tempdir}/pulse_{mode}_{engine}.png"
    scene.render.filepath = path
    bpy.ops.render.render(write_still=True)
    pixels = read_png(path).astype(float)

    def colour_at(points):
        uv = project_to_frame(scene, points)
        x = np.clip((uv[:, 0] * 320).astype(int), 0, 319)
        y = np.clip(((1 - uv[:, 1]) * 180).astype(int), 0, 179)
        return np.median(pixels[y, x], axis=0)

    # the top faces (toward the light) of the top row of cubes of the lit layer and of an unlit layer
    top = track.cells[:, 1] == 0
    world = states["filter0"].world_position + np.array([0, 0, 0.45])
    lit_rgb = colour_at(world[lit & top])
    other_rgb = colour_at(world[~lit & top & (np.abs(track.cells[:, 0] - track.cells[lit][0, 0]) >= 2)])
    assert lit_rgb.min() > 150, lit_rgb                                  # near white: every channel bright
    assert other_rgb[0] > other_rgb[1] + 60 and other_rgb[0] > other_rgb[2] + 60, other_rgb   # still red
