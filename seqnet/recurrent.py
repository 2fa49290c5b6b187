"""Unrolls any cell over a time-major sequence and back: backprop through time, written once.

A cell that defines whole-sequence `forward`/`backward` (the built-in cells do, to hoist GEMMs
out of the time loop) is run through them; any other cell is stepped here.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any, Literal, overload

import numpy as np

from seqnet.interfaces import Array, Cache, Carry, Cell, Params, sized_carry


def has_sequence_methods(cell: Any) -> bool:
    return callable(getattr(cell, "forward", None)) and callable(getattr(cell, "backward", None))


def step_forward(cell: Cell, params: Params, x: Array, carry: Carry) -> tuple[Array, Carry, Cache]:
    """Run `cell.step` over x (T, B, D) from `carry`: returns h (T, B, H), final carry, caches."""
    hs = np.empty((x.shape[0], x.shape[1], cell.hidden), dtype=x.dtype)  # (T, B, H)
    caches = []
    for t in range(x.shape[0]):
        carry, hs[t], cache = cell.step(params, x[t], carry)
        caches.append(cache)
    return hs, carry, caches


def step_backward(
    cell: Cell, params: Params, caches: Cache, dh: Array, dcarry: Carry
) -> tuple[Array, Carry, Params]:
    """Backprop through time for `step_forward`: returns dx (T, B, D), dcarry0, grads."""
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    dx: Array | None = None
    for t in reversed(range(dh.shape[0])):
        dx_t, dcarry, step_grads = cell.step_backward(params, caches[t], dh[t], dcarry)
        if dx is None:
            dx = np.empty((dh.shape[0], *dx_t.shape), dtype=dx_t.dtype)  # (T, B, D)
        dx[t] = dx_t
        for name, g in step_grads.items():
            grads[name] += g
    assert dx is not None, "a sequence has at least one step"
    return dx, dcarry, grads


def sequence_forward(
    cell: Cell, params: Params, x: Array, carry: Carry
) -> tuple[Array, Carry, Cache]:
    """h (T, B, H), final carry and a cache, by the cell's own sequence method if it has one."""
    if has_sequence_methods(cell):
        return cell.forward(params, x, carry)  # type: ignore[attr-defined, no-any-return]
    return step_forward(cell, params, x, carry)


@cache
def skips_input_grad(cell_type: type) -> bool:
    """Whether a cell class's sequence `backward` takes `input_grad` (and may then skip dx)."""
    backward = getattr(cell_type, "backward", None)
    return callable(backward) and "input_grad" in inspect.signature(backward).parameters


@overload
def sequence_backward(
    cell: Cell,
    params: Params,
    cache: Cache,
    dh: Array,
    dcarry: Carry,
    *,
    input_grad: Literal[True] = ...,
) -> tuple[Array, Carry, Params]: ...
@overload
def sequence_backward(
    cell: Cell, params: Params, cache: Cache, dh: Array, dcarry: Carry, *, input_grad: bool
) -> tuple[Array | None, Carry, Params]: ...
def sequence_backward(
    cell: Cell, params: Params, cache: Cache, dh: Array, dcarry: Carry, *, input_grad: bool = True
) -> tuple[Array | None, Carry, Params]:
    """dx (T, B, D), the initial carry's gradient and parameter gradients.

    `input_grad=False` says nobody needs dx (the layer's input is data): a cell whose sequence
    `backward` takes `input_grad` then skips its GEMM and returns None for dx. That GEMM is a
    sixth of a one-layer step's matrix work.
    """
    if has_sequence_methods(cell):
        if not input_grad and skips_input_grad(type(cell)):
            return cell.backward(params, cache, dh, dcarry, input_grad=False)  # type: ignore[attr-defined, no-any-return]
        return cell.backward(params, cache, dh, dcarry)  # type: ignore[attr-defined, no-any-return]
    return step_backward(cell, params, cache, dh, dcarry)


def zeros_like_carry(carry: Carry) -> Carry:
    return tuple(np.zeros_like(part) for part in carry)


class CellLayer:
    """Any cell as a Layer: run over the sequence, or over it reversed when `reverse` is set.

    Reversed, the cell reads x_{T-1} first and y is given back in the input's time order, so
    y_t is the state after reading x_{T-1} .. x_t; the final carry is the one after x_0.
    Params, carry and the output size (`cell.hidden`) are the cell's own.
    """

    def __init__(self, cell: Cell, reverse: bool = False) -> None:
        self.cell = cell
        self.reverse = reverse
        self.causal = not reverse  # y_t depends on x_0..x_t only when read forward

    @property
    def name(self) -> str:
        return self.cell.name

    def init(self, rng: np.random.Generator, input_size: int) -> Params:
        return self.cell.init(rng, input_size)

    def output_size(self, input_size: int) -> int:
        return self.cell.hidden

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> Carry:
        return self.cell.initial_carry(batch, dtype)

    def initial_carry_for(self, batch: int, dtype: np.dtype[Any], steps: int) -> Carry:
        """A carry sized for `steps` when the cell's memory grows with the input (SizedCarry)."""
        if sized_carry(self.cell):
            return self.cell.initial_carry_for(batch, dtype, steps)
        return self.cell.initial_carry(batch, dtype)

    def forward(
        self, params: Params, x: Array, carry: Carry, rng: np.random.Generator | None = None
    ) -> tuple[Array, Carry, Cache]:
        if self.reverse:
            x = x[::-1]  # a view; the cell's reshapes copy it into time order
        h, final, cache = sequence_forward(self.cell, params, x, carry)
        return (h[::-1] if self.reverse else h), final, cache

    def backward(
        self, params: Params, cache: Cache, dy: Array, dcarry: Carry, input_grad: bool = True
    ) -> tuple[Array | None, Carry, Params]:
        # y = h[::-1] when reversed: the gradient flows back through the same reversal
        dh = dy[::-1] if self.reverse else dy
        dx, dcarry0, grads = sequence_backward(
            self.cell, params, cache, dh, dcarry, input_grad=input_grad
        )
        if self.reverse and dx is not None:
            dx = dx[::-1]  # x was read reversed
        return dx, dcarry0, grads
