"""Default runs keep their numbers bit for bit: pinned specs give the floats they gave before.

Bit for bit on a machine that rounds as the recording one did (tests/numerics.py); elsewhere the
same run to a relative 1e-6 (1e-4 in float32) in every logged number, and the same steps.
"""

from __future__ import annotations

import json

import pytest

import seqnet
from tests.numerics import EXACT, close
from tests.pinned_runs import OUTCOMES, PINNED, outcome

RECORDED = json.loads(OUTCOMES.read_text())


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_pinned_spec_gives_the_recorded_numbers(name: str) -> None:
    # on whichever LSTM path is installed: the numba kernels keep numpy's order of operations
    path = PINNED / f"{name}.yaml"
    got = outcome(path)
    if EXACT:
        assert got == RECORDED[name]
    else:
        float32 = seqnet.load_spec(str(path)).model.dtype == "float32"
        close(got, RECORDED[name], rel=1e-4 if float32 else 1e-6)


def test_every_pinned_spec_has_recorded_numbers() -> None:
    assert sorted(p.stem for p in PINNED.glob("*.yaml")) == sorted(RECORDED)
