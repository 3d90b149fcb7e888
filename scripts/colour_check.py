"""Measure rendered cube colours against the Animated AI reference frames (CIEDE2000).

    .venv/bin/python scripts/colour_check.py            # render both clips small, print the table

What is measured: the colour of the *top faces* of a block's top layer of cubes, the faces the key
light falls on, which every camera from above sees (so the measure does not depend on the camera's
azimuth). On the reference frames (``/work/shared/reference`` or ``$ANIMATEDAI_REFERENCE``) it is
the median sRGB of hand-picked rectangles lying on each block's top surface (``CONV_REGIONS``;
the pixel-shuffle cubes are flat-shaded, so a 5x5 patch at each top-face centre of a fitted grid,
``shuffle_reference_points``). On our renders the same faces are found by geometry: each top-layer
cube's top-face centre is projected into the image (``world_to_camera_view``) and the median of the
pixels there is taken, over all the block's top-layer cubes.

The colour difference is CIEDE2000 (Sharma, Wu & Dalal 2005), ``scripts/refmeasure.py``'s implementation
(tests/test_colour_check.py checks it against their published test pairs).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CONV_FRAME = "conv-3x3-stride2-valid-frame00.png"
SHUFFLE_FRAME = "pixel-shuffle-2x2-frame00.png"

# --- colour maths: scripts/refmeasure.py's (one implementation, checked against Sharma et al.) -----

if str(REPO / "scripts") not in sys.path:          # loaded by path (the tests), not run as a script
    sys.path.insert(0, str(REPO / "scripts"))
from refmeasure import ciede2000, default_reference_dir, linear_to_srgb, srgb_to_lab, srgb_to_linear  # noqa: E402

REFERENCE_DIR = default_reference_dir()


def delta_e(srgb_a, srgb_b) -> np.ndarray:
    """CIEDE2000 between sRGB 0..255 colours."""
    return ciede2000(srgb_to_lab(srgb_a), srgb_to_lab(srgb_b))


# --- the reference frames ------------------------------------------------------------------

#: Rectangles (x0, y0, x1, y1) of 960x540 ``conv-3x3-stride2-valid-frame00.png`` lying on the top
#: surface of each block: the input (right of the window box), the active filter, the seven waiting
#: filters (filter1 the nearest, gold).
CONV_REGIONS = {
    "input": (195, 70, 226, 86),
    "filter0": (395, 196, 428, 212),
    "filter1": (508, 134, 545, 146),
    "filter2": (560, 120, 600, 132),
    "filter3": (610, 104, 650, 116),
    "filter4": (660, 90, 700, 100),
    "filter5": (710, 78, 750, 88),
    "filter6": (760, 62, 795, 72),
    "filter7": (800, 48, 835, 56),
}

#: The pixel shuffle's 12 input channels (3 families of 4 shades, back to front): the top-face centre
#: of channel 0's first top cube, the step to the next channel and to the next cube of a channel's
#: top row, in pixels of 960x540 ``pixel-shuffle-2x2-frame00.png``.
SHUFFLE_FIRST_TOP = (413.0, 80.0)
SHUFFLE_CHANNEL_STEP = (22.12, 15.45)
SHUFFLE_CUBE_STEP = (-21.7, 15.3)

#: What ``measure_reference()`` returns (sRGB 0..255), kept so tests run without the frames.
REFERENCE_SRGB = {
    "input": (27, 129, 136),
    "filter0": (164, 26, 19),
    "filter1": (130, 106, 24),
    "filter2": (62, 128, 14),
    "filter3": (23, 133, 35),
    "filter4": (35, 128, 134),
    "filter5": (80, 97, 188),
    "filter6": (116, 63, 192),
    "filter7": (156, 32, 138),
    # pixel shuffle: family f (0 red, 1 green, 2 blue), shade s (0 the lightest), as palette.family_colors
    "family0 shade0": (233, 143, 144), "family0 shade1": (233, 47, 47), "family0 shade2": (170, 40, 40),
    "family0 shade3": (106, 40, 40),
    "family1 shade0": (40, 223, 40), "family1 shade1": (40, 175, 40), "family1 shade2": (39, 127, 39),
    "family1 shade3": (40, 81, 40),
    "family2 shade0": (167, 167, 233), "family2 shade1": (120, 120, 233), "family2 shade2": (63, 63, 233),
    "family2 shade3": (40, 40, 159),
}


def read_rgb(path) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def family_key(family: int, shade: int) -> str:
    return f"family{family} shade{shade}"


def shuffle_reference_points() -> np.ndarray:
    """(12, 4, 2) pixel centres (x, y): per channel, the top faces of its first four top-row cubes."""
    first, ch, cube = (np.asarray(v, float) for v in (SHUFFLE_FIRST_TOP, SHUFFLE_CHANNEL_STEP, SHUFFLE_CUBE_STEP))
    return first + np.arange(12)[:, None, None] * ch + np.arange(4)[None, :, None] * cube


def measure_reference(folder=REFERENCE_DIR) -> dict[str, tuple[int, int, int]]:
    """Median sRGB of each role's top faces on the reference frames (see the module's docstring)."""
    out = {}
    conv = read_rgb(Path(folder) / CONV_FRAME).astype(float)
    for role, (x0, y0, x1, y1) in CONV_REGIONS.items():
        out[role] = tuple(int(round(v)) for v in np.median(conv[y0:y1, x0:x1].reshape(-1, 3), axis=0))
    shuffle = read_rgb(Path(folder) / SHUFFLE_FRAME).astype(float)
    for c, points in enumerate(shuffle_reference_points()):
        patches = [shuffle[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3) for x, y in np.rint(points).astype(int)]
        # back to front: blue darkest..lightest, green, red: channel c is family 2 - c // 4, shade 3 - c % 4
        out[family_key(2 - c // 4, 3 - c % 4)] = tuple(int(round(v)) for v in np.median(np.vstack(patches), axis=0))
    return out


def luminance(pixels) -> np.ndarray:
    """Rec. 709 luma of sRGB 0..255 pixels (..., 3)."""
    return np.asarray(pixels, float) @ np.array([0.2126, 0.7152, 0.0722])


def cube_pixels(pixels, min_saturation: float = 0.45, min_value: float = 0.12) -> np.ndarray:
    """(N, 3) pixels that belong to coloured cubes (or their reflections): clearly saturated ones.
    The floor, the world and the wire boxes are grey and drop out."""
    rgb = np.asarray(pixels, float).reshape(-1, 3) / 255.0
    high, low = rgb.max(axis=1), rgb.min(axis=1)
    sat = np.where(high > 0, (high - low) / np.maximum(high, 1e-9), 0.0)
    return np.asarray(pixels).reshape(-1, 3)[(sat >= min_saturation) & (high >= min_value)]


def cube_luminance_p95(pixels, top_fraction: float = 0.6) -> float:
    """95th percentile luma of the cube pixels in the upper ``top_fraction`` of the frame (the floor's
    reflections of the cubes, below, are left out)."""
    pixels = np.asarray(pixels)
    upper = pixels[: int(round(pixels.shape[0] * top_fraction))]
    cubes = cube_pixels(upper)
    return float(np.percentile(luminance(cubes), 95)) if len(cubes) else 0.0


# --- our renders (bpy) ---------------------------------------------------------------------

def top_face_pixels(scene, objects, width: int, height: int) -> np.ndarray:
    """(K, 2) integer pixel (x, y) of the top-face centres of the top layer of ``objects`` (cubes whose
    object scale is their edge), in a render of ``width`` x ``height``; cubes hidden (scale ~0) or out
    of frame are left out."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector
    shown = [o for o in objects if max(o.matrix_world.to_scale()) > 1e-3]
    if not shown:
        return np.zeros((0, 2), int)
    z = np.array([o.matrix_world.translation.z for o in shown])
    edge = np.array([max(o.matrix_world.to_scale()) for o in shown])
    top = [o for o, zz in zip(shown, z) if zz > z.max() - 0.5 * edge.max()]
    points = []
    for obj in top:
        co = world_to_camera_view(scene, scene.camera, obj.matrix_world @ Vector((0.0, 0.0, 0.5)))
        x, y = co.x * width, (1.0 - co.y) * height
        if co.z > 0 and 0 <= x < width and 0 <= y < height:
            points.append((int(x), int(y)))
    return np.array(points, int).reshape(-1, 2)


def median_at(image, points, radius: int = 0) -> tuple[int, int, int]:
    """Median sRGB over (2 * radius + 1)^2 patches at ``points``."""
    h, w = image.shape[:2]
    patches = [image[max(y - radius, 0):min(y + radius + 1, h), max(x - radius, 0):min(x + radius + 1, w)]
               .reshape(-1, 3) for x, y in points]
    return tuple(int(round(v)) for v in np.median(np.vstack(patches).astype(float), axis=0))


def box_lines(scene, box, image, reach: float = 10.0, contrast: float = 20.0) -> tuple[float, tuple, float]:
    """(width in pixels, median sRGB, pixels per metre there) of a wire box's edges as drawn in ``image``.

    Each of the box's twelve edges (the box object's unit cube, scaled to the box) is projected into
    the image; across it, at a few places along it, the pixels within ``reach`` pixels are read
    (bilinear, half-pixel steps); where the ends of that profile are one even background and the line
    stands out from it by at least ``contrast`` in luma, its width is the full width at half of that
    (the pixels differing from the background by more than half the peak). The medians over the edges
    in frame are returned; the colour is the median of the line's pixels."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector
    h, w = image.shape[:2]
    img = image.astype(float)

    def to_px(world):
        co = world_to_camera_view(scene, scene.camera, world)
        return np.array([co.x * w, (1.0 - co.y) * h]), co.z

    corners = [(sx, sy, sz) for sx in (-0.5, 0.5) for sy in (-0.5, 0.5) for sz in (-0.5, 0.5)]
    widths, colours, scales = [], [], []
    steps = np.arange(-reach, reach + 0.25, 0.5)
    for i, a in enumerate(corners):
        for b in corners[i + 1:]:
            if sum(x != y for x, y in zip(a, b)) != 1:
                continue
            pa, za = to_px(box.matrix_world @ Vector(a))
            pb, zb = to_px(box.matrix_world @ Vector(b))
            if za <= 0 or zb <= 0 or np.linalg.norm(pb - pa) < 8:
                continue
            middle = box.matrix_world @ Vector(np.add(a, b) / 2)
            right = scene.camera.matrix_world.to_3x3() @ Vector((0.5, 0.0, 0.0))   # half a metre across the view
            scales.append(float(np.linalg.norm(to_px(middle + right)[0] - to_px(middle - right)[0])))
            along = (pb - pa) / np.linalg.norm(pb - pa)
            across = np.array([-along[1], along[0]])
            for t in (0.3, 0.5, 0.7):
                centre = pa + t * (pb - pa)
                pts = centre + steps[:, None] * across
                if pts.min() < 0 or pts[:, 0].max() >= w - 1 or pts[:, 1].max() >= h - 1:
                    continue
                x0, y0 = np.floor(pts).astype(int).T
                fx, fy = (pts - np.floor(pts)).T
                px = (img[y0, x0] * ((1 - fx) * (1 - fy))[:, None] + img[y0, x0 + 1] * (fx * (1 - fy))[:, None]
                      + img[y0 + 1, x0] * ((1 - fx) * fy)[:, None] + img[y0 + 1, x0 + 1] * (fx * fy)[:, None])
                luma = luminance(px)
                ends = np.concatenate([luma[:4], luma[-4:]])
                if ends.std() > contrast / 2:          # not one even background on both sides
                    continue
                off = np.abs(luma - np.median(ends))
                if off.max() < contrast:
                    continue
                line = off > off.max() / 2
                widths.append(0.5 * line.sum())
                if line.any():
                    colours.append(np.median(px[line], axis=0))
    if not widths:
        return 0.0, (0, 0, 0), float(np.median(scales)) if scales else 0.0
    colour = tuple(int(round(v)) for v in np.median(colours, axis=0))
    return float(np.median(widths)), colour, float(np.median(scales))


def render_frame(scene, path, width: int, height: int, samples: int = 16) -> np.ndarray:
    """Render the scene's current frame with Cycles (CPU, fixed seed) to ``path``; returns (H, W, 3) sRGB."""
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.seed = 0
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = str(path)
    import bpy
    bpy.ops.render.render(write_still=True)
    return read_rgb(path)


def measure_clip(preset: str, template: str, path, width: int = 480, height: int = 270, samples: int = 16,
                 radius: int = 0) -> dict:
    """Generate ``preset`` at its first frame, render it and measure each role's top faces.

    Returns {role: sRGB} for "input" and "filter<i>" (a convolution) or "family<f> shade<s>" (a pixel
    shuffle's input channels), plus "image" (the pixels)."""
    import bpy
    from animatedai_addon import api
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = width, height   # framing reads the aspect
    # set_scene: the template's render look (Standard view, not the factory AgX), as every render has it
    result = api.generate(preset, template=template, scene=scene, set_scene=True)
    scene.frame_set(result.frame_start)
    image = render_frame(scene, path, width, height, samples)
    out = {"image": image}
    spec = result.plan.spec
    shuffle = getattr(spec, "op", "") == "pixel_shuffle"
    for name, objects in result.cells.items():
        if shuffle and name == "input":
            channels = np.asarray(result.timeline.tensor("input").cells)[:, 0]
            for c in np.unique(channels):
                members = [o for o, cc in zip(objects, channels) if cc == c]
                points = top_face_pixels(scene, members, width, height)
                if len(points):
                    _, _, family, shade = spec.channel_families(np.array([c]))
                    out[family_key(int(family[0]), int(shade[0]))] = median_at(image, points, radius)
        elif name == "input" or (name.startswith("filter") and name[6:].isdigit()):
            points = top_face_pixels(scene, objects, width, height)
            if len(points):
                out[name] = median_at(image, points, radius)
    return out


def report(measured: dict, reference: dict = REFERENCE_SRGB) -> list[tuple[str, tuple, tuple, float]]:
    rows = []
    for role, ref in sorted(reference.items()):
        if role in measured:
            rows.append((role, ref, measured[role], float(delta_e(ref, measured[role]))))
    return rows


def corrected_base(base_srgb, reference_srgb, measured_srgb, damping: float = 0.8) -> tuple[int, int, int]:
    """One step of retuning a base colour: scale it (linear RGB) by reference / measured, damped."""
    base, ref, got = (srgb_to_linear(np.asarray(c, float) / 255.0) for c in (base_srgb, reference_srgb, measured_srgb))
    new = np.clip(base * (np.maximum(ref, 1e-4) / np.maximum(got, 1e-4)) ** damping, 0.0, 1.0)
    return tuple(int(round(v)) for v in 255.0 * linear_to_srgb(new))


def suggest_palette(measured: dict) -> dict:
    """The palette's base colours (``FILTER_SRGB``, ``INPUT_SRGB``, ``FAMILY_SRGB``) moved one step towards
    rendering like the reference; rerun after pasting them in, until the differences stop shrinking."""
    from animatedai_addon.engine import palette
    filters = [corrected_base(c, REFERENCE_SRGB[f"filter{i}"], measured[f"filter{i}"])
               if f"filter{i}" in measured else c for i, c in enumerate(palette.FILTER_SRGB)]
    families = [[corrected_base(c, REFERENCE_SRGB[family_key(f, s)], measured[family_key(f, s)])
                 if family_key(f, s) in measured else c for s, c in enumerate(shades)]
                for f, shades in enumerate(palette.FAMILY_SRGB)]
    source = corrected_base(palette.INPUT_SRGB, REFERENCE_SRGB["input"], measured["input"]) \
        if "input" in measured else palette.INPUT_SRGB
    return {"FILTER_SRGB": tuple(filters), "INPUT_SRGB": source, "FAMILY_SRGB": tuple(map(tuple, families))}


def main(argv=None) -> int:
    import argparse
    import tempfile
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=480)
    parser.add_argument("--height", type=int, default=270)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--out", default=None, help="folder for the renders (default: a temporary one)")
    parser.add_argument("--suggest", action="store_true", help="print retuned palette base colours (one step)")
    args = parser.parse_args(argv)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import bpy
    out = Path(args.out or tempfile.mkdtemp(prefix="colour_check_"))
    out.mkdir(parents=True, exist_ok=True)
    radius = 0 if args.width <= 480 else 1
    everything = {}
    for preset, template in (("conv-3x3-stride2-valid", "studio"), ("pixel-shuffle-2x2", "flat")):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        measured = measure_clip(preset, template, out / f"{preset}.png", args.width, args.height, args.samples,
                                radius)
        print(f"{preset} ({template}): cube luma p95 {cube_luminance_p95(measured['image']):.0f}")
        for role, ref, got, de in report(measured):
            print(f"  {role:10s} reference {ref!s:16s} ours {got!s:16s} dE00 {de:5.1f}")
        everything.update(measured)
    if args.suggest:
        for name, value in suggest_palette(everything).items():
            print(f"{name} = {value}")
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
