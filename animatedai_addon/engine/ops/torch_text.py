"""How operations describe themselves in PyTorch's words, for the clip's labels and captions.

Each operation's spec answers four questions in its own module: ``torch_call()`` (the ``torch.nn`` module
that computes the same thing, e.g. ``nn.Conv2d(3, 6, kernel_size=5, bias=False)``), ``output_formula()``
(lines such as ``(32 − 5 + 2·0) / 1 + 1 = 28`` with the clip's numbers), ``parameter_count()`` (the
module's ``numel()`` of weights and bias) and ``mac_count()`` (multiply-accumulates, as
``torch.utils.flop_counter`` counts them, halved). This module holds the shared formatting.

The strings use the typographic minus (U+2212), the middle dot (U+00B7) and the multiplication sign
(U+00D7), all in Blender's default font. A formula line is ``[axes: ]expression = value``; the
expression reads as Python after :func:`as_python` (it may name the spec's own arguments, e.g.
``features: out_features = 8``). An operation that keeps its input's shape says so in one line instead,
``3×8×8 (unchanged)`` (:func:`unchanged_line`).

The counts are per sample, as the call string has no batch: for ``batch=N`` the clip computes N times
``mac_count()`` (torch's flop counter on an N-sample input counts N times as many); the parameters are
shared by the samples.
"""

from __future__ import annotations

MINUS, DOT, TIMES = "\u2212", "\u00b7", "\u00d7"


def value_text(value) -> str:
    """A PyTorch argument as written in a call: ``5`` for (5, 5), ``(3, 5)`` for a pair that differs."""
    if isinstance(value, tuple):
        if len(set(value)) == 1:
            return str(value[0])
        return "(" + ", ".join(map(str, value)) + ")"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def call(name: str, positional: tuple, keywords: list[tuple[str, object, object]], prefix: str = "") -> str:
    """``nn.<name>(positional..., key=value...)``: keywords are (key, value, default), left out when equal to the
    default (``None`` default: always written). ``prefix``: a module that runs before (an explicit padding)."""
    args = [value_text(v) for v in positional]
    for key, value, default in keywords:
        if default is None or _normal(value) != _normal(default):
            args.append(f"{key}={value_text(value)}")
    return f"{prefix}nn.{name}({', '.join(args)})"


def _normal(value):
    return tuple(set(value)) if isinstance(value, tuple) and len(set(value)) == 1 else value


def shape_text(shape) -> str:
    """``3×32×32``: a tensor's shape in PyTorch's order."""
    return TIMES.join(str(int(n)) for n in shape)


#: How a formula line that computes nothing ends: the operation keeps its input's shape.
UNCHANGED = " (unchanged)"


def unchanged_line(shape) -> str:
    """``3×8×8 (unchanged)``: the formula of an operation whose output has its input's shape."""
    return shape_text(shape) + UNCHANGED


def count_text(n: int) -> str:
    return f"{int(n):,}"


def windowed_line(size: int, kernel: int, stride: int, dilation: int, before: int, after: int, result: int) -> str:
    """PyTorch's output size of a window over ``size`` cells: ``(32 − 5 + 2·0) / 1 + 1 = 28``; ``floor(…)``
    where the division is not exact; ``d·(k − 1) + 1`` for the window when dilated."""
    window = f"{MINUS} {kernel}" if dilation == 1 else f"{MINUS} {dilation}{DOT}({kernel} {MINUS} 1) {MINUS} 1"
    pads = f"2{DOT}{before}" if before == after else f"{before} + {after}"
    top = f"({size} {window} + {pads})"
    span = size + before + after - dilation * (kernel - 1) - 1
    division = f"{top} / {stride}" if span % stride == 0 else f"floor({top} / {stride})"
    return f"{division} + 1 = {result}"


def transposed_line(size: int, kernel: int, stride: int, dilation: int, padding: int, output_padding: int,
                    result: int) -> str:
    """ConvTranspose's output size: ``(4 − 1)·2 − 2·0 + (3 − 1) + 1 = 9`` (``d·(k − 1)`` when dilated,
    ``+ output_padding`` when not 0)."""
    window = f"({kernel} {MINUS} 1)" if dilation == 1 else f"{dilation}{DOT}({kernel} {MINUS} 1)"
    extra = f" + {output_padding}" if output_padding else ""
    return f"({size} {MINUS} 1){DOT}{stride} {MINUS} 2{DOT}{padding} + {window}{extra} + 1 = {result}"


def axis_lines(axes: tuple[str, ...], lines: list[str], named: bool = False) -> list[str]:
    """One line per axis (``H: …``, ``W: …``), or one line for all when they read the same (unnamed unless
    ``named``: ``H, W: …``)."""
    if len(set(lines)) == 1:
        return [f"{', '.join(axes)}: {lines[0]}" if named else lines[0]]
    return [f"{axis}: {line}" for axis, line in zip(axes, lines)]


def as_python(expression: str) -> str:
    """A formula's expression as Python (the tests evaluate it): − → -, · → *, ² → **2, / → //."""
    return (expression.replace(MINUS, "-").replace(DOT, "*").replace("\u00b2", "**2")
            .replace("floor(", "(").replace(" / ", " // "))
