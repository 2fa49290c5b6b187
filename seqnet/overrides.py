"""Dotted `--set` overrides: parsing `section.option=value` and applying it to a raw spec, with
each path checked against the fields the engine and the named plugins declare. Validation
itself happens once, afterwards, in `seqnet.specs.resolve`.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from pydantic import BaseModel

from seqnet.defaults import chosen, switched
from seqnet.errors import SpecError
from seqnet.layers import layer_entry
from seqnet.layers import variant as layer_variant
from seqnet.registry import Registry
from seqnet.spec_errors import shown
from seqnet.spec_files import MAX_VALUE_CHARS
from seqnet.specs import SECTIONS, variant
from seqnet.trainspec import TrainSpec

SHORTHANDS = {
    "cell": "model.cell",
    "hidden": "model.hidden",
    "layers": "model.layers",
    "dropout": "model.dropout",
    "steps": "train.steps",
    "batch": "train.batch",
    "lr": "optimizer.lr",
    "optimizer": "optimizer.name",
    "seed": "train.seed",
}
"""Common settings by a short name (the `seqnet run` flags, `Run.create` keywords)."""


def plugins_first(paths: Iterable[str]) -> list[str]:
    """Dotted paths with those that choose a plugin (`model.cell`, `optimizer.name`) first, so
    that a shorthand's order (`--lr 0.5 --optimizer sgd`) never drops the option given with it."""
    chooses = {f"{name}.{base.key}" for name, base in SECTIONS.items()}
    return sorted(paths, key=lambda path: path.partition("=")[0] not in chooses)


def parse_override(text: str) -> tuple[str, Any]:
    """`model.hidden=32` -> ("model.hidden", 32); values are read as YAML (32, 0.1, true, lstm)."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise SpecError(f"override '{shown(text)}' must look like section.option=value")
    if len(text) > MAX_VALUE_CHARS:
        raise SpecError(
            f"override {path.strip()[:60]!r} is {len(text):,} characters long;"
            f" at most {MAX_VALUE_CHARS:,}"
        )
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    if isinstance(parsed, str):  # YAML 1.1 reads 1e-3 (no dot) as a string; a user means 0.001
        parsed = as_number(parsed)
    if isinstance(parsed, float) and not math.isfinite(parsed):
        raise SpecError(f"{path.strip()}: Input should be a finite number (got {value!r})")
    return path.strip(), parsed


NUMBER = re.compile(r"[+-]?(\d[\d_]*\.?\d*|\.\d+)([eE][+-]?\d+)?")


def as_number(text: str) -> Any:
    """`text` as an int or float when it spells a finite number (1e-3, 2E5), else unchanged."""
    if not NUMBER.fullmatch(text.strip()):
        return text
    try:
        return int(text)
    except ValueError:
        return float(text)


def apply_overrides(
    raw: Mapping[str, Any], overrides: Iterable[tuple[str, Any]], registry: Registry
) -> dict[str, Any]:
    """Set each dotted path; a path no section declares is an error, found before the spec is
    validated (once, afterwards, by `resolve`).

    Choosing another plugin (`model.cell=lstm`) drops the old plugin's options, but those the
    new one requires (`hidden`), and takes the new one's defaults (defaults.switched).
    """
    data = copy.deepcopy(dict(raw))
    for path, value in overrides:
        keys = path.split(".")
        if len(keys) < 2:
            raise SpecError(f"override '{path}' must name an option, like {path}.option=value")
        section = data.setdefault(keys[0], {})
        if not isinstance(section, dict):
            raise SpecError(f"'{keys[0]}' must be a mapping")
        if not declares(data, keys, registry):
            raise SpecError(f"unknown setting '{path}'")
        names_plugin = keys[0] in SECTIONS and keys[1:] == [SECTIONS[keys[0]].key]
        if names_plugin and value != chosen(section, keys[0]):
            section = data[keys[0]] = switched(section, keys[0], value, registry)
        if keys == ["model", "layers"] and isinstance(value, list):  # as a file's list does
            section = data["model"] = {k: v for k, v in section.items() if k == "dtype"}
        target: Any = section
        for key in keys[1:-1]:
            target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
        if isinstance(target, list):
            target[int(keys[-1])] = value
        else:
            target[keys[-1]] = value
    return data


def declares(data: Mapping[str, Any], keys: list[str], registry: Registry) -> bool:
    """Whether `keys` (`["model", "hidden"]`) is a field the spec's sections declare: the
    engine's, or those of the plugin the section names (the cell, for the model shorthand).
    Inside a list of layers, `model.layers.N.option` is checked against that layer's type."""
    if keys[0] == "train":
        fields = dict(TrainSpec.model_fields)
    elif keys[0] in SECTIONS:
        base, section = SECTIONS[keys[0]], data.get(keys[0]) or {}
        if keys[0] == "model" and isinstance(section.get("layers"), list):
            return declares_layer(section["layers"], keys[2:], registry)
        fields = dict(base.model_fields)
        name = chosen(section, keys[0])
        if isinstance(name, str) and name in registry.entries[base.kind]:
            fields |= variant(base, registry.entries[base.kind][name].cls).model_fields
    else:
        return False
    if keys[1] not in fields:
        return False
    return nested_declares(fields[keys[1]].annotation, keys[2:])


def declares_layer(sections: list[Any], keys: list[str], registry: Registry) -> bool:
    """`model.layers.N.option`: N an index of the list, option a field of that layer's type."""
    if not keys:
        return True  # the whole list
    if not keys[0].isdigit() or int(keys[0]) >= len(sections):
        return False
    entry = sections[int(keys[0])]
    if len(keys) == 1:
        return True
    if not isinstance(entry, Mapping) or not isinstance(entry.get("type"), str):
        return False
    found = layer_entry(entry["type"], registry)
    fields = layer_variant(found.cls, found.kind).model_fields
    return keys[1] in fields and nested_declares(fields[keys[1]].annotation, keys[2:])


def nested_declares(annotation: Any, keys: list[str]) -> bool:
    """Whether the rest of a path fits a field's type: anything under a mapping or a union
    (validation says more), fields of a nested model, nothing under a plain value."""
    if not keys:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = annotation.model_fields
        return keys[0] in fields and nested_declares(fields[keys[0]].annotation, keys[1:])
    return not isinstance(annotation, type)  # dict[...], unions: left to the one validation
