"""The context-sensitive tasks of Delétang et al. (2023): each needs more than a stack.

Layout for all (seqnet_chomsky.layout): the ℓ input tokens, then one blank per output token.
Token ids follow the paper's code (tasks/cs/*.py).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import numpy as np
from pydantic import Field

from seqnet import Array, spec_init
from seqnet_chomsky import binary
from seqnet_chomsky.dcf import SymbolsSpec, SymbolsTask
from seqnet_chomsky.layout import LayoutTask, LengthSpec


class BucketSpec(SymbolsSpec):
    symbols: Annotated[int, Field(ge=2, le=10, description="alphabet size")] = 5


class DuplicateStringTask(SymbolsTask):
    """Duplicate string: the input twice, with nothing between.

    Inputs and outputs `01` (option `symbols`, default 2 as in the paper); ℓ uniform tokens,
    2ℓ outputs. Follows the paper and tasks/cs/duplicate_string.py.
    """

    name: ClassVar[str] = "duplicate_string"

    def answer(self, tokens: Array) -> Array:
        return np.concatenate([tokens, tokens])


class OddsFirstTask(SymbolsTask):
    """Odds first: the tokens at odd positions, then those at even ones.

    Inputs and outputs `01` (option `symbols`, default 2); ℓ uniform tokens, ℓ outputs. Follows
    the code (tasks/cs/odds_first.py), which puts the tokens at 0-based odd indices first:
    t₂ t₄ t₆ … t₁ t₃ t₅ … (1-based), so 00110101 → 0111 0100. The paper's text and the code's
    own docstring say t₁ t₃ t₅ … first (00110101 → 0100 0111); the two are mirror images.
    """

    name: ClassVar[str] = "odds_first"

    def answer(self, tokens: Array) -> Array:
        return np.concatenate([tokens[1::2], tokens[0::2]])


class BucketSortTask(SymbolsTask):
    """Bucket sort: the input tokens in ascending order.

    Inputs and outputs `01234` (option `symbols`, default 5 as in the paper); ℓ uniform tokens,
    ℓ outputs. Follows the paper and tasks/cs/bucket_sort.py.
    """

    name: ClassVar[str] = "bucket_sort"
    Spec: ClassVar[type[LengthSpec]] = BucketSpec
    spec: BucketSpec

    @spec_init(BucketSpec)
    def __init__(self, spec: BucketSpec) -> None:
        self.spec = spec

    def answer(self, tokens: Array) -> Array:
        return np.sort(tokens, axis=0)


class MissingDuplicateTask(LayoutTask):
    """Missing duplicate: in ww with one token hidden, which bit is hidden?

    Inputs `01?_`: w is ⌊ℓ/2⌋ uniform bits, one position of ww (uniform) is replaced by `?`
    (id 2), and an odd ℓ gets one padding `_` (id 3) at the end. One output, the hidden bit.
    ℓ = 1: the code's placeholder, input `1` and answer 1. Follows
    tasks/cs/missing_duplicate_string.py. With two symbols the answer is also the parity of the
    bits shown (ww has an even number of 1s): a regular shortcut, open to any RNN.
    """

    name: ClassVar[str] = "missing_duplicate"
    inputs = "01?_"
    outputs = "01"

    def draw(self, rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
        if length == 1:
            return np.ones((1, batch), dtype=np.int64), np.ones((1, batch), dtype=np.int64)
        half = rng.integers(0, 2, size=(length // 2, batch))
        tokens = np.concatenate([half, half, np.full((length % 2, batch), 3)])  # (ℓ, B)
        hidden = rng.integers(0, 2 * (length // 2), size=batch)
        tokens[hidden, np.arange(batch)] = 2
        return tokens, self.answer(tokens)

    def answer(self, tokens: Array) -> Array:
        """The bit (1, B) opposite the `?`, half the string away (1 for the placeholder `1`)."""
        length, batch = tokens.shape
        if length == 1:
            return np.ones((1, batch), dtype=np.int64)
        half = length // 2
        hidden = np.argmax(tokens == 2, axis=0)  # (B,)
        if not (np.sum(tokens == 2, axis=0) == 1).all():
            raise ValueError("give a doubled string with one ?, like 01?010")
        return np.asarray(tokens[(hidden + half) % (2 * half), np.arange(batch)][None])


def operands(rng: np.random.Generator, batch: int, length: int) -> Array:
    """Tokens (ℓ, B) of two numbers n, m ≥ 1 written in ℓ − 1 bits together, least significant
    bit first, each zero-filled to its width (n's width uniform in [1, ℓ − 2]), with token 2
    between them."""
    width = rng.integers(1, length - 1, size=batch)  # n's width a; m's is ℓ − 1 − a
    first = binary.nonzero_bits(rng, width, length - 2)  # (ℓ−2, B)
    second = binary.nonzero_bits(rng, length - 1 - width, length - 2)
    t = np.arange(length)[:, None]  # (ℓ, 1)
    cols = np.arange(batch)
    from_first = first[np.minimum(t, length - 3), cols]
    from_second = second[np.clip(t - width - 1, 0, length - 3), cols]
    tokens: Array = np.where(t < width, from_first, np.where(t == width, 2, from_second))
    return tokens


def split_operands(tokens: Array) -> tuple[Array, Array]:
    """The numbers (B,) each on either side of the operator (token 2) in tokens (ℓ, B); with
    no operator (the code's inputs of length ≤ 2) the whole input is n and m is 0."""
    length, batch = tokens.shape
    operator = tokens == 2
    if (operator.sum(axis=0) > 1).any():
        raise ValueError("give two binary numbers around one operator, like 011+1")
    width = np.where(operator.any(axis=0), np.argmax(operator, axis=0), length)  # (B,)
    t = np.arange(length)[:, None]
    cols = np.arange(batch)
    first = np.where(t < width, tokens, 0)  # (ℓ, B)
    second = np.where(
        t < length - 1 - width, tokens[np.minimum(t + width + 1, length - 1), cols], 0
    )
    return binary.to_ints(first), binary.to_ints(second)


def small_operand(rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
    """ℓ ≤ 2: one number uniform in [0, 2^ℓ − 2] in ℓ bits, least significant first."""
    values = rng.integers(0, 2**length - 1, size=batch)
    return binary.to_bits(values, length), values


class BinaryAdditionTask(LayoutTask):
    """Binary addition: n + m, both written least significant bit first.

    Inputs `01+` (ids 0, 1, and 2 = `+`): for ℓ ≥ 3, n's bits, `+`, m's bits, n and m uniform
    in [1, 2^a − 1] and [1, 2^b − 1] with a uniform in [1, ℓ − 2], b = ℓ − 1 − a, each written
    in exactly its width (zero-filled). ℓ + 1 outputs `01$`: n + m's bits without trailing
    zeros, the terminator `$` (id 2), then 0s. ℓ ≤ 2: one number in [0, 2^ℓ − 2], no `+`, and
    its bits as the answer (`0` for zero). Counted up to the terminator, as stack_manipulation.
    Follows tasks/cs/binary_addition.py. Not the same task as `binadd` (two aligned operands
    read side by side, one output per input step).
    """

    name: ClassVar[str] = "binary_addition"
    inputs = "01+"
    outputs = "01$"
    terminator: ClassVar[int | None] = 2

    def draw(self, rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
        if length <= 2:
            tokens, _ = small_operand(rng, batch, length)
            return tokens, self.answer(tokens)
        tokens = operands(rng, batch, length)
        return tokens, self.answer(tokens)

    def answer(self, tokens: Array) -> Array:
        n, m = split_operands(tokens)
        return binary.terminated(n + m, len(tokens) + 1)


class BinaryMultiplicationTask(LayoutTask):
    """Binary multiplication: n × m, both written least significant bit first.

    Inputs `01*` (2 = `*`), drawn as binary_addition's. ℓ outputs `01$`: the product's bits
    without trailing zeros (it has at most ℓ − 1), the terminator, then 0s. ℓ ≤ 2: one number
    as input and the code's placeholder answer, ℓ − 1 zeros then the terminator. Counted up to
    the terminator. Follows tasks/cs/binary_multiplication.py.
    """

    name: ClassVar[str] = "binary_multiplication"
    inputs = "01*"
    outputs = "01$"
    terminator: ClassVar[int | None] = 2

    def draw(self, rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
        if length <= 2:
            tokens, _ = small_operand(rng, batch, length)
            return tokens, self.answer(tokens)
        tokens = operands(rng, batch, length)
        return tokens, self.answer(tokens)

    def answer(self, tokens: Array) -> Array:
        length, batch = tokens.shape
        if length <= 2:
            answer = np.zeros((length, batch), dtype=np.int64)
            answer[-1] = 2
            return answer
        n, m = split_operands(tokens)
        return binary.terminated(n * m, length)


class ComputeSqrtTask(LayoutTask):
    """Compute sqrt: ⌊√n⌋ of a number written in binary, most significant bit first.

    Inputs `01`: n uniform in [1, 2^ℓ − 1] in exactly ℓ bits, most significant first (leading
    zeros kept). ⌈ℓ/2⌉ outputs `01`: ⌊√n⌋ in ⌈ℓ/2⌉ bits, most significant first. Follows the
    code (tasks/cs/compute_sqrt.py, big-endian at fixed width); the paper's text says
    little-endian.
    """

    name: ClassVar[str] = "compute_sqrt"
    inputs = "01"
    outputs = "01"

    def draw(self, rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
        bits = binary.nonzero_bits(rng, np.full(batch, length), length)  # least significant first
        return bits[::-1], self.answer(bits[::-1])

    def answer(self, tokens: Array) -> Array:
        root = binary.isqrt(binary.to_ints(tokens[::-1]))
        return binary.to_bits(root, (len(tokens) + 1) // 2)[::-1]
