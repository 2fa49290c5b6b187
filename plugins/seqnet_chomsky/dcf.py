"""The deterministic context-free tasks of Delétang et al. (2023): a stack solves each.

Layout for all (seqnet_chomsky.layout): the ℓ input tokens, then one blank per output token.
Token ids follow the paper's code (tasks/dcf/*.py).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import numpy as np
from pydantic import Field

from seqnet import Array, spec_init
from seqnet_chomsky.expressions import Symbols, draw_expressions, evaluate
from seqnet_chomsky.layout import LayoutTask, LengthSpec
from seqnet_chomsky.regular import ModulusSpec

DIGITS = "0123456789"


class SymbolsSpec(LengthSpec):
    symbols: Annotated[int, Field(ge=2, le=10, description="alphabet size")] = 2


class SymbolsTask(LayoutTask):
    """Tasks over an alphabet of `symbols` digits, in and out: ℓ uniform tokens in, and the
    outputs a function of them (`answer`)."""

    Spec: ClassVar[type[LengthSpec]] = SymbolsSpec
    spec: SymbolsSpec

    @spec_init(SymbolsSpec)
    def __init__(self, spec: SymbolsSpec) -> None:
        self.spec = spec

    @property
    def inputs(self) -> str:
        return DIGITS[: self.spec.symbols]

    @property
    def outputs(self) -> str:
        return DIGITS[: self.spec.symbols]

    def draw(self, rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
        tokens = rng.integers(0, self.spec.symbols, size=(length, batch))
        return tokens, self.answer(tokens)


class StackManipulationTask(LayoutTask):
    """Stack manipulation: run push/pop instructions on a given stack, then pop it all out.

    Inputs `01pab`: ids 0, 1 are stack bits, 2 = `p` POP, 3 = `a` PUSH 0, 4 = `b` PUSH 1. For
    ℓ ≥ 2 a starting stack of s uniform bits (s uniform in [1, ℓ − 1], given bottom to top), then
    ℓ − s instructions uniform over the three; POP on an empty stack does nothing. ℓ = 1: one bit.
    ℓ + 1 outputs `01$`: the final stack top to bottom, the terminator `$` (id 2), then 0s.
    The metrics count the outputs up to and including the terminator; the loss trains on all
    ℓ + 1 (the code's accuracy_mask and loss). Follows tasks/dcf/stack_manipulation.py.
    """

    name: ClassVar[str] = "stack_manipulation"
    inputs = "01pab"
    outputs = "01$"
    terminator: ClassVar[int | None] = 2

    def draw(self, rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
        depth = rng.integers(1, max(length, 2), size=batch)  # the starting stack's size s
        bits = rng.integers(0, 2, size=(length, batch))
        actions = rng.integers(2, 5, size=(length, batch))
        tokens = np.where(np.arange(length)[:, None] < depth, bits, actions)  # (ℓ, B)
        return tokens, self.answer(tokens)

    def answer(self, tokens: Array) -> Array:
        """The outputs (ℓ+1, B) for inputs (ℓ, B): the leading bits are the starting stack."""
        length, batch = tokens.shape
        cols = np.arange(batch)
        action = tokens >= 2  # (ℓ, B)
        depth = np.where(action.any(axis=0), np.argmax(action, axis=0), length)  # (B,)
        stack = np.where(action, 0, tokens)  # (ℓ, B), bottom first; never more than ℓ cells
        top = depth.copy()  # cells in use
        for t in range(int(depth.min()), length):  # the instructions, every sequence at once
            act = tokens[t]
            live = t >= depth
            push = live & (act >= 3)
            pop = live & (act == 2)
            stack[top[push], cols[push]] = act[push] - 3
            top = np.where(push, top + 1, np.where(pop, np.maximum(top - 1, 0), top))
        k = np.arange(length + 1)[:, None]  # output position, (ℓ+1, 1)
        below = np.clip(top - 1 - k, 0, length - 1)  # (ℓ+1, B): the cell popped at k
        out: Array = np.where(k < top, stack[below, cols], np.where(k == top, 2, 0))
        return out


class ReverseStringTask(SymbolsTask):
    """Reverse string: the input, read backwards.

    Inputs and outputs `01` (option `symbols`, default 2 as in the paper); ℓ uniform tokens,
    ℓ outputs. Follows the paper and tasks/dcf/reverse_string.py.
    """

    name: ClassVar[str] = "reverse_string"

    def answer(self, tokens: Array) -> Array:
        return tokens[::-1]


class ModularArithmeticTask(LayoutTask):
    """Modular arithmetic with brackets: the value of a bracketed expression modulo 5.

    Inputs `01234+-*()x` (digits, then + − * ( ) at ids 5..9; `x`, id 10, is in the code's
    alphabet but never occurs). Expressions of exactly ℓ tokens from the code's grammar
    (seqnet_chomsky.expressions; e.g. ℓ = 7 can give `(3*-2)`), with + − * (the paper's
    task list builds it with mult=True). One output, the value mod 5. Follows
    tasks/dcf/modular_arithmetic_brackets.py (called `modular_arithmetic_brackets` there).
    """

    name: ClassVar[str] = "modular_arithmetic"
    Spec: ClassVar[type[LengthSpec]] = ModulusSpec
    spec: ModulusSpec

    @spec_init(ModulusSpec)
    def __init__(self, spec: ModulusSpec) -> None:
        self.spec = spec

    @property
    def inputs(self) -> str:
        return DIGITS[: self.spec.modulus] + "+-*()x"

    @property
    def outputs(self) -> str:
        return DIGITS[: self.spec.modulus]

    def draw(self, rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
        mod = self.spec.modulus
        tokens, values = draw_expressions(rng, batch, length, mod, 3, self.ids)
        return tokens, values[None]

    @property
    def ids(self) -> Symbols:
        mod = self.spec.modulus
        return Symbols(plus=mod, minus=mod + 1, times=mod + 2, open=mod + 3, close=mod + 4)

    def answer(self, tokens: Array) -> Array:
        """The values (1, B), one expression at a time (the draws compute them as they go)."""
        mod = self.spec.modulus
        return np.array([[evaluate(list(column), self.ids, mod) for column in tokens.T]])


class SolveEquationTask(LayoutTask):
    """Solve equation: find the digit hidden as `x` in `expression = value` (mod 5).

    Inputs `01234+-()x=` (digits, + − ( ) x = at ids 5..10). For ℓ ≥ 3: a bracketed expression
    of ℓ − 2 tokens with + and − only (so the answer is unique), one digit replaced by `x` (a
    position uniform in the expression, moved forward, wrapping, to the next digit), then `=`
    and the expression's value. One output: the hidden digit. ℓ < 3: the code's placeholder,
    ℓ tokens `0` and the answer 0. Follows tasks/dcf/solve_equation.py; the paper's text lists
    * among the operators, the code leaves it out ("mult=False … was used in the paper").
    """

    name: ClassVar[str] = "solve_equation"
    Spec: ClassVar[type[LengthSpec]] = ModulusSpec
    spec: ModulusSpec

    @spec_init(ModulusSpec)
    def __init__(self, spec: ModulusSpec) -> None:
        self.spec = spec

    @property
    def inputs(self) -> str:
        return DIGITS[: self.spec.modulus] + "+-()x="

    @property
    def outputs(self) -> str:
        return DIGITS[: self.spec.modulus]

    def draw(self, rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
        mod = self.spec.modulus
        if length < 3:
            return np.zeros((length, batch), dtype=np.int64), np.zeros((1, batch), np.int64)
        n = length - 2
        expression, values = draw_expressions(rng, batch, n, mod, 2, self.ids)
        start = rng.integers(0, n, size=batch)
        digit = np.concatenate([expression, expression]) < mod  # (2n, B): wrap around
        here = digit & (np.arange(2 * n)[:, None] >= start)
        hidden = np.argmax(here, axis=0) % n  # (B,): the first digit at or after start
        cols = np.arange(batch)
        answer = expression[hidden, cols]
        expression[hidden, cols] = self.ids.x
        tail = np.stack([np.full(batch, mod + 5), values])  # = value
        return np.concatenate([expression, tail]), answer[None]

    @property
    def ids(self) -> Symbols:
        mod = self.spec.modulus
        return Symbols(plus=mod, minus=mod + 1, times=-1, open=mod + 2, close=mod + 3, x=mod + 4)

    def answer(self, tokens: Array) -> Array:
        """The hidden digits (1, B), one equation at a time: with + and − only, the left side
        is v₀ ± x, so x = ±(right − v₀) (the draws know the digit they hid)."""
        mod = self.spec.modulus
        out = []
        for column in tokens.T:
            if len(column) < 3:  # the code's placeholder: ℓ zeros, answer 0
                out.append(0)
                continue
            *left, equals, right = (int(t) for t in column)
            if equals != mod + 5 or right >= mod or left.count(mod + 4) != 1:
                raise ValueError("give an equation with one x, like (x-3)=1")
            base = evaluate(left, self.ids, mod, x=0)
            sign = evaluate(left, self.ids, mod, x=1) - base  # ±1 mod `mod`
            out.append((right - base) * sign % mod)
        return np.array([out])
