"""The dot-product close-up (issue 14): after the clip the camera moves in on the products behind one output
cell, whose sum equals PyTorch's, and moves back out."""

import bpy
import numpy as np
import pytest

from animatedai_addon import api
from animatedai_addon.engine import Conv2d, MaxPool2d, SpecError, closeup, espcn
from animatedai_addon.scene.stage import project_to_frame

from .test_texts import HEIGHT, READABLE_PX, WIDTH, text_corners


def generate(spec, cell, **options):
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = WIDTH, HEIGHT, 100
    return api.generate(spec, closeup=cell, template="studio", use_template_camera=True, **options)


@pytest.mark.needs_torch
def test_the_sum_is_torchs():
    import torch
    spec = Conv2d(3, 6, 6, 4, 3, 1, "same")
    result = generate(spec, (2, 0, 3))
    x = torch.from_numpy(result.plan.input)[None]
    w = torch.from_numpy(result.plan.weights)
    expected = float(torch.nn.functional.conv2d(x, w, padding=1)[0, 2, 0, 3])
    assert result.closeup.product.total == pytest.approx(expected, abs=1e-6)
    assert f"{result.closeup.product.total:.4f}".replace("-", "\u2212") in result.texts["closeup sum"].data.body


def test_the_camera_moves_in_on_the_board_and_back():
    spec = Conv2d(2, 5, 5, 3, 3)
    plain_end = api.generate(spec, template="studio", use_template_camera=True).frame_end
    api.clear()
    result = generate(spec, (1, 1, 2))
    made = result.closeup
    assert result.frame_end == plain_end + 1 + 2 * closeup.MOVE_FRAMES + closeup.HOLD_FRAMES
    board = [t for t in result.timeline.texts if t.kind == "closeup"]
    assert len(board) == len(made.product.inputs) + 1
    assert [t.text for t in board[:-1]] == [closeup.product_text(w, x) for w, x in
                                            zip(made.product.weights, made.product.inputs)]
    scene = bpy.context.scene
    scene.frame_set(1)
    home = np.array(scene.camera.location)
    scene.frame_set(int(made.keys[3]))
    assert np.allclose(np.array(scene.camera.location), home, atol=1e-5)
    scene.frame_set(int(made.keys[1] + closeup.HOLD_FRAMES * 3 / 4))
    depsgraph = bpy.context.evaluated_depsgraph_get()
    where = np.vstack([project_to_frame(scene, text_corners(result.texts[t.name], depsgraph)) for t in board])
    assert where.min() >= 0 and where.max() <= 1
    assert np.ptp(where[:, 0]) >= 0.5 or np.ptp(where[:, 1]) >= 0.5          # the board fills the picture
    line = project_to_frame(scene, text_corners(result.texts[board[0].name], depsgraph))
    assert np.ptp(line[:, 1]) * HEIGHT >= READABLE_PX
    scene.frame_set(int(made.keys[1]) - 1)                                  # before it arrives: no board
    depsgraph = bpy.context.evaluated_depsgraph_get()
    assert all(np.linalg.norm(np.array(result.texts[t.name].evaluated_get(depsgraph).matrix_world)[:3, 0]) < 1e-6
               for t in board)


def test_refusals_before_the_scene_changes(datablock_counts):
    before = datablock_counts()
    with pytest.raises(SpecError, match="closeup.*camera"):
        api.generate(Conv2d(2, 5, 5, 3, 3), closeup=(0, 0, 0))            # no camera in the scene
    with pytest.raises(SpecError, match="closeup.*no convolution"):
        generate(MaxPool2d(1, 4, 4, 2), (0, 0, 0))
    with pytest.raises(SpecError, match="closeup.*inside the output shape"):
        generate(Conv2d(2, 5, 5, 3, 3), (3, 0, 0))
    assert datablock_counts() == before
    chain = generate(espcn(1, 3, 3, 2, 1), (3, 1, 1))                     # the chain's convolution
    assert chain.closeup.product.stage == 0


def test_clear_leaves_nothing_of_the_closeup(datablock_counts):
    before = datablock_counts()
    generate(Conv2d(2, 5, 5, 3, 3), (1, 1, 2))
    api.clear()
    api.clear()
    after = datablock_counts()
    assert {k: v for k, v in after.items() if v != before[k]} == {}
