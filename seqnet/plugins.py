"""Builds the registry from the `seqnet` entry-point group, one plugin at a time.

The engine imports no plugin by name: the reference plugins in plugins/ are found here exactly
as a third party's are. A broken plugin is skipped with one `PluginWarning` (an error under
SEQNET_STRICT_PLUGINS=1) and the rest load; SEQNET_DISABLE_PLUGINS skips plugins by name.
"""

from __future__ import annotations

import functools
import os
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from seqnet import hookspecs
from seqnet.errors import PluginError
from seqnet.registry import Entry, Failure, Kind, Registry, Source, contract_problems

__all__ = [
    "GROUP",
    "HOOKS",
    "BrokenPluginError",
    "PluginWarning",
    "Source",
    "configure",
    "default_registry",
    "hookimpl",
    "load_registry",
]

GROUP = "seqnet"
hookimpl = pluggy.HookimplMarker(GROUP)
HOOKS: dict[str, Kind] = {
    "seqnet_register_tasks": "task",
    "seqnet_register_cells": "cell",
    "seqnet_register_layers": "layer",
    "seqnet_register_optimizers": "optimizer",
    "seqnet_register_engines": "engine",
}
DISABLE_ENV = "SEQNET_DISABLE_PLUGINS"
STRICT_ENV = "SEQNET_STRICT_PLUGINS"

Report = Callable[[str], None]


class PluginWarning(UserWarning):
    """A plugin was skipped because it is broken, or a disable list names no installed plugin."""


class BrokenPluginError(PluginError):
    """A broken plugin while SEQNET_STRICT_PLUGINS=1 (exit code 1)."""

    exit_code = 1


class _Broken(Exception):
    """Why one plugin cannot be loaded; turned into a `Failure`, never seen by callers."""


def warn(message: str) -> None:
    """The default report of a skipped plugin: one `PluginWarning`."""
    warnings.warn(message, PluginWarning, stacklevel=4)


def env_disabled() -> set[str]:
    """The plugin names in SEQNET_DISABLE_PLUGINS (comma-separated)."""
    return {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}


def env_strict() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _identity(module: Any) -> Any:
    return module


def _source(ep: EntryPoint) -> Source:
    dist = ep.dist
    if dist is None:
        return Source(ep.name, "unknown", "")
    return Source(ep.name, dist.metadata["Name"], dist.version)


def _describe(error: BaseException) -> str:
    """`ZeroDivisionError: division by zero (task.py:12)`: the error and where it was raised."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "<frozen" not in f.filename]
    where = f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def load_registry(
    eps: Iterable[EntryPoint] | None = None,
    extra: Iterable[tuple[Source, Any]] = (),
    *,
    disable: Iterable[str] = (),
    strict: bool | None = None,
    report: Report | None = None,
) -> Registry:
    """Load every plugin of the `seqnet` entry-point group (or of `eps`), then the `extra`
    (source, module) pairs, call their hooks and return what they registered.

    Plugins named in `disable` or SEQNET_DISABLE_PLUGINS are not imported. A plugin that is
    broken is skipped whole and reported once through `report` (default: a `PluginWarning`),
    or raises `BrokenPluginError` when `strict` (default: SEQNET_STRICT_PLUGINS=1). The same
    name registered by two plugins is a `PluginError` naming both.
    """
    strict = env_strict() if strict is None else strict
    tell = report or warn

    def skip(message: str) -> None:
        if strict:
            raise BrokenPluginError(f"{message} (SEQNET_STRICT_PLUGINS is on)")
        tell(message)

    disabled = set(disable) | env_disabled()
    found = entry_points(group=GROUP) if eps is None else eps
    candidates: list[tuple[Source, Callable[[], Any]]] = [(_source(ep), ep.load) for ep in found]
    candidates += [(source, functools.partial(_identity, module)) for source, module in extra]

    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    seen: dict[str, Source] = {}
    for source, load in candidates:
        if source.name in seen:
            raise PluginError(
                f"two plugins are named '{source.name}': {seen[source.name].label} and"
                f" {source.label}"
            )
        seen[source.name] = source
        if source.name in disabled:
            registry.disabled.append(source)
            continue
        try:
            entries = _load_plugin(pm, source, load)
        except _Broken as broken:
            failure = Failure(source, str(broken))
            registry.failed.append(failure)
            skip(failure.message)
            continue
        for entry in entries:
            registry.add(entry)
        registry.plugins.append(source)

    unknown = sorted(disabled - seen.keys())
    if unknown:
        skip(
            f"{DISABLE_ENV} or --disable-plugin names no installed plugin: {', '.join(unknown)}"
            f" (installed: {', '.join(sorted(seen)) or 'none'})"
        )
    return registry


def _load_plugin(pm: pluggy.PluginManager, source: Source, load: Callable[[], Any]) -> list[Entry]:
    """Import one plugin, register it with pluggy, call its hooks; what it registered.

    Raises _Broken (with the plugin unregistered again) for anything off the contract.
    """
    try:
        module = load()
    except Exception as error:
        raise _Broken(f"import failed: {_describe(error)}") from None
    try:
        pm.register(module, name=source.name)
    except (pluggy.PluginValidationError, ValueError) as error:
        raise _Broken(str(error)) from None
    try:
        return _call_hooks(pm, source, module)
    except _Broken:
        pm.unregister(name=source.name)
        raise


def _call_hooks(pm: pluggy.PluginManager, source: Source, module: Any) -> list[Entry]:
    try:
        pm.check_pending()  # a misspelled hook name is caught here, not silently ignored
    except pluggy.PluginValidationError as error:
        raise _Broken(str(error)) from None
    unmarked = [
        name
        for name in dir(module)
        if name.startswith("seqnet_register")
        and callable(getattr(module, name, None))
        and pm.parse_hookimpl_opts(module, name) is None
    ]
    if unmarked:
        raise _Broken(f"{', '.join(unmarked)} is not marked with @seqnet.hookimpl")
    impls = [
        (kind, impl)
        for hook_name, kind in HOOKS.items()
        for impl in getattr(pm.hook, hook_name).get_hookimpls()
        if impl.plugin_name == source.name
    ]
    if not impls:
        raise _Broken(f"implements none of the hooks {', '.join(HOOKS)}")

    entries: list[Entry] = []
    problems: list[str] = []
    for kind, impl in impls:

        def register(cls: type[Any], kind: Kind = kind) -> None:
            found = contract_problems(kind, cls)
            if not found and any(e.kind == kind and e.name == cls.name for e in entries):
                found = [f"{kind} '{cls.name}' is registered twice by this plugin"]
            if found:
                problems.extend(found)
                raise _Broken("; ".join(found))
            entries.append(Entry(kind, cls.name, cls, source.name, source.distribution,
                                 source.version))  # fmt: skip

        arguments = {"register": register}
        try:
            impl.function(*[arguments[name] for name in impl.argnames])
        except _Broken:
            pass  # recorded in `problems`, which a hook cannot swallow
        except Exception as error:
            raise _Broken(f"{impl.function.__name__} raised {_describe(error)}") from None
        if problems:
            raise _Broken("; ".join(problems))
    return entries


@dataclass
class _Settings:
    disable: tuple[str, ...] = ()
    report: Report | None = None


_settings = _Settings()


def configure(*, disable: Iterable[str] = (), report: Report | None = None) -> None:
    """Set what `default_registry()` is built with and forget the one already built.

    The CLI calls this from its `--disable-plugin` option, before any command needs plugins.
    """
    _settings.disable = tuple(disable)
    _settings.report = report
    default_registry.cache_clear()


@functools.cache
def default_registry() -> Registry:
    """The registry of every installed plugin, built once per process (see `configure`)."""
    return load_registry(disable=_settings.disable, report=_settings.report)
