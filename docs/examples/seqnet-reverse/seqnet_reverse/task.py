"""The reverse task: read a few symbols, then write them back in reverse order."""

from typing import Any, ClassVar

import numpy as np
import seqnet
from pydantic import Field

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class ReverseTask:
    """Reverse L symbols: read them, then write them back last one first.

    T = 2L steps. x: (T, B, K + 1), a one-hot symbol (K of them) on the first L steps and a
    "go" flag (channel K) on the last L. y: (T, B) symbol classes, scored only on the last L
    steps, where step L + j must be the symbol read at step L - 1 - j.
    """

    name: ClassVar[str] = "reverse"
    loss: ClassVar[seqnet.LossName] = "softmax_ce"
    target_metric: ClassVar[str] = "exact_match"
    defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "model": {"cell": "elman", "hidden": 32},
        "optimizer": {"name": "adam", "lr": 0.01},
        "train": {"steps": 2000, "batch": 32, "eval_every": 50, "eval_samples": 500},
    }

    class Spec(seqnet.PluginSpec):
        length: int = Field(default=4, ge=1, description="symbols to reverse, L")
        symbols: int = Field(default=4, ge=2, le=26, description="alphabet size K")

    @seqnet.spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    @property
    def input_size(self) -> int:
        return self.spec.symbols + 1

    @property
    def output_size(self) -> int:
        return self.spec.symbols

    def sample(self, rng: np.random.Generator, batch: int) -> seqnet.Batch:
        L, K = self.spec.length, self.spec.symbols
        symbols = rng.integers(0, K, size=(L, batch))  # (L, B)
        x = np.zeros((2 * L, batch, K + 1))
        x[np.arange(L)[:, None], np.arange(batch), symbols] = 1.0  # one-hot on the first L
        x[L:, :, K] = 1.0  # the go flag
        y = np.zeros((2 * L, batch), dtype=np.int64)
        y[L:] = symbols[::-1]  # (L, B), last symbol first
        mask = np.zeros((2 * L, batch))
        mask[L:] = 1.0
        return seqnet.Batch(x, y, mask)

    def metrics(self, outputs: seqnet.Array, batch: seqnet.Batch) -> dict[str, float]:
        scored = batch.mask > 0  # (T, B)
        right = (outputs.argmax(axis=-1) == batch.y) & scored
        return {
            "symbol_accuracy": float(right.sum() / scored.sum()),
            "exact_match": float((right == scored).all(axis=0).mean()),
        }

    def examples(self, outputs: seqnet.Array, batch: seqnet.Batch, count: int) -> list[str]:
        L = self.spec.length
        read = batch.x[:L, :, :-1].argmax(axis=-1)  # (L, B)
        wrote = outputs[L:].argmax(axis=-1)  # (L, B)
        lines = []
        for i in range(min(count, batch.x.shape[1])):
            want = "".join(LETTERS[s] for s in read[::-1, i])
            got = "".join(LETTERS[s] for s in wrote[:, i])
            mark = "✓" if got == want else f"✗ (want {want})"
            lines.append(f"{''.join(LETTERS[s] for s in read[:, i])} → {got}  {mark}")
        return lines
