"""Camera moves the engine plans, keyed on the scene camera's location (it keeps looking the same way, so
texts that face it stay square to the picture): the close-up (engine/closeup.py: in on the board of products,
hold, back out) and following a chain's stages (engine/camera.py)."""

from __future__ import annotations

import math

import numpy as np

from . import compat
from .keys import BEZIER

TAG = "animatedai"
#: Air around the board in the close-up's picture.
CLOSEUP_MARGIN = 1.15


def _aspect(scene) -> float:
    render = scene.render
    return (render.resolution_x * render.pixel_aspect_x) / max(render.resolution_y * render.pixel_aspect_y, 1e-6)


def closeup_distance(camera, scene, size) -> float:
    """How far in front of the board the camera stands to hold its ``size`` (across, up metres) in frame."""
    aspect = _aspect(scene)
    half = math.tan(camera.data.angle / 2)          # along the longer side (sensor fit AUTO)
    tan_x, tan_y = (half, half / aspect) if aspect >= 1 else (half * aspect, half)
    return CLOSEUP_MARGIN * max(size[0] / 2 / tan_x, size[1] / 2 / tan_y)


def closeup_keys(scene, closeup, root_location, frames, home) -> tuple[np.ndarray, np.ndarray]:
    """(frames, locations) of the close-up's move from ``home`` at scene ``frames`` (4)."""
    camera = scene.camera
    back = np.array(camera.matrix_world)[:3, 2]            # the camera looks along its -Z
    back = back / np.linalg.norm(back)
    near = np.asarray(root_location, float) + np.asarray(closeup.focus, float) + \
        back * closeup_distance(camera, scene, closeup.size)
    home = np.asarray(home, float)
    return np.asarray(frames, float), np.array([home, near, near, home])


def follow_keys(scene, framings, root_location, frame_of) -> tuple[np.ndarray, np.ndarray]:
    """(frames, locations) of the camera following a chain's stages (engine/camera.py's framings), each fitted
    from the framing direction; ``frame_of(t)``: the scene frame of timeline frame t."""
    from . import stage
    camera = scene.camera
    direction = stage.camera_direction()
    places = []
    for framing in framings:
        centre, extent = (framing.low + framing.high) / 2, framing.high - framing.low
        distance = stage.fit_camera_distance(direction, centre, extent, camera.data.lens, camera.data.sensor_width,
                                             _aspect(scene))
        places.append(np.asarray(root_location, float) + centre + direction * distance)
    frames, locations = [frame_of(framings[0].leave)], [places[0]]
    for previous, framing, place in zip(places, framings[1:], places[1:]):
        frames += [frame_of(framing.leave), frame_of(framing.arrive)]
        locations += [previous, place]
    return np.asarray(frames, float), np.asarray(locations, float)


def key_camera(scene, frames, locations, tag: str) -> None:
    """Key the scene camera's location (eased) at ``frames``."""
    from .writer import PROP_CLIP, animate_object
    # tagged as the clip's actions: cleared with the stage's camera (purge); a camera of the user's keeps it
    pool = compat.ActionPool("AnimatedAI camera moves", 1, {TAG: tag, PROP_CLIP: tag})
    kinds = np.full(len(frames), BEZIER, np.int32)
    locations = np.asarray(locations, float)
    animate_object(pool, scene.camera, [("location", axis, np.asarray(frames, float), locations[:, axis], kinds)
                                        for axis in range(3)])
