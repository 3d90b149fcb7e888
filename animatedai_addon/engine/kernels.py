"""Named kernels: ``weights="sobel_x" | "sobel_y" | "blur" | "sharpen" | "identity"`` for a 3x3 Conv2d.

A named kernel fills every input channel of every filter with the same 3x3 kernel, in PyTorch's
cross-correlation (``conv2d`` does not flip it): ``sobel_x`` answers a rise from left to right, ``sobel_y`` a
rise from top to bottom (row 0 on top). On a one-channel image that is the classic filter; on C channels
each filter sums the C filtered channels (a depthwise conv keeps them apart). The names are for 3x3 kernels
only: a Sobel or sharpen kernel has no one standard larger form, so other sizes are refused rather than
guessed. ``"random"`` (the default) is the seeded standard normal weights.
"""

from __future__ import annotations

import numpy as np

from .errors import SpecError

KERNELS = {
    "sobel_x": ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1)),
    "sobel_y": ((-1, -2, -1), (0, 0, 0), (1, 2, 1)),
    "blur": tuple(tuple(v / 16 for v in row) for row in ((1, 2, 1), (2, 4, 2), (1, 2, 1))),   # Gaussian
    "sharpen": ((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
    "identity": ((0, 0, 0), (0, 1, 0), (0, 0, 0)),
}
RANDOM = "random"
#: Every value ``Conv2d.weights`` takes: the seeded random weights, then the named kernels.
KERNEL_NAMES = (RANDOM,) + tuple(KERNELS)
KERNEL_SIZE = (3, 3)

#: The panel's Kernel menu: (id, label, tooltip).
KERNEL_ITEMS = (
    (RANDOM, "Random", "Seeded standard normal weights"),
    ("sobel_x", "Sobel X", "Edges across the width: a rise from left to right (3x3)"),
    ("sobel_y", "Sobel Y", "Edges across the height: a rise from top to bottom (3x3)"),
    ("blur", "Blur", "Gaussian blur, weights 1-2-1 x 1-2-1 / 16 (3x3)"),
    ("sharpen", "Sharpen", "The cell times 5 less its four neighbours (3x3)"),
    ("identity", "Identity", "1 at the centre: the output is the input's channel sum (3x3)"),
)


def check_kernel_name(name, kernel_size) -> str:
    """``name`` if it is one of KERNEL_NAMES and fits ``kernel_size``; SpecError naming ``weights`` otherwise."""
    if not isinstance(name, str) or name.strip().lower() not in KERNEL_NAMES:
        raise SpecError("weights", name, "one of " + ", ".join(repr(n) for n in KERNEL_NAMES))
    name = name.strip().lower()
    if name != RANDOM and tuple(kernel_size) != KERNEL_SIZE:
        raise SpecError("weights", name, f"'random' for kernel_size {tuple(kernel_size)}: the named kernels are "
                        "3x3 (kernel_size 3)")
    return name


def named_weights(name: str, shape) -> np.ndarray:
    """Weights of ``shape`` (C_out, C_in/groups, 3, 3) whose every filter channel is kernel ``name``."""
    return np.broadcast_to(np.array(KERNELS[name], np.float64), tuple(shape)).copy()


def with_named_weights(spec, weights):
    """``spec`` with its Conv2d stages' ``weights`` set to kernel names: ``weights`` is None (unchanged), a name
    (a Conv2d spec) or, for a chain, a list of one name or None per stage. What ``api.generate(weights=...)``
    takes: the name becomes part of the spec, so the clip, its presets and ``--set`` all carry it."""
    from .graph import Chain

    if weights is None:
        return spec
    stages = spec.stages if isinstance(spec, Chain) else (spec,)
    names = weights if isinstance(weights, (list, tuple)) and isinstance(spec, Chain) else None
    if isinstance(weights, str) and not isinstance(spec, Chain):
        names = (weights,)
    if names is None or len(names) != len(stages):
        shape = f"a list of {len(stages)} entries (a name or None) for this chain" if isinstance(spec, Chain) \
            else "a kernel name"
        raise SpecError("weights", "an array" if isinstance(weights, np.ndarray) else weights,
                        f"{shape}: one of {', '.join(KERNEL_NAMES)} (arrays go through engine.plan)")
    changed = []
    for i, (stage, name) in enumerate(zip(stages, names)):
        if name is not None and stage.op != "conv2d":
            raise SpecError("weights" if len(stages) == 1 else f"weights[{i}]", name,
                            f"None: named kernels are for conv2d stages, this one is {stage.op}")
        changed.append(stage if name is None else stage.replace(weights=name))
    return Chain(tuple(changed), name=spec.name) if isinstance(spec, Chain) else changed[0]
