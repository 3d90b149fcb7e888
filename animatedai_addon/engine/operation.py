"""The records an operation module declares, and the registry reads.

An operation module (``engine/ops/<name>.py``) ends with ``OPERATIONS``: one
:class:`Operation` per spec class it defines (its name, class and planner) and
the :class:`Form` entries it adds to the panel's Operation menu, each listing
its :class:`Field` s. The add-on's properties are made from these fields, so an
operation's panel lives in its module too; no module here imports bpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

#: Kinds of panel field and the Blender property each becomes (props.py).
FIELD_KINDS = ("count", "int", "pair", "quad", "enum", "bool")


@dataclass(frozen=True)
class Field:
    """One setting of the panel: the property ``settings.<name>``.

    ``kind``: "count" (an integer >= 1 the engine checks, dragged 1..soft_max), "int" (>= 0), "pair" /
    "quad" (2 / 4 integers >= ``minimum``), "enum" (one of ``items``: (id, label, tooltip)), "bool".
    ``shown_if``: (field, value) that must hold for the field to be drawn."""

    name: str
    kind: str
    label: str
    description: str
    default: object
    items: tuple = ()
    minimum: int = 1
    soft_max: int = 64
    shown_if: tuple[str, object] | None = None

    def __post_init__(self):
        if self.kind not in FIELD_KINDS:
            raise ValueError(f"Field {self.name}: kind {self.kind!r} is not one of {FIELD_KINDS}")


@dataclass(frozen=True)
class Form:
    """One entry of the panel's Operation menu.

    ``build(get)`` makes the spec from the fields' values (``get(name)`` returns a field's value as plain
    Python: ints, tuples, strings, bools); ``settings(spec)`` is the inverse: the field values that rebuild
    ``spec`` with this form, or None when this form cannot show it. ``labels`` renames a field in this form.
    ``preference``: when several forms can show a spec, the panel picks the highest (a depthwise conv shows
    as "Depthwise Convolution" rather than as a grouped "Convolution")."""

    name: str
    label: str
    description: str
    fields: tuple[Field, ...]
    build: Callable
    settings: Callable
    labels: tuple[tuple[str, str], ...] = ()
    preference: int = 0

    def label_of(self, field_name: str) -> str | None:
        return dict(self.labels).get(field_name)


@dataclass(frozen=True)
class Operation:
    """An operation the engine can plan: ``planner(spec, input, weights, seed, order) -> Plan``."""

    name: str
    spec_class: type
    planner: Callable
