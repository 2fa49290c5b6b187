"""One sequence of a data file, checked: its form, its inputs and its targets, and the kinds of
values a file holds (found from its first line, then required of every line)."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

Form = Literal["labelling", "classification", "read-then-write"]
InputKind = Literal["numbers", "vectors", "symbols"]
TargetKind = Literal["numbers", "vectors", "classes"]
FIELDS: dict[str, Form] = {"target": "labelling", "label": "classification",
                           "output": "read-then-write"}  # fmt: skip
NUMBER_TYPES = {int, float}


class Schema(BaseModel, extra="forbid", frozen=True):
    """What a task learned from its training data; saved in the run's spec (`task.schema`)."""

    form: Form
    inputs: InputKind
    width: int
    """Numbers per input step: 1 for numbers, the vector length, or 1 for symbols."""
    targets: TargetKind
    target_width: int
    """Numbers per target (1 for numbers and classes)."""
    vocabulary: list[str] = []
    """Input symbols seen in training, sorted; id 0 stands for any other symbol."""
    classes: list[int | str] = []
    """Target classes seen in training, sorted (numbers first)."""
    target_mean: list[float] = []
    """The training targets' mean: the forecast that `skill` compares against."""


@dataclass
class Record:
    """One line: inputs (numbers, vectors or symbols) and targets (one per step for
    labelling, one per output step for read-then-write, one for classification), or no
    targets when a prediction file leaves them out (`outputs` then counts the steps to write)."""

    inputs: list[Any]
    targets: list[Any] | None
    outputs: int = 0

    @property
    def steps(self) -> int:
        return len(self.inputs) + self.outputs


class Bad(ValueError):
    """What is wrong with one line (the caller adds the file and line number)."""


@dataclass
class Kinds:
    """The kinds of values in a file: fixed by its first line, required of all the others."""

    form: Form | None = None
    inputs: InputKind | None = None
    width: int = 0
    targets: TargetKind | None = None
    target_width: int = 0

    @classmethod
    def of(cls, schema: Schema) -> Kinds:
        return cls(schema.form, schema.inputs, schema.width, schema.targets, schema.target_width)


def _constant(name: str) -> Any:
    raise Bad(f"{name} is not a number seqnet can use (NaN or infinity)")


def is_number(v: Any) -> bool:
    return type(v) in NUMBER_TYPES  # bool is not a number here


def check_finite(values: list[float], what: str) -> None:
    if not all(map(math.isfinite, values)):
        raise Bad(f"{what} holds NaN or infinity")


def value_kind(values: list[Any], what: str) -> tuple[str, int]:
    """'numbers', 'vectors' (with their length) or 'symbols'; Bad if mixed or not finite."""
    if not values:
        raise Bad(f"{what} is empty")
    if type(values[0]) is not str:  # the common case, checked by numpy at C speed
        try:
            a = np.asarray(values)
        except (ValueError, OverflowError):  # ragged or huge: the checks below say what is wrong
            a = np.asarray(())
        if a.dtype.kind in "iuf" and a.ndim in (1, 2) and a.size:
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                raise Bad(f"{what} holds NaN or infinity")
            return ("numbers", 1) if a.ndim == 1 else ("vectors", a.shape[1])
    types = set(map(type, values))
    if types <= NUMBER_TYPES:
        check_finite(values, what)
        return "numbers", 1
    if types == {str}:
        return "symbols", 1
    if types == {list}:
        widths = set(map(len, values))
        if len(widths) > 1:
            short, long = sorted(widths)[:2]
            raise Bad(f"{what} holds vectors of different lengths ({short} and {long})")
        flat = list(itertools.chain.from_iterable(values))
        if not flat:
            raise Bad(f"{what} holds empty vectors")
        if not set(map(type, flat)) <= NUMBER_TYPES:
            raise Bad(f"{what} holds vectors with something other than numbers")
        check_finite(flat, what)
        return "vectors", widths.pop()
    raise Bad(f"{what} must be numbers, vectors of numbers, or strings (not a mixture)")


def target_kind(values: list[Any], what: str) -> tuple[TargetKind, int]:
    """Targets: strings or integers are classes; numbers with a float among them are numbers."""
    types = set(map(type, values))
    if types and types <= {int, str}:
        return "classes", 1
    kind, width = value_kind(values, what)
    if kind == "symbols":
        raise Bad(f"{what} mixes strings and numbers")
    return ("vectors" if kind == "vectors" else "numbers"), width


def agree(kinds: Kinds, found: tuple[str, int], part: Literal["inputs", "targets"], what: str,
          first: str) -> None:  # fmt: skip
    """Record the first line's kinds; later lines must have the same."""
    kind, width = found
    have = kinds.inputs if part == "inputs" else kinds.targets
    have_width = kinds.width if part == "inputs" else kinds.target_width
    if have is None:
        if part == "inputs":
            kinds.inputs, kinds.width = kind, width  # type: ignore[assignment]
        else:
            kinds.targets, kinds.target_width = kind, width  # type: ignore[assignment]
        return
    if part == "targets" and have == "numbers" and kind == "classes":
        return  # whole numbers among numeric targets are numbers
    if kind != have:
        raise Bad(f"{what} are {kind} but the file's are {have} (from {first})")
    if width != have_width:
        raise Bad(f"{what} are vectors of {width} numbers but the file's have {have_width}"
                  f" (from {first})")  # fmt: skip


def parse_json(raw: str, kinds: Kinds, first: str, targets_needed: bool = True) -> Record:
    """One JSON line as a Record, checked against (and the first time setting) `kinds`;
    `first` says where the file's kinds were found ("line 1")."""
    try:
        obj = json.loads(raw, parse_constant=_constant)
    except Bad:
        raise
    except ValueError as error:
        raise Bad(f"malformed JSON ({error})") from None
    if not isinstance(obj, dict):
        raise Bad('must be a JSON object like {"input": [...], "label": ...}')
    if "input" not in obj:
        raise Bad("missing field 'input'")
    present = [f for f in FIELDS if f in obj]
    if len(present) > 1:
        raise Bad(f"has both '{present[0]}' and '{present[1]}'; a line has one of target,"
                  " label, output")  # fmt: skip
    if kinds.form is None:
        if not present:
            raise Bad("missing field: one of 'target', 'label' or 'output'")
        kinds.form = FIELDS[present[0]]
    elif present and FIELDS[present[0]] != kinds.form:
        raise Bad(f"is {FIELDS[present[0]]} ('{present[0]}') but the file is {kinds.form}"
                  f" (from {first}): one form per file")  # fmt: skip
    elif not present and targets_needed:
        field = next(f for f, form in FIELDS.items() if form == kinds.form)
        raise Bad(f"missing field '{field}'")
    inputs = obj["input"]
    if not isinstance(inputs, list):
        raise Bad("'input' must be a list, one item per step")
    agree(kinds, value_kind(inputs, "'input'"), "inputs", "its inputs", first)
    if not present:
        steps = obj.get("steps", len(inputs)) if kinds.form == "read-then-write" else 0
        return Record(inputs, None, steps if isinstance(steps, int) and steps > 0 else 0)
    field = present[0]
    value = obj[field]
    if kinds.form == "classification":
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not all(map(is_number, value)):
            raise Bad("'label' must be a class (a string or an integer), a number or a vector")
        found = target_kind([values] if isinstance(value, list) else values, "its label")
        agree(kinds, found, "targets", "its labels", first)
        return Record(inputs, [value])
    if not isinstance(value, list):
        raise Bad(f"'{field}' must be a list, one item per step")
    if kinds.form == "labelling" and len(value) != len(inputs):
        raise Bad(f"'target' has {len(value)} steps but 'input' has {len(inputs)}")
    agree(kinds, target_kind(value, f"'{field}'"), "targets", f"its {field}s", first)
    return Record(inputs, value, len(value) if kinds.form == "read-then-write" else 0)
