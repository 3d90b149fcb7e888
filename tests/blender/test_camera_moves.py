"""Camera moves for chains (issue 14, Look.follow_camera): the camera frames each stage while it runs, so the
active window box stays inside the frame and at least 5% of its width; still by default and for one op."""

import bpy
import numpy as np
import pytest

from animatedai_addon import api
from animatedai_addon.engine.timeline import box_state_at
from animatedai_addon.scene.stage import project_to_frame

SIGNS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)


def generate(name, **look):
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 480, 270, 100
    return api.generate(name, look=look, template="studio", use_template_camera=True)


@pytest.mark.parametrize("name", ["depthwise-separable", "espcn-x2", "mobilenet-block"])
def test_the_window_stays_framed_and_large_enough(name):
    result = generate(name, follow_camera=True)
    scene = bpy.context.scene
    assert scene.camera.animation_data is not None and scene.camera.animation_data.action is not None
    timeline = result.timeline
    root = np.array(result.root.location)
    checked, smallest = 0, 1.0
    for frame in range(timeline.frame_start, timeline.frame_end + 1, 3):
        scene.frame_set(frame)
        for box in timeline.boxes:
            visible, centre, size = box_state_at(timeline, frame)[box.name]
            if box.role != "window" or not visible:
                continue
            where = project_to_frame(scene, root + centre + size / 2 * SIGNS)
            assert where.min() >= 0 and where.max() <= 1, (box.name, frame, where.round(3))
            smallest = min(smallest, float(np.ptp(where[:, 0])))
            checked += 1
    assert checked > 20 and smallest >= 0.05, (checked, smallest)


def test_still_by_default_and_for_one_operation():
    generate("depthwise-separable")
    assert bpy.context.scene.camera.animation_data is None or bpy.context.scene.camera.animation_data.action is None
    api.clear()
    generate("conv-3x3-valid", follow_camera=True)
    assert bpy.context.scene.camera.animation_data is None or bpy.context.scene.camera.animation_data.action is None


def test_following_makes_the_active_stage_larger():
    """The negative control: the still camera shows the first stage's window smaller than the moving one."""
    widths = {}
    for follow in (False, True):
        result = generate("mobilenet-block", follow_camera=follow)
        scene, timeline = bpy.context.scene, result.timeline
        frame = int(timeline.step_frames[0]) + 1
        scene.frame_set(frame)
        visible, centre, size = box_state_at(timeline, frame)[next(b.name for b in timeline.boxes
                                                                  if b.role == "window")]
        widths[follow] = float(np.ptp(project_to_frame(scene, np.array(result.root.location) + centre
                                                        + size / 2 * SIGNS)[:, 0]))
        api.clear()
    assert widths[True] > 1.2 * widths[False], widths
