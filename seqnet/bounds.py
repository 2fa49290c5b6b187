"""Bounds on what a user types: numbers are numbers (true is not 1) and sizes have a ceiling.

`Checked` is the base of every spec model, the engine's sections and each plugin's `Spec`
(through `PluginSpec`), so a field is checked by being declared; `memory.py` checks the rest.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

import annotated_types
from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic.fields import FieldInfo

MAX_SIZE = 10_000_000
"""The ceiling of a whole-number option that declares none of its own (`Field(le=...)`)."""


def _members(annotation: Any) -> list[Any]:
    """The types an annotation admits, Annotated and unions unwrapped (with their metadata)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        inner, *meta = typing.get_args(annotation)
        return [(t, [*m, *meta]) for t, m in _members(inner)]
    if origin in (typing.Union, types.UnionType):
        return [pair for arg in typing.get_args(annotation) for pair in _members(arg)]
    return [(annotation, [])]


def _ceiling(meta: list[Any]) -> int | float | None:
    for item in meta:
        if isinstance(item, FieldInfo):  # Field(le=...) inside a union keeps its own metadata
            inner = _ceiling(list(item.metadata))
            if inner is not None:
                return inner
        if isinstance(item, annotated_types.Le):
            return item.le  # type: ignore[return-value]
        if isinstance(item, annotated_types.Lt):
            return item.lt  # type: ignore[return-value]
    return None


def check_number(name: str, field: FieldInfo, value: Any) -> Any:
    """`value` unchanged, or a ValueError if a bool stands for a number or a whole number is
    past the field's ceiling (its own `le`, else MAX_SIZE)."""
    members = [(t, [*m, *field.metadata]) for t, m in _members(field.annotation)]
    kinds = {t for t, _ in members}
    if isinstance(value, bool):
        if bool in kinds or Any in kinds or not kinds & {int, float}:
            return value
        raise ValueError(f"a number is needed, not {str(value).lower()}")
    if isinstance(value, int) and int in kinds:
        ceiling = next((c for t, m in members if t is int for c in [_ceiling(m)]), None)
        if ceiling is None and abs(value) > MAX_SIZE:
            raise ValueError(
                f"at most {MAX_SIZE:,} (got a number of {len(str(abs(value)))} digits)"
            )
    return value


class Checked(BaseModel):
    """A pydantic model whose numeric fields refuse booleans and sizes past their ceiling."""

    @field_validator("*", mode="before")
    @classmethod
    def _numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        return value if field is None else check_number(info.field_name or "", field, value)
