"""Instanced mode at scale: build time, peak memory and frame_set time for ~100k and ~1M cubes.

Usage: ``.venv/bin/python benchmarks/scene_instanced.py [--sizes 100k 1m] [--cycles]``

Each size runs in its own subprocess so that its peak memory (``ru_maxrss``) is
its own. The timeline is a big 3x3 convolution (valid padding, stride 1, filter
order) whose TensorTracks are made directly with numpy here (the engine's
``build_timeline`` is not used: this measures the Blender side only, and does
not depend on the engine's speed at a million cells). The input is lit by one
window box that moves over it (keyed on every step, constant interpolation);
every output cell pops in at its step; each filter slides in and is lit
while it works.

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

# (input channels, input height = width, filters): ~100k and ~1M cubes in all
SIZES = {"100k": (16, 56, 16), "1m": (32, 128, 32)}
PITCH = 1.0


def conv_tracks(channels: int, size: int, filters: int, frames_per_step: float = 2.0):
    """TensorTracks of a 3x3 valid convolution, made with numpy (see module docstring)."""
    import numpy as np

    from animatedai_addon.engine.timeline import BoxTrack, TensorTrack, Timeline

    def grid(shape):
        c, y, x = np.meshgrid(*(np.arange(s, dtype=np.int32) for s in shape), indexing="ij")
        return np.stack([c, y, x], -1).reshape(-1, 3)

    def track(name, role, shape, origin, color, **fields):
        cells = grid(shape)
        n = len(cells)
        position = (np.stack([cells[:, 2], cells[:, 0], -cells[:, 1]], 1) * PITCH).astype(np.float32)
        base = np.tile(np.float32(color), (n, 1))
        return TensorTrack(name=name, role=role, shape=shape, cells=cells, origin=np.float64(origin),
                           position=position, color=base, highlight_color=np.minimum(base * 1.6, 1.0),
                           value=np.zeros(n, np.float32), appear=np.full(n, -np.inf, np.float32),
                           disappear=np.full(n, np.inf, np.float32), **fields)

    out_size = size - 2
    steps_per_filter = out_size * out_size
    intro = 12.0
    # step s computes output (f, oy, ox) with f = s // steps_per_filter (one filter at a time)
    step_frames = (intro + np.arange(filters * steps_per_filter) * frames_per_step).astype(np.float32)
    inputs = track("input", "input", (channels, size, size), (0, 0, 0), (0.05, 0.55, 0.6, 1.0))
    output = track("output", "output", (filters, out_size, out_size), (size + 8.0, 0, 0), (0.8, 0.3, 0.2, 1.0))
    output.appear = step_frames.copy()          # output cells are in (f, oy, ox) order, like the steps
    tracks = [inputs, output]
    for f in range(filters):
        start, end = step_frames[f * steps_per_filter], step_frames[(f + 1) * steps_per_filter - 1] + frames_per_step
        filt = track(f"filter{f}", "filter", (channels, 3, 3), (0, -6.0, 0), (0.9, 0.2 + 0.02 * f, 0.3, 1.0))
        n = len(filt)
        filt.move_cell = np.arange(n, dtype=np.int32)
        filt.move_start = np.full(n, start - 12.0, np.float32)
        filt.move_end = np.full(n, start, np.float32)
        filt.move_to = filt.position + np.float32([0, 6.0, 0])
        filt.highlight_cell = np.arange(n, dtype=np.int32)
        filt.highlight_start = np.full(n, start, np.float32)
        filt.highlight_end = np.full(n, end, np.float32)
        tracks.append(filt)
    local = np.arange(filters * steps_per_filter) % steps_per_filter
    oy, ox = local // out_size, local % out_size
    centers = np.stack([(ox + 1) * PITCH, np.full(len(ox), (channels - 1) * PITCH / 2), -(oy + 1) * PITCH], 1)
    window = BoxTrack(name="window", role="window", size=np.float32([3 * PITCH, channels * PITCH, 3 * PITCH]),
                      key_frames=step_frames, key_centers=centers.astype(np.float32), appear=float(step_frames[0]),
                      disappear=float(step_frames[-1] + frames_per_step), targets=("input",))
    timeline = Timeline(frame_start=0, frame_end=int(step_frames[-1] + 36), fps=24, pop_frames=3, easing="ease",
                        tensors=tracks, boxes=[window], step_frames=step_frames)
    return timeline


def bevelled_cube():
    import bmesh
    import bpy
    mesh = bpy.data.meshes.new("AnimatedAI cube")
    bm = bmesh.new()
    bmesh.ops.create_cube(bm, size=0.9)
    bmesh.ops.bevel(bm, geom=bm.edges[:] + bm.verts[:], offset=0.06, segments=2, affect="EDGES")
    bm.to_mesh(mesh)
    bm.free()
    return mesh


def keyed_box(name, box_track, collection):
    """A unit box object keyed like the window: location per step, scale = size (0 while hidden)."""
    import bpy
    import numpy as np
    obj = bpy.data.objects.new(name, None)
    collection.objects.link(obj)
    obj.empty_display_type = "CUBE"
    obj.empty_display_size = 0.5
    frames = box_track.key_frames
    obj.keyframe_insert("location", frame=0)
    obj.keyframe_insert("scale", frame=0)
    action = obj.animation_data.action
    fcurves = action.fcurves if hasattr(action, "fcurves") else action.layers[0].strips[0].channelbags[0].fcurves
    size_keys = np.float32([[-1e6, 0.0], [box_track.appear, 1.0], [box_track.disappear, 0.0]])
    for fcurve in fcurves:
        axis = fcurve.array_index
        if fcurve.data_path == "location":
            co = np.column_stack([frames, box_track.key_centers[:, axis]])
        else:
            co = size_keys * np.float32([1.0, box_track.size[axis]])
        fcurve.keyframe_points.clear()
        fcurve.keyframe_points.add(len(co))
        fcurve.keyframe_points.foreach_set("co", np.ascontiguousarray(co, np.float32).ravel())
        fcurve.keyframe_points.foreach_set("interpolation", np.zeros(len(co), np.int32))   # CONSTANT
        fcurve.update()
    return obj


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
    """One measurement in this process: mode "timeline" (the add-on) or "floor" (bare instancing)."""
    import bpy
    import numpy as np

    from animatedai_addon.scene import instanced, nodes

    channels, size, filters = SIZES[size_name]
    start = time.perf_counter()
    timeline = conv_tracks(channels, size, filters)
    arrays_s = time.perf_counter() - start
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = timeline.frame_start, timeline.frame_end
    collection = bpy.data.collections.new("AnimatedAI benchmark")
    scene.collection.children.link(collection)
    cube = bevelled_cube()
    material = bpy.data.materials.new("AnimatedAI input")

    start = time.perf_counter()
    box = keyed_box("window", timeline.boxes[0], collection)
    objects = []
    for track in timeline.tensors:
        empty = bpy.data.objects.new(track.name, None)
        collection.objects.link(empty)
        empty.location = track.origin
        if mode == "timeline":
            boxes = [box] if track.name in timeline.boxes[0].targets else []
            obj = instanced.write_tensor_points(track, timeline, name=f"{track.name} cells", collection=collection,
                                                parent=empty, cube_mesh=cube, material=material, window_boxes=boxes)
        else:
            mesh = instanced.build_point_mesh(f"{track.name} cells", track.position, {})
            obj = bpy.data.objects.new(mesh.name, mesh)
            collection.objects.link(obj)
            obj.parent = empty
            modifier = obj.modifiers.new("floor", "NODES")
            modifier.node_group = bpy.data.node_groups.get("benchmark floor") or floor_group()
            modifier[nodes.input_identifiers(modifier.node_group)["Cube"]] = instanced.cube_object(cube)
        objects.append(obj)
    build_s = time.perf_counter() - start

    middle = float(timeline.step_frames[len(timeline.step_frames) // 2])
    frames = [timeline.frame_start, middle, middle + 1, middle + 2, timeline.frame_end]
    times = frame_set_times(scene, frames)
    scene.frame_set(int(middle))
    result = {"size": size_name, "mode": mode, "cubes": timeline.cube_count, "objects": len(objects),
              "arrays_s": arrays_s, "build_s": build_s, "first_frame_set_s": times[0],
              "later_frame_set_s": float(np.median(times[1:])), "instances_mid": instance_count(objects)}
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    if cycles:
        result.update(cycles_peak(scene, middle))
        result["peak_rss_with_render_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return result


def cycles_peak(scene, frame) -> dict:
    """Render one 64x36 frame with Cycles at 1 sample; Cycles' own peak memory from its stats line."""
    import bpy
    scene.frame_set(int(frame))
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(camera)
    camera.location, camera.rotation_euler = (64.0, -220.0, 40.0), (1.35, 0.0, 0.0)
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
    print(f"{'size':>5} {'mode':>8} {'cubes':>9} {'arrays s':>8} {'build s':>8} {'1st frame s':>11} "
          f"{'frame s':>8} {'peak GB':>8} {'shown':>9}")
    for size_name in args.sizes:
        rows = {}
        for mode in ("floor", "timeline"):
            cycles = args.cycles and mode == "timeline" and size_name == args.sizes[-1]
            row = rows[mode] = measure(size_name, mode, cycles)
            print(f"{size_name:>5} {mode:>8} {row['cubes']:>9,} {row['arrays_s']:>8.2f} {row['build_s']:>8.2f} "
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
