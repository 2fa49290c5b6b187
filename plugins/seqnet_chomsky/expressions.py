"""Random bracketed expressions of an exact length, drawn for a whole batch at once.

The grammar of the paper's code (tasks/dcf/modular_arithmetic_brackets.py): length 1 is `d`,
2 is `-d`, 3 is `(d)`, 4 is `(-d)`, and a longer one is `(left op right)` with the left part's
length uniform in [1, ℓ − 4]. The code recurses per sequence; here every unfinished piece of
every sequence is split in the same numpy pass, one pass per level of the trees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqnet import Array


@dataclass(frozen=True)
class Symbols:
    """Token ids of the operators and brackets (digits are ids 0..modulus−1)."""

    plus: int
    minus: int
    times: int
    open: int
    close: int
    x: int = -1


NEGATE = -2
"""The unary minus, kept apart from the binary one while evaluating."""


def draw_expressions(
    rng: np.random.Generator, batch: int, length: int, modulus: int, ops: int, ids: Symbols
) -> tuple[Array, Array]:
    """`batch` expressions of exactly `length` tokens: ids (length, B) and values (B,) mod
    `modulus`. Operators are uniform over the first `ops` of + − *."""
    tokens = np.zeros((length, batch), dtype=np.int64)
    # pieces still to write: which sequence, where it starts, how long, its node number (nodes
    # are numbered in creation order; their values are filled in bottom-up at the end)
    seq = np.arange(batch)
    start = np.zeros(batch, dtype=np.int64)
    size = np.full(batch, length, dtype=np.int64)
    node = np.arange(batch)
    count = batch
    splits: list[tuple[Array, Array, Array, Array]] = []  # (node, left node, right node, op)
    leaves: list[tuple[Array, Array]] = []  # (node, value)
    while seq.size:
        # leaves: d, -d, (d), (-d)
        leaf = size <= 4
        s, b, n = start[leaf], seq[leaf], size[leaf]
        d = rng.integers(0, modulus, size=s.size)
        negative = (n == 2) | (n == 4)
        bracket = n >= 3
        tokens[s, b] = np.where(bracket, ids.open, np.where(negative, ids.minus, d))
        two, three, four = n >= 2, n >= 3, n == 4
        tokens[s[two] + 1, b[two]] = np.where(n == 4, ids.minus, d)[two]
        tokens[s[three] + 2, b[three]] = np.where(n == 4, d, ids.close)[three]
        tokens[s[four] + 3, b[four]] = ids.close
        leaves.append((node[leaf], np.where(negative, -d, d) % modulus))
        # inner pieces: ( left op right )
        inner = ~leaf
        s, b, n, parent = start[inner], seq[inner], size[inner], node[inner]
        left = rng.integers(1, n - 3)  # [1, n − 4]
        op = rng.integers(0, ops, size=s.size)
        tokens[s, b] = ids.open
        tokens[s + 1 + left, b] = np.array([ids.plus, ids.minus, ids.times])[op]
        tokens[s + n - 1, b] = ids.close
        k = s.size
        left_node, right_node = count + np.arange(k), count + k + np.arange(k)
        count += 2 * k
        splits.append((parent, left_node, right_node, op))
        seq = np.concatenate([b, b])
        start = np.concatenate([s + 1, s + 2 + left])
        size = np.concatenate([left, n - 3 - left])
        node = np.concatenate([left_node, right_node])
    value = np.zeros(count, dtype=np.int64)
    for leaf_node, v in leaves:
        value[leaf_node] = v
    for parent, left_node, right_node, op in reversed(splits):  # children before parents
        a, c = value[left_node], value[right_node]
        value[parent] = np.where(op == 0, a + c, np.where(op == 1, a - c, a * c)) % modulus
    return tokens, value[:batch]


def evaluate(tokens: list[int], ids: Symbols, modulus: int, x: int = 0) -> int:
    """The value mod `modulus` of one expression given as token ids, with `x` (id `ids.x`)
    standing for the digit x: * before + and −, a leading − negates. ValueError if it is not
    an expression. Per sequence (shunting-yard, no recursion): for answers, not for training."""
    rank = {ids.plus: 1, ids.minus: 1, ids.times: 2, NEGATE: 3}
    values: list[int] = []
    pending: list[int] = []  # operators and open brackets

    def apply(op: int) -> None:
        if op == NEGATE:
            if not values:
                raise ValueError
            values.append(-values.pop() % modulus)
            return
        if len(values) < 2:
            raise ValueError
        b, a = values.pop(), values.pop()
        values.append((a + b if op == ids.plus else a - b if op == ids.minus else a * b) % modulus)

    operand_next = True  # what may come: an operand (digit, x, bracket, unary −) or an operator
    for token in tokens:
        if operand_next:
            if 0 <= token < modulus or token == ids.x:
                values.append(token if token != ids.x else x % modulus)
                operand_next = False
            elif token == ids.open:
                pending.append(token)
            elif token == ids.minus:
                pending.append(NEGATE)
            else:
                raise ValueError
        elif token == ids.close:
            while pending and pending[-1] != ids.open:
                apply(pending.pop())
            if not pending:
                raise ValueError
            pending.pop()
        elif token in rank:
            while pending and pending[-1] != ids.open and rank[pending[-1]] >= rank[token]:
                apply(pending.pop())
            pending.append(token)
            operand_next = True
        else:
            raise ValueError
    if operand_next:
        raise ValueError
    while pending:
        op = pending.pop()
        if op == ids.open:
            raise ValueError
        apply(op)
    if len(values) != 1:
        raise ValueError
    return values[0]
