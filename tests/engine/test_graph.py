"""Graphs: checks naming the node and the field, the dict/TOML schema, planning per node, and the timeline of a
graph (a chain's graph gives the chain's timeline; Add's and Concat's copies fly clear and land)."""

import dataclasses

import numpy as np
import pytest

from animatedai_addon.engine import count_cubes, load_preset, load_preset_file
from animatedai_addon.engine.errors import SpecError
from animatedai_addon.engine.evaluate import state_at
from animatedai_addon.engine.planning import ChainPlan, GraphPlan, plan
from animatedai_addon.engine.presets import apply_overrides
from animatedai_addon.engine.spec import (Add, Chain, Concat, Conv2d, Graph, MaxPool2d, Node, PixelShuffle,
                                          spec_from_dict)
from animatedai_addon.engine.timeline import Look, Timing, build_timeline


def residual(c=2, h=4, w=4) -> Graph:
    return Graph((Node("conv", Conv2d(c, h, w, c, 3, padding="same")),
                  Node("add", Add(c, h, w), ("conv", "input"))), name="residual")


# ---------------------------------------------------------------------------------- checks

@pytest.mark.parametrize("nodes, parameter, words", [
    ((Node("a", Add(2, 4, 4), ("input", "b")), Node("b", Conv2d(2, 4, 4, 2, 1))), "a.inputs", "cycle"),
    ((Node("a", Conv2d(2, 4, 4, 2, 1), ("a",)),), "a.inputs", "cycle"),
    ((Node("a", Conv2d(2, 4, 4, 2, 1), ("nowhere",)),), "a.inputs", "'input'"),
    ((Node("a", Conv2d(2, 4, 4, 3, 1)), Node("b", Add(2, 4, 4), ("a", "input"))), "b.inputs[0]", "(3, 4, 4)"),
    ((Node("a", Conv2d(2, 4, 4, 2, 1)), Node("b", Add(2, 4, 4), ("a",))), "b.inputs", "2 name(s)"),
    ((Node("a", Conv2d(2, 4, 4, 2, 1)), Node("a", Conv2d(2, 4, 4, 2, 1))), "nodes[1].name", "no other node"),
    ((Node("input", Conv2d(2, 4, 4, 2, 1)),), "nodes[0].name", "other than 'input'"),
    ((Node("a b", Conv2d(2, 4, 4, 2, 1)),), "nodes[0].name", "letters"),
    ((Node("a", "conv"),), "nodes[0].spec", "a spec"),
    ((), "nodes", "non-empty"),
])
def test_bad_graphs_name_the_node_and_field(nodes, parameter, words):
    with pytest.raises(SpecError) as caught:
        Graph(nodes)
    assert caught.value.parameter == parameter and words in str(caught.value)


def test_two_consumers_of_the_input_must_agree_on_its_shape():
    with pytest.raises(SpecError) as caught:
        Graph((Node("a", Conv2d(2, 4, 4, 2, 1)), Node("b", Concat(2, 4, 4, 3), ("a", "input"))))
    assert caught.value.parameter == "b.inputs[1]" and "(2, 4, 4)" in str(caught.value)


def test_nodes_default_to_the_node_before():
    graph = Graph((Node("a", Conv2d(2, 4, 4, 3, 1)), Node("b", Conv2d(3, 4, 4, 2, 1))))
    assert [n.inputs for n in graph.nodes] == [("input",), ("a",)]
    assert graph.input_shape == (2, 4, 4) and graph.output_shape == (2, 4, 4)


def test_dict_round_trip_and_errors():
    graph = residual()
    assert spec_from_dict(graph.to_dict()) == graph
    data = graph.to_dict()
    data["nodes"][1]["inputs"] = ["conv", "missing"]
    with pytest.raises(SpecError, match="add.inputs"):
        spec_from_dict(data)
    with pytest.raises(SpecError, match="nodes\\[0\\].name"):
        spec_from_dict({"op": "graph", "nodes": [{"op": "conv2d", "in_channels": 1, "height": 2, "width": 2,
                                                  "out_channels": 1, "kernel_size": 1}]})
    with pytest.raises(SpecError, match="graph keys"):
        spec_from_dict({**graph.to_dict(), "stages": []})


# ---------------------------------------------------------------------------------- planning

def test_a_chain_plans_as_its_graph():
    chain = load_preset("depthwise-separable")
    as_chain, as_graph = plan(chain, seed=4), plan(chain.to_graph(), seed=4)
    assert isinstance(as_chain, ChainPlan) and isinstance(as_graph, GraphPlan)
    for a, b in zip(as_chain.stages, as_graph.plans):
        assert np.array_equal(a.grid_input, b.grid_input) and np.array_equal(a.weights, b.weights)
        assert np.array_equal(a.grid_output, b.grid_output)


def test_weights_by_node_name_or_list():
    graph = residual()
    w = np.ones((2, 2, 3, 3))
    by_name, by_list = plan(graph, weights={"conv": w}), plan(graph, weights=[w, None])
    assert np.array_equal(by_name["conv"].weights, w) and np.array_equal(by_name.output, by_list.output)
    np.testing.assert_allclose(by_name.output, by_name["conv"].output + by_name.input)
    with pytest.raises(SpecError, match="weights"):
        plan(graph, weights={"nope": w})
    with pytest.raises(SpecError, match="weights"):
        plan(graph, weights=[w])
    with pytest.raises(SpecError, match="add"):
        plan(graph, weights={"add": w})


def test_two_input_ops_take_a_pair_outside_a_graph():
    a, b = np.ones((2, 3, 3)), np.full((1, 3, 3), 2.0)
    assert np.array_equal(plan(Concat(2, 3, 3, 1), input=(a, b)).output, np.concatenate([a, b]))
    with pytest.raises(SpecError, match="pair"):
        plan(Add(2, 3, 3), input=a)
    with pytest.raises(SpecError, match="Graph"):
        build_timeline(plan(Add(2, 3, 3)))


# ---------------------------------------------------------------------------------- timeline

def _same_tracks(a, b):
    assert [t.name for t in a.tensors] == [t.name for t in b.tensors] and a.frame_end == b.frame_end
    for ta, tb in zip(a.tensors, b.tensors):
        for f in dataclasses.fields(ta):
            va, vb = getattr(ta, f.name), getattr(tb, f.name)
            assert np.array_equal(va, vb) if isinstance(va, np.ndarray) else va == vb, (ta.name, f.name)


@pytest.mark.parametrize("name", ["mobilenet-block", "espcn-x2", "shuffle-loop-2x2"])
def test_a_chain_graph_has_the_chain_timeline(name):
    spec = load_preset(name)
    chain = spec if isinstance(spec, Chain) else Chain(tuple(n.spec for n in spec.nodes[:-1]))
    for look in (Look(), Look(highlight="cells")):
        _same_tracks(build_timeline(plan(chain), Timing(loop=True), look),
                     build_timeline(plan(chain.to_graph()), Timing(loop=True), look))


def test_add_copy_flies_in_and_sums_pop_in_white():
    preset = load_preset_file("mobilenet-block")
    the_plan = plan(preset.spec)
    timeline = build_timeline(the_plan, preset.timing, preset.look)
    skip, out, source = (timeline.tensor(n) for n in ("add skip", "add output", "input"))
    assert timeline.cube_count == count_cubes(preset.spec)
    assert np.array_equal(skip.value, source.value) and np.allclose(out.value, the_plan.output.ravel())
    t0, landed = float(skip.move_start.min()), float(skip.move_end.max())
    start, done = state_at(timeline, t0), state_at(timeline, landed)
    beside = start["add skip"].world_position - done["add skip"].world_position   # level with its place, left
    assert np.allclose(beside[:, 1:], 0, atol=1e-5) and np.allclose(beside[:, 0], beside[0, 0]) and beside[0, 0] < 0
    others = [s.world_position[s.visible] for n, s in start.items() if n != "add skip" and s.visible.any()]
    assert start["add skip"].world_position[:, 0].max() + preset.look.cube_size + preset.look.gap \
        <= min(float(p[:, 0].min()) for p in others) + 1e-6            # in the lane left of every block
    assert state_at(timeline, (t0 + landed) / 2)["input"].highlighted.all()      # the skip's source lights up
    assert not done["input"].highlighted.any()
    first = int(np.argmin(out.appear))
    assert out.appear[first] > landed
    lit = state_at(timeline, float(out.appear[first]) + timeline.pop_frames + 0.5)["add output"]
    assert lit.visible[first] and lit.highlighted[first]
    end = state_at(timeline, timeline.frame_end)
    assert end["add output"].visible.all() and not end["add skip"].visible.any()


def test_concat_halves_land_as_one_block():
    preset = load_preset_file("concat-skip")
    the_plan = plan(preset.spec)
    timeline = build_timeline(the_plan, preset.timing, preset.look)
    out = timeline.tensor("concat output")
    assert np.allclose(out.value, the_plan.output.ravel()) and timeline.cube_count == count_cubes(preset.spec)
    end = state_at(timeline, timeline.frame_end)["concat output"]
    c, h, w = the_plan.output.shape
    place = end.world_position.reshape(c, h, w, 3)
    pitch = preset.look.cube_size + preset.look.gap
    assert np.allclose(np.diff(place[:, 0, 0, 1]), -pitch)    # one block: channel after channel, toward the camera
    conv_output = state_at(timeline, timeline.frame_end)["conv output"].world_position
    assert place[..., 1].max() < conv_output[:, 1].min()     # in front of the main path


def test_off_the_spine_and_moved_skips_are_named():
    side = Graph((Node("a", Conv2d(2, 4, 4, 2, 1)), Node("b", Conv2d(2, 4, 4, 2, 1), ("input",)),
                  Node("c", Add(2, 4, 4), ("b", "a"))))
    plan(side)                                              # plans fine
    with pytest.raises(SpecError) as caught:
        build_timeline(plan(side))
    assert caught.value.parameter == "b.inputs[0]"
    moved = Graph((Node("up", PixelShuffle(4, 2, 2, 2)), Node("pool", MaxPool2d(1, 4, 4, 1)),
                   Node("add", Add(1, 4, 4), ("pool", "up"))))
    build_timeline(plan(moved))                             # the pool does not move the shuffle's cubes
    moved_away = Graph((Node("conv", Conv2d(4, 2, 2, 4, 1)), Node("up", PixelShuffle(4, 2, 2, 2)),
                        Node("down", Conv2d(1, 4, 4, 4, 3, stride=2, padding=1)),
                        Node("add", Add(4, 2, 2), ("down", "conv"))))
    with pytest.raises(SpecError) as caught:
        build_timeline(plan(moved_away))
    assert caught.value.parameter == "add.inputs[1]"


def test_graph_presets_take_node_overrides():
    preset = apply_overrides(load_preset_file("mobilenet-block"), ["nodes.expand.out_channels=12",
                                                                   "nodes.expand_relu6.in_channels=12",
                                                                   "nodes.depthwise.in_channels=12",
                                                                   "nodes.depthwise.out_channels=12",
                                                                   "nodes.depthwise.groups=12",
                                                                   "nodes.depthwise_relu6.in_channels=12",
                                                                   "nodes.project.in_channels=12"])
    assert preset.spec.node("expand").spec.out_channels == 12
    with pytest.raises(SpecError, match="nodes.expand.out_channels"):
        apply_overrides(load_preset_file("mobilenet-block"), ["nodes.nowhere.out_channels=3"])


def test_labels_name_a_graph_by_its_nodes():
    from animatedai_addon.engine.labels import plan_texts
    preset = load_preset_file("concat-skip")
    look = dataclasses.replace(preset.look, labels=True)
    the_plan = plan(preset.spec)
    timeline = build_timeline(the_plan, preset.timing, look)
    texts = {t.name: t.text for t in plan_texts(the_plan, timeline, look, np.array([-0.6, -0.6, 0.5]))}
    assert texts["concat call"] == "torch.cat((x, other), dim=1)"      # a function of two inputs: no nn module
    assert texts["concat formula 1"] == "C: 4 + 4 = 8" and texts["concat counts"] == "0 parameters · 0 MACs"
    assert any(name.startswith("conv ") for name in texts) and not any(name.startswith("stage") for name in texts)


def test_mobilenet_block_is_the_inverted_residual_with_its_skip():
    """The helper builds the preset's graph (ReLU6s and the skip Add) and, where the skip cannot apply (stride 2
    or other output channels), the same body as a chain; either matches torch's block."""
    from animatedai_addon.engine import mobilenet_block
    assert mobilenet_block(4, 8, 8) == load_preset_file("mobilenet-block").spec
    assert [node.spec.op for node in mobilenet_block(3, 5, 5, expansion=3).nodes][-1] == "add"
    for chain in (mobilenet_block(4, 8, 8, stride=2), mobilenet_block(4, 8, 8, out_channels=6)):
        assert isinstance(chain, Chain) and [s.op for s in chain.stages] == ["conv2d", "relu6", "conv2d", "relu6",
                                                                             "conv2d"]
    torch = pytest.importorskip("torch")
    nn = torch.nn
    result = plan(mobilenet_block(2, 4, 4, expansion=3), seed=5)
    expand, dw, project = (result[name] for name in ("expand", "depthwise", "project"))
    body = nn.Sequential(nn.Conv2d(2, 6, 1, bias=False), nn.ReLU6(), nn.Conv2d(6, 6, 3, padding=1, groups=6, bias=False),
                         nn.ReLU6(), nn.Conv2d(6, 2, 1, bias=False)).double()
    with torch.no_grad():
        for layer, stage in zip((body[0], body[2], body[4]), (expand, dw, project)):
            layer.weight.copy_(torch.from_numpy(stage.weights))
        x = torch.from_numpy(result.input)[None]
        expected = (body(x) + x)[0].numpy()
    np.testing.assert_allclose(result.output, expected, rtol=1e-10, atol=1e-12)
