"""Learning-rate schedules: the factor by which step t's learning rate is scaled, from t alone.

A schedule holds no state: the optimizer's step counter (in its `state_dict`) says where it
stands, so a resumed run continues the schedule exactly. Each is equal to a torch.optim
lr_scheduler, stepped once after every optimizer step (the first step uses `factor(0)`).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from seqnet import PluginSpec

Steps = Annotated[int, Field(gt=0, le=10**9)]


class Warmup(PluginSpec):
    """Linear warm-up, on any schedule: the factor rises from `warmup_start` to 1 over
    `warmup` steps and multiplies the schedule's own (torch's LinearLR with end_factor 1)."""

    name: str
    warmup: Annotated[int, Field(ge=0, le=10**9)] = Field(
        0, description="steps of linear warm-up before the schedule's own factor applies alone"
    )
    warmup_start: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = Field(
        1 / 3, description="factor of the first step of the warm-up (torch LinearLR's default)"
    )

    def warm(self, e: int) -> float:
        if e >= self.warmup:
            return 1.0
        return self.warmup_start + (1.0 - self.warmup_start) * e / self.warmup


class Constant(Warmup):
    """The same learning rate every step (after any warm-up)."""

    name: Literal["constant"] = "constant"

    def rate(self, lr: float, e: int) -> float:
        """The learning rate of the step taken after `e` steps (lr · 1.0 is exactly lr)."""
        return lr * self.warm(e)


class StepDecay(Warmup):
    """`lr · gamma^⌊e / every⌋`: multiply by `gamma` every `every` steps (torch's StepLR)."""

    name: Literal["step"]
    every: Steps = Field(description="steps between two decays (StepLR's step_size)")
    gamma: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = Field(
        0.1, description="factor applied at every decay"
    )

    def rate(self, lr: float, e: int) -> float:
        return lr * self.warm(e) * self.gamma ** (e // self.every)


class Cosine(Warmup):
    """`min_lr + (lr - min_lr)(1 + cos(π e / steps)) / 2` for e ≤ steps, then `min_lr` (torch's
    CosineAnnealingLR with T_max = steps, which would rise again after T_max instead)."""

    name: Literal["cosine"]
    steps: Steps = Field(description="steps from lr down to min_lr (T_max)")
    min_lr: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = Field(
        0.0, description="the learning rate at the end (eta_min)"
    )

    def rate(self, lr: float, e: int) -> float:
        cosine = (1.0 + math.cos(math.pi * min(e, self.steps) / self.steps)) / 2.0
        return self.warm(e) * (self.min_lr + (lr - self.min_lr) * cosine)


def schedule_name(value: Any) -> str | None:
    """The schedule a spec names; `constant` when it names none (`schedule: {warmup: 100}`)."""
    if isinstance(value, dict):
        return str(value.get("name", "constant"))
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else None


Schedule = Annotated[
    Annotated[Constant, Tag("constant")]
    | Annotated[StepDecay, Tag("step")]
    | Annotated[Cosine, Tag("cosine")],
    Discriminator(
        schedule_name,
        custom_error_type="schedule_name",
        custom_error_message="the schedule is one of constant, step, cosine",
    ),
]
