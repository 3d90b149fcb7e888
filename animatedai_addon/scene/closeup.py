"""The close-up's camera move (engine/closeup.py plans it): the scene camera travels from where it stands to
in front of the board of products, holds, and comes back, keyed on its location only (it keeps looking the
same way, so the board, which faces it, stays square to the picture)."""

from __future__ import annotations

import math

import numpy as np

from . import compat
from .keys import BEZIER

TAG = "animatedai"
#: Air around the board in the close-up's picture.
CLOSEUP_MARGIN = 1.15


def closeup_distance(camera, scene, size) -> float:
    """How far in front of the board the camera stands to hold its ``size`` (across, up metres) in frame."""
    render = scene.render
    aspect = (render.resolution_x * render.pixel_aspect_x) / max(render.resolution_y * render.pixel_aspect_y, 1e-6)
    data = camera.data
    half = math.tan(data.angle / 2)          # along the longer side (sensor fit AUTO)
    tan_x, tan_y = (half, half / aspect) if aspect >= 1 else (half * aspect, half)
    return CLOSEUP_MARGIN * max(size[0] / 2 / tan_x, size[1] / 2 / tan_y)


def key_camera(scene, closeup, root_location, frames, tag: str) -> np.ndarray:
    """Key the scene camera's move at scene ``frames`` (4); returns the close-up location."""
    from .writer import PROP_CLIP, animate_object
    camera = scene.camera
    back = np.array(camera.matrix_world)[:3, 2]            # the camera looks along its -Z
    back = back / np.linalg.norm(back)
    home = np.array(camera.location, float)
    near = np.asarray(root_location, float) + np.asarray(closeup.focus, float) + \
        back * closeup_distance(camera, scene, closeup.size)
    values = np.array([home, near, near, home])
    # tagged as the clip's actions: cleared with the stage's camera (purge); a camera of the user's keeps it
    pool = compat.ActionPool("AnimatedAI close-up camera", 1, {TAG: tag, PROP_CLIP: tag})
    kinds = np.full(4, BEZIER, np.int32)
    animate_object(pool, camera, [("location", axis, np.asarray(frames, float), values[:, axis], kinds)
                                  for axis in range(3)])
    return near
