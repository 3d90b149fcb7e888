"""What a clip was made from: its spec, timing, look, seed, step order and input, as versioned JSON.

``api.generate`` stores this text on the clip's collection (``clip.SOURCE_PROP``); "make editable"
(``api.make_editable``) reads it back and rebuilds the clip's plan and timeline with the engine,
so nothing is ever read back out of Blender data. Imports no ``bpy``.

The JSON object (``version`` 1)::

    {"version": 1, "spec": <spec.to_dict()>, "timing": {<Timing fields>}, "look": {<Look fields>},
     "seed": 0, "order": "filter",
     "input": null | {"shape": [C, H, W], "float64_zlib_base64": "...", "path": "<file it was read from>"},
     "weights": null | <array> | [null | <array>, ...], "bias": the same}

``weights`` / ``bias`` (optional keys: a clip without them used the seeded values) hold the values a clip was
given (e.g. a model's, by ``from_torch``), one entry per stage for a chain, each array as ``input`` stores it.

An input given as an array or read from a file is stored as its values (float64, zlib-compressed,
base64): the file may change or go, the clip stays reproducible. ``null`` is the seeded random input.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import zlib
from dataclasses import dataclass

import numpy as np

from ..engine.errors import SpecError
from ..engine.timeline import Look, Timing, check_look, check_timing

#: The version this code writes; it reads only this one (a newer file's clips need a newer add-on).
SOURCE_VERSION = 1


@dataclass(frozen=True)
class ClipSource:
    """Everything the engine needs to rebuild a clip's plan and timeline."""

    spec: object
    timing: Timing
    look: Look
    seed: int = 0
    order: str = "filter"
    input: np.ndarray | None = None     # the input's values; None: the seeded random input
    input_path: str | None = None       # the file they were read from, if any (for the user's information)
    weights: object = None              # as engine.plan takes them: None (seeded), an array, or one entry per stage
    bias: object = None                 # the same, for the bias

    def plan(self):
        from ..engine.planning import plan
        return plan(self.spec, input=self.input, seed=self.seed, order=self.order, weights=self.weights,
                    bias=self.bias)

    def timeline(self, highlights: bool = True):
        """The clip's timeline; ``highlights=True`` keys every cell a step reads (as objects mode shows them)."""
        from ..engine.timeline import build_timeline
        return build_timeline(self.plan(), self.timing, self.look, highlights=highlights)


def input_values(spec, input, seed: int) -> tuple[np.ndarray | None, str | None]:
    """(the input's values or None for the seeded random input, the path they were read from or None)."""
    if input is None:
        return None, None
    from ..engine.values import make_input
    path = os.fspath(input) if isinstance(input, (str, os.PathLike)) else None
    return make_input(spec.input_torch_shape, input, seed), path


def _encode(values):
    """An array as its shape and float64 values (zlib, base64); a list of them entry by entry; None as None."""
    if values is None:
        return None
    if isinstance(values, (list, tuple)):
        return [_encode(v) for v in values]
    values = np.ascontiguousarray(values, np.float64)
    return {"shape": list(values.shape),
            "float64_zlib_base64": base64.b64encode(zlib.compress(values.tobytes())).decode("ascii")}


def _decode(stored):
    if stored is None:
        return None
    if isinstance(stored, list):
        return [_decode(v) for v in stored]
    raw = zlib.decompress(base64.b64decode(stored["float64_zlib_base64"]))
    return np.frombuffer(raw, np.float64).reshape(stored["shape"]).copy()


def to_json(source: ClipSource) -> str:
    """The versioned JSON text of ``source``."""
    stored_input = None
    if source.input is not None:
        values = np.ascontiguousarray(source.input, np.float64)
        stored_input = {"shape": list(values.shape),
                        "float64_zlib_base64": base64.b64encode(zlib.compress(values.tobytes())).decode("ascii"),
                        "path": source.input_path}
    return json.dumps({"version": SOURCE_VERSION, "spec": source.spec.to_dict(),
                       "timing": dataclasses.asdict(source.timing), "look": dataclasses.asdict(source.look),
                       "seed": int(source.seed), "order": source.order, "input": stored_input,
                       "weights": _encode(source.weights), "bias": _encode(source.bias)},
                      sort_keys=True, separators=(",", ":"))


def from_json(text: str, where: str = "clip") -> ClipSource:
    """The ClipSource a clip stored; SpecError naming ``where`` when the text is not one this version reads."""
    from ..engine.spec import spec_from_dict
    allowed = f"a clip made by api.generate (source version {SOURCE_VERSION})"
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise SpecError(where, "no readable stored source", allowed) from None
    if not isinstance(data, dict) or data.get("version") != SOURCE_VERSION:
        version = data.get("version") if isinstance(data, dict) else None
        raise SpecError(where, f"stored source version {version!r}", allowed)
    timing = check_timing(Timing(**data["timing"]))
    look = check_look(Look(**{k: tuple(v) if isinstance(v, list) and k != "filter_colors" else v
                              for k, v in data["look"].items()}))
    stored_input = data.get("input")
    values, path = None, None
    if stored_input is not None:
        raw = zlib.decompress(base64.b64decode(stored_input["float64_zlib_base64"]))
        values = np.frombuffer(raw, np.float64).reshape(stored_input["shape"]).copy()
        path = stored_input.get("path")
    return ClipSource(spec_from_dict(data["spec"]), timing, look, int(data["seed"]), data["order"], values, path,
                      _decode(data.get("weights")), _decode(data.get("bias")))
