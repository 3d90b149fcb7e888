"""Hostile input to the engine: every bad value, file and size gives one SpecError, within a memory limit.

Memory cases run in a subprocess under ``resource.setrlimit(RLIMIT_AS)`` (2 GiB), so an engine that
materialised steps x window size would die there instead of passing.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from animatedai_addon.engine import SpecError, plans
from animatedai_addon.engine import presets as presets_module
from animatedai_addon.engine.planning import plan
from animatedai_addon.engine.presets import apply_overrides, load_preset_file
from animatedai_addon.engine.spec import Conv2d, ConvTranspose2d, MaxPool2d, spec_from_dict
from animatedai_addon.engine.timeline import (Look, Timing, build_timeline, check_cube_budget, check_timing,
                                              window_read_intervals)
from animatedai_addon.engine.values import make_input

REPO = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 2 << 30


def run_limited(code: str, limit: int = MEMORY_LIMIT, timeout: int = 120) -> dict:
    """Run ``code`` (which prints one JSON line last) in a fresh Python under an address-space limit."""
    script = textwrap.dedent(f"""
        import json, resource, sys, time
        resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
        sys.path.insert(0, {str(REPO)!r})

        def peak_rss_kib():
            # this process's own peak (VmHWM): ru_maxrss keeps the forking parent's peak across exec, and the
            # test process holds Blender and torch by the time these tests run
            with open("/proc/self/status") as status:
                return int(status.read().split("VmHWM:")[1].split()[0])
    """) + textwrap.dedent(code)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- memory: O(cubes) whatever the kernel --------------------------------------------------------

def test_huge_kernels_plan_within_two_gib():
    """15.9 GiB and 8.7 GB before: the output gathers only a window's real cells, chunk by chunk."""
    result = run_limited("""
        from animatedai_addon.engine import plan
        from animatedai_addon.engine.spec import Conv2d, ConvTranspose2d
        p = plan(ConvTranspose2d(4, 4, 4, out_channels=4, kernel_size=255, stride=2))
        q = plan(Conv2d(2, 60, 60, out_channels=1, kernel_size=90, padding=45))
        print(json.dumps({"rss": peak_rss_kib(), "shape": p.output.shape}))
    """)
    assert result["rss"] < 1 << 20        # KiB: under 1 GiB


def test_read_intervals_within_two_gib():
    """The lit cells of a big window (steps x kh*kw = 40 M reads) are merged chunk by chunk."""
    result = run_limited("""
        from animatedai_addon.engine import plan
        from animatedai_addon.engine.spec import Conv2d
        from animatedai_addon.engine.timeline import window_read_intervals
        import numpy as np
        p = plan(Conv2d(1, 100, 100, out_channels=1, kernel_size=63, padding=31))
        n = len(p.steps)
        g, cell, s, e = window_read_intervals(p, np.arange(n, dtype=np.float32), np.arange(1, n + 1, dtype=np.float32))
        print(json.dumps({"rss": peak_rss_kib(), "intervals": len(cell)}))
    """)
    assert result["rss"] < 1 << 20


@pytest.mark.parametrize("spec", [
    Conv2d(3, 9, 7, out_channels=4, kernel_size=3, stride=2, padding=1, dilation=2),
    Conv2d(4, 6, 6, out_channels=2, kernel_size=5, padding="same", groups=2),
    ConvTranspose2d(2, 3, 4, out_channels=3, kernel_size=4, stride=3, padding=1, output_padding=2),
    MaxPool2d(2, 7, 7, kernel_size=3, stride=2, padding=1, dilation=2),
])
def test_chunked_output_and_reads_equal_one_chunk(monkeypatch, spec):
    """Tiny chunks give the same output and the same merged read intervals as one big chunk, and so do
    steps computed one by one on strided views."""
    monkeypatch.setattr(plans, "SLICE_ABOVE", 1 << 40)
    whole = plan(spec)
    n = len(whole.steps)
    start, end = np.arange(n, dtype=np.float32), np.arange(1, n + 1, dtype=np.float32)
    reads = window_read_intervals(whole, start, end)
    monkeypatch.setattr(plans, "CHUNK_ELEMENTS", 7)
    chunked = plan(spec)
    assert np.allclose(chunked.output, whole.output)
    for a, b in zip(window_read_intervals(chunked, start, end), reads):
        assert np.array_equal(a, b)
    monkeypatch.setattr(plans, "SLICE_ABOVE", 0)
    assert np.allclose(plan(spec).output, whole.output)


# --- files -------------------------------------------------------------------------------------

def raises(parameter: str, call, *args, **kwargs) -> SpecError:
    with pytest.raises(SpecError) as info:
        call(*args, **kwargs)
    assert info.value.parameter == parameter, str(info.value)
    return info.value


def test_npy_files_are_checked_before_loading(tmp_path):
    shape = (2, 3, 3)
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    raises("input", make_input, shape, empty)
    huge = tmp_path / "huge.npy"          # a header claiming 2**40 floats, and 10 bytes of data
    header = {"descr": "<f8", "fortran_order": False, "shape": (1 << 20, 1 << 10, 1 << 10)}
    with open(huge, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        handle.write(b"\0" * 10)
    raises("input", make_input, (1 << 20, 1 << 10, 1 << 10), huge)    # the right shape, but truncated
    raises("input", make_input, shape, huge)
    for name, array in (("complex", np.ones(shape, complex)), ("dates", np.zeros(shape, "datetime64[s]")),
                        ("strings", np.full(shape, "a"))):
        path = tmp_path / f"{name}.npy"
        np.save(path, array)
        assert "dtype" in str(raises("input", make_input, shape, path))
    big = tmp_path / "big.npy"
    np.save(big, np.full(shape, 1e308))
    raises("input", make_input, shape, big)
    np.save(tmp_path / "ok.npy", np.ones(shape, np.int16))
    assert make_input(shape, tmp_path / "ok.npy").dtype == np.float64


def test_decompression_bomb_png_is_refused(tmp_path):
    from PIL import Image
    path = tmp_path / "bomb.png"
    Image.new("1", (12000, 12000)).save(path)     # 144 M pixels in a few kB
    raises("input", make_input, (3, 4, 4), path)


def test_outputs_that_overflow_are_refused():
    values = np.full((1, 4, 4), 3e38)
    raises("input", plan, Conv2d(1, 4, 4, out_channels=1, kernel_size=3), input=values)
    raises("input", plan, Conv2d(1, 4, 4, out_channels=1, kernel_size=3), input=np.full((1, 4, 4), 1e308))


def test_spec_files(tmp_path):
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('title = "caf\xe9"\n[spec]\nop = "conv2d"\n'.encode("latin-1"))
    assert "UTF-8" in str(raises("spec", load_preset_file, bad, "spec"))
    raises("preset", load_preset_file, bad)
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    raises("preset", load_preset_file, folder)
    fast = tmp_path / "fast.toml"
    fast.write_text('[spec]\nop = "max_pool2d"\nin_channels = 1\nheight = 4\nwidth = 4\nkernel_size = 2\n'
                    "[timing]\nfps = 1000\n")
    raises("timing.fps", load_preset_file, fast)


def test_set_values_on_one_line_and_the_same_limits():
    preset = load_preset_file("max-pool-2x2")
    raises("set", apply_overrides, preset, ["kernel_size=3\n5"])
    raises("set", apply_overrides, preset, ["timing.fps=24\r"])
    raises("timing.fps", apply_overrides, preset, ["timing.fps=1000"])
    raises("timing.fps", check_timing, Timing(fps=241))
    assert apply_overrides(preset, ["timing.fps=240"]).timing.fps == 240


def test_overrides_keep_the_preset_stage():
    """--set must not send a shuffle (made for the flat stage) back to the studio."""
    assert apply_overrides(load_preset_file("pixel-shuffle-2x2"), ["timing.fps=30"]).template == "flat"


def test_messages_name_what_was_typed():
    raises("dilation", MaxPool2d, 1, 8, 8, kernel_size=3, dilation=255)
    spec = Conv2d(8, 64, 64, out_channels=8, kernel_size=3)
    assert "use mode='instanced'" not in str(raises("cube_budget", check_cube_budget, spec, 1000, mode="instanced"))
    assert "use mode='instanced'" in str(raises("cube_budget", check_cube_budget, spec, 1000))


# --- hypothesis over every spec field ------------------------------------------------------------

HOSTILE = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=8), st.lists(st.integers(-5, 2**40), max_size=5), st.just(float("inf")),
                    st.complex_numbers(max_magnitude=10), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
FIELDS = {
    "conv2d": ("in_channels", "height", "width", "out_channels", "kernel_size", "stride", "padding", "dilation",
               "groups"),
    "conv_transpose2d": ("in_channels", "height", "width", "out_channels", "kernel_size", "stride", "padding",
                         "output_padding", "dilation", "groups"),
    "max_pool2d": ("in_channels", "height", "width", "kernel_size", "stride", "padding", "dilation"),
    "avg_pool2d": ("in_channels", "height", "width", "kernel_size", "stride", "padding", "count_include_pad"),
    "pixel_shuffle": ("in_channels", "height", "width", "upscale_factor"),
    "pixel_unshuffle": ("in_channels", "height", "width", "downscale_factor"),
}
BASE = {"conv2d": dict(in_channels=2, height=5, width=5, out_channels=2, kernel_size=3),
        "conv_transpose2d": dict(in_channels=2, height=3, width=3, out_channels=2, kernel_size=3),
        "max_pool2d": dict(in_channels=2, height=4, width=4, kernel_size=2),
        "avg_pool2d": dict(in_channels=2, height=4, width=4, kernel_size=2),
        "pixel_shuffle": dict(in_channels=4, height=2, width=2, upscale_factor=2),
        "pixel_unshuffle": dict(in_channels=1, height=4, width=4, downscale_factor=2)}
OPS_FIELDS = [(op, name) for op, names in FIELDS.items() for name in names]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(OPS_FIELDS), HOSTILE, st.integers(1, 300))
def test_any_spec_field_gives_a_spec_or_one_spec_error(op_field, value, big):
    """Any value (or a big integer) in any field: a spec within the budget that plans, or one SpecError."""
    op, name = op_field
    table = dict(BASE[op], op=op)
    table[name] = big if value is None else value
    try:
        spec = spec_from_dict(table)
        check_cube_budget(spec, 20_000)
    except SpecError:
        return
    result = plan(spec)
    assert np.all(np.isfinite(result.output))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["timing.fps", "timing.frames_per_step", "timing.easing", "look.gap", "look.highlight",
                        "kernel_size", "stride", "padding", "dilation", "op", "stages.0.x", "nope", ""]),
       st.text(max_size=12))
def test_any_set_item_gives_a_preset_or_one_spec_error(key, text):
    preset = load_preset_file("max-pool-2x2")
    try:
        changed = apply_overrides(preset, [f"{key}={text}"])
    except SpecError:
        return
    check_timing(changed.timing)
    assert 1 <= changed.timing.fps <= 240


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["fps", "frames_per_step", "hold_frames", "easing", "loop", "gap",
                                        "highlight", "cube_size"]),
                       st.one_of(st.integers(-10, 10**6), st.floats(allow_nan=True), st.text(max_size=5),
                                 st.booleans()), max_size=3),
       st.sampled_from(["timing", "look"]))
def test_any_toml_section_gives_a_preset_or_one_spec_error(tmp_path_factory, table, section):
    lines = ['[spec]', 'op = "max_pool2d"', 'in_channels = 1', 'height = 4', 'width = 4', 'kernel_size = 2',
             f'[{section}]']
    lines += [f"{k} = {presets_module._toml_value(v)}" for k, v in table.items()]
    path = tmp_path_factory.mktemp("toml") / "clip.toml"
    path.write_text("\n".join(lines) + "\n")
    try:
        preset = load_preset_file(path)
    except SpecError:
        return
    assert 1 <= preset.timing.fps <= 240
    assert math.isfinite(preset.look.gap)
