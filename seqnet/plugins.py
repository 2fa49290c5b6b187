"""Builds the plugin manager and the registry from the `seqnet` entry-point group.

The engine imports no plugin by name: the reference plugins in plugins/ are found here exactly
as a third party's are.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from seqnet import hookspecs
from seqnet.errors import PluginError
from seqnet.registry import Entry, Kind, Registry

GROUP = "seqnet"
hookimpl = pluggy.HookimplMarker(GROUP)
HOOKS: dict[str, Kind] = {
    "seqnet_register_tasks": "task",
    "seqnet_register_cells": "cell",
    "seqnet_register_optimizers": "optimizer",
}


@dataclass(frozen=True)
class Source:
    """Where a plugin came from, for messages and `seqnet plugins`."""

    name: str
    distribution: str
    version: str


def _source(ep: EntryPoint) -> Source:
    dist = ep.dist
    if dist is None:
        return Source(ep.name, "unknown", "")
    return Source(ep.name, dist.metadata["Name"], dist.version)


def load_registry(
    eps: Iterable[EntryPoint] | None = None, extra: Iterable[tuple[Source, Any]] = ()
) -> Registry:
    """Load every entry point of the group (or `eps`), plus `extra` (source, module) pairs,
    call their hooks and return what they registered."""
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    sources: dict[str, Source] = {}
    found = entry_points(group=GROUP) if eps is None else eps
    plugins = [(_source(ep), ep) for ep in found]
    for source, ep in plugins:
        try:
            module = ep.load()
        except Exception as error:
            raise PluginError(
                f"plugin '{source.name}' ({source.distribution}) failed to import: {error}"
            ) from None
        _register(pm, sources, source, module)
    for source, module in extra:
        _register(pm, sources, source, module)

    registry = Registry()
    for hook_name, kind in HOOKS.items():
        hook = getattr(pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):  # registration order
            source = sources[impl.plugin_name]

            def register(cls: type[Any], kind: Kind = kind, source: Source = source) -> None:
                name = getattr(cls, "name", None)
                if not isinstance(name, str) or not name:
                    raise PluginError(f"plugin '{source.name}' registered {cls!r} with no name")
                registry.add(
                    Entry(kind, name, cls, source.name, source.distribution, source.version)
                )

            impl.function(register=register)
    return registry


def _register(
    pm: pluggy.PluginManager, sources: dict[str, Source], source: Source, module: Any
) -> None:
    if source.name in sources:
        raise PluginError(f"two plugins are named '{source.name}'")
    try:
        pm.register(module, name=source.name)
        pm.check_pending()  # a misspelled hook name is an error now, not silence
    except pluggy.PluginValidationError as error:
        raise PluginError(f"plugin '{source.name}' ({source.distribution}): {error}") from None
    sources[source.name] = source


@functools.cache
def default_registry() -> Registry:
    """The registry of every installed plugin, built once per process."""
    return load_registry()
