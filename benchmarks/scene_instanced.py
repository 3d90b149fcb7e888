"""Instanced mode at scale: build time, peak memory and frame_set time for ~100k and ~1M cubes.

Usage: ``.venv/bin/python benchmarks/scene_instanced.py [--sizes 100k 1m] [--cycles]``

Each size runs in its own subprocess so that its peak memory (``ru_maxrss``) is
its own. The clip is a big 3x3 convolution (valid padding, stride 1, filter
order) made by the engine (``plan`` + ``build_timeline(highlights=False)``, as
``api.generate`` does for the instanced mode; its time is printed apart) and
written by ``scene.writer.write_clip(..., "instanced")``: window box, tensor
empties, one point object per tensor.

Printed side by side, in one run: the same point objects with a bare
"instance a cube on every point" node group (no timeline): the floor any
Geometry Nodes instancing pays. Goals: 1M cubes build < 10 s and < 4 GB,
frame_set < 1 s. ``--cycles`` also renders one 64x36 frame at 1 sample with
Cycles and prints the peak memory Cycles reports.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# Conv2d(in_channels, height = width, out_channels, 3x3): ~100k and ~1M cubes in all
SIZES = {"100k": (16, 56, 16), "1m": (32, 128, 32)}


def engine_timeline(size_name: str):
    """The engine's plan and timeline, without the input's highlight intervals (api.generate's instanced mode)."""
    from animatedai_addon.engine import Conv2d, plan
    from animatedai_addon.engine.timeline import build_timeline
    channels, size, filters = SIZES[size_name]
    return build_timeline(plan(Conv2d(channels, size, size, filters, 3)), highlights=False)


def floor_group():
    """Instance the cube on every point, re-evaluated every frame (scale 1 + 0 * frame), nothing else."""
    import bpy
    tree = bpy.data.node_groups.new("benchmark floor", "GeometryNodeTree")
    tree.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    tree.interface.new_socket("Cube", in_out="INPUT", socket_type="NodeSocketObject")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    group_in, group_out = tree.nodes.new("NodeGroupInput"), tree.nodes.new("NodeGroupOutput")
    info = tree.nodes.new("GeometryNodeObjectInfo")
    instances = tree.nodes.new("GeometryNodeInstanceOnPoints")
    tree.links.new(group_in.outputs["Cube"], info.inputs["Object"])
    tree.links.new(group_in.outputs["Geometry"], instances.inputs["Points"])
    tree.links.new(info.outputs["Geometry"], instances.inputs["Instance"])
    tree.links.new(instances.outputs["Instances"], group_out.inputs["Geometry"])
    time_dependent = tree.nodes.new("ShaderNodeMath")
    time_dependent.operation = "MULTIPLY_ADD"
    tree.links.new(tree.nodes.new("GeometryNodeInputSceneTime").outputs["Frame"], time_dependent.inputs[0])
    time_dependent.inputs[1].default_value, time_dependent.inputs[2].default_value = 0.0, 1.0
    tree.links.new(time_dependent.outputs[0], instances.inputs["Scale"])
    return tree


def frame_set_times(scene, frames):
    times = []
    for frame in frames:
        start = time.perf_counter()
        scene.frame_set(int(frame))
        times.append(time.perf_counter() - start)
    return times


def instance_count(objects):
    import bpy
    depsgraph = bpy.context.evaluated_depsgraph_get()
    total = 0
    for obj in objects:
        evaluated = obj.evaluated_get(depsgraph)
        if hasattr(evaluated, "evaluated_geometry"):      # 4.5+; the count is reported where available
            geometry = evaluated.evaluated_geometry()       # keep it alive while reading its instances
            pointcloud = geometry.instances_pointcloud()
            total += len(pointcloud.points) if pointcloud else 0
    return total


def run_one(size_name: str, mode: str, cycles: bool) -> dict:
    """One measurement in this process: mode "timeline" (writer.write_clip, instanced) or "floor"."""
    import bpy
    import numpy as np

    from animatedai_addon.scene import instanced, nodes, writer
    from animatedai_addon.scene import mesh as meshes

    start = time.perf_counter()
    timeline = engine_timeline(size_name)
    engine_s = time.perf_counter() - start
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene

    start = time.perf_counter()
    if mode == "timeline":
        clip = writer.write_clip(timeline, f"benchmark {size_name}", scene, "instanced")
        objects = list(clip.tensors.values())
    else:
        scene.frame_start, scene.frame_end = timeline.frame_start, timeline.frame_end
        collection = bpy.data.collections.new("AnimatedAI benchmark floor")
        scene.collection.children.link(collection)
        cube = instanced.cube_object(meshes.ensure_cube_mesh())
        tree = floor_group()
        objects = []
        for track in timeline.tensors:
            mesh = instanced.build_point_mesh(f"{track.name} cells", track.position, {})
            obj = bpy.data.objects.new(mesh.name, mesh)
            collection.objects.link(obj)
            obj.location = track.origin
            modifier = obj.modifiers.new("floor", "NODES")
            modifier.node_group = tree
            modifier[nodes.input_identifiers(tree)["Cube"]] = cube
            objects.append(obj)
    build_s = time.perf_counter() - start

    middle = float(timeline.step_frames[len(timeline.step_frames) // 2])
    frames = [timeline.frame_start, middle, middle + 1, middle + 2, timeline.frame_end]
    times = frame_set_times(scene, frames)
    scene.frame_set(int(middle))
    result = {"size": size_name, "mode": mode, "cubes": timeline.cube_count, "objects": len(objects),
              "engine_s": engine_s, "build_s": build_s, "first_frame_set_s": times[0],
              "later_frame_set_s": float(np.median(times[1:])), "instances_mid": instance_count(objects)}
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    if cycles:
        result.update(cycles_peak(scene, middle, timeline))
        result["peak_rss_with_render_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return result


def cycles_peak(scene, frame, timeline) -> dict:
    """Render one 64x36 frame with Cycles at 1 sample; Cycles' own peak memory from its stats line."""
    import bpy
    import numpy as np
    scene.frame_set(int(frame))
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(camera)
    target, extent = np.asarray(timeline.camera_target, float), np.asarray(timeline.extent, float)
    camera.location = target + (0.0, -1.6 * float(extent.max()), 0.0)
    camera.rotation_euler = (np.pi / 2, 0.0, 0.0)
    scene.camera = camera
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False
    scene.render.resolution_x, scene.render.resolution_y = 64, 36
    stats = []
    handler = lambda *args: stats.append(" ".join(str(a) for a in args))  # noqa: E731  (the stats line)
    bpy.app.handlers.render_stats.append(handler)
    start = time.perf_counter()
    bpy.ops.render.render(write_still=False)
    seconds = time.perf_counter() - start
    bpy.app.handlers.render_stats.remove(handler)
    # Cycles' stats lines read "Mem: 46M | Sample 1/1": its device memory; the largest is its peak
    used = [float(v) * {"K": 1 / 1024, "M": 1.0, "G": 1024.0}[u]
            for line in stats for v, u in re.findall(r"Mem:\s*([\d.]+)\s*([KMG])", line)]
    return {"cycles_render_s": seconds, "cycles_peak_mb": max(used) if used else float("nan")}


def measure(size_name: str, mode: str, cycles: bool) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", size_name, mode] + (["--cycles"] if cycles else [])
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark child failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--cycles", action="store_true", help="also render one tiny Cycles frame (largest size)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(run_one(args.child[0], args.child[1], args.cycles)), flush=True)
        return
    print(f"{'size':>5} {'mode':>8} {'cubes':>9} {'engine s':>8} {'build s':>8} {'1st frame s':>11} "
          f"{'frame s':>8} {'peak GB':>8} {'shown':>9}")
    for size_name in args.sizes:
        rows = {}
        for mode in ("floor", "timeline"):
            cycles = args.cycles and mode == "timeline" and size_name == args.sizes[-1]
            row = rows[mode] = measure(size_name, mode, cycles)
            print(f"{size_name:>5} {mode:>8} {row['cubes']:>9,} {row['engine_s']:>8.2f} {row['build_s']:>8.2f} "
                  f"{row['first_frame_set_s']:>11.3f} {row['later_frame_set_s']:>8.3f} {row['peak_rss_gb']:>8.2f} "
                  f"{row['instances_mid']:>9,}", flush=True)
            if "cycles_render_s" in row:
                print(f"      Cycles 64x36, 1 sample: {row['cycles_render_s']:.1f} s, Cycles reports "
                      f"{row['cycles_peak_mb']:.0f} MB at most; process peak with the render "
                      f"{row['peak_rss_with_render_gb']:.2f} GB")
        floor, ours = rows["floor"], rows["timeline"]
        print(f"      timeline / floor: build x{ours['build_s'] / floor['build_s']:.1f}, "
              f"frame_set x{ours['later_frame_set_s'] / floor['later_frame_set_s']:.1f}, "
              f"memory x{ours['peak_rss_gb'] / floor['peak_rss_gb']:.2f}")
        if size_name == "1m":
            goals = {"build < 10 s": ours["build_s"] < 10, "peak < 4 GB": ours["peak_rss_gb"] < 4,
                     "frame_set < 1 s": ours["later_frame_set_s"] < 1}
            print("      goals: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in goals.items()))


if __name__ == "__main__":
    main()
