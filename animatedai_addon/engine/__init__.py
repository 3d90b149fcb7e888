"""The numpy engine: specs, plans, timelines and layout. Never imports bpy."""

from .errors import SpecError
from .planning import ORDERS, ChainPlan, GraphPlan, Plan, Reads, Steps, assemble_output, plan, read_cells
from .presets import (Preset, apply_overrides, list_presets, load_preset, load_preset_file, preset_to_toml,
                      save_preset)
from .spec import (Add, AvgPool2d, BatchNorm2d, Chain, Concat, Conv1d, Conv2d, Conv3d, ConvTranspose2d, Flatten,
                   Graph, Linear, MaxPool2d, Node, PixelShuffle, PixelUnshuffle, ReLU, ReLU6, Spec, depthwise,
                   depthwise_separable, espcn, mobilenet_block, pointwise, shuffle_loop, spec_from_dict)
from .timeline import (BoxTrack, Look, TensorState, TensorTrack, Timeline, Timing, box_state_at, build_timeline,
                       check_cube_budget, count_cubes, state_at)
from .torch_model import TorchModel, from_torch
from .trace import trace
from .values import make_input, value_shade

__all__ = [
    "SpecError", "Spec", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d", "PixelShuffle", "PixelUnshuffle",
    "MaxPool2d", "AvgPool2d", "Flatten", "Linear", "ReLU", "ReLU6", "BatchNorm2d", "Add", "Concat",
    "Chain", "Graph", "Node", "depthwise", "pointwise", "depthwise_separable", "mobilenet_block", "espcn",
    "shuffle_loop",
    "spec_from_dict",
    "ORDERS", "Plan", "ChainPlan", "GraphPlan", "Steps", "Reads", "plan", "read_cells", "assemble_output",
    "Preset", "list_presets", "load_preset", "load_preset_file", "apply_overrides", "preset_to_toml", "save_preset",
    "Timing", "Look", "TensorTrack", "BoxTrack", "Timeline", "TensorState", "build_timeline", "state_at",
    "box_state_at", "count_cubes", "check_cube_budget",
    "make_input", "value_shade", "from_torch", "TorchModel", "trace",
]
