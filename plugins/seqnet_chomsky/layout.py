"""The layout all fifteen tasks share: the input, then one blank per output, scored at the blanks.

Each task only draws token ids (`draw`); this module turns them into a Batch, scores outputs the
way Delétang et al. (2023) do, and writes readable examples. The tasks inherit it: fifteen
tasks that differ only in their draws share one class rather than fifteen copies.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Field, model_validator

from seqnet import Array, Batch, LossName, PluginSpec, spec_init

MAX_LENGTH = 10_000
"""The longest input a task accepts (the paper tests up to 500)."""
MAX_COMPUTATION = 4
"""The most computation steps per input token a task adds (the paper tries 0, 1 and 2)."""
SHOWN = 40
"""Examples longer than this many tokens are cut, so each stays one readable line."""


class LengthSpec(PluginSpec):
    """ℓ, the input length, drawn once per batch uniformly in [length_min, length]; with
    length_min 0 (seqnet's convention for `<length option>_min`), ℓ is always `length`."""

    length: Annotated[
        int, Field(ge=1, le=MAX_LENGTH, description="longest input length ℓ drawn per batch")
    ] = 40
    length_min: Annotated[
        int,
        Field(
            ge=0,
            le=MAX_LENGTH,
            description="shortest input length ℓ drawn per batch (0: ℓ is `length`)",
        ),
    ] = 1
    computation_steps: Annotated[
        int,
        Field(
            ge=0,
            le=MAX_COMPUTATION,
            description="k: k·ℓ computation steps between the input and the output blanks",
        ),
    ] = 0

    @model_validator(mode="after")
    def _ordered(self) -> LengthSpec:
        if self.length_min > self.length:
            raise ValueError(f"length_min ({self.length_min}) is above length ({self.length})")
        return self


class LayoutTask:
    """What every Chomsky task shares; a task sets the class attributes and writes `draw`.

    `inputs`: the input alphabet, one character per token id; the blank is id len(inputs) (the
    last one-hot channel). `outputs`: the output alphabet. `terminator`: the output id after which
    nothing is counted by the metrics (the loss still trains on those steps), or None.
    """

    name: ClassVar[str]
    loss: ClassVar[LossName] = "softmax_ce"
    target_metric: ClassVar[str] = "accuracy"
    length_option: ClassVar[str] = "length"
    defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "model": {"cell": "lstm", "hidden": 64, "layers": 1},
        "optimizer": {"name": "adam", "lr": 0.001, "clip": 1.0},
        # the paper's batch, its example script's learning rate and clipping; the engine
        # validates at the top of the training range (ℓ = 40); two perfect evaluations in a
        # row before stopping
        "train": {
            "steps": 10000,
            "batch": 128,
            "eval_every": 100,
            "eval_samples": 512,
            "patience": 2,
        },
    }
    terminator: ClassVar[int | None] = None
    Spec: ClassVar[type[LengthSpec]] = LengthSpec

    # a subclass with another Spec decorates its own __init__ (the signature is the Spec's)
    @spec_init(LengthSpec)
    def __init__(self, spec: LengthSpec) -> None:
        self.spec = spec

    # what a task defines -------------------------------------------------------------------

    @property
    def inputs(self) -> str:
        raise NotImplementedError

    @property
    def outputs(self) -> str:
        raise NotImplementedError

    def draw(self, rng: np.random.Generator, batch: int, length: int) -> tuple[Array, Array]:
        """Token ids of `batch` fresh sequences of input length `length`: inputs (ℓ', B) in
        [0, len(inputs)) and targets (m, B) in [0, len(outputs)). ℓ' = ℓ, except where a task
        says otherwise (modular_arithmetic_simple lowers an even ℓ by one)."""
        raise NotImplementedError

    def answer(self, tokens: Array) -> Array:
        """The targets (m, B) for input ids (ℓ, B); ValueError with one line if the input is
        not one the task can answer (e.g. a malformed expression)."""
        raise NotImplementedError

    # the contract --------------------------------------------------------------------------

    @property
    def input_size(self) -> int:
        """The input alphabet, the blank (the last channel) and, with computation steps, their
        marker (the channel before it)."""
        return len(self.inputs) + 1 + (self.spec.computation_steps > 0)

    @property
    def output_size(self) -> int:
        return len(self.outputs)

    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        """`batch` sequences of one input length, drawn uniformly in [length_min, length]."""
        low = self.spec.length_min or self.spec.length
        length = int(rng.integers(low, self.spec.length + 1))
        return self.encode(*self.draw(rng, batch, length))

    def encode(self, tokens: Array, targets: Array) -> Batch:
        """The batch for input ids (ℓ, B) and target ids (m, B): one-hot x (T, B, input_size)
        with the blank (the last channel) on the m output steps, y (T, B), and the mask on the
        output steps; T = ℓ + k·ℓ + m. The k·ℓ computation steps (k = `computation_steps`) carry
        the blank and the marker channel both, so that "the last channel is 0" still means "an
        input token" (what tape_rnn counts); they are not scored."""
        n, B = tokens.shape
        m = targets.shape[0]
        c = self.spec.computation_steps * n
        blank = len(self.inputs) + (c > 0)  # the last channel
        ids = np.concatenate([tokens, np.full((c + m, B), blank)])  # (T, B)
        x = np.zeros((n + c + m, B, self.input_size))
        np.put_along_axis(x, ids[..., None].astype(np.intp), 1.0, axis=-1)  # (T, B, V)
        x[n : n + c, :, blank - 1] = 1.0  # the computation marker
        y = np.zeros((n + c + m, B), dtype=np.int64)
        y[n + c :] = targets
        mask = np.zeros((n + c + m, B))
        mask[n + c :] = 1.0
        return Batch(x, y, mask)

    def parse(self, args: list[str]) -> Batch:
        """Inputs typed in the task's alphabet (`seqnet predict DIR 0110 10`), one sequence
        each, with their right answers as targets."""
        if not args:
            raise ValueError(f"give one or more inputs written with the characters {self.inputs}")
        groups = []
        for word in args:
            if not word or len(word) > MAX_LENGTH or set(word) - set(self.inputs):
                raise ValueError(
                    f"'{word[:SHOWN]}' is not an input of {self.name}: use 1 to {MAX_LENGTH}"
                    f" of the characters {self.inputs}"
                )
            tokens = np.array([[self.inputs.index(c)] for c in word])  # (ℓ, 1)
            groups.append(self.encode(tokens, self.answer(tokens)))
        return pad_together(groups, self.input_size - 1)

    def format(self, outputs: Array, batch: Batch) -> list[str]:
        """What the model answers for each sequence, up to its terminator if it has one."""
        got = np.argmax(outputs, axis=-1)  # (T, B)
        counted = self.counted(batch)
        return [
            "".join(self.outputs[int(t)] for t in got[counted[:, i], i])
            for i in range(got.shape[1])
        ]

    def step_rows(self, batch: Batch) -> dict[str, Array]:
        """Per step (T, B), scaled to [0, 1] for `seqnet plot`: the input token (0 at the
        blanks), which steps are outputs, and the target there."""
        tokens = np.argmax(batch.x, axis=-1)  # (T, B)
        given = tokens < len(self.inputs)
        scored = np.asarray(batch.mask) > 0
        return {
            "input": np.where(given, tokens / max(len(self.inputs) - 1, 1), 0.0),
            "output step": scored.astype(np.float64),
            "target": np.where(scored, np.asarray(batch.y) / max(self.output_size - 1, 1), 0.0),
        }

    def counted(self, batch: Batch) -> Array:
        """(T, B) bool: the steps the metrics count, the scored ones up to the terminator."""
        scored = np.asarray(batch.mask) > 0
        if self.terminator is None:
            return scored
        ends = scored & (np.asarray(batch.y) == self.terminator)  # (T, B)
        after: Array = (np.cumsum(ends, axis=0) - ends) > 0  # past the first terminator
        return scored & ~after

    def metrics(self, outputs: Array, batch: Batch) -> dict[str, float]:
        """`accuracy`: per sequence, the fraction of counted outputs right, averaged over the
        sequences (the paper's A(x, y)); `exact_match`: the share of sequences all right."""
        counted = self.counted(batch)  # (T, B)
        right = (np.argmax(outputs, axis=-1) == np.asarray(batch.y)) & counted  # (T, B)
        per_sequence = right.sum(axis=0) / np.maximum(counted.sum(axis=0), 1)  # (B,)
        return {
            "accuracy": float(per_sequence.mean()),
            "exact_match": float((right == counted).all(axis=0).mean()),
        }

    def examples(self, outputs: Array, batch: Batch, count: int) -> list[str]:
        count = min(count, batch.x.shape[1])
        counted = self.counted(batch)
        got = np.argmax(outputs, axis=-1)  # (T, B)
        tokens = np.argmax(batch.x, axis=-1)  # (T, B)
        given = tokens < len(self.inputs)  # not a blank
        lines = []
        for i in range(count):
            steps = counted[:, i]
            want, have = np.asarray(batch.y)[steps, i], got[steps, i]
            wrong = int((want != have).sum())
            mark = "✓" if wrong == 0 else f"✗ (want {self.spell(want, self.outputs)})"
            text = self.spell(tokens[given[:, i], i], self.inputs)
            lines.append(f"{text} → {self.spell(have, self.outputs)}  {mark}")
        return lines

    @staticmethod
    def spell(ids: Array, alphabet: str) -> str:
        text = "".join(alphabet[int(t)] for t in ids[:SHOWN])
        return (text + "…" if len(ids) > SHOWN else text) or "ε"


def pad_together(batches: list[Batch], blank: int) -> Batch:
    """Batches of different lengths as one (T_max, ΣB): each padded at the end with blank,
    unscored steps, which cannot change a causal model's outputs at the scored steps."""
    T = max(b.x.shape[0] for b in batches)
    xs, ys, masks = [], [], []
    for b in batches:
        pad = T - b.x.shape[0]
        blanks = np.zeros((pad, b.x.shape[1], b.x.shape[2]))
        blanks[..., blank] = 1.0
        xs.append(np.concatenate([b.x, blanks]))
        ys.append(np.concatenate([b.y, np.zeros((pad, b.y.shape[1]), dtype=b.y.dtype)]))
        masks.append(np.concatenate([b.mask, np.zeros((pad, b.mask.shape[1]))]))
    return Batch(np.concatenate(xs, axis=1), np.concatenate(ys, axis=1), np.concatenate(masks, 1))
