"""The Stack-RNN and Tape-RNN cells: an Elman controller with a differentiable stack or tape
(Joulin & Mikolov 2015; Delétang et al. 2023), each memory sized by the sequence it reads.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from seqnet import Array, Carry, InitScheme, Params, PluginSpec, spec_init
from seqnet_memory.controller import Controller
from seqnet_memory.memories import (
    stack_update,
    stack_update_backward,
    tape_update,
    tape_update_backward,
)

MAX_CELL = 1024
MAX_ROWS = 1_000_000


class MemorySpec(PluginSpec):
    hidden: Annotated[int, Field(gt=0, description="controller hidden units")]
    cell_size: Annotated[int, Field(gt=0, le=MAX_CELL, description="numbers per memory cell")] = 8
    memory: Annotated[
        int,
        Field(
            gt=0,
            le=MAX_ROWS,
            description="memory cells when the sequence length is unknown (one step at a time);"
            " a whole sequence of T steps gets T + 1",
        ),
    ] = 16
    activation: Literal["relu", "tanh"] = Field("relu", description="controller nonlinearity")
    init: InitScheme = Field(
        "uniform",
        description="uniform ±1/√H (PyTorch) or Glorot W_x with orthogonal W_h (Keras)",
    )


class _MemoryCell:
    """What both cells share: options, a Controller to delegate to, memory sized by length."""

    Spec: ClassVar[type[MemorySpec]]
    actions: ClassVar[int]
    counts: ClassVar[bool]

    def setup(self, spec: MemorySpec) -> None:
        """The cell of a validated spec; each cell's `__init__` (from its own Spec) calls it."""
        self.spec = spec
        self.hidden = spec.hidden
        update, backward = (
            (tape_update, tape_update_backward)
            if self.counts
            else (stack_update, stack_update_backward)
        )
        self.controller = Controller(
            self.hidden, self.spec.cell_size, self.actions, self.spec.activation,
            self.spec.init, update, backward, self.counts,
        )  # fmt: skip

    def init(self, rng: np.random.Generator, input_size: int) -> Params:
        return self.controller.init(rng, input_size)

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> Carry:
        return self.controller.carry(batch, dtype, self.spec.memory)

    def initial_carry_for(self, batch: int, dtype: np.dtype[Any], steps: int) -> Carry:
        """A fresh carry for a sequence of `steps` steps: steps + 1 memory cells, so that no
        push ever drops a cell that holds anything, and no run of moves wraps the tape onto a
        cell it has written."""
        return self.controller.carry(batch, dtype, steps + 1)

    def step(self, params: Params, x_t: Array, carry: Carry) -> tuple[Carry, Array, Any]:
        return self.controller.step(params, x_t, carry)

    def step_backward(
        self, params: Params, cache: Any, dh_t: Array, dcarry: Carry
    ) -> tuple[Array, Carry, Params]:
        return self.controller.step_backward(params, cache, dh_t, dcarry)

    def forward(self, params: Params, x: Array, carry: Carry) -> tuple[Array, Carry, Any]:
        return self.controller.forward(params, x, carry)

    def backward(
        self, params: Params, cache: Any, dh: Array, dcarry: Carry, input_grad: bool = True
    ) -> tuple[Array | None, Carry, Params]:
        return self.controller.backward(params, cache, dh, dcarry, input_grad)


class StackRNNCell(_MemoryCell):
    """Stack-RNN: an Elman controller reading the top of a differentiable stack.

    r_t = s_{t-1}[0];  h_t = act(x_t W_x + r_t W_r + h_{t-1} W_h + b);
    v_t = h_t W_v + b_v;  (p_push, p_pop, p_noop) = softmax(h_t W_a + b_a);
    s_t[0] = p_push v_t + p_pop s_{t-1}[1] + p_noop s_{t-1}[0];
    s_t[i] = p_push s_{t-1}[i-1] + p_pop s_{t-1}[i+1] + p_noop s_{t-1}[i]  (s_{t-1}[S] = 0).
    The output is h_t (so the top read at step t reflects the actions up to t-1), as in the
    paper's code. The carry is (h (B, H), s (B, S, M)); W_x (D, H), W_r (M, H), W_h (H, H),
    b (H,), W_v (H, M), b_v (M,), W_a (H, 3), b_a (3,). A whole sequence of T steps starts
    from a stack of T + 1 cells, so nothing that was pushed is ever dropped.
    """

    name: ClassVar[str] = "stack_rnn"
    actions: ClassVar[int] = 3
    counts: ClassVar[bool] = False

    class Spec(MemorySpec):
        pass

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.setup(spec)


class TapeRNNCell(_MemoryCell):
    """Tape-RNN: an Elman controller reading the cell under the head of a circular tape.

    r_t = T_{t-1}[0];  h_t = act(x_t W_x + r_t W_r + h_{t-1} W_h + b);  v_t = h_t W_v + b_v;
    p = softmax(h_t W_a + b_a) over (stay, left, right, jump left, jump right);
    T' = T_{t-1} with row 0 replaced by v_t (every action writes);
    T_t[m] = Σ_A p_A T'[(m + k_A) mod N], k = (0, +1, −1, +L_t, −L_t).
    L_t counts the steps so far whose input is not the blank (the last input feature above
    0.5): the input length once the blanks begin. The carry is (h (B, H), T (B, N, M),
    L (B,)); the weights are those of StackRNNCell with W_a (H, 5), b_a (5,). A whole
    sequence of T steps gets a tape of T + 1 cells.
    """

    name: ClassVar[str] = "tape_rnn"
    actions: ClassVar[int] = 5
    counts: ClassVar[bool] = True

    class Spec(MemorySpec):
        pass

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.setup(spec)
