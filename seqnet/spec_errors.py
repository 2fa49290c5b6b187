"""One line for what a spec's validation refused: every bad field with its dotted path, and the
value given, cut short (`model.hidden: Input should be greater than 0 (got 0)`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from seqnet.errors import SpecError


def format_validation_error(error: ValidationError, prefix: tuple[str | int, ...] = ()) -> str:
    """One line naming every bad field: `model.hidden: Input should be greater than 0 (got 0)`."""
    parts = []
    for item in error.errors():
        # a `<tag>` in a location names the branch of a union taken, not a place in the spec
        loc = [p for p in (*prefix, *item["loc"]) if not str(p).startswith("<")]
        where = ".".join(str(p) for p in loc) or "spec"
        got = "" if item["type"] == "missing" else f" (got {shown(item['input'])})"
        if item["type"] == "value_error":  # ours, from a validator: says it all
            parts.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
        elif item["type"] == "extra_forbidden":
            parts.append(f"{where}: unknown option")
        else:
            parts.append(f"{where}: {item['msg']}{got}")
    return "; ".join(parts)


def shown(value: Any, width: int = 60) -> str:
    """A value as an error message quotes it: repr, cut to `width` characters. The repr is
    taken of a copy cut to a few items per level, so a shared structure (a YAML alias bomb) is
    never expanded in full."""
    text = repr(_cut(value, 3))
    if isinstance(value, int) and not isinstance(value, bool) and len(text) > width:
        return f"a number of {len(text.lstrip('-'))} digits"
    return text if len(text) <= width else text[: width - 3] + "..."


def _cut(value: Any, depth: int) -> Any:
    if isinstance(value, dict):
        items = list(value.items())[:4] if depth > 0 else []
        return {k: _cut(v, depth - 1) for k, v in items} | (
            {"...": "..."} if len(value) > len(items) else {}
        )
    if isinstance(value, list):
        head = [_cut(v, depth - 1) for v in value[:4]] if depth > 0 else []
        return head + (["..."] if len(value) > len(head) else [])
    if isinstance(value, str) and len(value) > 200:
        return value[:200]
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 600:
        return float("inf") if value > 0 else float("-inf")  # str() would refuse past 4300 digits
    return value


def validate(model: type[BaseModel], data: Any, prefix: tuple[str, ...] = ()) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise SpecError(format_validation_error(error, prefix)) from None
