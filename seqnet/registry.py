"""What the plugins registered: tasks, cells and optimizers, looked up by name with clear errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from seqnet.errors import PluginError

Kind = Literal["task", "cell", "optimizer"]
KINDS: tuple[Kind, ...] = ("task", "cell", "optimizer")


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


@dataclass
class Registry:
    """Name -> Entry for each kind. Build one with `seqnet.plugins.load_registry()`."""

    entries: dict[Kind, dict[str, Entry]] = field(
        default_factory=lambda: {kind: {} for kind in KINDS}
    )

    def add(self, entry: Entry) -> None:
        known = self.entries[entry.kind]
        if entry.name in known:
            raise PluginError(
                f"{entry.kind} '{entry.name}' is registered twice: by {known[entry.name].provider}"
                f" and by {entry.provider}"
            )
        for attr in ("Spec",):
            if not hasattr(entry.cls, attr):
                raise PluginError(
                    f"{entry.kind} '{entry.name}' from {entry.provider} has no nested {attr}"
                )
        known[entry.name] = entry

    def get(self, kind: str, name: str) -> Entry:
        known = self.entries[kind]  # type: ignore[index]
        if name not in known:
            available = ", ".join(sorted(known)) or "none"
            raise PluginError(f"unknown {kind} '{name}'; available: {available}")
        return known[name]

    def names(self, kind: Kind) -> list[str]:
        return sorted(self.entries[kind])

    def all(self) -> list[Entry]:
        return [entry for kind in KINDS for _, entry in sorted(self.entries[kind].items())]
