"""The engine's time loop: any cell that writes only a step is unrolled and backpropagated."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seqnet import recurrent
from seqnet.interfaces import Array, Carry, Params
from seqnet.testing import check_cell_gradients
from seqnet_elman import ElmanCell


class StepOnlyCell:
    """Elman's step and step_backward alone: the engine must do the rest."""

    name: ClassVar[str] = "step-only"

    def __init__(self, hidden: int) -> None:
        self.inner = ElmanCell(hidden=hidden)
        self.hidden = hidden

    def init(self, rng: np.random.Generator, input_size: int) -> Params:
        return self.inner.init(rng, input_size)

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> Carry:
        return self.inner.initial_carry(batch, dtype)

    def step(self, params: Params, x_t: Array, carry: Carry) -> tuple[Carry, Array, Any]:
        return self.inner.step(params, x_t, carry)

    def step_backward(
        self, params: Params, cache: Any, dh_t: Array, dcarry: Carry
    ) -> tuple[Array, Carry, Params]:
        return self.inner.step_backward(params, cache, dh_t, dcarry)


def test_a_step_only_cell_is_unrolled_by_the_engine() -> None:
    cell = StepOnlyCell(hidden=3)
    assert not recurrent.has_sequence_methods(cell)
    check_cell_gradients(cell, input_size=2, T=6, B=2)


@settings(max_examples=25, deadline=None)
@given(
    B=st.integers(1, 4), D=st.integers(1, 4), H=st.integers(1, 5), seed=st.integers(0, 2**32 - 1)
)
def test_one_step_unroll_equals_one_step(B: int, D: int, H: int, seed: int) -> None:
    cell = ElmanCell(hidden=H)
    rng = np.random.default_rng(seed)
    params = cell.init(rng, D)
    x = rng.standard_normal((1, B, D))
    carry = (rng.standard_normal((B, H)),)
    hs, final, _ = recurrent.sequence_forward(cell, params, x, carry)
    (h_step,), h_out, _ = cell.step(params, x[0], (carry[0].copy(),))
    np.testing.assert_allclose(hs[0], h_out, rtol=1e-12)
    np.testing.assert_allclose(final[0], h_step, rtol=1e-12)


@settings(max_examples=10, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 3), D=st.integers(1, 3), H=st.integers(1, 4))
def test_gradients_at_random_shapes(T: int, B: int, D: int, H: int) -> None:
    check_cell_gradients(ElmanCell(hidden=H), input_size=D, T=T, B=B)
