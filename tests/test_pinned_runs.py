"""Default runs keep their numbers bit for bit: pinned specs give the floats they gave before."""

from __future__ import annotations

import json

import pytest

from tests.pinned_runs import OUTCOMES, PINNED, outcome

RECORDED = json.loads(OUTCOMES.read_text())


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_pinned_spec_gives_the_recorded_numbers(name: str) -> None:
    # on whichever LSTM path is installed: the numba kernels keep numpy's order of operations
    assert outcome(PINNED / f"{name}.yaml") == RECORDED[name]


def test_every_pinned_spec_has_recorded_numbers() -> None:
    assert sorted(p.stem for p in PINNED.glob("*.yaml")) == sorted(RECORDED)
