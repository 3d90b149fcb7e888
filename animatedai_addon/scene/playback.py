"""The scene's frame range and frame rate: set here and nowhere else (``api.generate(set_scene=True)`` for a clip,
``rendering.video`` for the scene that assembles an MP4)."""

from __future__ import annotations


def set_playback(scene, frame_start: int, frame_end: int, fps: int) -> None:
    """Play frames ``frame_start..frame_end`` (inclusive, as Blender counts) at ``fps`` whole frames a second."""
    scene.frame_start, scene.frame_end = int(frame_start), int(frame_end)
    scene.render.fps, scene.render.fps_base = int(fps), 1.0
