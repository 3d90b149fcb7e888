"""Hostile input to the render scripts, api.render and the output folder: exit 2 with one line (or one SpecError),
nothing written, no data-block changed; one job per output folder; temporary files that cannot be redirected.

The scripts run under a 2 GiB address-space limit (``resource.setrlimit(RLIMIT_AS)``): a check that came after
planning a huge clip would die there instead of exiting 2.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from animatedai_addon import rendering
from animatedai_addon.rendering import outputs
from animatedai_addon.engine.errors import SpecError

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "render.py"
CATALOG = REPO / "scripts" / "render_catalog.py"
MEMORY_LIMIT = 2 << 30
# 172,601 cubes (within the budget) whose steps read 117 M cells: objects mode is refused, before planning
HUGE = ["--set", "in_channels=2", "--set", "height=100", "--set", "width=100", "--set", "kernel_size=150",
        "--set", "padding=75", "--set", "out_channels=1"]
# 342,601 cubes: over the default budget of 200,000
BIG = [*HUGE, "--set", "in_channels=4"]
# 3.4 M cubes: over the instanced mode's budget of 2,000,000 too
HUGER = [*HUGE, "--set", "in_channels=40"]


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run(script: Path, *args, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, preexec_fn=limit_memory,
                          env={**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"})


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]       # closed again when the with block ends


def refused(done: subprocess.CompletedProcess, parameter: str) -> str:
    """Exit 2, one line on stderr naming ``parameter``, nothing on stdout; returns the line."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-3000:]
    assert len(lines) == 1, done.stderr
    assert f"{parameter}=" in lines[0] or f"argument --{parameter}" in lines[0], lines[0]
    assert done.stdout == ""
    return lines[0]


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


@pytest.fixture
def room(tmp_path):
    """A folder with a non-UTF-8 spec, a file where a folder is expected, and nothing else."""
    (tmp_path / "latin1.toml").write_bytes('title = "caf\xe9"\n[spec]\nop = "conv2d"\n'.encode("latin-1"))
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "fast.toml").write_text('[spec]\nop = "max_pool2d"\nin_channels = 1\nheight = 4\nwidth = 4\n'
                                        'kernel_size = 2\n[timing]\nfps = 1000\n')
    return tmp_path


CASES = [
    (["--spec", "latin1.toml"], "spec"),
    (["--preset", "./latin1.toml"], "spec"),               # a path given to --preset is a spec file
    (["--spec", "fast.toml"], "timing.fps"),                # TOML has the CLI's limits
    (["--set", "timing.fps=1000"], "timing.fps"),
    (["--fps", "1000"], "fps"),
    (["--set", "kernel_size=3\n5"], "set"),
    (["--set", "kernel_size=3\r"], "set"),
    (["--out", "a-file"], "out"),
    (["--out", "a-file/below"], "out"),
    (["--out", "/proc/animatedai"], "out"),
    (["--frames", "5000-5001"], "frames"),
    (["--frames", "1-99999999"], "frames"),
    (["--scheduler", "not an address"], "scheduler"),
    (["--scheduler", "ftp://host:1"], "scheduler"),
    (["--scheduler", "tcp://127.0.0.1:99999"], "scheduler"),
    (["--workers", "100000"], "workers"),
    (["--chunk-size", "999999999", "--workers", "1"], "chunk-size"),
    (["--scheduler-timeout", "0", "--scheduler", "tcp://127.0.0.1:1"], "scheduler-timeout"),
    ([*BIG, "--frames", "1-2"], "cube_budget"),             # the budget before planning, with --frames
    ([*BIG], "cube_budget"),
    ([*HUGER, "--mode", "instanced", "--set", "kernel_size=201", "--set", "padding=100"], "cube_budget"),
    ([*BIG, "--workers", "2"], "cube_budget"),              # the farm path
    (["--preset", "conv-3x3-same", "--set", "timing.frames_per_step=10000", "--set", "timing.first_step_frames=0"],
     "timing"),                                             # past Blender's last frame, 1,048,574
    ([*HUGE, "--frames", "1-2"], "mode"),
    ([*HUGE], "mode"),
    (["--set", "in_channels=4", "--set", "height=40", "--set", "width=40", "--set", "kernel_size=40",
      "--set", "out_channels=64", "--set", "padding=same", "--set", "stride=1"], "cube_budget"),
]


@pytest.mark.parametrize("args, parameter", CASES, ids=[" ".join(a)[:40] for a, _ in CASES])
def test_script_refuses_with_one_line_and_writes_nothing(room, args, parameter):
    before = files_under(room)
    refused(run(SCRIPT, *args, cwd=room), parameter)
    assert files_under(room) == before


def test_cube_budget_advice_follows_the_mode(room):
    line = refused(run(SCRIPT, *HUGER, "--mode", "instanced", cwd=room), "cube_budget")
    assert "raise cube_budget" in line and "use mode='instanced'" not in line
    assert "use mode='instanced'" in refused(run(SCRIPT, *BIG, cwd=room), "cube_budget")


def test_closed_scheduler_port_fails_fast_with_one_line(room):
    started = time.monotonic()
    line = refused(run(SCRIPT, "--scheduler", f"tcp://127.0.0.1:{closed_port()}", "--scheduler-timeout", "3",
                       cwd=room), "scheduler")
    assert time.monotonic() - started < 30 and "--scheduler-timeout" in line
    assert files_under(room) == {room / n for n in ("latin1.toml", "a-file", "fast.toml")}


def test_catalog_refuses_like_render(room):
    refused(run(CATALOG, "--presets", "max-pool-2x2", "--scheduler", "bad", cwd=room), "scheduler")
    refused(run(CATALOG, "--presets", "max-pool-2x2", "--set", "timing.fps=999", cwd=room), "timing.fps")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["--samples", "--resolution", "--fps", "--frames", "--formats", "--engine", "--device",
                        "--mode", "--template", "--set", "--workers", "--chunk-size", "--scheduler",
                        "--scheduler-timeout", "--preset", "--spec", "--out"]),
       st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=12))
def test_any_flag_value_is_refused_in_one_line_or_makes_a_job(tmp_path, flag, text):
    """Parsing only (no rendering): any value of any flag is either a checked job or exit 2 with one line."""
    if flag in ("--out",) and not text.strip():
        return
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import render as script
    finally:
        sys.path.remove(str(REPO / "scripts"))
    parser = script.build_parser()
    try:
        args = parser.parse_args([flag, text, "--out", str(tmp_path / "o")] if flag != "--out"
                                 else [flag, str(tmp_path / text)])
        script.cli.check_farm_arguments(args)
        script.cli.job_from_args(args)
    except SystemExit as exit_:
        assert exit_.code == 2
    except SpecError:
        pass
    assert not (tmp_path / "o").exists()


def test_a_preset_given_a_path_is_a_spec_file_named_by_its_stem(tmp_path):
    path = tmp_path / "sub" / "my clip.toml"
    path.parent.mkdir()
    path.write_text('[spec]\nop = "max_pool2d"\nin_channels = 1\nheight = 4\nwidth = 4\nkernel_size = 2\n')
    the_job = rendering.RenderJob(preset=str(path), out=str(tmp_path / "o"))
    assert (the_job.preset, the_job.spec_file, the_job.clip) == (None, str(path), "my clip")
    assert rendering.frame_path(the_job, 1).parent == tmp_path / "o" / "frames"


# --------------------------------------------------------------------------------------------- api.render

def test_api_render_checks_keywords_and_frames_like_the_cli(tmp_path):
    from animatedai_addon import api
    out = tmp_path / "never"
    for kwargs, parameter in ((dict(presett="max-pool-2x2"), "presett"),
                              (dict(frames=(5000, 5001)), "frames"), (dict(frames=(-3, 2)), "frames"),
                              (dict(frames=(1, 2_000_000)), "frames"), (dict(wait="yes"), "wait"),
                              (dict(preset="max-pool-2x2", overrides=("timing.fps=1000",)), "timing.fps"),
                              (dict(out=str(tmp_path / "a-file")), "out")):
        (tmp_path / "a-file").write_text("x")
        with pytest.raises(SpecError) as info:
            api.render(**{"preset": "max-pool-2x2", "out": str(out), **kwargs})
        assert info.value.parameter == parameter, str(info.value)
    assert not out.exists()


def test_api_render_changes_no_data_block_when_refused(tmp_path):
    bpy = pytest.importorskip("bpy")
    from animatedai_addon import api

    def counts():
        return {name: len(getattr(bpy.data, name)) for name in ("objects", "meshes", "materials", "collections",
                                                                 "node_groups", "actions", "scenes", "images")}
    before = counts()
    for kwargs in (dict(bogus=1), dict(frames=(9000, 9001)), dict(out=str(tmp_path / "x" / "\0"))):
        with pytest.raises(SpecError):
            api.render(preset="max-pool-2x2", **{"out": str(tmp_path / "o"), **kwargs})
    assert counts() == before and not (tmp_path / "o").exists()


# --------------------------------------------------------------------------------------------- output folders

def job(tmp_path, **kwargs) -> rendering.RenderJob:
    return rendering.RenderJob(preset="max-pool-2x2", engine="workbench", samples=1, resolution=(32, 18),
                               out=str(tmp_path / "out"), formats=("png",), **kwargs)


def test_a_second_job_on_a_busy_folder_exits_2_naming_the_holder(tmp_path):
    first = job(tmp_path)
    lock = rendering.acquire_output_lock(first)
    try:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        line = refused(run(SCRIPT, "--preset", "max-pool-2x2", "--engine", "workbench", "--out", first.out,
                           "--frames", "1-1", "--formats", "png"), "out")
        assert f"process {os.getpid()}" in line and "--wait" in line
        assert not rendering.frames_dir(first).exists()
        with pytest.raises(SpecError, match=f"process {os.getpid()}"):
            rendering.acquire_output_lock(job(tmp_path, template="none"))      # another job, same process
    finally:
        rendering.release_output_lock(first)
    assert not lock.exists()


def test_wait_takes_the_folder_when_it_is_released(tmp_path):
    first = job(tmp_path)
    rendering.acquire_output_lock(first)
    timer = threading.Timer(0.5, rendering.release_output_lock, args=(first,))
    timer.start()
    started = time.monotonic()
    second = job(tmp_path, template="none", wait=True)
    path = rendering.acquire_output_lock(second, poll=0.05)
    timer.join()
    assert time.monotonic() - started >= 0.4
    assert json.loads(path.read_text())["job"] != json.loads(json.dumps({"job": None}))["job"]
    rendering.release_output_lock(second)


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    the_job = job(tmp_path)
    lock = rendering.lock_path(the_job)
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "job": "old"}))
    rendering.acquire_output_lock(the_job)
    assert json.loads(lock.read_text())["pid"] == os.getpid()
    rendering.release_output_lock(the_job)


def test_frames_of_another_job_are_never_kept(tmp_path):
    a, b = job(tmp_path), job(tmp_path, template="none")
    outputs.claim_output_folder(a)
    rendering.check_frames_signature(a)
    with pytest.raises(SpecError) as info:
        rendering.check_frames_signature(b)
    assert info.value.parameter == "out"


def test_temporary_files_are_new_and_never_follow_a_link(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere.png"
    target.write_bytes(b"keep me")
    final = tmp_path / "frame_0001.png"
    tokens = iter(["planted", "fresh"])
    monkeypatch.setattr(outputs.secrets, "token_hex", lambda n: next(tokens))
    planted = final.with_name(f".frame_0001{rendering.PARTIAL_MARK}{os.getpid()}-planted.png")
    planted.symlink_to(target)
    tmp = outputs.temporary_path(final)
    assert tmp.name.endswith("-fresh.png") and not tmp.is_symlink() and tmp.stat().st_size == 0
    monkeypatch.undo()
    outputs.write_atomically(final, b"data")
    assert final.read_bytes() == b"data" and target.read_bytes() == b"keep me"
    names = {outputs.temporary_path(final).name for _ in range(20)}
    assert len(names) == 20, "random, not predictable from the pid"


def test_partials_of_a_killed_run_go_from_the_output_folder(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "out"
    out.mkdir()
    kept = out / "clip.mp4"
    kept.write_bytes(b"whole")
    partials = [out / f".clip{rendering.PARTIAL_MARK}{dead.pid}-ab12.mp4",
                out / f".clip{rendering.PARTIAL_MARK}{dead.pid}.gif"]          # the old naming too
    for path in partials:
        path.write_bytes(b"cut")
    mine = out / f".clip{rendering.PARTIAL_MARK}{os.getpid()}-cd34.blend"
    mine.write_bytes(b"in progress")
    outputs.remove_dead_partials(out)
    assert not any(p.exists() for p in partials) and kept.exists() and mine.exists()


def test_out_on_a_read_only_file_system_is_refused(tmp_path, monkeypatch):
    """Root passes permission checks, and this machine cannot mount: the statvfs flag is what a read-only mount
    shows (the write probe covers what it cannot tell)."""
    real = os.statvfs

    class ReadOnly:
        def __init__(self, path):
            self.stat = real(path)

        def __getattr__(self, name):
            return getattr(self.stat, name)

        f_flag = os.ST_RDONLY

    monkeypatch.setattr(outputs.os, "statvfs", ReadOnly)
    with pytest.raises(SpecError, match="read-only file system") as info:
        rendering.check_out_folder(tmp_path / "out")
    assert info.value.parameter == "out" and not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []
