"""Measuring our frames against the Animated AI reference frames (used by scripts/compare_reference.py).

Importable without Blender: the colour science (sRGB -> CIELAB, CIEDE2000), the image measures of the
reference frames and the timeline figures need only numpy (and Pillow for files). The geometric measures
of our frames (:func:`scene_cubes`, :func:`measure_scene`) import ``bpy`` when called.

How each figure is found
------------------------
* **fill**: width and height of the tight bounding box of the cubes, as fractions of the frame.
  Ours: every visible cell's cube (its object's ``bound_box`` through ``matrix_world``) projected with
  ``bpy_extras.object_utils.world_to_camera_view``; the box is clipped to the frame, and
  ``leaves_frame`` says whether any corner of a visible cube falls outside it (or behind the camera).
  Reference: the image is segmented; a *cube pixel* has sRGB chroma (max - min of R, G, B in 0..1) of
  at least :data:`CHROMA_MIN`. The cubes are saturated; the grey floor, its soft reflections, the grey
  wire boxes and the watermarks are not. The box spans the rows and columns holding at least
  :data:`LINE_MIN` cube pixels (a few stray pixels do not widen it). The white filter cells of the pulse
  are not saturated, but they sit inside the filter, so the box does not change.
* **role colours**: the median sRGB of the *lit faces* of the input and of the active filter (for the
  shuffles, of the cubes being rearranged, the input track). The lit face of a cube is its side face
  that looks most directly at the camera (the front, channel-0 face, in the three-quarter view of both
  films; the one the key light falls on). Ours: per cube of the role whose face is not covered by a
  neighbouring cube, the inner half of that face's projected quad, kept only where a painter's-order
  z-buffer of all cubes' silhouettes says this cube is the nearest; the median over those pixels of
  the rendered frame. Reference: the median over a fixed hand-picked region on the same face
  (:data:`REFERENCE_REGIONS`, in 960x540 pixels, scaled to the image).
* **ΔE2000**: :func:`ciede2000` between the two role colours (sRGB D65 -> CIELAB).
* **p95 luminance**: the 95th percentile of the relative luminance Y (0..1, sRGB decoded) over cube
  pixels. Ours: the union of the visible cubes' projected silhouettes (the same z-buffer); reference:
  the segmented cube pixels.
* **timeline figures** (ours, from the engine's Timeline): see :func:`timeline_figures`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def default_reference_dir() -> Path:
    """Where the Animated AI reference frames are: ``$ANIMATEDAI_REFERENCE``, else ``shared/reference`` beside
    the checkout, else the project's shared folder (``/work/shared/reference``, for a clone made elsewhere)."""
    if os.environ.get("ANIMATEDAI_REFERENCE"):
        return Path(os.environ["ANIMATEDAI_REFERENCE"])
    beside = Path(__file__).resolve().parent.parent.parent / "shared" / "reference"
    return beside if beside.is_dir() else Path("/work/shared/reference")

CHROMA_MIN = 0.25          # reference segmentation: a cube pixel's sRGB max - min (0..1)
LINE_MIN = 3               # a row/column belongs to the box when it holds this many cube pixels
REFERENCE_SIZE = (960, 540)

#: Hand-picked regions (x0, y0, x1, y1; pixels of the 960x540 reference, inclusive) on the lit face of a
#: role, per reference image. None: no single face to sample (cubes in flight).
REFERENCE_REGIONS = {
    # input: the front (channel-0) face of the input, its lower right, away from the window's path in
    # frames 00-44; filter: the red filter's 3x3 end facing the camera (the pulse is mid-filter at 20).
    **{f"conv-3x3-stride2-valid-frame{n:02d}": {"input": (210, 150, 252, 205), "filter": (445, 228, 498, 292)}
       for n in (0, 12, 20, 28, 44)},
    # the block's front face: the palest red channel at rest before the shuffle, the red checker after
    "pixel-shuffle-2x2-frame00": {"input": (545, 290, 655, 440)},
    "pixel-shuffle-2x2-frame25": {"input": None},
    "pixel-shuffle-2x2-frame50": {"input": (420, 200, 580, 420)},
    "pixel-unshuffle-2x2-frame00": {"input": (420, 200, 580, 420)},
    "pixel-unshuffle-2x2-frame25": {"input": None},
    "pixel-unshuffle-2x2-frame50": {"input": (545, 290, 655, 440)},
}


# ============================================================================ colour science

def srgb_to_linear(srgb) -> np.ndarray:
    """sRGB in 0..1 -> linear (IEC 61966-2-1)."""
    c = np.asarray(srgb, np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear) -> np.ndarray:
    c = np.clip(np.asarray(linear, np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


_SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                         [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]])
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(rgb255) -> np.ndarray:
    """(..., 3) sRGB 0..255 -> CIELAB (D65 white, 2 degree observer)."""
    xyz = srgb_to_linear(np.asarray(rgb255, np.float64) / 255.0) @ _SRGB_TO_XYZ.T / _WHITE_D65
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def relative_luminance(rgb255) -> np.ndarray:
    """(..., 3) sRGB 0..255 -> relative luminance Y in 0..1."""
    return srgb_to_linear(np.asarray(rgb255, np.float64) / 255.0) @ _SRGB_TO_XYZ[1]


_HUE_EPS = 1e-9


def ciede2000(lab1, lab2, k_l: float = 1.0, k_c: float = 1.0, k_h: float = 1.0) -> np.ndarray:
    """CIEDE2000 colour difference of CIELAB colours (..., 3), vectorised.

    Follows Sharma, Wu & Dalal, "The CIEDE2000 Color-Difference Formula: Implementation Notes,
    Supplementary Test Data, and Mathematical Observations" (2005), eqs. (1)-(17).
    """
    lab1, lab2 = np.asarray(lab1, np.float64), np.asarray(lab2, np.float64)
    l1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean ** 7 / (c_mean ** 7 + 25.0 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, np.degrees(np.arctan2(b1, a1p)) % 360)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, np.degrees(np.arctan2(b2, a2p)) % 360)
    dl = l2 - l1
    dc = c2p - c1p
    chroma_product = c1p * c2p
    # hue angles come out of atan2 with rounding: a difference of exactly 180 degrees (Sharma's pairs 13-15,
    # mirror images across the a* axis) may read 180 + 3e-14; it is 180, and takes the <= 180 branches
    dh = h2p - h1p
    dh = np.where(dh > 180 + _HUE_EPS, dh - 360, np.where(dh < -180 - _HUE_EPS, dh + 360, dh))
    dh = np.where(chroma_product == 0, 0.0, dh)
    d_h = 2 * np.sqrt(chroma_product) * np.sin(np.radians(dh) / 2)
    l_mean = (l1 + l2) / 2
    cp_mean = (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = np.where(np.abs(h1p - h2p) <= 180 + _HUE_EPS, h_sum / 2,
                      np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2))
    h_mean = np.where(chroma_product == 0, h_sum, h_mean)
    t = (1 - 0.17 * np.cos(np.radians(h_mean - 30)) + 0.24 * np.cos(np.radians(2 * h_mean))
         + 0.32 * np.cos(np.radians(3 * h_mean + 6)) - 0.20 * np.cos(np.radians(4 * h_mean - 63)))
    d_theta = 30 * np.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_mean ** 7 / (cp_mean ** 7 + 25.0 ** 7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    tl, tc, th = dl / (k_l * s_l), dc / (k_c * s_c), d_h / (k_h * s_h)
    return np.sqrt(tl ** 2 + tc ** 2 + th ** 2 + r_t * tc * th)


def delta_e_srgb(rgb1, rgb2) -> float | None:
    """CIEDE2000 between two sRGB 0..255 colours; None when either is missing."""
    if rgb1 is None or rgb2 is None:
        return None
    return float(ciede2000(srgb_to_lab(rgb1), srgb_to_lab(rgb2)))


# ============================================================================ images

def load_rgb(path) -> np.ndarray:
    """(H, W, 3) uint8."""
    from PIL import Image
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def chroma_mask(pixels: np.ndarray, threshold: float = CHROMA_MIN) -> np.ndarray:
    """(H, W) bool: saturated pixels, the reference's cubes."""
    rgb = pixels.astype(np.float64) / 255.0
    return (rgb.max(axis=2) - rgb.min(axis=2)) >= threshold


def mask_box(mask: np.ndarray, line_min: int = LINE_MIN):
    """(x0, y0, x1, y1) inclusive pixel box of the rows/columns with >= line_min mask pixels, or None."""
    rows = np.flatnonzero(mask.sum(axis=1) >= line_min)
    cols = np.flatnonzero(mask.sum(axis=0) >= line_min)
    if len(rows) == 0 or len(cols) == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


def box_fill(box, width: int, height: int) -> tuple[float, float] | tuple[None, None]:
    """Width and height fractions of an inclusive pixel box."""
    if box is None:
        return None, None
    x0, y0, x1, y1 = box
    return (x1 - x0 + 1) / width, (y1 - y0 + 1) / height


def region_median(pixels: np.ndarray, region, reference_size=REFERENCE_SIZE):
    """Median sRGB (3 ints) of a region given in reference pixels, scaled to this image; None for None."""
    if region is None:
        return None
    h, w = pixels.shape[:2]
    sx, sy = w / reference_size[0], h / reference_size[1]
    x0, y0, x1, y1 = region
    crop = pixels[int(y0 * sy):int(math.ceil((y1 + 1) * sy)), int(x0 * sx):int(math.ceil((x1 + 1) * sx))]
    return [int(v) for v in np.median(crop.reshape(-1, 3), axis=0).round()]


def percentile_luminance(pixels: np.ndarray, mask: np.ndarray, q: float = 95.0):
    if mask is None or not mask.any():
        return None
    return float(np.percentile(relative_luminance(pixels[mask]), q))


def measure_reference(pixels: np.ndarray, regions: dict, masks: dict | None = None) -> dict:
    """Fill, role colours and p95 luminance of a reference frame, from the image alone.
    ``masks``, a dict, receives the (H, W) bool cube mask as "cubes" (for overlays)."""
    h, w = pixels.shape[:2]
    mask = chroma_mask(pixels)
    if masks is not None:
        masks["cubes"] = mask
    box = mask_box(mask)
    fill_w, fill_h = box_fill(box, w, h)
    return {
        "fill_w": fill_w, "fill_h": fill_h, "box_px": list(box) if box else None,
        # the segmentation sees only what is inside the image: a cube cut by the border touches it
        "leaves_frame": bool(box is not None and (box[0] == 0 or box[1] == 0 or box[2] == w - 1 or box[3] == h - 1)),
        "colors": {role: region_median(pixels, region) for role, region in regions.items()},
        "lum_p95": percentile_luminance(pixels, mask),
    }


def frames_identical(a: np.ndarray, b: np.ndarray, levels: int = 40, share: float = 5e-4) -> bool:
    """Whether two frames are the same picture up to video compression noise: fewer than ``share`` of the
    pixels differ by more than ``levels`` (of 255) in any channel. (The reference's frames 00 and 12 differ
    by at most 26 levels; the pulse of frame 20 changes about 1% of the pixels by up to 207.)"""
    if a.shape != b.shape:
        return False
    return float((np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2) > levels).mean()) < share


def gif_timing(path) -> dict:
    """A GIF's pacing: frame count, the first frame's hold, the last frame's hold and the time between
    (the transform), in seconds, read from the frame durations."""
    from PIL import Image, ImageSequence
    with Image.open(path) as image:
        durations = [frame.info.get("duration", 0) / 1000.0 for frame in ImageSequence.Iterator(image)]
    return {"frames": len(durations), "hold_s": durations[0], "end_hold_s": durations[-1],
            "transform_s": float(sum(durations[1:-1])), "total_s": float(sum(durations))}


# ============================================================================ timeline (engine only)

def _window(timeline):
    return next((b for b in timeline.boxes if b.role == "window" and len(b.key_frames)), None)


def _move_span(timeline):
    starts = [float(t.move_start.min()) for t in timeline.tensors if len(t.move_start)]
    ends = [float(t.move_end.max()) for t in timeline.tensors if len(t.move_end)]
    return (min(starts), max(ends)) if starts else (None, None)


def timeline_figures(timeline) -> dict:
    """Pacing figures of one clip, in frames (and seconds at the clip's fps).

    * windowed clips: the first step starts at the window box's first key (``step_frames[0]`` when
      there is no window) and lasts until its next key (the second step; ``step_frames[1]``);
      ``hold_frames`` = first step start - ``frame_start``: the still opening.
    * shuffles: ``hold_frames`` = first cell move - ``frame_start``; ``transform_frames`` = last move end -
      first move start; ``halfway_frame`` the middle of that; ``in_flight_share`` = share of visible cells
      whose place at the halfway frame differs from both their place at ``frame_start`` and at
      ``frame_end`` (``engine.state_at``).
    """
    from animatedai_addon.engine.timeline import state_at

    fps = float(timeline.fps)
    out = {"frame_start": int(timeline.frame_start), "frame_end": int(timeline.frame_end),
           "frames": int(timeline.frame_end - timeline.frame_start + 1), "fps": int(timeline.fps)}
    steps = np.asarray(timeline.step_frames, np.float64)
    window = _window(timeline)
    if window is not None or len(steps) >= 2:
        keys = np.unique(np.asarray(window.key_frames, np.float64)) if window is not None else steps
        start = float(keys[0])
        later = keys[keys > start] if len(keys) > 1 else steps[steps > start]
        end = float(later[0]) if len(later) else None
        out.update(kind="windowed", first_step_start=start,
                   first_step_frames=None if end is None else end - start,
                   hold_frames=start - timeline.frame_start)
    first, last = _move_span(timeline)
    if window is None and first is not None:
        halfway = (first + last) / 2
        start_state, mid_state, end_state = (state_at(timeline, f) for f in
                                             (timeline.frame_start, halfway, timeline.frame_end))
        flying = total = 0
        for name, mid in mid_state.items():
            visible = mid.visible
            away_start = np.linalg.norm(mid.world_position - start_state[name].world_position, axis=1) > 1e-4
            away_end = np.linalg.norm(mid.world_position - end_state[name].world_position, axis=1) > 1e-4
            flying += int((visible & away_start & away_end).sum())
            total += int(visible.sum())
        out.update(kind="shuffle", hold_frames=first - timeline.frame_start, transform_frames=last - first,
                   halfway_frame=halfway, in_flight_share=flying / total if total else None)
    for key in ("hold_frames", "first_step_frames", "transform_frames"):
        if out.get(key) is not None:
            out[key.replace("_frames", "_s")] = out[key] / fps
    return out


def active_filter(timeline, frame: float) -> str | None:
    """The filter lit at the step nearest to ``frame`` (before the first step: the first one)."""
    from animatedai_addon.engine.timeline import highlighted_at
    filters = [t for t in timeline.tensors if t.role == "filter"]
    if not filters:
        return None
    steps = np.asarray(timeline.step_frames, np.float64)
    candidates = [frame] + ([float(steps[np.argmin(np.abs(steps - frame))]) + 1e-3] if len(steps) else [])
    for when in candidates:
        for track in filters:
            if highlighted_at(track, when).any():
                return track.name
    return filters[0].name


# ============================================================================ our frames (Blender)

@dataclass
class Cubes:
    """The visible cubes of a scene at its current frame."""

    names: list                       # tensor name of each cube
    roles: list                       # its role
    corners: np.ndarray               # (N, 8, 3) world corners
    centers: np.ndarray               # (N, 3)
    axes: np.ndarray                  # (N, 3, 3) world half-axes (rows: local x, y, z scaled)
    projected: np.ndarray = field(default_factory=lambda: np.zeros((0, 8, 3)))   # (N, 8, 3) camera view coords


def scene_cubes(scene, result) -> Cubes:
    """Every visible cell cube of an objects-mode ``api.generate`` result at the scene's current frame."""
    import bpy  # noqa: F401  (the objects below are Blender's)
    view_layer = scene.view_layers[0]
    depsgraph = view_layer.depsgraph
    names, roles, corners, centers, axes = [], [], [], [], []
    for tensor, objects in result.cells.items():
        role = result.timeline.tensor(tensor).role
        for obj in objects:
            if obj.hide_render or not obj.visible_get(view_layer=view_layer):
                continue
            evaluated = obj.evaluated_get(depsgraph)
            matrix = np.array(evaluated.matrix_world)
            if abs(np.linalg.det(matrix[:3, :3])) < 1e-9:      # scale 0: not popped in yet / gone
                continue
            local = np.array([tuple(c) for c in obj.bound_box], np.float64)
            world = local @ matrix[:3, :3].T + matrix[:3, 3]
            low, high = local.min(axis=0), local.max(axis=0)
            names.append(tensor)
            roles.append(role)
            corners.append(world)
            centers.append(((low + high) / 2) @ matrix[:3, :3].T + matrix[:3, 3])
            axes.append((matrix[:3, :3] * ((high - low) / 2)).T)
    n = len(names)
    return Cubes(names, roles, np.array(corners).reshape(n, 8, 3), np.array(centers).reshape(n, 3),
                 np.array(axes).reshape(n, 3, 3))


def project(scene, points: np.ndarray) -> np.ndarray:
    """(..., 3) world points -> camera view coordinates (x, y in 0..1 across the frame, z = depth)."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector
    flat = np.asarray(points, np.float64).reshape(-1, 3)
    out = np.array([tuple(world_to_camera_view(scene, scene.camera, Vector(p))) for p in flat])
    return out.reshape(np.shape(points))


def _to_pixels(view: np.ndarray, width: int, height: int) -> np.ndarray:
    """Camera view (x, y from the bottom left) -> image pixels (x right, y down)."""
    return np.stack([view[..., 0] * width, (1.0 - view[..., 1]) * height], axis=-1)


def _hull(points: np.ndarray) -> list:
    """2D convex hull (monotone chain) as a list of (x, y) tuples."""
    pts = sorted(set(map(tuple, np.round(points, 3).tolist())))
    if len(pts) <= 2:
        return pts

    def half(seq):
        chain = []
        for p in seq:
            while len(chain) >= 2 and ((chain[-1][0] - chain[-2][0]) * (p[1] - chain[-2][1])
                                       - (chain[-1][1] - chain[-2][1]) * (p[0] - chain[-2][0])) <= 0:
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(pts), half(reversed(pts))
    return lower[:-1] + upper[:-1]


def _exposed_faces(cubes: Cubes, normal_index: int, sign: float) -> np.ndarray:
    """(N,) bool: the cube's face along sign * axis[normal_index] has no other cube right against it."""
    n = len(cubes.centers)
    if n == 0:
        return np.zeros(0, bool)
    half = cubes.axes[:, normal_index, :]                              # (N, 3) world half-axis
    pitch_guess = 2 * np.linalg.norm(half, axis=1)                     # the cube's own edge
    probe = cubes.centers + sign * 2.0 * half * 1.05                   # a little past the neighbour's centre
    exposed = np.ones(n, bool)
    for start in range(0, n, 512):
        chunk = probe[start:start + 512]
        d = np.linalg.norm(chunk[:, None, :] - cubes.centers[None, :, :], axis=2)
        exposed[start:start + 512] = ~np.any(d < 0.6 * pitch_guess[start:start + 512, None], axis=1)
    return exposed


def measure_scene(scene, result, pixels: np.ndarray, roles: dict, masks: dict | None = None) -> dict:
    """Fill, leaving the frame, role colours and p95 luminance of our rendered frame ``pixels``
    (the scene at that frame). ``roles``: {label: tensor names} whose lit faces give the label's colour.
    ``masks``, a dict, receives the (H, W) bool masks used: "cubes" and one per role (for overlays)."""
    from PIL import Image, ImageDraw

    height, width = pixels.shape[:2]
    cubes = scene_cubes(scene, result)
    n = len(cubes.names)
    out = {"cubes": n, "fill_w": None, "fill_h": None, "leaves_frame": False, "box_px": None,
           "colors": {label: None for label in roles}, "lum_p95": None}
    if n == 0:
        return out
    view = project(scene, cubes.corners)                                # (N, 8, 3)
    xy = view[..., :2]
    out["leaves_frame"] = bool((xy < 0).any() or (xy > 1).any() or (view[..., 2] <= 0).any())
    low, high = np.clip(xy.reshape(-1, 2).min(axis=0), 0, 1), np.clip(xy.reshape(-1, 2).max(axis=0), 0, 1)
    out["fill_w"], out["fill_h"] = float(high[0] - low[0]), float(high[1] - low[1])
    out["box_px"] = [int(low[0] * width), int((1 - high[1]) * height), int(high[0] * width) - 1,
                     int((1 - low[1]) * height) - 1]

    # z-buffer by painter's order: far cubes first, each silhouette labelled with its index + 1
    px = _to_pixels(view, width, height)
    depth = np.linalg.norm(cubes.centers - np.array(scene.camera.matrix_world.translation), axis=1)
    labels = Image.new("I", (width, height), 0)
    draw = ImageDraw.Draw(labels)
    for i in np.argsort(-depth):
        hull = _hull(px[i])
        if len(hull) >= 3:
            draw.polygon(hull, fill=int(i) + 1)
    label = np.asarray(labels, np.int64)
    out["lum_p95"] = percentile_luminance(pixels, label > 0)
    if masks is not None:
        masks["cubes"] = label > 0

    # the lit face: of the side axes (local x, y; z is up), the one looking most at the camera
    camera_location = np.array(scene.camera.matrix_world.translation)
    for name, tensors in roles.items():
        members = np.flatnonzero(np.isin(np.array(cubes.names), list(tensors)))
        if len(members) == 0:
            continue
        faces = Image.new("I", (width, height), 0)
        face_draw = ImageDraw.Draw(faces)
        to_camera = camera_location - cubes.centers[members].mean(axis=0)
        best = None
        for axis in (0, 1):
            for sign in (1.0, -1.0):
                normal = sign * cubes.axes[members, axis, :].mean(axis=0)
                score = float(normal @ to_camera / (np.linalg.norm(normal) * np.linalg.norm(to_camera) + 1e-12))
                if best is None or score > best[0]:
                    best = (score, axis, sign)
        _, axis, sign = best
        exposed = _exposed_faces(cubes, axis, sign)
        others = [a for a in range(3) if a != axis]
        for i in members[exposed[members]]:
            center = cubes.centers[i] + sign * cubes.axes[i, axis]
            u, v = cubes.axes[i, others[0]] * 0.5, cubes.axes[i, others[1]] * 0.5   # inner half of the face
            quad = np.array([center - u - v, center + u - v, center + u + v, center - u + v])
            quad_px = _to_pixels(project(scene, quad), width, height)
            face_draw.polygon([tuple(p) for p in quad_px.tolist()], fill=int(i) + 1)
        face = np.asarray(faces, np.int64)
        keep = (face > 0) & (face == label)
        if masks is not None:
            masks[name] = keep
        if keep.sum() >= 4:
            out["colors"][name] = [int(v) for v in np.median(pixels[keep], axis=0).round()]
    return out
