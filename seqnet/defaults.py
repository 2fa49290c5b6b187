"""The defaults a raw spec goes over before its one validation: the engine's, then its task's
`defaults`, then a spec file's sections (`--set` comes last: overrides.py). A section that names
another plugin than the one under it drops that plugin's options.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from seqnet.registry import Registry
from seqnet.specs import DEFAULT_MODEL, DEFAULT_OPTIMIZER, SECTIONS


def chosen(section: Mapping[str, Any], name: str) -> Any:
    """The plugin a section names (`model.cell`), or the one it gets when it names none."""
    base = SECTIONS[name]
    return section.get(base.key, base.default)


def switched(
    section: Mapping[str, Any], name: str, plugin: Any, registry: Registry
) -> dict[str, Any]:
    """Section `name` naming `plugin` instead: the engine's fields stay; the previous plugin's
    options go, but for those the new plugin requires, having no default for them (every cell
    requires `hidden`, so `--cell lstm` keeps the width)."""
    base = SECTIONS[name]
    required: set[str] = set()
    if isinstance(plugin, str) and plugin in registry.entries[base.kind]:
        fields = registry.entries[base.kind][plugin].cls.Spec.model_fields
        required = {field for field, info in fields.items() if info.is_required()}
    kept = {k: v for k, v in section.items() if k in base.model_fields or k in required}
    return {**kept, base.key: plugin}


def over(base: Mapping[str, Any], given: Mapping[str, Any], registry: Registry) -> dict[str, Any]:
    """`given`'s sections over `base`'s, field by field; a section of `given` that names another
    plugin, or a list of layers, keeps only what `switched` keeps of the one under it."""
    out = copy.deepcopy(dict(base))
    for section, part in given.items():
        under = out.get(section)
        if not isinstance(part, Mapping) or not isinstance(under, dict):
            out[section] = copy.deepcopy(part)
            continue
        if section == "model" and isinstance(part.get("layers"), list):
            under = {k: v for k, v in under.items() if k == "dtype"}
        elif section in SECTIONS:
            key = SECTIONS[section].key
            if key in part and part[key] != chosen(under, section):
                under = switched(under, section, part[key], registry)
        out[section] = {**under, **copy.deepcopy(dict(part))}
    return out


def default_raw(task: str, registry: Registry) -> dict[str, Any]:
    """The raw default spec of a task: the engine's defaults under the task's `defaults`."""
    cls = registry.get("task", task).cls
    engine = {"model": dict(DEFAULT_MODEL), "optimizer": dict(DEFAULT_OPTIMIZER)}
    given = {**cls.defaults, "task": {"name": task, **cls.defaults.get("task", {})}}
    return over(engine, given, registry)


def with_task_defaults(raw: Mapping[str, Any], registry: Registry) -> dict[str, Any]:
    """A spec file (or mapping) over its task's defaults, as `seqnet run TASK` starts from them:
    a file that names only its task runs exactly that."""
    task = raw.get("task")
    name = task.get("name") if isinstance(task, Mapping) else None
    if not isinstance(name, str) or name not in registry.entries["task"]:
        return dict(raw)  # validation names what is wrong
    return over(default_raw(name, registry), raw, registry)
