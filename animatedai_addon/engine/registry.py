"""The registry: every operation the engine knows, found from its module's ``OPERATIONS`` and ``FORMS``.

``plan()``, ``spec_from_dict``, the cube counts, the presets, the add-on's panel and the PyTorch oracle test
look operations up here. Adding an operation adds its module to ``OP_MODULES`` (see docs/DESIGN.md).
"""

from __future__ import annotations

import dataclasses

from .errors import SpecError
from .graph import Chain
from .operation import Field, Form, Operation
from .ops import (activation, add, batch_norm, concat, conv1d, conv2d, conv3d, conv_transpose2d, flatten, linear,
                  pixel_shuffle, pool2d)

#: The operation modules, in the order of the panel's Operation menu.
OP_MODULES = (conv2d, conv_transpose2d, pixel_shuffle, pool2d, conv1d, conv3d, flatten, linear, activation,
              batch_norm, add, concat)


#: Every form's last field: every operation takes a batch (its samples side by side, one set of filters).
BATCH = Field("batch", "count", "Batch", "Samples side by side: one set of filters slides over each", 1, soft_max=8)


def with_batch(spec, batch: int):
    """``spec`` (a chain: each stage) over ``batch`` samples."""
    if isinstance(spec, Chain):
        return Chain(tuple(stage.replace(batch=batch) for stage in spec.stages), name=spec.name)
    return spec.replace(batch=batch)


def _batched(form: Form) -> Form:
    """``form`` with the batch field: its spec built over that many samples, and read back."""
    def build(get):
        return with_batch(form.build(get), get("batch"))

    def settings(spec):
        values = form.settings(spec)
        return None if values is None else {**values, "batch": spec.batch}
    return dataclasses.replace(form, fields=form.fields + (BATCH,), build=build, settings=settings)


def _collect() -> tuple[dict[str, Operation], tuple[Form, ...], dict[str, Field]]:
    operations, forms, fields = {}, [], {}
    for module in OP_MODULES:
        for operation in module.OPERATIONS:
            if operation.name in operations:
                raise RuntimeError(f"operation {operation.name!r} is registered twice")
            if operation.spec_class.op != operation.name:
                raise RuntimeError(f"{operation.spec_class.__name__}.op is {operation.spec_class.op!r}, "
                                   f"registered as {operation.name!r}")
            operations[operation.name] = operation
        for form in map(_batched, module.FORMS):
            if any(f.name == form.name for f in forms):
                raise RuntimeError(f"panel form {form.name!r} is declared twice")
            forms.append(form)
            for field in form.fields:
                if fields.setdefault(field.name, field) != field:
                    raise RuntimeError(f"panel field {field.name!r} is declared twice, differently")
    return operations, tuple(forms), fields


OPERATIONS, FORMS, FIELDS = _collect()


def operation(name: str) -> Operation:
    """The operation called ``name``; SpecError naming ``op`` with the known names otherwise."""
    found = OPERATIONS.get(name) if isinstance(name, str) else None
    if found is None:
        raise SpecError("op", name, "one of " + ", ".join(sorted(list(OPERATIONS) + ["chain"])))
    return found


def spec_classes() -> tuple[type, ...]:
    return tuple(op.spec_class for op in OPERATIONS.values())


def form(name: str) -> Form:
    for candidate in FORMS:
        if candidate.name == name:
            return candidate
    raise SpecError("operation", name, ", ".join(f.name for f in FORMS))


def forms_showing(spec) -> list[tuple[Form, dict]]:
    """(form, field values) for every panel form that can show ``spec``, the preferred first."""
    found = [(f, f.settings(spec)) for f in FORMS]
    found = [(f, values) for f, values in found if values is not None]
    return sorted(found, key=lambda pair: -pair[0].preference)
