"""The regular tasks of Delétang et al. (2023): a finite automaton solves each at any length.

Layout for all (seqnet_chomsky.layout): the ℓ input tokens, then one blank; the answer is the one
output read at that blank. Token ids follow the paper's code (tasks/regular/*.py).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import numpy as np
from pydantic import Field

from seqnet import Array, spec_init
from seqnet_chomsky.layout import LayoutTask, LengthSpec


class ModulusSpec(LengthSpec):
    modulus: Annotated[int, Field(ge=2, le=10, description="numbers are taken modulo this")] = 5


class EvenPairsTask(LayoutTask):
    """Even pairs: is the number of 01 and 10 pairs in a bit string even (0) or odd (1)?

    Inputs `01` (ids 0, 1), ℓ uniform bits; one output, 0 = even, 1 = odd. The count of unequal
    neighbours is odd exactly when the first and last bits differ (the paper's §A.3 says so).
    Follows the paper and its code (tasks/regular/even_pairs.py) exactly.
    """

    name: ClassVar[str] = "even_pairs"
    inputs = "01"
    outputs = "01"

    def draw(self, rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
        bits = rng.integers(0, 2, size=(length, batch))  # (ℓ, B)
        return bits, self.answer(bits)

    def answer(self, tokens: Array) -> Array:
        return np.asarray((np.sum(tokens[1:] != tokens[:-1], axis=0) % 2)[None])


class ParityCheckTask(LayoutTask):
    """Parity check: is the number of 1s in a bit string even (0) or odd (1)?

    Inputs `01`, ℓ uniform bits; one output. Unlike `parity` (a running parity scored at every
    step), only the answer after the whole string is scored. Follows the paper and its code
    (tasks/regular/parity_check.py).
    """

    name: ClassVar[str] = "parity_check"
    inputs = "01"
    outputs = "01"

    def draw(self, rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
        bits = rng.integers(0, 2, size=(length, batch))  # (ℓ, B)
        return bits, self.answer(bits)

    def answer(self, tokens: Array) -> Array:
        return np.asarray((tokens.sum(axis=0) % 2)[None])


class CycleNavigationTask(LayoutTask):
    """Cycle navigation: where on a cycle of 5 states does a walk of ℓ moves end, from 0?

    Inputs `<=>` (ids 0, 1, 2: one step back, stay, one step on), uniform; one output, the
    final state in 0..4. Follows the code (tasks/regular/cycle_navigation.py: token t moves by
    t − 1); the paper's text numbers the moves 0 = stay, 1 = +1, 2 = −1, a relabelling.
    """

    name: ClassVar[str] = "cycle_navigation"
    inputs = "<=>"
    outputs = "01234"

    def draw(self, rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
        moves = rng.integers(0, 3, size=(length, batch))  # (ℓ, B)
        return moves, self.answer(moves)

    def answer(self, tokens: Array) -> Array:
        return np.asarray((np.sum(tokens - 1, axis=0) % 5)[None])


class ModularArithmeticSimpleTask(LayoutTask):
    """Modular arithmetic without brackets: the value of `d op d op … d` modulo 5.

    Inputs: digits 0..4 (ids 0..4), `+ - *` (ids 5, 6, 7) and `_` (id 8, a blank the code
    reserves and never samples). An even ℓ is lowered by one (as the code does), so inputs have
    odd length: uniform digits at even positions, operators uniform over + * − between them.
    One output, the value mod 5 with the usual precedence (* before + and −): 1+2*3 → 2,
    1-1-1 → 4. Follows the code (tasks/regular/modular_arithmetic.py, which the code's task list
    calls `modular_arithmetic`); the paper's text says an even length is raised by one instead.
    """

    name: ClassVar[str] = "modular_arithmetic_simple"
    Spec: ClassVar[type[LengthSpec]] = ModulusSpec
    spec: ModulusSpec

    @spec_init(ModulusSpec)
    def __init__(self, spec: ModulusSpec) -> None:
        self.spec = spec

    @property
    def inputs(self) -> str:
        return "0123456789"[: self.spec.modulus] + "+-*_"

    @property
    def outputs(self) -> str:
        return "0123456789"[: self.spec.modulus]

    def draw(self, rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
        mod = self.spec.modulus
        n = length - 1 + length % 2  # odd
        digits = rng.integers(0, mod, size=(n // 2 + 1, batch))  # (k+1, B)
        ops = rng.choice(np.array([mod, mod + 2, mod + 1]), size=(n // 2, batch))  # + * −
        tokens = np.empty((n, batch), dtype=np.int64)
        tokens[0::2], tokens[1::2] = digits, ops
        return tokens, self.answer(tokens)

    def answer(self, tokens: Array) -> Array:
        mod = self.spec.modulus
        digits, ops = tokens[0::2], tokens[1::2]
        if (
            len(tokens) % 2 == 0
            or (digits >= mod).any()
            or (ops < mod).any()
            or (ops > mod + 2).any()
        ):
            raise ValueError("give digits and operators in turn, like 1+2*3")
        return evaluate_flat(digits, ops - mod, mod)[None]


def evaluate_flat(digits: Array, ops: Array, mod: int) -> Array:
    """Values (B,) of `digits[0] ops[0] digits[1] …` mod `mod`, * before + and −.

    digits (k+1, B) in [0, mod); ops (k, B) with 0 = +, 1 = −, 2 = *. One pass over the
    operators, vectorised over the batch: `total` holds the finished terms, `term` the signed
    product being built.
    """
    total = np.zeros(digits.shape[1], dtype=np.int64)
    term = digits[0].astype(np.int64)
    for op, digit in zip(ops, digits[1:], strict=True):
        times = op == 2
        total = np.where(times, total, total + term)
        term = np.where(times, term * digit, np.where(op == 0, digit, -digit)) % mod
    value: Array = (total + term) % mod
    return value
