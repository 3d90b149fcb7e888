"""Tiny renders of real clips: Cycles, Workbench and one Eevee frame; MP4/GIF; killed and resumed runs;
bad arguments. Frames are 96x54 or smaller with a few samples."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from bpy_extras.object_utils import world_to_camera_view  # noqa: E402
from mathutils import Vector  # noqa: E402

from animatedai_addon import api, rendering  # noqa: E402
from animatedai_addon.engine.errors import SpecError  # noqa: E402

from .conftest import REPO, hue_distance, is_blank, pixel_hues, read_png, srgb_hue  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.render, pytest.mark.slow]

CONV = "conv-3x3-stride2-valid"
SHUFFLE = "pixel-shuffle-2x2"
SIZE = (96, 54)
SCRIPT = REPO / "scripts" / "render.py"


def tiny_job(tmp_path, preset, engine="cycles", samples=4, size=SIZE, **kwargs) -> rendering.RenderJob:
    return rendering.RenderJob(preset=preset, engine=engine, samples=samples, resolution=size,
                               out=str(tmp_path / f"{preset}-{engine}"), formats=kwargs.pop("formats", ("png",)),
                               **kwargs)


def changing_frames(timeline) -> tuple[int, int]:
    """(k, k + 1) across the second step: the window jumps and an output cell starts to pop in."""
    step = timeline.step_frames[min(1, len(timeline.step_frames) - 1)]
    after = int(math.ceil(step))
    return after - 1, after


def output_cells_pixels(scene, result, frame: int) -> tuple[slice, slice]:
    """The image rectangle where the camera sees the output tensor's cells at ``frame`` (objects mode)."""
    scene.frame_set(frame)
    bpy.context.view_layer.update()
    cells = result.cells[output_track(result.timeline).name]
    corners = [o.matrix_world @ Vector(c) for o in cells if o.matrix_world.to_scale().length > 1e-3
               for c in o.bound_box]
    assert corners, "the output tensor has visible cells at this frame"
    uv = np.array([tuple(world_to_camera_view(scene, scene.camera, c))[:2] for c in corners])
    width, height = scene.render.resolution_x, scene.render.resolution_y
    x0, x1 = np.clip([uv[:, 0].min(), uv[:, 0].max()], 0, 1) * width
    y0, y1 = (1 - np.clip([uv[:, 1].max(), uv[:, 1].min()], 0, 1)) * height    # image rows run downwards
    return slice(int(y0), int(math.ceil(y1))), slice(int(x0), int(math.ceil(x1)))


def output_track(timeline):
    """The track showing the output: a shuffle's output is its input's cells, moved (an alias)."""
    return timeline.tensor(timeline.aliases.get("output", "output"))


def share_of_output_colours(pixels: np.ndarray, timeline, tolerance: float = 30.0) -> float:
    """Share of the pixels that show one of the output cells' hues, saturated."""
    hues = {round(srgb_hue(c)[0]) for c in output_track(timeline).color if srgb_hue(c)[1] > 0.3}
    hue, saturation, value = pixel_hues(pixels)
    near = np.zeros(hue.shape, bool)
    for h in hues:
        near |= hue_distance(hue, h) < tolerance
    return float((near & (saturation > 0.35) & (value > 0.15)).mean())


def render_and_read(job, frames) -> dict:
    """Render just ``frames`` of the prepared scene (each its own one-frame range) and read them."""
    return {f: read_png(rendering.render_frames(job, f, f)[0]) for f in frames}


# --------------------------------------------------------------------------------------------- images

@pytest.mark.parametrize("preset", [CONV, SHUFFLE])
@pytest.mark.parametrize("engine, samples", [("cycles", 4), ("workbench", 1)])
def test_frames_show_the_clip(tmp_path, preset, engine, samples):
    job = tiny_job(tmp_path, preset, engine, samples)
    result = rendering.prepare_scene(job, api)
    timeline = result.timeline
    k, k1 = changing_frames(timeline)
    last = timeline.frame_end
    images = render_and_read(job, [k, k1, last])
    scene = bpy.context.scene
    for frame, pixels in images.items():
        assert pixels.shape == (SIZE[1], SIZE[0], 3)
        assert not is_blank(pixels), f"frame {frame} is blank"
    assert np.abs(images[k].astype(int) - images[k1].astype(int)).max() > 20, \
        f"frames {k} and {k1} differ: the timeline changes something between them"
    rows, cols = output_cells_pixels(scene, result, last)
    inside = share_of_output_colours(images[last][rows, cols], timeline)
    assert inside > 0.15, f"the output cells' colours cover {inside:.0%} of where the output tensor is"


def test_one_eevee_frame(tmp_path):
    job = tiny_job(tmp_path, CONV, "eevee", samples=1, size=(64, 36))
    result = rendering.prepare_scene(job, api)
    timeline = result.timeline
    last = timeline.frame_end
    images = render_and_read(job, [last])
    pixels = images[last]
    assert not is_blank(pixels)
    rows, cols = output_cells_pixels(bpy.context.scene, result, last)
    assert share_of_output_colours(pixels[rows, cols], timeline) > 0.15


def test_output_colour_is_not_everywhere(tmp_path):
    """The colour check above can fail: before the output appears, its region shows no output colour."""
    job = tiny_job(tmp_path, CONV, "workbench", samples=1)
    result = rendering.prepare_scene(job, api)
    timeline = result.timeline
    last = timeline.frame_end
    images = render_and_read(job, [timeline.frame_start, last])
    rows, cols = output_cells_pixels(bpy.context.scene, result, last)
    assert share_of_output_colours(images[timeline.frame_start][rows, cols], timeline) < \
        share_of_output_colours(images[last][rows, cols], timeline)


# --------------------------------------------------------------------------------------------- videos

def h264_chroma_format(mp4: bytes) -> tuple[int, int]:
    """(profile_idc, chroma_format_idc) from the MP4's avcC sequence parameter set."""
    at = mp4.index(b"avcC") + 4
    sps_length = int.from_bytes(mp4[at + 6:at + 8], "big")
    sps = mp4[at + 8:at + 8 + sps_length]
    profile = sps[1]
    bits = "".join(f"{byte:08b}" for byte in sps[4:])
    position = 0

    def golomb():
        nonlocal position
        zeros = 0
        while bits[position] == "0":
            zeros += 1
            position += 1
        value = int(bits[position:position + zeros + 1], 2) - 1
        position += zeros + 1
        return value

    golomb()                                         # seq_parameter_set_id
    chroma = golomb() if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135) else 1
    return profile, chroma


def gif_colour_tables(data: bytes) -> tuple[bool, int]:
    """(has a global colour table, number of frames with a local one), read from the GIF's blocks."""
    assert data[:6] in (b"GIF87a", b"GIF89a")
    packed = data[10]
    at = 13 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)
    local = 0

    def skip_sub_blocks(at):
        while data[at]:
            at += data[at] + 1
        return at + 1

    while data[at] != 0x3B:                          # trailer
        if data[at] == 0x21:                         # extension: label, then sub-blocks
            at = skip_sub_blocks(at + 2)
        elif data[at] == 0x2C:                       # image descriptor
            flags = data[at + 9]
            at += 10
            if flags & 0x80:
                local += 1
                at += 3 * 2 ** ((flags & 7) + 1)
            at = skip_sub_blocks(at + 1)             # LZW minimum code size, then the image data
        else:
            raise AssertionError(f"unexpected GIF block 0x{data[at]:02x}")
    return bool(packed & 0x80), local


def test_mp4_and_gif_have_every_frame(tmp_path):
    job = tiny_job(tmp_path, CONV, "workbench", samples=1, formats=("png", "mp4", "gif"))
    timeline = rendering.prepare_scene(job, api).timeline
    k, _ = changing_frames(timeline)
    job = job.replace(frames=(k - 2, k + 3))
    result = rendering.render(job, api)
    count = 6
    mp4, gif = rendering.video_path(job, "mp4"), rendering.video_path(job, "gif")
    assert [p.suffix for p in result.videos] == [".mp4", ".gif"] and mp4.is_file() and gif.is_file()

    clip = bpy.data.movieclips.load(str(mp4))
    assert clip.frame_duration == count
    assert tuple(clip.size) == SIZE
    assert h264_chroma_format(mp4.read_bytes()) == (100, 1), "H.264 High profile, 4:2:0 (yuv420p)"

    from PIL import Image
    pngs = [read_png(p) for p in result.frames]
    distinct_runs = 1 + sum(not np.array_equal(a, b) for a, b in zip(pngs, pngs[1:]))
    with Image.open(gif) as image:
        assert image.info["loop"] == 0
        durations, shown = [], []
        for index in range(image.n_frames):
            image.seek(index)
            durations.append(image.info["duration"])
            shown.append(np.asarray(image.convert("RGB")).astype(int))
    for gif_frame, png in ((shown[0], pngs[0]), (shown[-1], pngs[-1])):
        assert np.abs(gif_frame - png).mean() < 6, "the GIF shows the frames (256 shared colours, no dither)"
    assert len(shown) == distinct_runs, "Pillow merges identical neighbours, adding their durations"
    fps = timeline.fps
    assert sum(durations) == pytest.approx(count * 1000 / fps, abs=10)
    global_table, local_tables = gif_colour_tables(gif.read_bytes())
    assert global_table and local_tables == 0, "one palette shared by every frame"


def test_gif_durations_keep_the_clip_length():
    durations = rendering.gif_durations(48, 24)
    assert set(durations) == {40, 50} and sum(durations) == 2000
    assert rendering.gif_durations(10, 25) == [40] * 10


# --------------------------------------------------------------------------------------------- the script

def run_script(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout)


def script_args(out: Path, frames: str) -> list[str]:
    return ["--preset", CONV, "--engine", "workbench", "--samples", "1", "--resolution", "64x36",
            "--frames", frames, "--formats", "png", "--out", str(out)]


def test_killed_render_resumes_to_the_same_frames(tmp_path):
    frames, first, last = "13-20", 13, 20
    whole = run_script(*script_args(tmp_path / "whole", frames))
    assert whole.returncode == 0, whole.stderr[-2000:]

    out = tmp_path / "killed"
    folder = out / "frames"
    process = subprocess.Popen([sys.executable, str(SCRIPT), *script_args(out, frames)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(folder.glob(f"{CONV}_*.png"))) < 2:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(list(folder.glob(f"{CONV}_*.png")))
    assert 2 <= done_before < last - first + 1, "killed in the middle"

    resumed = run_script(*script_args(out, frames))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert resumed.stderr.count("exists, skipped") >= done_before
    names = sorted(p.name for p in folder.iterdir() if not p.name.endswith(".job.json"))
    assert names == [f"{CONV}_{f:04d}.png" for f in range(first, last + 1)], "no temporary or partial file left"
    for frame in range(first, last + 1):
        name = f"{CONV}_{frame:04d}.png"
        assert rendering.is_complete_png(folder / name)
        assert np.array_equal(read_png(folder / name), read_png(tmp_path / "whole" / "frames" / name)), name


def test_progress_goes_to_stderr(tmp_path):
    done = run_script("--", *script_args(tmp_path / "p", "13-14"))      # as Blender passes them: after --
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith(f"[{CONV}]")]
    assert lines[0].startswith(f"[{CONV}] 1/2 frame 13 in ") and "ETA" in lines[0]


@pytest.mark.parametrize("args, parameter", [
    (["--engine", "povray"], "engine"),
    (["--preset", "conv-9x9"], "preset"),
    (["--resolution", "wide"], "resolution"),
    (["--resolution", "95x54"], "resolution"),
    (["--frames", "9-3"], "frames"),
    (["--frames", "1-99999"], "frames"),
    (["--formats", "png,avi"], "formats"),
    (["--samples", "0"], "samples"),
    (["--device", "tpu"], "device"),
    (["--template", "moody"], "template"),
    (["--set", "kernel_size=99"], "kernel_size"),
    (["--set", "nonsense"], "set"),
])
def test_bad_arguments_exit_with_the_reason_and_write_nothing(tmp_path, args, parameter):
    out = tmp_path / "never"
    done = run_script("--out", str(out), *args, timeout=120)
    assert done.returncode != 0
    assert f"{parameter}=" in done.stderr, done.stderr
    assert not out.exists()


def test_gpu_is_found_or_refused_clearly():
    try:
        backend = rendering.gpu_backend()
    except SpecError as error:
        assert error.parameter == "device" and "use --device cpu" in str(error)
    else:
        assert backend in rendering.GPU_BACKENDS


def test_job_checks_name_the_argument():
    with pytest.raises(SpecError) as caught:
        rendering.RenderJob(preset=CONV, fps=0)
    assert caught.value.parameter == "fps"
    with pytest.raises(SpecError) as caught:
        rendering.RenderJob(preset=CONV, spec_file="x.toml")
    assert caught.value.parameter == "spec"
    assert rendering.RenderJob(formats="gif,png").formats == ("gif", "png")
    assert rendering.RenderJob().clip == rendering.DEFAULT_PRESET


def test_frames_and_videos_need_the_jobs_scene_or_its_frames(tmp_path):
    """Rendering builds no clip on its own (the API does): without a prepared scene, frames and videos say so."""
    job = tiny_job(tmp_path, CONV, "workbench", samples=1)
    with pytest.raises(RuntimeError, match="prepare_scene"):
        rendering.render_frames(job, 1, 1)
    with pytest.raises(SpecError) as caught:
        rendering.assemble_videos(job.replace(formats=("gif",)))
    assert caught.value.parameter == "frames"
    assert not rendering.frames_dir(job).exists()
    rendering.prepare_scene(job, api)
    assert rendering.job_scene(job) is bpy.context.scene
    assert rendering.video.job_frame_range(job) == rendering.clip_range(job, api)     # the scene's range is the clip's


def test_catalog_renders_a_selection_and_sums_it_up(tmp_path):
    catalog = REPO / "scripts" / "render_catalog.py"
    done = subprocess.run([sys.executable, str(catalog), "--presets", f"{CONV},{SHUFFLE}", "--engine", "workbench",
                           "--samples", "1", "--resolution", "32x18", "--frames", "1-2", "--formats", "png",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()          # Blender logs its saves on stdout too
    table = lines[max(i for i, line in enumerate(lines) if line.startswith("clip ")):]
    assert table[0].split() == ["clip", "frames", "seconds", "outputs"]
    assert [row.split()[:2] for row in table[2:]] == [[CONV, "1-2"], [SHUFFLE, "1-2"]]
    for preset in (CONV, SHUFFLE):
        assert len(list((tmp_path / preset / "frames").glob("*.png"))) == 2
