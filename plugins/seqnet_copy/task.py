"""The copy task: read a few random symbols, wait through blank steps, then write them back."""

from __future__ import annotations

import string
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Field

from seqnet import Array, Batch, LossName, PluginSpec, spec_init


def spell(symbols: Array) -> str:
    """Symbols as letters (A, B, ...) when there are few enough, else numbers."""
    if symbols.size and int(symbols.max()) < 26:
        return "".join(string.ascii_uppercase[int(s)] for s in symbols)
    return " ".join(str(int(s)) for s in symbols)


class CopyTask:
    """Copy L symbols after a delay: L symbols, `delay` blanks, a go marker, L output steps.

    T = 2L + delay + 1. x: (T, B, K + 1), a one-hot symbol (K of them) on the first L steps,
    the go marker (channel K) on step L + delay, zeros elsewhere. y: (T, B) symbol classes,
    scored (mask) only on the last L steps, where the net must write the symbols in order.
    """

    name: ClassVar[str] = "copy"
    loss: ClassVar[LossName] = "softmax_ce"
    target_metric: ClassVar[str] = "exact_match"
    # `seqnet eval --lengths` varies the delay: how long the net can hold what it read
    length_option: ClassVar[str] = "delay"
    defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "model": {"cell": "lstm", "hidden": 64, "layers": 1},
        "optimizer": {"name": "adam", "lr": 0.01, "clip": 1.0},
        "train": {"steps": 5000, "batch": 32, "eval_every": 50, "eval_samples": 1000},
    }

    class Spec(PluginSpec):
        symbols: Annotated[int, Field(ge=2, description="alphabet size K")] = 8
        length: Annotated[int, Field(ge=1, description="symbols to copy, L")] = 5
        delay: Annotated[int, Field(ge=0, description="blank steps before the go marker")] = 10

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    @property
    def input_size(self) -> int:
        return self.spec.symbols + 1

    @property
    def output_size(self) -> int:
        return self.spec.symbols

    @property
    def steps(self) -> int:
        return 2 * self.spec.length + self.spec.delay + 1

    def encode(self, symbols: Array) -> Batch:
        """The batch that copies each column of `symbols` (L, B), ints in [0, K)."""
        K, delay = self.spec.symbols, self.spec.delay
        L, B = symbols.shape
        T = 2 * L + delay + 1
        columns = np.arange(B)
        x = np.zeros((T, B, K + 1))
        for t in range(L):
            x[t, columns, symbols[t]] = 1.0
        x[L + delay, :, K] = 1.0  # go
        y = np.zeros((T, B), dtype=np.int64)
        y[T - L :] = symbols
        mask = np.zeros((T, B))
        mask[T - L :] = 1.0
        return Batch(x, y, mask)

    def parse(self, args: list[str]) -> Batch:
        """Words of letters typed by a user (`CAB HEAD`), each L letters from the alphabet."""
        K, L = self.spec.symbols, self.spec.length
        letters = string.ascii_uppercase[: min(K, 26)]
        words = [word.upper() for word in args]
        if not words or any(len(w) != L or set(w) - set(letters) for w in words):
            raise ValueError(f"give words of {L} letters from {letters}, like {letters[:L]}")
        symbols = np.array([[letters.index(c) for c in w] for w in words]).T  # (L, B)
        return self.encode(symbols)

    def format(self, outputs: Array, batch: Batch) -> list[str]:
        """What the net writes back for each word."""
        return [
            spell(outputs[batch.mask[:, i] > 0, i].argmax(axis=-1)) for i in range(outputs.shape[1])
        ]

    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        return self.encode(rng.integers(0, self.spec.symbols, size=(self.spec.length, batch)))

    def metrics(self, outputs: Array, batch: Batch) -> dict[str, float]:
        scored = batch.mask > 0  # (T, B)
        right = outputs.argmax(axis=-1) == batch.y  # (T, B)
        return {
            "symbol_accuracy": float(right[scored].mean()),
            "exact_match": float((right | ~scored).all(axis=0).mean()),
        }

    def examples(self, outputs: Array, batch: Batch, count: int) -> list[str]:
        count = min(count, batch.x.shape[1])
        lines = []
        for i in range(count):
            scored = batch.mask[:, i] > 0
            want = batch.y[scored, i]
            got = outputs[scored, i].argmax(axis=-1)
            wrong = int((got != want).sum())
            mark = "✓" if wrong == 0 else f"✗ ({wrong} wrong)"
            lines.append(f"{spell(want)} → {spell(got)}  {mark}")
        return lines
