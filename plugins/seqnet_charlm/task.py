"""A character language model of any UTF-8 text: predict each next character, scored in bits.

Training windows come from the head of the file; held-out windows from its tail, which no
training window reads a target from.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from seqnet import Array, Batch, LossName, PluginSpec, SpecError, spec_init
from seqnet_charlm.text import builtin_text, check_length, load_text, split_point

SHOWN_CHARS = 32
"""Characters of each example shown, so each stays one readable line."""
VISIBLE = str.maketrans({"\n": "⏎", "\t": "⇥", "\r": "␍"})


class CharLMTask:
    """Character language model: characters in (as token ids), softmax over the vocabulary out.

    x: (W, B) character ids (a model reads them one-hot, (W, B, V), unless its first layer is
    an embedding), y: (W, B) the next character's index, every step scored.
    Training windows (truncated backprop through time over `window` steps) start at random in
    the head of the text; `heldout` draws consecutive windows from the tail. The vocabulary is
    every character of the file, sorted.
    """

    name: ClassVar[str] = "charlm"
    loss: ClassVar[LossName] = "softmax_ce"
    target_metric: ClassVar[str] = "accuracy"
    defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "model": {"cell": "lstm", "hidden": 128, "layers": 1},
        "optimizer": {"name": "adam", "lr": 0.005, "clip": 1.0},
        "train": {"steps": 2000, "batch": 32, "eval_every": 200, "eval_samples": 200},
    }

    class Spec(PluginSpec):
        window: Annotated[
            int, Field(ge=1, description="steps per training window (backprop truncation)")
        ] = 64
        heldout: Annotated[
            float,
            Field(gt=0.0, lt=1.0, allow_inf_nan=False, description="fraction held out at the end"),
        ] = 0.1
        path: Path | None = Field(
            None,
            description="a UTF-8 text file; null: Python's reference text (pydoc_data topics)",
        )

        @field_validator("path")
        @classmethod
        def usable_text(cls, path: Path | None) -> Path | None:
            """Checked here, so a bad file stops a run before anything is written (its length
            against task.window is checked when the task is built, as the two may be set in
            either order); kept absolute, so a saved run finds its text from any directory."""
            if path is None:
                return None
            path = path.expanduser().absolute()
            try:
                load_text(path)
            except ValueError as error:
                raise PydanticCustomError("text_file", "{reason}", {"reason": str(error)}) from None
            return path

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        path, W, h = spec.path, spec.window, spec.heldout
        try:
            text = builtin_text() if path is None else load_text(path)
            check_length(len(text), W, h)
        except ValueError as error:
            raise SpecError(f"task.path: {error}") from None
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        self.codes = np.unique(codes)  # (V,) sorted code points
        self.ids = np.searchsorted(self.codes, codes)  # (N,) the text as vocabulary indices
        self.vocabulary = "".join(map(chr, self.codes))
        self.split = split_point(len(self.ids), h)

    @property
    def input_size(self) -> int:
        return len(self.codes)

    @property
    def vocab_size(self) -> int:
        """x holds token ids below this (the characters of the file)."""
        return len(self.codes)

    @property
    def output_size(self) -> int:
        return len(self.codes)

    def encode(self, text: str) -> Array:
        """The vocabulary indices of `text`; a SpecError names characters the file never had."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        ids = np.searchsorted(self.codes, codes)
        known = (ids < len(self.codes)) & (
            self.codes[np.minimum(ids, len(self.codes) - 1)] == codes
        )
        if not known.all():
            unknown = "".join(sorted({chr(c) for c in codes[~known]}))
            raise SpecError(f"characters not in the text's vocabulary: {unknown!r}")
        return ids

    def decode(self, ids: Array) -> str:
        return "".join(self.vocabulary[int(i)] for i in ids)

    def windows(self, starts: Array) -> Batch:
        """The windows that read ids[s : s + W] and predict ids[s + 1 : s + W + 1]."""
        W = self.spec.window
        index = starts[None, :] + np.arange(W)[:, None]  # (W, B)
        x = self.ids[index]  # (W, B) ids
        y = self.ids[index + 1]  # (W, B)
        return Batch(x, y, np.ones(index.shape))

    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        """Random training windows, every target inside the head of the text."""
        return self.windows(rng.integers(0, self.split - self.spec.window, size=batch))

    def heldout(self, rng: np.random.Generator, batch: int) -> Batch:
        """Consecutive windows whose targets tile the tail; `batch` of them at random if more.

        Fewer than `batch` windows when the tail is short: all of them, in order.
        """
        W = self.spec.window
        count = (len(self.ids) - self.split) // W
        chosen = np.arange(count)
        if count > batch:
            chosen = np.sort(rng.choice(count, size=batch, replace=False))
        return self.windows(self.split - 1 + chosen * W)

    def metrics(self, outputs: Array, batch: Batch) -> dict[str, float]:
        scored = batch.mask > 0  # (T, B)
        shifted = outputs - outputs.max(axis=-1, keepdims=True)
        log_z = np.log(np.exp(shifted).sum(axis=-1))  # (T, B)
        picked = np.take_along_axis(shifted, batch.y[..., None].astype(np.intp), axis=-1)[..., 0]
        nats = (log_z - picked)[scored]
        right = (outputs.argmax(axis=-1) == batch.y)[scored]
        return {"bpc": float(nats.mean() / math.log(2.0)), "accuracy": float(right.mean())}

    def examples(self, outputs: Array, batch: Batch, count: int) -> list[str]:
        count = min(count, batch.x.shape[1])
        lines = []
        for i in range(count):
            want = self.decode(batch.y[-SHOWN_CHARS:, i])
            got = self.decode(outputs[-SHOWN_CHARS:, i].argmax(axis=-1))
            right = sum(a == b for a, b in zip(want, got, strict=True))
            lines.append(
                f"{want.translate(VISIBLE)!r} guessed {got.translate(VISIBLE)!r}"
                f"  ({right} of {len(want)} right)"
            )
        return lines
