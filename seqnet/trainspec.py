"""`train`: the training loop's own settings (engine fields only; no plugin owns any of them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from seqnet.bounds import Checked

MAX_BATCH = 1_000_000
MAX_STEPS = 10**12
MAX_EVAL_SAMPLES = 10_000_000
MAX_THREADS = 1_024
MAX_VALIDATE_LENGTH = 100_000
"""Longest `train.validate_lengths` entry: every evaluation scores eval_samples sequences of it."""


class EarlyStopSpec(Checked):
    """`train.early_stop`: stop training once a metric has stopped improving (off while
    `metric` is null)."""

    model_config = ConfigDict(extra="forbid")
    metric: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None,
        description="the metrics.jsonl column to watch (val_loss, exact_match, ...); null: no"
        " early stopping",
    )
    patience: Annotated[int, Field(ge=1, le=MAX_STEPS)] = Field(
        5, description="evaluations in a row without an improvement before training stops"
    )
    mode: Literal["auto", "min", "max"] = Field(
        "auto",
        description="whether lower (min) or higher (max) is better; auto: min for a loss, max"
        " for the task's target metric",
    )
    min_delta: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = Field(
        0.0, description="an improvement must beat the best so far by more than this"
    )


class TrainSpec(Checked):
    """`train`: the training loop's own settings."""

    model_config = ConfigDict(extra="forbid")
    steps: Annotated[int, Field(gt=0, le=MAX_STEPS)] = Field(
        3000, description="maximum optimizer steps"
    )
    batch: Annotated[int, Field(gt=0, le=MAX_BATCH)] = Field(
        32, description="sequences per training step"
    )
    seed: Annotated[int, Field(ge=0, lt=2**63)] = Field(
        0, description="root seed of every random stream"
    )
    eval_every: Annotated[int, Field(gt=0, le=MAX_STEPS)] = Field(
        50, description="steps between held-out evaluations"
    )
    eval_samples: Annotated[int, Field(gt=0, le=MAX_EVAL_SAMPLES)] = Field(
        1000, description="held-out sequences per evaluation"
    )
    target: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = Field(
        1.0, description="stop once the task's target metric reaches this on held-out data"
    )
    threads: Annotated[int, Field(gt=0, le=MAX_THREADS)] = Field(
        1,
        description="threads while training: BLAS threads, or batch slices for large batches;"
        " one is fastest for small nets",
    )
    patience: Annotated[int, Field(ge=1)] = Field(
        1, description="evaluations in a row that must reach the target before stopping"
    )
    margin: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = Field(
        0.0,
        description="an evaluation reaches the target only if also every scored output is right"
        " by at least this margin (logit of the right answer over the best wrong one)",
    )
    validate_lengths: list[Annotated[int, Field(gt=0, le=MAX_VALIDATE_LENGTH)]] = Field(
        default_factory=list,
        description="also score eval_samples held-out sequences at each of these lengths (tasks"
        " with a length option) at every evaluation; target and margin must hold at all of them",
    )
    keep: Literal["last", "best", "both"] = Field(
        "last",
        description="checkpoints a run folder keeps: `last` (checkpoint.npz, the latest, where"
        " resume continues from); `best` and `both` also keep the evaluation where best_metric"
        " was best (checkpoint-best.npz), which eval, predict and sample read by default with"
        " `best` and on request (--checkpoint best) with `both`",
    )
    best_metric: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        "val_loss",
        description="the metrics.jsonl column that picks the best checkpoint (keep: best|both)",
    )
    best_mode: Literal["auto", "min", "max"] = Field(
        "auto",
        description="whether lower (min) or higher (max) best_metric is better; auto: min for a"
        " loss, max for the task's target metric",
    )
    early_stop: EarlyStopSpec = Field(
        default_factory=lambda: EarlyStopSpec(),
        description="stop once a metric has stopped improving (seqnet.EarlyStopping)",
    )
