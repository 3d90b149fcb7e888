"""The render farm (animatedai_addon.farm) on real Dask workers rendering tiny Workbench frames.

Every process a test starts (LocalCluster workers, `dask scheduler`, `dask worker`) is stopped by the test.
Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animatedai_addon import api, farm, rendering
from animatedai_addon.engine.errors import SpecError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
try:
    import render_cli as cli  # noqa: E402  (the render scripts' command line, farm options included)
finally:
    sys.path.remove(str(REPO / "scripts"))
VENV_BIN = Path(sys.executable).parent
TINY = dict(engine="workbench", samples=1, resolution=(64, 36), template="none", formats=("png",))
CATALOG = (("conv-3x3-valid", (20, 25)), ("max-pool-2x2", (16, 19)))   # a catalogue subset: 10 frames


def tiny_job(preset: str, out: Path, frames: tuple[int, int], **changes) -> rendering.RenderJob:
    return rendering.RenderJob(preset=preset, out=str(out / preset), frames=frames, **{**TINY, **changes})


def catalog_jobs(out: Path, **changes) -> list[rendering.RenderJob]:
    return [tiny_job(preset, out, frames, **changes) for preset, frames in CATALOG]


def expected_frames(job: rendering.RenderJob) -> list[Path]:
    return [rendering.frame_path(job, f) for f in range(job.frames[0], job.frames[1] + 1)]


def read_pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        image.load()                    # decodes every row: a cut-off file raises here
        return np.asarray(image.convert("RGB"))


def assert_frames_exactly_once(job: rendering.RenderJob) -> None:
    """The job's frames, each once and whole, and nothing else (no temporary files) in its folders."""
    expected = expected_frames(job)
    folder = rendering.frames_dir(job)
    pngs = sorted(p for p in folder.iterdir() if p.suffix == ".png")
    assert pngs == sorted(expected)
    for path in pngs:
        assert rendering.is_complete_png(path), path
        assert read_pixels(path).shape == (job.resolution[1], job.resolution[0], 3)
    leftovers = [p for p in Path(job.out).rglob("*") if rendering.PARTIAL_MARK in p.name]
    assert leftovers == []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------------------------- no Blender

def test_split_frames_covers_the_range_once():
    assert farm.split_frames(1, 10, 4) == [(1, 4), (5, 8), (9, 10)]
    assert farm.split_frames(7, 7, 24) == [(7, 7)]
    chunks = farm.split_frames(3, 100, 7)
    frames = [f for a, b in chunks for f in range(a, b + 1)]
    assert frames == list(range(3, 101))


def test_default_chunk_size_gives_each_worker_several_chunks():
    assert farm.default_chunk_size(100, 1) == 24       # capped: a lost worker costs little
    assert farm.default_chunk_size(40, 2) == 5         # 8 chunks for 2 workers
    assert farm.default_chunk_size(3, 16) == 1


def test_farm_arguments():
    parser = argparse.ArgumentParser()
    cli.add_farm_arguments(parser)
    args = parser.parse_args(["--workers", "3", "--chunk-size", "5"])
    assert (args.workers, args.scheduler, args.chunk_size) == (3, None, 5)
    assert cli.farm_requested(args)
    args = parser.parse_args(["--scheduler", "tcp://127.0.0.1:8786"])
    assert cli.farm_requested(args) and args.workers is None
    assert not cli.farm_requested(parser.parse_args([]))
    for bad in (["--workers", "0"], ["--workers", "two"], ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


@pytest.mark.parametrize("option, value", [("workers", 0), ("chunk_size", -1), ("retries", 0), ("jobs", [])])
def test_bad_options_raise_before_anything_starts(tmp_path, option, value):
    options = {"jobs": [tiny_job("max-pool-2x2", tmp_path, (1, 2))], option: value}
    with pytest.raises(SpecError) as error:
        farm.run_farm(**options, log=None)
    assert error.value.parameter == option
    assert not any(tmp_path.iterdir())


def test_workers_and_scheduler_together_are_refused(tmp_path):
    with pytest.raises(SpecError, match="not both"):
        farm.run_farm([tiny_job("max-pool-2x2", tmp_path, (1, 2))], workers=2, scheduler="tcp://127.0.0.1:1",
                      log=None)


def test_jobs_reach_workers_with_their_range_and_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    job = rendering.RenderJob(preset="max-pool-2x2", out="out/here", frames=None, **{**TINY})
    ready = farm._for_workers(job)
    assert ready.frames == rendering.clip_range(job, api) and ready.frames[1] > ready.frames[0]
    assert ready.out == str(tmp_path / "out" / "here")


def test_stale_partials_go_once_their_frames_are_complete(tmp_path):
    job = tiny_job("max-pool-2x2", tmp_path, (1, 2))
    folder = rendering.frames_dir(job)
    folder.mkdir(parents=True)
    png = Image.new("RGB", (4, 4))
    png.save(rendering.frame_path(job, 1))
    stale = folder / f".max-pool-2x2_0001{rendering.PARTIAL_MARK}999999.png"
    needed = folder / f".max-pool-2x2_0002{rendering.PARTIAL_MARK}999999.png"   # frame 2 is not finished
    stale.write_bytes(b"cut off")
    needed.write_bytes(b"cut off")
    assert farm.remove_stale_partials(job) == [stale]
    assert not stale.exists() and needed.exists() and rendering.frame_path(job, 1).exists()


# --------------------------------------------------------------------------------------------- local cluster

@pytest.mark.blender
@pytest.mark.render
@pytest.mark.slow
def test_two_workers_render_the_same_pixels_as_one(tmp_path):
    one = farm.run_farm(catalog_jobs(tmp_path / "one", formats=("png", "gif")), workers=1, log=None)
    two = farm.run_farm(catalog_jobs(tmp_path / "two"), workers=2, chunk_size=2, log=None)
    assert (one.frames, two.frames) == (10, 10)
    assert len({r.worker for r in two.reports}) == 2           # both workers rendered
    for job_one, job_two in zip(catalog_jobs(tmp_path / "one"), catalog_jobs(tmp_path / "two")):
        assert_frames_exactly_once(job_two)
        for a, b in zip(expected_frames(job_one), expected_frames(job_two)):
            pixels = read_pixels(a)
            assert pixels.std() > 0                             # not a blank frame
            np.testing.assert_array_equal(pixels, read_pixels(b))
        gif = rendering.video_path(job_one, "gif")
        assert one.videos[job_one.clip] == [gif]
        count = job_one.frames[1] - job_one.frames[0] + 1
        assert gif_milliseconds(gif) == sum(rendering.gif_durations(count, rendering.job_fps(job_one)))


def gif_milliseconds(path: Path) -> int:
    """A GIF's running time (Pillow merges identical neighbouring frames and adds up their durations)."""
    total = 0
    with Image.open(path) as image:
        for index in range(image.n_frames):
            image.seek(index)
            total += image.info["duration"]
    return total


@pytest.mark.blender
@pytest.mark.render
@pytest.mark.slow
def test_a_chunk_that_always_fails_names_clip_frames_and_error_after_three_tries(tmp_path):
    job = tiny_job("max-pool-2x2", tmp_path, (1, 4))
    # Frame 3's file name is taken by a folder: rendering frame 3 fails on every try, frames 1-2 render.
    rendering.frames_dir(job).mkdir(parents=True)
    rendering.signature_path(job).write_text(rendering.job_key(job))   # the folder belongs to this job
    rendering.frame_path(job, 3).mkdir()
    lines = []
    with pytest.raises(farm.FarmError) as raised:
        farm.run_farm([job], workers=1, chunk_size=2, log=LineLog(lines))
    [failure] = raised.value.failures
    assert (failure.clip, failure.first, failure.last, failure.tries) == ("max-pool-2x2", 3, 4, 3)
    assert all("IsADirectoryError" in line and "tcp://127.0.0.1:" in line for line in failure.errors)
    message = str(raised.value)
    assert "clip max-pool-2x2 frames 3-4 failed 3 times" in message
    assert "Traceback" in message and "render_frames" in message      # the worker's own traceback
    assert sum("try" in line and "trying again" in line for line in lines) == 2
    for path in expected_frames(job)[:2]:                                # finished frames stay
        assert rendering.is_complete_png(path)


class LineLog:
    """A log stream that keeps lines and can act on one (``on_line(line)``)."""

    def __init__(self, lines: list[str], on_line=None):
        self.lines, self.on_line = lines, on_line

    def write(self, text: str) -> None:
        for line in text.splitlines():
            self.lines.append(line)
            if self.on_line:
                self.on_line(line)

    def flush(self) -> None:
        pass


@pytest.mark.blender
@pytest.mark.render
@pytest.mark.slow
def test_a_script_that_imports_bpy_first_can_start_the_farm(tmp_path):
    """Like scripts/render.py run as `python script.py`: the spawned workers must neither find Blender's
    script-folder `bpy` first on sys.path nor re-import bpy on their main thread (both crash a worker)."""
    script = tmp_path / "farm_script.py"
    script.write_text(textwrap.dedent(f"""
        import argparse
        import sys
        import bpy  # noqa: F401  (module level, as a Blender script would)
        sys.path.insert(0, {str(REPO / "scripts")!r})
        import render_cli as cli
        from animatedai_addon import rendering

        if __name__ == "__main__":
            parser = argparse.ArgumentParser()
            cli.add_farm_arguments(parser)
            args = parser.parse_args(sys.argv[1:])
            job = rendering.RenderJob(preset="max-pool-2x2", out="out/max-pool-2x2", frames=(16, 17), **{TINY!r})
            if cli.farm_requested(args):
                sys.exit(cli.farm_main([job], args))
    """))
    done = subprocess.run([sys.executable, str(script), "--workers", "1"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "render farm: done, 2 frames in 2 chunks" in done.stderr
    assert_frames_exactly_once(tiny_job("max-pool-2x2", tmp_path / "out", (16, 17)))


# --------------------------------------------------------------------------------------------- a real scheduler

@pytest.fixture
def dask_cluster(tmp_path):
    """`dask scheduler` and two `dask worker ADDRESS --nthreads 1` on 127.0.0.1, each in its own process
    group (the nanny and its worker process die together); all stopped at the end."""
    processes = {}
    logs = tmp_path / "dask-logs"
    logs.mkdir()

    def start(name: str, *args: str) -> subprocess.Popen:
        with open(logs / f"{name}.log", "w") as log:
            process = subprocess.Popen([str(VENV_BIN / "dask"), *args], cwd=REPO, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        processes[name] = process
        return process

    address = f"tcp://127.0.0.1:{free_port()}"
    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
              "--no-dashboard")
        for name in ("worker-a", "worker-b"):
            start(name, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard")
        wait_for_workers(address, 2, logs)
        yield address, processes
    finally:
        for process in processes.values():
            stop_group(process)


def wait_for_workers(address: str, count: int, logs: Path) -> None:
    from distributed import Client
    with Client(address, timeout="60s") as client:
        try:
            client.wait_for_workers(count, timeout=120)
        except TimeoutError:
            raise AssertionError("dask workers did not start:\n"
                                 + "\n".join(p.read_text()[-2000:] for p in logs.iterdir())) from None


def stop_group(process: subprocess.Popen) -> None:
    """SIGKILL the process group this test started (the nanny and its worker process) and reap it."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=30)


def worker_address_of(address: str, process: subprocess.Popen) -> str:
    """The address of the worker started by ``process`` (its worker process is in that process's group)."""
    from distributed import Client
    with Client(address, timeout="30s") as client:
        groups = client.run(os.getpgid, 0)
    [worker] = [worker for worker, group in groups.items() if group == process.pid]
    return worker


def kill_while_busy(address: str, victim: subprocess.Popen, victim_address: str, out: Path,
                    killed: list, stop: threading.Event) -> None:
    """SIGKILL the victim's process group as soon as it is running a chunk and some frames exist (mid-run)."""
    from distributed import Client
    with Client(address, timeout="30s") as client:
        while not stop.is_set():
            busy = client.processing(workers=[victim_address]).get(victim_address)
            if busy and any(out.rglob("*.png")):
                os.killpg(victim.pid, signal.SIGKILL)
                killed.extend(busy)
                return
            time.sleep(0.02)


@pytest.mark.blender
@pytest.mark.render
@pytest.mark.slow
def test_scheduler_run_survives_a_killed_worker(tmp_path, dask_cluster):
    address, processes = dask_cluster
    victim = processes["worker-b"]
    victim_address = worker_address_of(address, victim)
    out = tmp_path / "out"
    jobs = catalog_jobs(out)
    killed, stop = [], threading.Event()
    killer = threading.Thread(target=kill_while_busy, args=(address, victim, victim_address, out, killed, stop))
    killer.start()
    try:
        summary = farm.run_farm(jobs, scheduler=address, chunk_size=2, log=None)
    finally:
        stop.set()
        killer.join(timeout=60)
    assert killed and victim.wait(timeout=30) == -signal.SIGKILL     # killed while running a chunk ...
    assert summary.frames == 10 and summary.chunks == 5                # ... which another worker then rendered
    for job in jobs:
        assert_frames_exactly_once(job)
