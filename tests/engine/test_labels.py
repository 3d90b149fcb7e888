"""The clip's texts and captions as the engine plans them (engine/labels.py): what they say, where they stand,
when they show."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

from animatedai_addon.engine import labels
from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.options import LABEL_ELEMENTS, check_look
from animatedai_addon.engine.planning import plan
from animatedai_addon.engine.presets import apply_overrides, load_preset, load_preset_file
from animatedai_addon.engine.spec import Conv2d, MaxPool2d, espcn
from animatedai_addon.engine.timeline import Look, Timing, box_state_at, build_timeline, state_at
from animatedai_addon.engine.ops.torch_text import shape_text

VIEW = np.array([math.sin(math.radians(-45)) * math.cos(math.radians(24)),
                 -math.cos(math.radians(-45)) * math.cos(math.radians(24)), math.sin(math.radians(24))])
FAST = Timing(first_step_frames=4, intro_frames=3, outro_frames=4)
KIND_OF = {"label_shapes": "shape", "label_call": "call", "label_formula": "formula", "label_steps": "steps",
           "label_counts": "counts", "label_captions": "caption"}


def clip(spec, look=Look(labels=True), timing=FAST):
    the_plan = plan(spec)
    timeline = build_timeline(the_plan, timing, look)
    return the_plan, timeline, labels.plan_texts(the_plan, timeline, look, VIEW)


def test_no_texts_unless_asked():
    assert clip(Conv2d(2, 5, 5, 3, 3), Look())[2] == []


@pytest.mark.parametrize("element", LABEL_ELEMENTS)
def test_each_element_has_its_own_switch(element):
    texts = clip(Conv2d(2, 5, 5, 3, 3), Look(**{element: True}))[2]
    assert texts and {t.kind for t in texts} == {KIND_OF[element]}


def test_labels_turns_every_element_on_and_set_reaches_it():
    texts = clip(Conv2d(2, 5, 5, 3, 3))[2]
    assert {t.kind for t in texts} == set(labels.TEXT_KINDS)
    preset = apply_overrides(load_preset_file("conv-3x3-valid"), ["look.labels=true", "look.label_steps=false"])
    assert preset.look.labels and not preset.look.label_steps


def test_switches_are_checked():
    with pytest.raises(SpecError, match="look.labels"):
        check_look(Look(labels="yes"))
    with pytest.raises(SpecError, match="look.label_call"):
        check_look(Look(label_call=1))


def test_strings_are_pytorch_shapes_call_formula_counts():
    spec = Conv2d(3, 12, 12, 6, 5)
    the_plan, _, texts = clip(spec)
    by_name = {t.name: t.text for t in texts}
    assert by_name["input shape"] == "3\u00d712\u00d712"
    assert by_name["weights shape"] == "6\u00d73\u00d75\u00d75"
    assert by_name["output shape"] == "6\u00d78\u00d78"
    assert by_name["call"] == "nn.Conv2d(3, 6, kernel_size=5, bias=False)"
    assert by_name["formula 1"] == "(12 \u2212 5 + 2\u00b70) / 1 + 1 = 8"
    assert by_name["counts"] == f"450 parameters \u00b7 {6 * 8 * 8 * 75:,} MACs"
    assert the_plan.weights.size == 450


def test_chain_labels_follow_the_stages():
    spec = espcn(2, 4, 4, 2, 2)
    the_plan, timeline, texts = clip(spec)
    spans = timeline.stage_spans
    assert spans.shape == (2, 2) and spans[0, 0] == 1 and spans[1, 0] == spans[0, 1]
    by_name = {t.name: t for t in texts}
    assert " ".join(t.text for t in texts if t.kind == "call" and t.stage == 0) == spec.stages[0].torch_call()
    assert all(len(t.text) <= labels.WRAP for t in texts if t.kind == "call")
    assert by_name["stage1 call"].text == "nn.PixelShuffle(2)"
    middle = (spans[0, 0] + spans[0, 1]) / 2
    assert by_name["stage0 call"].shown_at(middle) and not by_name["stage1 call"].shown_at(middle)
    assert by_name["stage1 call"].shown_at(timeline.frame_end)
    # the shuffle takes the conv's output apart: its label leaves as the shuffle starts, the result's comes
    assert by_name["stage0 output shape"].shown_at(spans[1, 0] - 1)
    assert not by_name["stage0 output shape"].shown_at(spans[1, 0])
    assert by_name["stage1 output shape"].text == shape_text(spec.output_shape)
    assert by_name["stage1 output shape"].shown_at(spans[1, 1])


def test_every_stage_of_a_chain_is_told_in_its_own_words():
    spec = load_preset("conv-batchnorm-relu6")
    _, _, texts = clip(spec)
    for i, stage in enumerate(spec.stages):
        said = [t.text for t in texts if t.stage == i and t.kind in ("call", "formula", "counts")]
        assert " ".join(said[:-1 - len(stage.output_formula())]) == stage.torch_call()
        assert said[-1 - len(stage.output_formula()):-1] == stage.output_formula()
        assert said[-1] == f"{stage.parameter_count():,} parameters \u00b7 {stage.mac_count():,} MACs"
    assert [t.text for t in texts if t.kind == "call" and t.stage == 1] == ["nn.BatchNorm2d(8).eval()"]
    assert [t.text for t in texts if t.kind == "caption" and t.stage in (1, 2)] == \
        [f"Stage {i} of 3 \u00b7 every cell changes in place: 8\u00d78\u00d78" for i in (2, 3)]
    in_place = [t for t in texts if t.kind == "shape" and t.text == "8\u00d78\u00d78"]
    assert all(a.shown[0, 1] <= b.shown[0, 0] for a, b in zip(in_place, in_place[1:]))     # one at a time


def test_counts_of_a_batch_are_per_sample():
    one, two = (clip(Conv2d(2, 5, 5, 3, 3, bias=True, batch=n), Look(label_counts=True))[2] for n in (1, 2))
    assert [t.text for t in one] == [f"{3 * (2 * 9 + 1)} parameters \u00b7 {3 * 3 * 3 * 18} MACs"]
    assert [t.text for t in two] == [one[0].text + " per sample"]


def test_shapes_of_a_batch_lead_with_the_samples():
    """A tensor's shape in PyTorch's order: (N, C, H, W) when batch > 1; the weights stay one set."""
    texts = clip(Conv2d(2, 5, 5, 3, 3, batch=2), Look(label_shapes=True))[2]
    times = "\u00d7"
    assert sorted(t.text for t in texts) == sorted([times.join("2255"), times.join("3233"), times.join("2333")])


@pytest.mark.parametrize("spec", [Conv2d(2, 6, 6, 3, 3), MaxPool2d(2, 6, 6, 2), espcn(2, 3, 3, 2, 2)],
                         ids=lambda s: s.label)
def test_step_counter_reads_the_steps_done(spec):
    the_plan, timeline, texts = clip(spec)
    per_stage = labels.stage_step_frames(the_plan, timeline)
    for stage, frames in enumerate(per_stage):
        start, end = timeline.stage_spans[stage]
        for f in np.linspace(start, end, 97, endpoint=False):   # the next stage takes over at its end
            assert labels.step_count_at(texts, f, stage) == int(np.sum(frames <= f)), f
    for stage, frames in enumerate(per_stage):
        total = next(t for t in texts if t.name.endswith("step total") and t.stage == stage)
        assert total.text == f"/ {len(frames)}"


def test_captions_cover_the_clip_and_start_with_each_stage():
    for spec in (Conv2d(2, 6, 6, 3, 3), espcn(2, 3, 3, 2, 2), MaxPool2d(2, 6, 6, 2)):
        the_plan, timeline, _ = clip(spec)
        cues = labels.captions(the_plan, timeline)
        assert cues[0].start == timeline.frame_start and cues[-1].end == timeline.frame_end + 1
        assert all(a.end == b.start for a, b in zip(cues, cues[1:]))
        assert all(c.end > c.start and c.text for c in cues)
        for stage, (start, _) in enumerate(timeline.stage_spans):
            first = next(c for c in cues if c.stage == stage)
            assert abs(first.start - start) <= 1.0
        passes = len(np.unique(the_plan.stages[0].steps.filter)) if hasattr(the_plan, "stages") \
            else len(np.unique(the_plan.steps.filter))
        assert sum(1 for c in cues if c.stage == 0) == passes


def test_srt_text_times():
    cues = [labels.Cue(1.0, 25.0, "one"), labels.Cue(25.0, 24 * 3661 + 13.0, "two")]
    text = labels.srt_text(cues, 24)
    assert text == ("1\n00:00:00,000 --> 00:00:01,000\none\n\n"
                    "2\n00:00:01,000 --> 01:01:01,500\ntwo\n")
    assert re.fullmatch(r"\d\d:\d\d:\d\d,\d\d\d", labels.srt_time(0.0004))


def visible_cube_corners(timeline, frame, cube=0.9) -> np.ndarray:
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    corners = [np.zeros((0, 3))]
    for state in state_at(timeline, frame).values():
        half = (state.scale * cube / 2)[state.visible]
        corners.append((state.world_position[state.visible][:, None, :] + half[:, None, None] * signs).reshape(-1, 3))
    for visible, centre, size in box_state_at(timeline, frame).values():
        if visible:
            corners.append(centre + size / 2 * signs)
    return np.vstack(corners)


@pytest.mark.parametrize("name", ["conv-3x3-valid", "espcn-x2", "conv-transpose-3x3-stride2", "shuffle-loop-2x2",
                                  "conv1d-k3-causal-dilation2", "conv-batchnorm-relu6", "flatten-3x4x4",
                                  "linear-16-4", "conv3d-3x3x3"])
def test_texts_stand_clear_of_the_clip(name):
    """In the picture (a parallel projection along the view), every text box is above or below every cube
    and box at every other frame, and shape labels shown together do not overlap each other."""
    _, timeline, texts = clip(load_preset(name))
    right, up = labels.view_basis(VIEW)
    heights = np.concatenate([visible_cube_corners(timeline, f) @ up
                              for f in np.arange(timeline.frame_start, timeline.frame_end + 1, 2.0)])
    for text in texts:
        corners = text.corners(VIEW) @ up
        assert corners.min() > heights.max() or corners.max() < heights.min(), text.name
    shapes = [t for t in texts if t.kind == "shape"]
    for a, b in ((a, b) for i, a in enumerate(shapes) for b in shapes[i + 1:]):
        ca, cb = a.corners(VIEW), b.corners(VIEW)
        apart_up = (ca @ up).max() <= (cb @ up).min() + 1e-9 or (cb @ up).max() <= (ca @ up).min() + 1e-9
        apart_across = (ca @ right).max() <= (cb @ right).min() or (cb @ right).max() <= (ca @ right).min()
        overlap_in_time = any(max(s0, s1) < min(e0, e1) for s0, e0 in a.shown for s1, e1 in b.shown)
        assert apart_up or apart_across or not overlap_in_time, (a.name, b.name)


def test_a_text_shows_in_its_intervals_only():
    text = labels.TextTrack("t", "caption", "x", np.zeros(3), 1.0, shown=np.array([[2.0, 5.0], [7.0, np.inf]]))
    assert [text.shown_at(f) for f in (1, 2, 4.9, 5, 6, 7, 1e9)] == [False, True, True, False, False, True, True]
    assert dataclasses.replace(text, align="LEFT").corners(VIEW).shape == (4, 3)


@pytest.mark.parametrize("name, words", [("concat-skip", "join along the channels"),
                                         ("mobilenet-block", "skip is added"), ("linear-16-4", "output feature 3")])
def test_captions_say_what_two_input_and_dense_stages_do(name, words):
    from animatedai_addon.engine.labels import captions
    preset = load_preset_file(name)
    the_plan = plan(preset.spec)
    cues = captions(the_plan, build_timeline(the_plan, preset.timing, preset.look))
    assert any(words in cue.text for cue in cues)
    assert not any("channel -1" in cue.text for cue in cues)
