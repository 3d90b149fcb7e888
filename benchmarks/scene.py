"""Objects mode: the writer against the floor and against the naive style, side by side in one run.

Usage: ``.venv/bin/python benchmarks/scene.py [--clips basic 20k] [--repeat 3] [--naive-cells N]``

Two clips: the basic one (preset ``conv-3x3-stride2-valid``, ~1.2k cubes) and a
~20k-cube 3x3 convolution (8 channels, 34x34, 8 filters, 'same'). For each clip,
every measurement runs in a fresh subprocess (its peak memory, ``ru_maxrss``,
is its own):

* **writer**: ``scene.writer.write_clip`` in objects mode (the engine's plan and
  timeline are timed apart, the stage too), keyframes written per second, the
  first ``scene.frame_set`` and the mean of ten more, then a rebuild of the clip
  as regenerating does it (``detach_clip`` + ``write_clip`` reusing the cells).
* **floor**: the same objects (same names, one shared mesh, one collection per
  tensor) with no animation, no materials, no parents, made in the cheapest order
  (by name: Blender keeps IDs sorted and places a new one from the end of the list):
  what any one-object-per-cube scene pays.
* **workflow**: ``api.generate`` as a user calls it, with the plain stage (camera, lights, floor,
  world: ``use_template_camera=True, use_template_world=True``), in a session where the add-on is
  registered and its modules imported, as in Blender with the add-on enabled (a first small clip is
  generated and cleared before, its time printed apart; the file is empty again), then ``api.clear()`` (the clip and the stage go; what is left is the file as it was), twice: in the same process right after
  generating, and after the file was saved and opened again. Background Blender never runs the
  event loop that empties the window manager's notifier queue, and every deleted ID scans that
  queue (tens of thousands of entries once a clip was written), unless freed as ``writer.free_objects``
  does in background; in the UI the queue is emptied after each operator, which the reopened file
  stands for.
* **naive**: ``bpy.ops.mesh.primitive_cube_add`` + a material + ``keyframe_insert``
  per key (then the interpolation set key by key) for a slice of the cells, spread
  over every tensor; its time per cell is extrapolated linearly to the whole clip
  (the real cost grows faster: each operator call re-evaluates a larger scene).
* **naive insert** (the middle way): ``bpy.data.objects.new`` on one shared mesh, an action
  per object, ``keyframe_points.insert(frame, value, options={'FAST'})`` per key with its
  interpolation set on the returned point, ``fcurve.update()`` once per curve: no operators and
  no RNA path lookups per key, but still one Python call per key. A larger slice, extrapolated
  the same way.

writer, workflow and floor alternate ``--repeat`` times; the medians are compared. Goals:
basic < 1 s; 20k <= 2x the floor; >= 100x faster than naive (the naive insert is printed beside it);
generate() of the 20k clip with its stage <= 2x the floor; clear() of it <= 3x the floor. ``--parts workflow``
measures only the floor and the workflow.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CLIPS = ("basic", "20k")
BASIC_PRESET = "conv-3x3-stride2-valid"
# Conv2d(in_channels, height, width, out_channels, kernel_size, padding): 20,192 cubes
BIG_SPEC = (8, 34, 34, 8, 3, "same")
#: Cells of the naive slice per clip (at ~1 s a cell in a 10k-object scene, 20 of the big clip take ~25 s).
NAIVE_CELLS = {"basic": 100, "20k": 20}
#: Cells of the naive-insert slice per clip (no operators: about 100x cheaper a cell than naive).
NAIVE_INSERT_CELLS = {"basic": 1000, "20k": 1000}


# --------------------------------------------------------------------------------------------- in the subprocess


def _reset():
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


def _request(clip: str):
    from animatedai_addon import api
    from animatedai_addon.engine import Conv2d
    return api.resolve_spec(BASIC_PRESET if clip == "basic" else Conv2d(*BIG_SPEC[:5], padding=BIG_SPEC[5]))


def _timeline(clip: str):
    from animatedai_addon.engine import plan
    from animatedai_addon.engine.timeline import build_timeline
    request = _request(clip)
    return request, build_timeline(plan(request.spec), request.timing, request.look, highlights=True)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_writer(clip: str) -> dict:
    from animatedai_addon.scene import compat, stage, writer
    scene = _reset()
    start = time.perf_counter()
    request, timeline = _timeline(clip)
    engine_s = time.perf_counter() - start
    start = time.perf_counter()
    made = writer.write_clip(timeline, request.spec.label, scene, "objects", cube_size=request.look.cube_size)
    write_s = time.perf_counter() - start
    written = sum(len(fc.keyframe_points) for action in made.actions for fc in compat.action_fcurves(action))
    shown = sum(len(fc.keyframe_points) for objects in made.cells.values() for obj in objects
                for fc in compat.object_fcurves(obj))
    frames = [int(f) for f in
              (timeline.frame_start + (timeline.frame_end - timeline.frame_start) * k / 10 for k in range(11))]
    start = time.perf_counter()
    scene.frame_set(frames[0])
    first_frame_s = time.perf_counter() - start
    start = time.perf_counter()
    for frame in frames[1:]:
        scene.frame_set(frame)
    frame_s = (time.perf_counter() - start) / (len(frames) - 1)
    # the stage after the frames: its camera fit evaluates the scene, which would hide the first frame_set's cost
    start = time.perf_counter()
    stage.setup_stage(scene, timeline)
    stage_s = time.perf_counter() - start
    # a rebuild of the same clip, as api.generate does it (the cells are rewritten, not re-made)
    start = time.perf_counter()
    reuse = writer.detach_clip(made.collection)
    writer.write_clip(timeline, request.spec.label, scene, "objects", cube_size=request.look.cube_size, reuse=reuse)
    writer.remove_objects(reuse.values())
    rebuild_s = time.perf_counter() - start
    return dict(cubes=timeline.cube_count, objects=sum(len(c) for c in made.cells.values()), engine_s=engine_s,
                write_s=write_s, stage_s=stage_s, keys_written=written, keys_shown=shown,
                actions=len(made.actions), first_frame_s=first_frame_s, frame_s=frame_s, rebuild_s=rebuild_s,
                peak_mb=_peak_mb())


def measure_workflow(clip: str) -> dict:
    """api.generate with the plain stage, then api.clear, timed as a user sees them."""
    import bpy
    from animatedai_addon import api
    _reset()
    spec = _request(clip).spec
    # As in a Blender session with the add-on enabled: registered, its modules imported (the panel plans
    # the clip to show its length). Both are paid once per session: a small clip generated and cleared
    # first, timed apart; the file is empty again before the 20k clip.
    import animatedai_addon
    start = time.perf_counter()
    animatedai_addon.ensure_registered()
    api.generate(BASIC_PRESET, use_template_camera=True, use_template_world=True)
    api.clear()
    first_s = time.perf_counter() - start
    if len(bpy.data.objects) or len(bpy.data.actions) or len(bpy.data.materials):
        raise RuntimeError("clear() left the warm-up clip's data behind")
    start = time.perf_counter()
    result = api.generate(spec, use_template_camera=True, use_template_world=True)
    generate_s = time.perf_counter() - start
    objects = len(bpy.data.objects)
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "clip.blend")
        bpy.ops.wm.save_as_mainfile(filepath=path, copy=True)
        start = time.perf_counter()
        removed = api.clear()
        clear_s = time.perf_counter() - start
        left = len(bpy.data.objects)
        bpy.ops.wm.open_mainfile(filepath=path)
        start = time.perf_counter()
        api.clear()
        clear_reopened_s = time.perf_counter() - start
    return dict(cubes=result.timeline.cube_count, objects=objects, left=left, removed=removed,
                first_s=first_s, generate_s=generate_s, clear_s=clear_s, clear_reopened_s=clear_reopened_s, peak_mb=_peak_mb())


def measure_floor(clip: str) -> dict:
    import bpy
    from animatedai_addon.scene import mesh
    scene = _reset()
    request, timeline = _timeline(clip)
    cube = mesh.ensure_cube_mesh()
    start = time.perf_counter()
    collection = bpy.data.collections.new("floor")
    scene.collection.children.link(collection)
    count = 0
    # in the order of the cells' names, the cheapest (see writer._creation_key), as the writer makes them
    for track in sorted(timeline.tensors, key=lambda track: track.name + "["):
        child = bpy.data.collections.new(f"floor / {track.name}")
        collection.children.link(child)
        for name in sorted(track.cell_names()):
            child.objects.link(bpy.data.objects.new(name, cube))
            count += 1
    floor_s = time.perf_counter() - start
    start = time.perf_counter()
    scene.frame_set(timeline.frame_start)
    first_frame_s = time.perf_counter() - start
    return dict(objects=count, floor_s=floor_s, first_frame_s=first_frame_s, peak_mb=_peak_mb())


def _cell_keys(track, timeline, cube_size):
    """Per cell: [(data_path, index, frames, values, interpolation)], the keys the writer makes."""
    from animatedai_addon.scene import keys
    easing = keys.INTERPOLATION[timeline.easing]
    channels = keys.keyed_color_channels(track)
    kinds = [(keys.visibility_keys(track.appear, track.disappear, timeline.pop_frames, easing),
              [("scale", axis, 0) for axis in range(3)], cube_size),
             (keys.move_keys(track, easing), [("location", axis, axis) for axis in range(3)], 1.0)]
    if channels:
        kinds.append((keys.highlight_keys(track, channels), [("color", c, k) for k, c in enumerate(channels)], 1.0))
    per_cell = {}
    for kind, paths, scale in kinds:
        for row, cell in enumerate(kind.cells.tolist()):
            a, b = kind.offsets[row], kind.offsets[row + 1]
            for path, index, dim in paths:
                per_cell.setdefault(cell, []).append(
                    (path, index, kind.frames[a:b], kind.values[a:b, dim] * scale, kind.interpolation[a:b]))
    return per_cell


def _naive_slice(clip: str, cells: int):
    """(timeline, cube size, picked (track, i) cells, keys by track, names by track) in a scene already holding
    half the clip's cubes."""
    import bpy
    scene = _reset()
    request, timeline = _timeline(clip)
    cube_size = request.look.cube_size
    total = timeline.cube_count
    stride = max(total // cells, 1)
    picked, seen = [], 0
    for track in timeline.tensors:
        for i in range(len(track)):
            if (seen + i) % stride == 0:
                picked.append((track, i))
        seen += len(track)
    picked = picked[:cells]
    keys = {id(track): _cell_keys(track, timeline, cube_size) for track in timeline.tensors}
    names = {id(track): track.cell_names() for track in timeline.tensors}
    # A naive build works, on average, in a scene holding half its cubes: build that half first (untimed),
    # so that the slice's cost per cell is the average cost per cell of the whole naive build.
    crowd = bpy.data.collections.new("already built")
    scene.collection.children.link(crowd)
    cube = bpy.data.meshes.new("cube")
    for k in range(total // 2):
        crowd.objects.link(bpy.data.objects.new(f"built{k:07d}", cube))
    scene.frame_set(timeline.frame_start)
    return timeline, cube_size, picked, keys, names


IPO = {0: "CONSTANT", 1: "LINEAR", 2: "BEZIER"}


def measure_naive(clip: str, cells: int) -> dict:
    import bpy
    from animatedai_addon.scene import materials
    timeline, cube_size, picked, keys, names = _naive_slice(clip, cells)
    material = materials.ensure_material("input")
    start = time.perf_counter()
    written = 0
    for track, i in picked:
        bpy.ops.mesh.primitive_cube_add(size=1.0, location=tuple(float(v) for v in track.position[i]))
        obj = bpy.context.active_object
        obj.name = names[id(track)][i]
        obj.data.materials.append(material)
        obj.color = tuple(float(v) for v in track.color[i])
        obj.scale = (cube_size,) * 3
        for path, index, frames, values, kinds in keys[id(track)].get(i, []):
            for frame, value in zip(frames.tolist(), values.tolist()):
                getattr(obj, path)[index] = value
                obj.keyframe_insert(path, index=index, frame=frame)
                written += 1
            fc = next(f for f in _fcurves(obj) if f.data_path == path and f.array_index == index)
            for point, kind in zip(fc.keyframe_points, kinds.tolist()):
                point.interpolation = IPO[kind]
    naive_s = time.perf_counter() - start
    return dict(cells=len(picked), keys=written, naive_slice_s=naive_s,
                naive_s=naive_s * timeline.cube_count / len(picked), peak_mb=_peak_mb())


def measure_naive_insert(clip: str, cells: int) -> dict:
    """The middle way: objects.new on one shared mesh + keyframe_points.insert per key."""
    import bpy
    from animatedai_addon.scene import compat, materials
    timeline, cube_size, picked, keys, names = _naive_slice(clip, cells)
    collection = bpy.data.collections.new("naive insert")
    bpy.context.scene.collection.children.link(collection)
    cube = bpy.data.meshes.new("naive cube")
    cube.materials.append(materials.ensure_material("input"))
    actions = compat.ActionPool("naive insert", objects_per_action=1)     # one action per object, as a script makes it
    start = time.perf_counter()
    written = 0
    for track, i in picked:
        obj = bpy.data.objects.new(names[id(track)][i], cube)
        collection.objects.link(obj)
        obj.location = tuple(float(v) for v in track.position[i])
        obj.color = tuple(float(v) for v in track.color[i])
        obj.scale = (cube_size,) * 3
        channels = keys[id(track)].get(i, [])
        curves = actions.new_fcurves(obj, [(path, index) for path, index, *_ in channels]) if channels else []
        for fc, (path, index, frames, values, kinds) in zip(curves, channels):
            for frame, value, kind in zip(frames.tolist(), values.tolist(), kinds.tolist()):
                fc.keyframe_points.insert(frame, value, options={"FAST"}).interpolation = IPO[kind]
                written += 1
            fc.update()
    insert_s = time.perf_counter() - start
    return dict(cells=len(picked), keys=written, naive_insert_slice_s=insert_s,
                naive_insert_s=insert_s * timeline.cube_count / len(picked), peak_mb=_peak_mb())


def _fcurves(obj):
    from animatedai_addon.scene import compat
    return compat.object_fcurves(obj)


# --------------------------------------------------------------------------------------------- the parent


def run_worker(kind: str, clip: str, naive_cells: int) -> dict:
    """One measurement in a fresh Python (its own peak memory); returns its JSON line."""
    command = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--clip", clip,
               "--naive-cells", str(naive_cells)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} {clip} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def bench_workflow(clip: str, repeat: int) -> dict:
    floors, flows = [], []
    for _ in range(repeat):
        floors.append(run_worker("floor", clip, 0))
        flows.append(run_worker("workflow", clip, 0))
    floor_s = _median(floors, "floor_s")
    generate_s, clear_s = _median(flows, "generate_s"), _median(flows, "clear_s")
    reopened_s = _median(flows, "clear_reopened_s")
    return dict(clip=clip, cubes=int(flows[0]["cubes"]), floor_s=floor_s, generate_s=generate_s, clear_s=clear_s,
                first_s=_median(flows, "first_s"),
                clear_reopened_s=reopened_s, generate_vs_floor=generate_s / floor_s, clear_vs_floor=clear_s / floor_s,
                clear_reopened_vs_floor=reopened_s / floor_s, runs=repeat)


def print_workflow(rows: list[dict]) -> None:
    for row in rows:
        print(f"{row['clip']} ({row['cubes']:,} cubes): api.generate with the stage {row['generate_s']:.2f} s = "
              f"{row['generate_vs_floor']:.2f}x the floor ({row['floor_s']:.2f} s); api.clear "
              f"{row['clear_s']:.2f} s = {row['clear_vs_floor']:.2f}x the floor in the same process; "
              f"{row['clear_reopened_s']:.2f} s = {row['clear_reopened_vs_floor']:.2f}x after reopening the file "
              f"(median of {row['runs']}; in a session where the add-on is registered and imported: "
              f"that and a first small clip took {row['first_s']:.2f} s)")
        if row["clip"] == "20k":
            print(f"goal 20k generate() with stage <= 2x floor: "
                  f"{'met' if row['generate_vs_floor'] <= 2.0 else 'NOT met'}")
            print(f"goal 20k clear() <= 3x floor, same process: {'met' if row['clear_vs_floor'] <= 3.0 else 'NOT met'}")
            print(f"goal 20k clear() <= 3x floor, notifier queue empty (reopened file): "
                  f"{'met' if row['clear_reopened_vs_floor'] <= 3.0 else 'NOT met'}")


def bench_clip(clip: str, repeat: int, naive_cells: int) -> dict:
    writers, floors = [], []
    for _ in range(repeat):
        floors.append(run_worker("floor", clip, naive_cells))
        writers.append(run_worker("writer", clip, naive_cells))
    naive = run_worker("naive", clip, naive_cells)
    middle = run_worker("naive_insert", clip, NAIVE_INSERT_CELLS[clip])
    w = {key: _median(writers, key) for key in writers[0]}
    floor_s = _median(floors, "floor_s")
    return dict(clip=clip, cubes=int(w["cubes"]), keys_written=int(w["keys_written"]),
                keys_shown=int(w["keys_shown"]), actions=int(w["actions"]), engine_s=w["engine_s"],
                write_s=w["write_s"], stage_s=w["stage_s"], peak_mb=w["peak_mb"],
                keys_per_s=w["keys_written"] / w["write_s"], floor_s=floor_s, floor_mb=_median(floors, "peak_mb"),
                vs_floor=w["write_s"] / floor_s, naive_s=naive["naive_s"], naive_cells=naive["cells"],
                naive_mb=naive["peak_mb"], speedup_vs_naive=naive["naive_s"] / w["write_s"],
                naive_insert_s=middle["naive_insert_s"], naive_insert_cells=middle["cells"],
                speedup_vs_naive_insert=middle["naive_insert_s"] / w["write_s"],
                first_frame_s=w["first_frame_s"], floor_first_frame_s=_median(floors, "first_frame_s"),
                frame_ms=w["frame_s"] * 1000, rebuild_s=w["rebuild_s"], runs=repeat)


def print_table(rows: list[dict]) -> None:
    columns = [("clip", "{}"), ("cubes", "{:,}"), ("keys_written", "{:,}"), ("keys_shown", "{:,}"),
               ("actions", "{:,}"), ("engine_s", "{:.3f}"), ("write_s", "{:.3f}"), ("stage_s", "{:.3f}"),
               ("peak_mb", "{:.0f}"), ("keys_per_s", "{:,.0f}"), ("floor_s", "{:.3f}"), ("floor_mb", "{:.0f}"),
               ("vs_floor", "{:.2f}x"), ("naive_s", "{:.1f}"), ("speedup_vs_naive", "{:.0f}x"),
               ("naive_insert_s", "{:.1f}"), ("speedup_vs_naive_insert", "{:.0f}x"),
               ("first_frame_s", "{:.2f}"), ("floor_first_frame_s", "{:.2f}"), ("frame_ms", "{:.1f}"),
               ("rebuild_s", "{:.3f}")]
    cells = [[fmt.format(row[key]) for key, fmt in columns] for row in rows]
    widths = [max(len(key), *(len(c[i]) for c in cells)) for i, (key, _) in enumerate(columns)]
    print("  ".join(key.rjust(w) for (key, _), w in zip(columns, widths)))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths)))
    print()
    for row in rows:
        print(f"{row['clip']}: write {row['write_s']:.3f} s (+ engine {row['engine_s']:.3f} s, stage "
              f"{row['stage_s']:.3f} s) = {row['vs_floor']:.2f}x the floor ({row['floor_s']:.3f} s); "
              f"{row['speedup_vs_naive']:.0f}x faster than naive (extrapolated from {row['naive_cells']} cells), "
              f"{row['speedup_vs_naive_insert']:.0f}x faster than the naive insert ({row['naive_insert_s']:.2f} s, "
              f"extrapolated from {row['naive_insert_cells']} cells)")
    goals = []
    by_clip = {row["clip"]: row for row in rows}
    if "basic" in by_clip:
        b = by_clip["basic"]
        goals.append(("basic clip build < 1 s", b["engine_s"] + b["write_s"] < 1.0))
    if "20k" in by_clip:
        goals.append(("20k cubes <= 2x floor", by_clip["20k"]["vs_floor"] <= 2.0))
    goals.append((">= 100x faster than naive", all(r["speedup_vs_naive"] >= 100 for r in rows)))
    for text, met in goals:
        print(f"goal {text}: {'met' if met else 'NOT met'}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="+", choices=CLIPS, default=list(CLIPS))
    parser.add_argument("--repeat", type=int, default=3, help="writer/floor runs per clip (medians compared)")
    parser.add_argument("--naive-cells", type=int, default=None,
                        help=f"cells the naive reference builds (default {NAIVE_CELLS})")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--parts", nargs="+", choices=("writer", "workflow"), default=["writer", "workflow"],
                        help="writer (with floor and naive) and/or workflow (api.generate + api.clear vs floor)")
    parser.add_argument("--worker", choices=("writer", "floor", "naive", "naive_insert", "workflow"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--clip", choices=CLIPS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        measure = {"writer": measure_writer, "floor": measure_floor, "workflow": measure_workflow,
                   "naive": lambda clip: measure_naive(clip, args.naive_cells or NAIVE_CELLS[clip]),
                   "naive_insert": lambda clip: measure_naive_insert(clip, args.naive_cells or NAIVE_INSERT_CELLS[clip]),
                   }[args.worker]
        print(json.dumps(measure(args.clip)), flush=True)
        return 0
    rows, flows = [], []
    for clip in args.clips:
        if "writer" in args.parts:
            rows.append(bench_clip(clip, max(args.repeat, 1), args.naive_cells or NAIVE_CELLS[clip]))
        if "workflow" in args.parts:
            flows.append(bench_workflow(clip, max(args.repeat, 1)))
    if rows:
        print_table(rows)
    if flows:
        print_workflow(flows)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows + flows, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
