"""Render our frames at the moments of the Animated AI reference frames and compare them.

    .venv/bin/python scripts/compare_reference.py --engine cycles --samples 16 --resolution 480x270
    .venv/bin/python scripts/compare_reference.py --clips pixel-shuffle-2x2 --engine workbench --out out/cmp

For each clip it writes ``<clip>-sheet.png`` (a row per moment: reference | ours, the same size, labelled),
the frames it rendered (``<clip>/frames/``), and for all clips a table of measured figures as markdown
(printed, and ``figures.md``) and JSON (``figures.json``). How every figure is measured is written in
``scripts/refmeasure.py``.

Moments: the default clip ``conv-3x3-stride2-valid`` is compared frame for frame (reference frame n is our
frame 1 + n: frames 00, 12, 20, 28, 44). The shuffles are compared by phase, since their reference is one
2.8 s GIF and ours runs at its own pace: reference frame 00 is our first frame, 25 the middle of our
transform (from the first cell move to the last move's end), 50 our last frame.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import refmeasure  # noqa: E402
import render_cli as cli  # noqa: E402

from animatedai_addon import api, rendering  # noqa: E402
from animatedai_addon.engine.errors import SpecError  # noqa: E402

#: clip -> (how its moments map to our frames, reference frame numbers)
CLIPS = {
    "conv-3x3-stride2-valid": ("frame", (0, 12, 20, 28, 44)),
    "pixel-shuffle-2x2": ("phase", (0, 25, 50)),
    "pixel-unshuffle-2x2": ("phase", (0, 25, 50)),
}
GIFS = {"pixel-shuffle-2x2": "pixel-shuffle-2x2-shuffle.gif", "pixel-unshuffle-2x2": "pixel-unshuffle-2x2-unshuffle.gif"}
DEFAULT_REFERENCE = refmeasure.default_reference_dir()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compare_reference.py", description=__doc__.split("\n\n")[0],
        epilog="clips: " + ", ".join(CLIPS) + "\n\n" + __doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", default="cycles", help="cycles (default), eevee, workbench")
    parser.add_argument("--samples", default="16", metavar="N", help="render samples (default 16)")
    parser.add_argument("--resolution", default="960x540", metavar="WxH",
                        help="our frames' size (default 960x540, the reference's); the reference is scaled to it")
    parser.add_argument("--out", default="out/compare", metavar="DIR", help="output folder (default out/compare)")
    parser.add_argument("--clips", default=",".join(CLIPS), metavar="LIST",
                        help="comma-separated subset of: " + ", ".join(CLIPS) + " (default: all)")
    parser.add_argument("--template", default=None, metavar="NAME",
                        help="stage: studio, flat or none (default: the preset's own, as a render has it: studio, "
                             "flat for the shuffles)")
    parser.add_argument("--overlays", action="store_true",
                        help="also write <out>/overlays/: what was measured, drawn over each frame")
    parser.add_argument("--reference", default=str(DEFAULT_REFERENCE), metavar="DIR",
                        help=f"folder of the reference PNGs and GIFs (default {DEFAULT_REFERENCE}, "
                             "or $ANIMATEDAI_REFERENCE)")
    return parser


def check_arguments(args) -> dict:
    """Every argument checked before Blender does anything: SpecError names the bad one."""
    clips = [c.strip() for c in args.clips.split(",") if c.strip()]
    unknown = [c for c in clips if c not in CLIPS]
    if not clips or unknown or len(set(clips)) != len(clips):
        raise SpecError("clips", args.clips, "a comma-separated list of distinct clips from " + ", ".join(CLIPS))
    try:
        samples = int(str(args.samples).strip())
    except ValueError:
        raise SpecError("samples", args.samples, "a whole number from 1 to 65536") from None
    resolution = cli.parse_resolution(args.resolution)
    reference = Path(args.reference)
    needed = [reference / f"{clip}-frame{n:02d}.png" for clip in clips for n in CLIPS[clip][1]]
    needed += [reference / GIFS[clip] for clip in clips if clip in GIFS]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise SpecError("reference", str(reference), "a folder holding the reference frames",
                        hint=f"{len(missing)} missing, first: {missing[0]}")
    jobs = {clip: rendering.RenderJob(preset=clip, engine=args.engine, samples=samples, resolution=resolution,
                                      out=str(Path(args.out) / clip), formats=("png",), template=args.template)
            for clip in clips}
    for job in jobs.values():
        rendering.check_job(job, api)
    return {"clips": clips, "jobs": jobs, "reference": reference, "resolution": resolution, "samples": samples}


def our_frames(mode: str, numbers, figures: dict) -> list[int]:
    first, last = figures["frame_start"], figures["frame_end"]
    if mode == "frame":
        return [min(max(first + n, first), last) for n in numbers]
    halfway = figures.get("halfway_frame", (first + last) / 2)
    phase = {numbers[0]: first, numbers[-1]: last}
    return [phase.get(n, int(math.floor(halfway + 0.5))) for n in numbers]


def roles_of(result, frame: int) -> dict:
    """{label: tensor names} whose lit faces give each role colour."""
    timeline = result.timeline
    roles = {"input": [t.name for t in timeline.tensors if t.role == "input"]}
    active = refmeasure.active_filter(timeline, frame)
    if active is not None:
        roles["filter"] = [active]
    return roles


def reference_timing(clip: str, reference: Path) -> dict:
    """What the reference's pacing shows: conv, from its stills; the shuffles, from their GIFs."""
    if clip in GIFS:
        timing = refmeasure.gif_timing(reference / GIFS[clip])
        timing["in_flight_share"] = "all (reference README: every cube is in flight at frame 25)"
        return timing
    first, twelve, twenty = (refmeasure.load_rgb(reference / f"{clip}-frame{n:02d}.png") for n in (0, 12, 20))
    still = refmeasure.frames_identical(first, twelve)
    return {"frames_00_12_identical": still, "frames_12_20_identical": refmeasure.frames_identical(twelve, twenty),
            "hold_frames": ">= 12" if still else "< 12",
            "first_step_frames": "about 30 (reference README / issue 9: pulse at 20, white output at 28, "
                                 "coloured by 44)"}


def render_clip(clip: str, job, mode: str, numbers, reference: Path, log, overlays: Path | None = None) -> dict:
    import bpy
    result = rendering.prepare_scene(job, api)
    scene = bpy.context.scene
    # our moments are read from the engine's timeline, and the scene's range set from it
    scene.frame_start, scene.frame_end = int(result.frame_start), int(result.frame_end)
    scene.render.fps = int(result.timeline.fps)
    figures = refmeasure.timeline_figures(result.timeline)
    frames = our_frames(mode, numbers, figures)
    moments = []
    for number, frame in zip(numbers, frames):
        path = rendering.frame_path(job, frame)
        started = time.perf_counter()
        rendering.render_one_frame(scene, frame, path)
        log(f"[{clip}] reference frame {number:02d} -> our frame {frame}: {time.perf_counter() - started:.1f} s")
        pixels = refmeasure.load_rgb(path)
        our_masks, ref_masks = {}, {}
        ours = refmeasure.measure_scene(scene, result, pixels, roles_of(result, frame), masks=our_masks)
        ref_path = reference / f"{clip}-frame{number:02d}.png"
        regions = refmeasure.REFERENCE_REGIONS[ref_path.stem]
        ref_pixels = refmeasure.load_rgb(ref_path)
        ref = refmeasure.measure_reference(ref_pixels, regions, masks=ref_masks)
        if overlays is not None:
            write_overlay(overlays / f"{clip}-{number:02d}-ours.png", pixels, our_masks, ours["box_px"], {})
            write_overlay(overlays / f"{clip}-{number:02d}-reference.png", ref_pixels, ref_masks, ref["box_px"],
                          {k: v for k, v in regions.items() if v is not None})
        ours_roles = {role: ours["colors"].get(role) for role in regions}
        ours["colors"] = {**ours["colors"], **ours_roles}
        delta = {role: refmeasure.delta_e_srgb(ref["colors"].get(role), ours["colors"].get(role)) for role in regions}
        moments.append({"reference_frame": number, "our_frame": frame, "reference_image": str(ref_path),
                        "our_image": str(path), "reference": ref, "ours": ours, "delta_e": delta})
    return {"timeline": figures, "reference_timing": reference_timing(clip, reference), "moments": moments}


# ------------------------------------------------------------------------------------------ sheets

OVERLAY_COLORS = {"cubes": (255, 255, 0), "input": (255, 0, 255), "filter": (0, 255, 255)}


def write_overlay(path: Path, pixels, masks: dict, box, regions: dict) -> Path:
    """What was measured, drawn over the frame: cube pixels tinted yellow, the lit-face pixels of each role
    (ours) or its hand-picked region (reference) in magenta (input) / cyan (filter), the fill box in red."""
    import numpy as np
    from PIL import Image, ImageDraw
    shown = pixels.astype(np.float64)
    for name, mask in masks.items():
        color = np.array(OVERLAY_COLORS.get(name, (255, 128, 0)), np.float64)
        weight = 0.35 if name == "cubes" else 0.8
        shown[mask] = (1 - weight) * shown[mask] + weight * color
    image = Image.fromarray(shown.round().astype(np.uint8))
    draw = ImageDraw.Draw(image)
    sx, sy = pixels.shape[1] / refmeasure.REFERENCE_SIZE[0], pixels.shape[0] / refmeasure.REFERENCE_SIZE[1]
    for name, (x0, y0, x1, y1) in regions.items():
        draw.rectangle((x0 * sx, y0 * sy, x1 * sx, y1 * sy), outline=OVERLAY_COLORS.get(name, (255, 128, 0)), width=2)
    if box:
        draw.rectangle(tuple(box), outline=(255, 0, 0), width=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def _font(size: int):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)
    except TypeError:           # Pillow < 10.1: one small bitmap font
        return ImageFont.load_default()


def write_sheet(clip: str, data: dict, path: Path, resolution, engine: str, samples: int) -> Path:
    """A grid: a row per moment, reference | ours at our resolution, each labelled above."""
    from PIL import Image, ImageDraw
    width, height = resolution
    label_h = max(14, height // 12)
    font = _font(max(10, label_h - 4))
    rows = data["moments"]
    sheet = Image.new("RGB", (2 * width, len(rows) * (height + label_h)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, moment in enumerate(rows):
        top = r * (height + label_h)
        with Image.open(moment["reference_image"]) as ref:
            sheet.paste(ref.convert("RGB").resize((width, height), Image.LANCZOS), (0, top + label_h))
        with Image.open(moment["our_image"]) as ours:
            sheet.paste(ours.convert("RGB").resize((width, height), Image.LANCZOS), (width, top + label_h))
        for x, texts in ((3, (f"reference {clip} frame {moment['reference_frame']:02d}",
                               f"reference frame {moment['reference_frame']:02d}", f"ref {moment['reference_frame']:02d}")),
                         (width + 3, (f"ours frame {moment['our_frame']} ({engine}, {samples} samples)",
                                      f"ours frame {moment['our_frame']}", f"ours {moment['our_frame']}"))):
            text = next((t for t in texts if draw.textlength(t, font=font) <= width - 6), texts[-1])
            draw.text((x, top + 1), text, fill=(0, 0, 0), font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


# ------------------------------------------------------------------------------------------ the table

def _f(value, digits=2):
    return "–" if value is None else f"{value:.{digits}f}"


def _color(rgb):
    return "–" if rgb is None else "#{:02x}{:02x}{:02x}".format(*rgb)


def _fill(side):
    return "–" if side["fill_w"] is None else f"{side['fill_w']:.2f}×{side['fill_h']:.2f}"


def markdown_table(results: dict, settings: dict) -> str:
    lines = [f"# Ours against the Animated AI reference ({settings['engine']}, {settings['samples']} samples, "
             f"{settings['resolution']})", "",
             "fill = width×height of the cubes' bounding box as fractions of the frame; colours = median sRGB of "
             "the lit (camera-facing) faces; Y95 = 95th-percentile relative luminance of cube pixels; "
             "method: scripts/refmeasure.py", "",
             "| clip | ref frame | our frame | fill ref | fill ours | leaves frame ref/ours | role | colour ref | "
             "colour ours | ΔE2000 | Y95 ref | Y95 ours |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for clip, data in results.items():
        for m in data["moments"]:
            ref, ours = m["reference"], m["ours"]
            roles = list(m["delta_e"]) or ["–"]
            for k, role in enumerate(roles):
                head = (f"| {clip} | {m['reference_frame']:02d} | {m['our_frame']} | {_fill(ref)} | {_fill(ours)} | "
                        f"{'yes' if ref['leaves_frame'] else 'no'}/{'yes' if ours['leaves_frame'] else 'no'} |"
                        if k == 0 else "| | | | | | |")
                tail = f" {_f(ref['lum_p95'], 3)} | {_f(ours['lum_p95'], 3)} |" if k == 0 else " | |"
                lines.append(f"{head} {role} | {_color(ref['colors'].get(role))} | {_color(ours['colors'].get(role))} "
                             f"| {_f(m['delta_e'].get(role), 1)} |{tail}")
    lines += ["", "| clip | frames (ours) | fps | hold ours | hold reference | first step ours | first step reference | "
              "transform ours | transform reference | in flight at halfway, ours | in flight, reference |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for clip, data in results.items():
        t, r = data["timeline"], data["reference_timing"]
        fps = t["fps"]

        def frames_s(key):
            return "–" if t.get(key) is None else f"{t[key]:.1f} fr ({t[key] / fps:.2f} s)"

        if "hold_s" in r:          # a GIF: seconds
            hold_ref, transform_ref = f"{r['hold_s']:.2f} s", f"{r['transform_s']:.2f} s ({r['frames']} GIF frames)"
        else:
            hold_ref, transform_ref = f"{r['hold_frames']} fr", "–"
        flight = "–" if t.get("in_flight_share") is None else f"{t['in_flight_share']:.2f}"
        lines.append(f"| {clip} | {t['frames']} | {fps} | {frames_s('hold_frames')} | {hold_ref} | "
                     f"{frames_s('first_step_frames')} | {r.get('first_step_frames', '–')} | "
                     f"{frames_s('transform_frames')} | {transform_ref} | {flight} | "
                     f"{r.get('in_flight_share', '–')} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(cli.script_argv(argv))
    try:
        checked = check_arguments(args)
    except SpecError as error:
        parser.error(str(error))           # exit status 2, nothing written
    out = Path(args.out)

    def log(text):
        print(text, file=sys.stderr, flush=True)

    results = {}
    for clip in checked["clips"]:
        mode, numbers = CLIPS[clip]
        try:
            results[clip] = render_clip(clip, checked["jobs"][clip], mode, numbers, checked["reference"], log,
                                        overlays=out / "overlays" if args.overlays else None)
        except SpecError as error:         # a value only the built scene can check
            parser.error(str(error))
        sheet = write_sheet(clip, results[clip], out / f"{clip}-sheet.png", checked["resolution"],
                            args.engine, checked["samples"])
        log(f"[{clip}] sheet: {sheet}")
    settings = {"engine": args.engine, "samples": checked["samples"], "template": args.template or "the preset's",
                "resolution": "x".join(map(str, checked["resolution"])), "reference": str(checked["reference"])}
    table = markdown_table(results, settings)
    (out / "figures.md").write_text(table)
    (out / "figures.json").write_text(json.dumps({"settings": settings, "clips": results}, indent=1))
    print(table)
    return 0


if __name__ == "__main__":
    status = main()
    if "bpy" in sys.modules:              # Blender 4.2's bpy module needs its own way out (scene/compat.py)
        from animatedai_addon.scene import compat
        compat.exit_process(status)
    sys.exit(status)
