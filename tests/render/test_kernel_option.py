"""``--set weights=sobel_x`` through scripts/render.py's own parsing: the job renders the named kernel; a bad
name or size exits 2 with one line naming ``weights`` before anything is written."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np

from animatedai_addon.engine import plan
from animatedai_addon.engine.kernels import KERNELS
from animatedai_addon.rendering.job import load_job_preset
from tests.render.test_hostile_cli import REPO, SCRIPT, files_under, refused, run


def _render_script():
    sys.path.insert(0, str(REPO / "scripts"))
    spec = importlib.util.spec_from_file_location("render_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_set_weights_reaches_the_rendered_spec(tmp_path):
    script = _render_script()
    args = script.build_parser().parse_args(["--preset", "conv-3x3-valid", "--set", "weights=sobel_x",
                                             "--out", str(tmp_path / "out")])
    job = script.cli.job_from_args(args)
    spec = load_job_preset(job).spec
    assert spec.weights == "sobel_x"
    weights = plan(spec).weights
    assert weights.shape == (spec.out_channels, spec.in_channels, 3, 3)
    assert (weights == np.array(KERNELS["sobel_x"])).all()


def test_a_bad_kernel_exits_2_naming_weights(tmp_path):
    for value in ("sobel_z", "sobel_x --set kernel_size=5"):
        items = ["--set", f"weights={value.split()[0]}"] + value.split()[1:]
        done = run(SCRIPT, "--preset", "conv-3x3-valid", *items, "--out", tmp_path / "out")
        line = refused(done, "weights")
        assert ("one of 'random', 'sobel_x'" in line) if value == "sobel_z" else ("3x3" in line)
    assert files_under(tmp_path) == set()
