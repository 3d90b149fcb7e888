"""Presets: a spec with its timing and look, stored as TOML in ``animatedai_addon/presets``.

Reading uses the standard library's ``tomllib``; writing is done here (the
values are only strings, numbers, booleans and flat lists), so the engine needs
nothing beyond numpy.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SpecError
from .spec import Chain, Graph, spec_from_dict
from .timeline import EASINGS, Look, Timing, check_look, check_timing

PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"
TOP_KEYS = ("title", "description", "template", "input", "spec", "timing", "look")
#: Stage templates a preset may ask for (scene/templates.py holds the files; the engine only names them).
STAGE_TEMPLATES = ("studio", "flat", "none")
SECTIONS = {"timing": Timing, "look": Look}


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    spec: object
    timing: Timing = field(default_factory=Timing)
    look: Look = field(default_factory=Look)
    template: str = "studio"        # the stage it is made for: the glossy studio, or flat light grey (shuffles)
    input: str | None = None        # the input's file (.npy or image), absolute; None: the seeded random input


# --- finding and loading --------------------------------------------------------------

def list_presets() -> list[str]:
    """Names of the bundled presets, sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def load_preset(name: str):
    """The spec of a bundled preset (or of a preset file)."""
    return load_preset_file(name).spec


#: Largest preset/spec file read (bytes): a spec is a few hundred bytes.
MAX_PRESET_BYTES = 1 << 20


def load_preset_file(name_or_path, parameter: str = "preset") -> Preset:
    """A bundled preset by name, or a ``.toml`` file by path. ``parameter`` is the name errors about the file
    itself give (``spec`` when the user typed ``--spec``)."""
    path = _preset_path(name_or_path, parameter)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PRESET_BYTES + 1)
    except OSError as exc:
        raise SpecError(parameter, str(path), "a readable .toml file", exc.strerror or str(exc)) from None
    if len(data) > MAX_PRESET_BYTES:
        raise SpecError(parameter, str(path), f"a .toml file of at most {MAX_PRESET_BYTES:,} bytes")
    try:
        table = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SpecError(parameter, str(path), "a UTF-8 .toml file", f"byte {exc.start} is not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(parameter, str(path), "a valid TOML file", str(exc)) from None
    return preset_from_dict(path.stem, table, path.parent)


def is_preset_path(name_or_path) -> bool:
    """True when ``name_or_path`` names a file (a path, or ends in .toml) rather than a bundled preset."""
    return isinstance(name_or_path, os.PathLike) or (isinstance(name_or_path, str) and (
        name_or_path.endswith(".toml") or "/" in name_or_path or os.sep in name_or_path))


def _preset_path(name_or_path, parameter: str = "preset") -> Path:
    if is_preset_path(name_or_path):
        path = Path(name_or_path)
        if not path.is_file():
            raise SpecError(parameter, str(path), "an existing .toml preset file")
        return path
    names = list_presets()
    if not isinstance(name_or_path, str) or name_or_path not in names:
        close = difflib.get_close_matches(str(name_or_path), names, n=3, cutoff=0.5)
        hint = "did you mean " + " or ".join(close) + "?" if close else ""
        raise SpecError("preset", name_or_path, "one of: " + ", ".join(names), hint=hint)
    return PRESET_DIR / f"{name_or_path}.toml"


def preset_from_dict(name: str, table: dict, folder=PRESET_DIR) -> Preset:
    """A validated preset from a TOML document's tables; its ``input`` file is found from ``folder``."""
    if not isinstance(table, dict):
        raise SpecError("preset", table, "a table with title, description, [spec], [timing], [look]")
    for key in table:
        if key not in TOP_KEYS:
            raise SpecError(key, table[key], "a preset key: " + ", ".join(TOP_KEYS))
    if "spec" not in table:
        raise SpecError("spec", None, "a [spec] table (required)")
    spec = spec_from_dict(table["spec"])
    title = table.get("title", spec.label)
    description = table.get("description", "")
    template = table.get("template", "studio")
    for key, value in (("title", title), ("description", description)):
        if not isinstance(value, str):
            raise SpecError(key, value, "a string")
    if template not in STAGE_TEMPLATES:
        raise SpecError("template", template, "one of " + ", ".join(STAGE_TEMPLATES))
    return Preset(name=name, title=title, description=description, spec=spec,
                  timing=_section("timing", table.get("timing", {})),
                  look=_section("look", table.get("look", {})), template=template,
                  input=_input_file(table.get("input"), folder))


def _input_file(value, folder) -> str | None:
    """The absolute path of a preset's ``input`` (relative to the preset's folder), which must be an existing
    .npy or image file; None when the preset has none (the seeded random input)."""
    if value is None:
        return None
    from .values import IMAGE_SUFFIXES
    allowed = "a .npy or image file (" + ", ".join(IMAGE_SUFFIXES) + "), relative to the preset's folder"
    if not isinstance(value, str) or not value.strip():
        raise SpecError("input", value, allowed)
    path = (Path(folder) / value).resolve()
    if path.suffix.lower() not in (".npy",) + IMAGE_SUFFIXES or not path.is_file():
        raise SpecError("input", value, allowed, f"{path} is not one" if path.is_file() else f"{path} is missing")
    return str(path)


def _section(section: str, table) -> Timing | Look:
    """Timing or Look from a table; each value must have the type of the field's default."""
    cls = SECTIONS[section]
    if not isinstance(table, dict):
        raise SpecError(section, table, f"a [{section}] table")
    defaults = cls()
    names = [f.name for f in dataclasses.fields(cls)]
    values = {}
    for key, value in table.items():
        if key not in names:
            raise SpecError(f"{section}.{key}", value, f"a field of [{section}]: " + ", ".join(names))
        values[key] = _field_value(f"{section}.{key}", value, getattr(defaults, key))
    try:
        value = cls(**values)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(section, table, f"fields of [{section}]: " + ", ".join(names), str(exc)) from None
    # the same limits as the API and the command line (timing.fps 1-240, ...)
    return check_timing(value) if cls is Timing else check_look(value)


def _field_value(name: str, value, default):
    """``value`` checked against the type of ``default`` (ints also serve as floats)."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SpecError(name, value, "true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise SpecError(name, value, "an integer >= 0")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise SpecError(name, value, "a finite number")
        return float(value)
    if isinstance(default, str):
        if name.endswith(".easing") and value not in EASINGS:
            raise SpecError(name, value, "one of " + ", ".join(EASINGS))
        if not isinstance(value, str):
            raise SpecError(name, value, "a string")
        return value
    if isinstance(default, tuple) and name.endswith("_colors"):   # a list of RGBA colours (may be empty)
        ok = isinstance(value, (list, tuple)) and all(
            isinstance(c, (list, tuple)) and len(c) == 4
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in c)
            for c in value)
        if not ok:
            raise SpecError(name, value, "a list of colours, each a list of 4 numbers (linear RGBA): "
                            "[[1, 0, 0, 1], [0, 0.5, 1, 1]]")
        return tuple(tuple(float(v) for v in c) for c in value)
    if isinstance(default, tuple):
        ok = (isinstance(value, (list, tuple)) and len(value) == len(default)
              and all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in value))
        if not ok:
            raise SpecError(name, value, f"a list of {len(default)} finite numbers")
        return tuple(float(v) for v in value)
    raise SpecError(name, value, f"a value like {default!r}")


# --- writing ---------------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise SpecError("value", value, "a string, number, boolean or list of them (TOML)")


def _toml_key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else _toml_string(key)


def _toml_table(header: str, items: dict) -> list[str]:
    lines = [header] if header else []
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in items.items() if v is not None]
    return lines


def _changed_fields(value) -> dict:
    """Fields that differ from the defaults: what a preset file needs to say."""
    defaults = type(value)()
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)
            if getattr(value, f.name) != getattr(defaults, f.name)}


def preset_to_toml(preset: Preset) -> str:
    """TOML text that :func:`load_preset_file` reads back into an equal preset."""
    top = {"title": preset.title, "description": preset.description}
    if preset.template != "studio":
        top["template"] = preset.template
    if preset.input is not None:
        top["input"] = preset.input
    lines = _toml_table("", top)
    spec = preset.spec.to_dict()
    if isinstance(preset.spec, Chain):
        lines += [""] + _toml_table("[spec]", {"op": spec["op"], "name": spec["name"]})
        for stage in spec["stages"]:
            lines += [""] + _toml_table("[[spec.stages]]", stage)
    elif isinstance(preset.spec, Graph):
        lines += [""] + _toml_table("[spec]", {"op": spec["op"], "name": spec["name"]})
        for node in spec["nodes"]:
            lines += [""] + _toml_table("[[spec.nodes]]", node)
    else:
        lines += [""] + _toml_table("[spec]", spec)
    for section in SECTIONS:
        changed = _changed_fields(getattr(preset, section))
        if changed:
            lines += [""] + _toml_table(f"[{section}]", changed)
    return "\n".join(lines) + "\n"


def save_preset(preset: Preset, path) -> Path:
    """Write ``preset`` as TOML to ``path`` (parent folders must exist)."""
    path = Path(path)
    path.write_text(preset_to_toml(preset), encoding="utf-8")
    return path


# --- overrides ---------------------------------------------------------------------------

def _parse_value(text: str):
    """A TOML value; a bare word that is not TOML (``same``) is taken as a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def _override_keys(preset: Preset) -> list[str]:
    spec = preset.spec.to_dict()
    keys = [k for k in spec if k != "op"]
    if isinstance(preset.spec, Chain):
        keys = ["name", "batch"] + [f"stages.{i}.{k}" for i, stage in enumerate(spec["stages"])
                                    for k in stage if k != "op"]
    if isinstance(preset.spec, Graph):
        keys = ["name"] + [f"nodes.{node['name']}.{k}" for node in spec["nodes"] for k in node
                           if k not in ("op", "name")]
    keys += [f"{s}.{f.name}" for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)]
    return keys


def apply_overrides(preset: Preset, items) -> Preset:
    """A new preset with ``key=value`` items applied: spec keys (``kernel_size=[3,5]``, ``spec.padding=same``,
    for chains ``stages.1.kernel_size=5``, and ``batch=2`` for all its stages at once; for graphs
    ``nodes.expand.out_channels=16``), ``timing.key=value`` and ``look.key=value``.

    Spec keys change the spec's normalised values, so a pooling preset's stride (stored explicitly) stays
    as it was when only ``kernel_size`` is set."""
    if isinstance(items, str):
        items = [items]
    spec = preset.spec.to_dict()
    sections = {s: dataclasses.asdict(getattr(preset, s)) for s in SECTIONS}
    changed_sections = {s: {} for s in SECTIONS}
    for item in items:
        key, value = _split_item(preset, item)
        parts = key.split(".")
        if parts[0] in SECTIONS:
            if len(parts) != 2 or parts[1] not in sections[parts[0]]:
                _bad_item(preset, item)
            changed_sections[parts[0]][parts[1]] = value
            continue
        if parts[0] == "spec":
            parts = parts[1:]
        _set_spec_key(preset, item, spec, parts, value)
    timing_table = {k: v for k, v in _changed_fields(preset.timing).items()} | changed_sections["timing"]
    look_table = {k: v for k, v in _changed_fields(preset.look).items()} | changed_sections["look"]
    return Preset(name=preset.name, title=preset.title, description=preset.description,
                  spec=spec_from_dict(spec), timing=_section("timing", timing_table),
                  look=_section("look", look_table), template=preset.template, input=preset.input)


def _split_item(preset: Preset, item) -> tuple[str, object]:
    if not isinstance(item, str) or "=" not in item:
        _bad_item(preset, item)
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in item):     # a newline would cut the value short
        raise SpecError("set", item, "key=value on one line, without control characters")
    key, text = item.split("=", 1)
    key = key.strip()
    if not key or not text.strip():
        _bad_item(preset, item)
    return key, _parse_value(text)


def _set_spec_key(preset: Preset, item: str, spec: dict, parts: list[str], value) -> None:
    if isinstance(preset.spec, Chain) and parts == ["batch"]:     # the stages of a chain share one batch
        for stage in spec["stages"]:
            stage["batch"] = value
        return
    if isinstance(preset.spec, Chain) and len(parts) == 3 and parts[0] == "stages":
        if not parts[1].isdigit() or int(parts[1]) >= len(spec["stages"]):
            _bad_item(preset, item)
        table = spec["stages"][int(parts[1])]
        key = parts[2]
    elif isinstance(preset.spec, Graph) and len(parts) == 3 and parts[0] == "nodes":
        tables = [node for node in spec["nodes"] if node["name"] == parts[1]]
        if not tables or parts[2] == "name":
            _bad_item(preset, item)
        table, key = tables[0], parts[2]
    elif len(parts) == 1 and parts[0] and parts[0] not in ("stages", "nodes"):
        table, key = spec, parts[0]
    else:
        _bad_item(preset, item)
    if key == "op":
        _bad_item(preset, item)
    # an unknown key is left for spec_from_dict, which names it and lists the parameters
    table[key] = value


def _bad_item(preset: Preset, item):
    raise SpecError("set", item, "key=value with key one of " + ", ".join(_override_keys(preset)))
