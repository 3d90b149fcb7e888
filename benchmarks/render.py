"""Seconds per frame of the basic clip: the generated (animated) scene against the same geometry
without animation, in Cycles (CPU) and Workbench, with Cycles' persistent data on and off; and
(``--main-command``) the README's main command with its render settings against the old ones.

    .venv/bin/python benchmarks/render.py                      # conv-3x3-stride2-valid, 320x180
    .venv/bin/python benchmarks/render.py --frames 5 --samples 16 --mode instanced
    .venv/bin/python benchmarks/render.py --main-command       # ./scripts/setup_and_render.sh's render

The goal: animated / static <= 1.1 (writing the timeline as keyframes costs little at render
time). Measured side by side in one run; the first frame of every variant is a warm-up and
is not counted (Cycles builds its kernels and BVH, Workbench compiles shaders). The static scene
is checked before it is timed: its first and last frames evaluate to the same objects, instances
and instance attributes (and the animated scene's do not), else the benchmark stops.

``--main-command`` reads the render arguments of ``scripts/setup_and_render.sh`` (so it measures
what that script runs), builds that job's scene, and renders a few frames spread over the clip
twice each, alternating between the current render settings (``rendering.set_render_settings``)
and the settings before the 2-core speed-up (:data:`OLD_CYCLES`), so that both see the same load
on a shared machine. It prints the median seconds per frame of each, their ratio, and the
projected time of the whole clip: the clip's frame count is read from the engine's timeline.
The goal: the main command within 10 minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for folder in (REPO, REPO / "scripts"):     # the package, and the render scripts' command line (render_cli)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

import render_cli as cli  # noqa: E402
from animatedai_addon import api, rendering  # noqa: E402

GOAL = 1.1
MAIN_COMMAND_GOAL_S = 600.0
SETUP_AND_RENDER = REPO / "scripts" / "setup_and_render.sh"
#: Cycles as the main command rendered it before the 2-core speed-up: the studio template's settings
#: (adaptive threshold 0.02, OpenImageDenoise with the accurate prefilter and high quality, the light
#: tree on) with the script's 16 samples.
OLD_CYCLES = dict(samples=16, use_adaptive_sampling=True, adaptive_threshold=0.02, adaptive_min_samples=0,
                  use_denoising=True, denoising_prefilter="ACCURATE", denoising_quality="HIGH",
                  denoising_input_passes="RGB_ALBEDO_NORMAL", use_light_tree=True)


def timed_frames(scene, frames: list[int], folder: Path) -> list[float]:
    """Seconds for each frame (frame_set + render + write), warm-up frame excluded."""
    seconds = []
    for index, frame in enumerate([frames[0], *frames]):
        started = time.perf_counter()
        rendering.render_one_frame(scene, frame, folder / f"bench_{index:03d}.png")
        if index:
            seconds.append(time.perf_counter() - started)
    return seconds


def freeze_animation(scene, frame: int) -> int:
    """Keep every object as it is at ``frame`` and drop its animation: the same geometry, static.
    Geometry Nodes cells (instanced mode) read the scene time through Scene Time nodes, so those are
    replaced by constants (:func:`pin_scene_time`). Returns the number of objects and nodes frozen."""
    scene.frame_set(frame)
    frozen = 0
    for obj in scene.objects:
        if obj.animation_data is None:
            continue
        matrix, color = obj.matrix_world.copy(), tuple(obj.color)
        obj.animation_data_clear()
        obj.matrix_world, obj.color = matrix, color
        frozen += 1
    return frozen + pin_scene_time(frame, frame / (scene.render.fps / scene.render.fps_base))


def pin_scene_time(frame: float, seconds: float) -> int:
    """Every Scene Time node of every Geometry Nodes group becomes two constants (its Frame and Seconds at
    ``frame``): the node trees, instancing and attributes stay as they are, only time stops."""
    pinned = 0
    for tree in bpy.data.node_groups:
        if tree.bl_idname != "GeometryNodeTree":
            continue
        for clock in [node for node in tree.nodes if node.bl_idname == "GeometryNodeInputSceneTime"]:
            for output, value in ((clock.outputs["Frame"], frame), (clock.outputs["Seconds"], seconds)):
                constant = tree.nodes.new("ShaderNodeValue")
                constant.outputs[0].default_value = value
                for link in list(output.links):
                    tree.links.new(constant.outputs[0], link.to_socket)
            tree.nodes.remove(clock)
            pinned += 1
    return pinned


#: Attribute type -> (the item's property, values per item, dtype) for reading instance attributes in bulk.
ATTRIBUTE_READS = {"FLOAT": ("value", 1, np.float32), "INT": ("value", 1, np.int32), "BOOLEAN": ("value", 1, bool),
                   "FLOAT_VECTOR": ("vector", 3, np.float32), "FLOAT2": ("vector", 2, np.float32),
                   "FLOAT_COLOR": ("color", 4, np.float32), "BYTE_COLOR": ("color", 4, np.float32),
                   "QUATERNION": ("value", 4, np.float32), "FLOAT4X4": ("value", 16, np.float32)}


def evaluated_state(scene, frame: int) -> list:
    """What the renderer sees at ``frame``: every evaluated object and instance (name, transform), object
    colours, and the attributes of Geometry Nodes instances (colours, highlights) where Blender exposes them."""
    scene.frame_set(frame)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    state = []
    for instance in depsgraph.object_instances:
        obj = instance.object
        owner = instance.parent.name if instance.is_instance and instance.parent else ""
        matrix = tuple(round(v, 5) for row in instance.matrix_world for v in row)
        state.append((owner, obj.name, matrix, tuple(round(v, 5) for v in obj.color)))
    geometry_set = getattr(bpy.types, "GeometrySet", None)       # Blender 4.3+: instance attributes readable
    for obj in scene.objects:
        if geometry_set is None or not any(m.type == "NODES" for m in obj.modifiers):
            continue
        geometry = geometry_set.from_evaluated_object(obj.evaluated_get(depsgraph))   # owns the point cloud
        points = geometry.instances_pointcloud()
        for attribute in ([] if points is None else points.attributes):
            # 'position' of the instances' point cloud reads garbage on Blender 5.0.1; the instance_transform
            # attribute (and the depsgraph's instance matrices above) hold the same positions.
            if (attribute.name == "position" or attribute.name.startswith(".")
                    or attribute.data_type not in ATTRIBUTE_READS):
                continue
            field, width, dtype = ATTRIBUTE_READS[attribute.data_type]
            values = np.zeros(len(attribute.data) * width, dtype)
            attribute.data.foreach_get(field, values)
            state.append((obj.name, attribute.name, np.round(values.astype(np.float64), 5).tolist()))
    state.sort(key=repr)
    return state


def check_static(scene, first: int, last: int) -> None:
    """RuntimeError unless frames ``first`` and ``last`` evaluate to the same scene."""
    if evaluated_state(scene, first) != evaluated_state(scene, last):
        raise RuntimeError(f"the static scene still changes between frames {first} and {last}")


def measure(job: rendering.RenderJob, frame_count: int, folder: Path) -> list[tuple[str, float]]:
    rows = []
    result = rendering.prepare_scene(job, api)
    scene = bpy.context.scene
    first, last = int(result.frame_start), int(result.frame_end)
    middle = (first + last) // 2
    frames = list(range(middle, min(middle + frame_count, last + 1)))
    persistent_cases = (True, False) if job.engine == "cycles" else (True,)

    def run(label: str):
        for persistent in persistent_cases:
            scene.render.use_persistent_data = persistent
            per_frame = statistics.median(timed_frames(scene, frames, folder))
            rows.append(((job.engine, label, persistent), per_frame))

    run("animated")
    if evaluated_state(scene, first) == evaluated_state(scene, middle):
        raise RuntimeError(f"the animated scene looks the same at frames {first} and {middle}: nothing to compare")
    freeze_animation(scene, middle)
    check_static(scene, first, last)
    run("static")
    return rows


def main_command_arguments(script: Path = SETUP_AND_RENDER) -> list[str]:
    """The arguments ``scripts/setup_and_render.sh`` passes to ``scripts/render.py`` (without ``"$@"``)."""
    import shlex
    text = script.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if "scripts/render.py" in line and not line.lstrip().startswith("#"):
            words = shlex.split(line.split("scripts/render.py", 1)[1], comments=True)
            return [w for w in words if w != "$@"]
    raise RuntimeError(f"{script} runs no scripts/render.py")


def main_command_job(out: str) -> rendering.RenderJob:
    """The job of the README's main command, writing to ``out`` instead."""
    sys.path.insert(0, str(REPO / "scripts"))
    import render as render_script      # scripts/render.py: the same parser the main command goes through
    args = render_script.build_parser().parse_args(main_command_arguments())
    return cli.job_from_args(args, out=out)


def clip_frame_count(job: rendering.RenderJob) -> int:
    """Frames of the job's clip, from the engine's timeline (no Blender involved)."""
    first, last = rendering.clip_range(job, api)
    return last - first + 1


def apply_cycles(scene, settings: dict) -> None:
    for name, value in settings.items():
        setattr(scene.cycles, name, value)


def measure_main_command(frame_count: int, folder: Path) -> dict:
    """Median seconds per frame of the main command's settings and of OLD_CYCLES, frames alternating."""
    job = main_command_job(str(folder))
    started = time.perf_counter()
    result = rendering.prepare_scene(job, api)
    prepare_s = time.perf_counter() - started
    scene = bpy.context.scene
    current = {name: getattr(scene.cycles, name) for name in OLD_CYCLES}
    first, last = int(result.frame_start), int(result.frame_end)
    frames = [round(first + (last - first) * (k + 1) / (frame_count + 1)) for k in range(frame_count)]
    seconds = {"current": [], "old": []}
    cpu = {"current": [], "old": []}
    for settings in (current, OLD_CYCLES):         # warm-up: kernels, BVH, denoiser
        apply_cycles(scene, settings)
        rendering.render_one_frame(scene, frames[0], folder / "warmup.png")
    for index, frame in enumerate(frames):
        order = (("current", current), ("old", OLD_CYCLES))
        for label, settings in (order if index % 2 == 0 else order[::-1]):
            apply_cycles(scene, settings)
            begun, begun_cpu = time.perf_counter(), time.process_time()
            rendering.render_one_frame(scene, frame, folder / f"main_{label}_{frame:04d}.png")
            seconds[label].append(time.perf_counter() - begun)
            cpu[label].append(time.process_time() - begun_cpu)
    return {"job": job, "frames": frames, "prepare_s": prepare_s, "settings": current,
            "clip_frames": clip_frame_count(job),
            "threads": scene.render.threads,
            "per_frame": {label: statistics.median(values) for label, values in seconds.items()},
            "cpu_per_frame": {label: statistics.median(values) for label, values in cpu.items()}}


def print_main_command(measured: dict) -> None:
    job, clip_frames = measured["job"], measured["clip_frames"]
    print(f"main command: scripts/render.py {' '.join(main_command_arguments())}")
    print(f"  {job.clip}, {job.engine}, {job.resolution[0]}x{job.resolution[1]}, {job.samples} samples; "
          f"{clip_frames} frames (engine timeline); timed frames {measured['frames']} (median, after a warm-up)")
    print("  current Cycles settings: " + ", ".join(f"{k}={v}" for k, v in measured["settings"].items()))
    threads = measured["threads"]
    print(f"  {'settings':10s} {'s/frame':>8s} {'projected clip':>15s} {'CPU s/frame':>12s} "
          f"{'projected on ' + str(threads) + ' idle cores':>26s}")
    totals, idle_totals = {}, {}
    for label in ("old", "current"):
        per_frame, cpu_frame = measured["per_frame"][label], measured["cpu_per_frame"][label]
        totals[label] = measured["prepare_s"] + per_frame * clip_frames
        # CPU seconds do not grow when other processes share the cores: this machine's cores to ourselves
        idle_totals[label] = measured["prepare_s"] + min(per_frame, cpu_frame / threads) * clip_frames
        print(f"  {label:10s} {per_frame:8.2f} {rendering.format_seconds(totals[label]):>15s} {cpu_frame:12.2f} "
              f"{rendering.format_seconds(idle_totals[label]):>26s}")
    ratio = measured["per_frame"]["current"] / measured["per_frame"]["old"]
    cpu_ratio = measured["cpu_per_frame"]["current"] / measured["cpu_per_frame"]["old"]
    verdict = "within" if totals["current"] <= MAIN_COMMAND_GOAL_S else "over"
    print(f"  current / old = {ratio:.2f} per frame ({cpu_ratio:.2f} in CPU seconds); projected "
          f"{rendering.format_seconds(totals['current'])} for {clip_frames} frames as measured "
          f"({rendering.format_seconds(idle_totals['current'])} with the cores to itself), "
          f"+ MP4/GIF assembly: {verdict} the {MAIN_COMMAND_GOAL_S / 60:.0f}-minute goal as measured")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default=rendering.DEFAULT_PRESET)
    parser.add_argument("--resolution", default="320x180")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--frames", type=int, default=3, help="timed frames per variant (after one warm-up)")
    parser.add_argument("--mode", default="objects")
    parser.add_argument("--engines", default="cycles,workbench")
    parser.add_argument("--main-command", action="store_true",
                        help="time ./scripts/setup_and_render.sh's render settings against the old ones instead "
                             "(--frames frames spread over the clip, each rendered with both)")
    args = parser.parse_args(cli.script_argv(argv))
    if args.main_command:
        with tempfile.TemporaryDirectory() as tmp:
            print_main_command(measure_main_command(args.frames, Path(tmp)))
        return 0
    resolution = cli.parse_resolution(args.resolution)
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for engine in args.engines.split(","):
            job = rendering.RenderJob(preset=args.preset, engine=engine, samples=args.samples, resolution=resolution,
                                      out=tmp, formats=("png",), mode=args.mode, template="studio")
            rows += measure(job, args.frames, Path(tmp))
    table = dict(rows)
    print(f"{args.preset}, {args.mode} mode, {args.resolution}, {args.samples} samples, "
          f"median of {args.frames} frames after a warm-up")
    print(f"{'engine':10s} {'scene':9s} {'persistent':10s} {'s/frame':>8s} {'animated/static':>16s}")
    for (engine, label, persistent), seconds in rows:
        ratio = ""
        if label == "animated":
            ratio_value = seconds / table[(engine, "static", persistent)]
            ratio = f"{ratio_value:.2f} {'ok' if ratio_value <= GOAL else 'over ' + str(GOAL)}"
        shown = ("on" if persistent else "off") if engine == "cycles" else "-"
        print(f"{engine:10s} {label:9s} {shown:10s} {seconds:8.3f} {ratio:>16s}")
    for label in ("animated", "static"):
        if ("cycles", label, False) in table:
            on, off = table[("cycles", label, True)], table[("cycles", label, False)]
            print(f"Cycles {label}: persistent data on / off = {on / off:.2f} (below 1: on is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
