"""Layers from specs: `{type: NAME, ...options}` validated by that plugin's Spec, and built.

Cells are layers here too, under their own names, with the engine's `reverse` option. The
registry used is the one of the spec resolution in progress, else the default one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from seqnet.errors import SpecError
from seqnet.interfaces import Layer
from seqnet.recurrent import CellLayer
from seqnet.registry import Entry, Kind, Registry
from seqnet.signatures import from_spec
from seqnet.spec_errors import validate

_resolving: ContextVar[Registry | None] = ContextVar("seqnet_resolving", default=None)


@contextmanager
def resolving_with(registry: Registry) -> Iterator[None]:
    """Make `registry` the one nested `layer_spec` calls use (while a spec is validated)."""
    token = _resolving.set(registry)
    try:
        yield
    finally:
        _resolving.reset(token)


def active_registry(registry: Registry | None = None) -> Registry:
    if registry is not None:
        return registry
    found = _resolving.get()
    if found is not None:
        return found
    from seqnet.plugins import default_registry  # loading plugins imports them: only when used

    return default_registry()


def layer_entry(name: str, registry: Registry) -> Entry:
    """The layer or cell registered as `name`; a SpecError naming what there is if none."""
    kinds: tuple[Kind, ...] = ("layer", "cell")
    for kind in kinds:
        if name in registry.entries[kind]:
            return registry.entries[kind][name]
    known = ", ".join(sorted([*registry.names("layer"), *registry.names("cell")])) or "none"
    raise SpecError(f"unknown layer type '{name}'; available: {known}")


_variants: dict[tuple[type[Any], Kind], type[BaseModel]] = {}


def variant(cls: type[Any], kind: Kind) -> type[BaseModel]:
    """The Spec a `{type: NAME, ...}` section is validated by: the plugin's own Spec plus
    `type` (the discriminator), and for a cell `reverse`. Made once per class."""
    if (cls, kind) in _variants:
        return _variants[cls, kind]
    fields: dict[str, Any] = {
        "type": (Literal[cls.name], Field(description=f"layer type: {cls.name}"))
    }
    if kind == "cell":
        fields["reverse"] = (bool, Field(False, description="read the sequence from its end"))
    made = create_model(
        f"{cls.__name__}Layer",
        __base__=cls.Spec,
        __cls_kwargs__={"title": f"layer ({cls.name})"},
        **fields,
    )
    _variants[cls, kind] = made
    return made


def variants(registry: Registry) -> list[type[BaseModel]]:
    """Every layer type's variant Spec, layers then cells, each in name order."""
    return [
        variant(registry.entries[kind][name].cls, kind)
        for kind in ("layer", "cell")
        for name in registry.names(kind)
    ]


def layer_spec(
    data: Mapping[str, Any], registry: Registry | None = None, where: tuple[str, ...] = ()
) -> BaseModel:
    """Validate one layer section `{type: NAME, ...options}` with that plugin's Spec.

    An unknown type or option is a SpecError with one line naming it (after `where`, the
    section's path, e.g. ("model", "layers", "2")).
    """
    registry = active_registry(registry)
    if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
        at = ".".join(where) + ": " if where else ""
        raise SpecError(f"{at}a layer needs a `type` (a registered layer or cell); got {data!r}")
    entry = layer_entry(data["type"], registry)
    spec: BaseModel = validate(variant(entry.cls, entry.kind), dict(data), where)
    return spec


def build_layer(spec: BaseModel | Mapping[str, Any], registry: Registry | None = None) -> Layer:
    """The layer a spec section describes (a raw mapping is validated first); a cell comes back
    as its CellLayer."""
    registry = active_registry(registry)
    if isinstance(spec, Mapping):
        spec = layer_spec(spec, registry)
    entry = layer_entry(getattr(spec, "type"), registry)  # noqa: B009 (a field of a variant)
    built = from_spec(entry.cls, spec)
    if entry.kind == "cell":
        return CellLayer(built, reverse=getattr(spec, "reverse"))  # noqa: B009 (as above)
    return built  # type: ignore[no-any-return]
