"""What the plugins registered (tasks, cells, layers, optimizers, engines), looked up by name.

Also the contract each registered class must meet to be accepted (`contract_problems`), and the
record of plugins that were skipped (failed or disabled), which `seqnet plugins` shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import BaseModel

from seqnet.errors import PluginError
from seqnet.interfaces import LossName
from seqnet.signatures import made_by_spec_init

Kind = Literal["task", "cell", "layer", "optimizer", "engine"]
KINDS: tuple[Kind, ...] = ("task", "cell", "layer", "optimizer", "engine")
LOSS_NAMES: tuple[str, ...] = get_args(LossName)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

# What each kind must have on the class itself: (attribute, what it is). Sizes may be
# properties or instance attributes, so the conformance kit checks those on an instance.
METHODS: dict[Kind, tuple[str, ...]] = {
    "task": ("sample", "metrics", "examples"),
    "cell": ("init", "initial_carry", "step", "step_backward"),
    "layer": ("init", "output_size", "initial_carry", "forward", "backward"),
    "optimizer": ("step", "state_dict", "load_state_dict"),
    "engine": ("executor", "slots"),  # where `seqnet sweep` runs its runs (seqnet.sweep.engines)
}
SPEC_FIELDS: dict[Kind, tuple[str, ...]] = {
    "task": (),
    "cell": ("hidden",),
    "layer": (),
    "optimizer": ("lr",),
    "engine": (),
}


@dataclass(frozen=True)
class Source:
    """Where a plugin came from: its entry-point name and its distribution."""

    name: str
    distribution: str
    version: str

    @property
    def label(self) -> str:
        version = f" {self.version}" if self.version else ""
        return f"plugin '{self.name}' ({self.distribution}{version})"


@dataclass(frozen=True)
class Failure:
    """A plugin that was skipped because it is broken, and why."""

    source: Source
    reason: str

    @property
    def message(self) -> str:
        return f"{self.source.label} skipped: {self.reason}"


@dataclass(frozen=True)
class Entry:
    """One registered class and who provided it."""

    kind: Kind
    name: str
    cls: type[Any]
    plugin: str
    distribution: str
    version: str

    @property
    def description(self) -> str:
        doc = (self.cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @property
    def provider(self) -> str:
        return f"plugin '{self.plugin}' ({self.distribution} {self.version})"


def contract_problems(kind: Kind, cls: object) -> list[str]:
    """What keeps `cls` from being a registrable `kind`: empty when it meets the contract.

    Checked on the class, before anything is instantiated: a `name`, a nested pydantic `Spec`
    that forbids unknown options (and has the fields the engine fills in), the methods of the
    kind, and for a task its `loss`, `target_metric` and `defaults`.
    """
    if not isinstance(cls, type):
        return [f"register() takes a class; got {cls!r}"]
    label = cls.__qualname__
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not NAME.fullmatch(name):
        return [f"{kind} class {label} needs a class attribute `name` (letters, digits, _ . -)"]
    problems = []
    spec = getattr(cls, "Spec", None)
    if not (isinstance(spec, type) and issubclass(spec, BaseModel)):
        problems.append("no nested pydantic `Spec` (subclass seqnet.PluginSpec)")
    else:
        if spec.model_config.get("extra") != "forbid":
            problems.append("its `Spec` must forbid unknown options (subclass seqnet.PluginSpec)")
        problems += [
            f"its `Spec` has no `{f}` field"
            for f in SPEC_FIELDS[kind]
            if f not in spec.model_fields
        ]
        # `type` names the layer in a spec's layer list; `reverse` is the engine's for a cell
        reserved = {"layer": ("type",), "cell": ("type", "reverse")}.get(kind, ())
        problems += [
            f"its `Spec` may not have a `{f}` field (the engine's)"
            for f in reserved
            if f in spec.model_fields
        ]
    problems += [f"no method `{m}`" for m in METHODS[kind] if not callable(getattr(cls, m, None))]
    if kind == "layer" and not (
        callable(getattr(cls, "from_spec", None)) or made_by_spec_init(cls)
    ):
        # a layer is built from the spec its section was validated into, never validated twice
        problems.append(
            "no way to build it from its Spec: decorate `__init__` with"
            " seqnet.spec_init(Spec), or give it a classmethod `from_spec`"
        )
    if kind == "task":
        loss = getattr(cls, "loss", None)
        if loss not in LOSS_NAMES:
            problems.append(f"`loss` must be one of {', '.join(LOSS_NAMES)} (got {loss!r})")
        if not isinstance(getattr(cls, "target_metric", None), str):
            problems.append("no `target_metric` (the metric name that says the task is solved)")
        if not isinstance(getattr(cls, "defaults", None), dict):
            problems.append("no `defaults` dict (a partial run spec; may be {})")
    return [f"{kind} '{name}' ({label}): {problem}" for problem in problems]


@dataclass
class Registry:
    """Name -> Entry for each kind, plus the plugins that were skipped.

    Build one with `seqnet.load_registry()`.
    """

    entries: dict[Kind, dict[str, Entry]] = field(
        default_factory=lambda: {kind: {} for kind in KINDS}
    )
    plugins: list[Source] = field(default_factory=list)
    """Plugins that loaded and registered their classes."""
    failed: list[Failure] = field(default_factory=list)
    """Plugins skipped because they are broken, with the reason."""
    disabled: list[Source] = field(default_factory=list)
    """Plugins skipped because SEQNET_DISABLE_PLUGINS or --disable-plugin named them."""

    def add(self, entry: Entry) -> None:
        """Add one class; a name already taken is an error. `register` (seqnet.plugins) checked
        the class against its kind's contract already, once."""
        known = self.entries[entry.kind]
        if entry.name in known:
            raise PluginError(
                f"{entry.kind} '{entry.name}' is registered twice: by {known[entry.name].provider}"
                f" and by {entry.provider}; skip one with SEQNET_DISABLE_PLUGINS=NAME or"
                " --disable-plugin NAME"
            )
        # a cell is a layer under its own name (`{type: lstm}`), so the two share one namespace
        other = {"cell": "layer", "layer": "cell"}.get(entry.kind)
        if other is not None and entry.name in self.entries[other]:  # type: ignore[index]
            raise PluginError(
                f"'{entry.name}' is registered as a {other} by"
                f" {self.entries[other][entry.name].provider} and as a {entry.kind} by"  # type: ignore[index]
                f" {entry.provider}; cells and layers share names, skip one with"
                " --disable-plugin NAME"
            )
        known[entry.name] = entry

    def get(self, kind: str, name: str) -> Entry:
        known = self.entries[kind]  # type: ignore[index]
        if name not in known:
            available = ", ".join(sorted(known)) or "none"
            skipped = [f"'{f.source.name}' failed" for f in self.failed]
            skipped += [f"'{s.name}' disabled" for s in self.disabled]
            hint = f" (skipped plugins: {', '.join(skipped)})" if skipped else ""
            raise PluginError(f"unknown {kind} '{name}'; available: {available}{hint}")
        return known[name]

    def names(self, kind: Kind) -> list[str]:
        return sorted(self.entries[kind])

    def all(self) -> list[Entry]:
        return [entry for kind in KINDS for _, entry in sorted(self.entries[kind].items())]
