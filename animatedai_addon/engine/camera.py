"""Camera moves for chains (``Look.follow_camera``): where the camera looks during each stage.

A chain's clip is framed as a whole by default (the camera stands still). With ``follow_camera``, each stage
is framed alone while it runs: :func:`stage_framing` gives, per stage, the box around every place that stage's
tensors (not its waiting filters, whose rows stretch far to the side) and boxes go, and the frames the camera travels to it, ending before the stage's first step so that
its window is framed when it first shows. The scene layer fits the camera to each box from the same direction
(``scene/stage.py``'s fit) and keys its location. One operation keeps the still camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plans import GraphPlan

#: Longest camera travel between two stages' framings (frames).
FOLLOW_FRAMES = 24


@dataclass
class StageFraming:
    """The camera frames ``low``..``high`` (world, relative to the clip's root) of stage ``stage`` from frame
    ``arrive`` on, having left the previous framing at ``leave``."""

    stage: int
    leave: float
    arrive: float
    low: np.ndarray
    high: np.ndarray


def _stage_of_name(name: str, nodes: dict | None = None) -> int:
    """The stage a chain's track or box belongs to (``stage2 filter0`` -> 2; the first input -> 0); a graph's
    by its node (``nodes``: node name -> index; ``expand filter0`` -> the index of ``expand``)."""
    if nodes is not None:
        return nodes.get(name.split(" ", 1)[0], 0)
    if name.startswith("stage"):
        return int(name[5:].split(" ", 1)[0])
    return 0


def _grow(low, high, points):
    return np.minimum(low, points.min(axis=0)), np.maximum(high, points.max(axis=0))


def stage_framing(plan, timeline, look) -> list[StageFraming]:
    """Per stage of a chain, its framing and when the camera moves to it; [] for one operation or when
    ``look.follow_camera`` is off."""
    stages = list(plan.stages) if hasattr(plan, "stages") else [plan]
    if not getattr(look, "follow_camera", False) or len(stages) < 2:
        return []
    half = look.cube_size / 2
    nodes = {name: i for i, name in enumerate(plan.spec.names)} if isinstance(plan, GraphPlan) else None
    boxes = {i: (np.full(3, np.inf), np.full(3, -np.inf)) for i in range(len(stages))}
    owners = {}
    for track in timeline.tensors:
        stage = _stage_of_name(track.name, nodes)
        # a stage's output is the next stage's input: it belongs to both framings
        owners[track.name] = [stage, stage + 1] if track.role == "output" and stage + 1 < len(stages) else [stage]
    for name, shown_by in timeline.aliases.items():
        owners.setdefault(shown_by, []).append(_stage_of_name(name, nodes))
    for track in timeline.tensors:
        if track.role == "filter":
            continue        # the waiting rows stretch far to the side; the slot lies between input and output
        local = np.vstack([np.asarray(track.position, float), np.asarray(track.move_to, float).reshape(-1, 3)])
        origins = np.vstack([np.asarray(track.origin, float)[None],
                             np.asarray(track.key_locations, float).reshape(-1, 3)])
        corners = np.stack([origins.min(axis=0) + local.min(axis=0) - half,
                            origins.max(axis=0) + local.max(axis=0) + half])
        for stage in set(owners[track.name]):
            boxes[stage] = _grow(*boxes[stage], corners)
    for box in timeline.boxes:
        centers = np.asarray(box.key_centers, float).reshape(-1, 3)
        if len(centers):
            size = np.asarray(box.size, float) / 2
            stage = _stage_of_name(box.name, nodes)
            boxes[stage] = _grow(*boxes[stage], np.vstack([centers - size, centers + size]))
    spans = np.asarray(timeline.stage_spans, float)
    first_steps, start = [], 0
    for stage in stages:
        first_steps.append(float(np.min(timeline.step_frames[start:start + len(stage.steps)])))
        start += len(stage.steps)
    framings = []
    for i in range(len(stages)):
        leave = float(timeline.frame_start) if i == 0 else float(spans[i, 0])
        arrive = leave if i == 0 else min(leave + FOLLOW_FRAMES, max(first_steps[i] - 1.0, leave + 1.0))
        framings.append(StageFraming(i, leave, arrive, boxes[i][0], boxes[i][1]))
    return framings
