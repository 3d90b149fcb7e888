"""The registry: every operation the engine knows, found from its module's ``OPERATIONS`` and ``FORMS``.

``plan()``, ``spec_from_dict``, the cube counts, the presets, the add-on's panel and the PyTorch oracle test
look operations up here. Adding an operation adds its module to ``OP_MODULES`` (see docs/DESIGN.md).
"""

from __future__ import annotations

from .errors import SpecError
from .operation import Field, Form, Operation
from .ops import activation, batch_norm, conv1d, conv2d, conv_transpose2d, pixel_shuffle, pool2d

#: The operation modules, in the order of the panel's Operation menu.
OP_MODULES = (conv2d, conv_transpose2d, pixel_shuffle, pool2d, conv1d, activation, batch_norm)


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
        for form in module.FORMS:
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
