"""SGD, RMSProp and Adagrad, each as torch.optim computes it, and the bookkeeping all share.

State is `{"step": int, "slots": {slot: {param: array}}}`, which a checkpoint stores as is; the
learning-rate schedule is a function of "step" (schedules.py). Each update is a few passes over
flat buffers (flat.py). Weight decay is L2 folded into the gradient, as torch does.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Protocol

import numpy as np
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from seqnet import Array, Params, PluginSpec, spec_init
from seqnet_optim.flat import FlatState
from seqnet_optim.schedules import Constant, Schedule

Decay = Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
Epsilon = Annotated[float, Field(gt=0.0, allow_inf_nan=False, description="added to denominators")]
LearningRate = Annotated[float, Field(gt=0.0, allow_inf_nan=False, description="learning rate")]
WeightDecay = Annotated[
    float, Field(ge=0.0, allow_inf_nan=False, description="L2 penalty: grad += weight_decay · p")
]


ScheduleField = Field(default_factory=Constant, description="learning-rate schedule")


class Options(Protocol):
    """What every optimizer's Spec here holds besides its own options."""

    @property
    def lr(self) -> float: ...
    @property
    def weight_decay(self) -> float: ...
    @property
    def schedule(self) -> Schedule: ...


class SlotOptimizer:
    """Shared bookkeeping: the step count and named slots (moments), kept flat (flat.py)."""

    name: ClassVar[str]
    spec: Options

    def __init__(self, slot_names: tuple[str, ...], initial: dict[str, float] | None = None):
        self.t = 0
        self.flat = FlatState(slot_names, initial)

    @property
    def slots(self) -> dict[str, dict[str, Array]]:
        """slot -> parameter name -> array (views of the flat buffers)."""
        return self.flat.slots

    @property
    def lr(self) -> float:
        """The learning rate of the latest step (of the first, before any)."""
        return self.spec.schedule.rate(self.spec.lr, max(self.t - 1, 0))

    def begin(self, params: Params, grads: Params) -> tuple[Array, float]:
        """Count the step; return the flat gradient (with L2 decay added) and this step's lr."""
        self.t += 1
        g = self.flat.prepare(params, grads)
        if self.spec.weight_decay:
            self.flat.add_params(params, self.spec.weight_decay)
        return g, self.spec.schedule.rate(self.spec.lr, self.t - 1)

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.t, "slots": self.flat.state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t = int(state["step"])
        self.flat.load(state["slots"])


class SGD(SlotOptimizer):
    """Stochastic gradient descent with optional momentum, dampening and Nesterov momentum,
    as torch.optim.SGD: v = μ v + (1 - dampening) g (v = g on the first step), then
    p -= lr v, or p -= lr (g + μ v) with Nesterov."""

    name: ClassVar[str] = "sgd"

    spec: Spec

    class Spec(PluginSpec):
        lr: LearningRate = 0.1
        momentum: Decay = 0.0
        dampening: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0
        nesterov: bool = False
        weight_decay: WeightDecay = 0.0
        schedule: Schedule = ScheduleField

        @model_validator(mode="after")
        def _nesterov_needs_momentum(self) -> SGD.Spec:
            if self.nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
                # a custom error type: one line without pydantic's "Value error, " in front
                raise PydanticCustomError("nesterov", "nesterov needs momentum > 0 and dampening 0")
            return self

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        super().__init__(("velocity",) if self.spec.momentum else ())

    def step(self, params: Params, grads: Params) -> None:
        g, lr = self.begin(params, grads)
        mu, update = self.spec.momentum, self.flat.scratch
        if mu == 0.0:
            np.multiply(g, -lr, out=update)
        else:
            v = self.flat.slot("velocity")
            if self.t == 1 or self.spec.dampening == 0.0:
                v *= mu  # v = mu v + g, which is g on the first step (v starts at 0)
                v += g
            else:
                v *= mu  # v = mu v + (1 - dampening) g
                np.multiply(g, 1.0 - self.spec.dampening, out=update)
                v += update
            if self.spec.nesterov:  # p -= lr (g + mu v)
                np.multiply(v, mu, out=update)
                update += g
                update *= -lr
            else:  # p -= lr v
                np.multiply(v, -lr, out=update)
        self.flat.apply(params, update)


class RMSProp(SlotOptimizer):
    """RMSProp (Hinton, 2012), as torch.optim.RMSprop: s = α s + (1 - α) g²; with `centered`,
    also ḡ = α ḡ + (1 - α) g and s - ḡ² in place of s; d = √s + eps; then p -= lr g / d, or with
    momentum, b = μ b + g / d and p -= lr b."""

    name: ClassVar[str] = "rmsprop"

    spec: Spec

    class Spec(PluginSpec):
        lr: LearningRate = 0.01
        alpha: Decay = 0.99
        eps: Epsilon = 1e-8
        momentum: Decay = 0.0
        centered: bool = False
        weight_decay: WeightDecay = 0.0
        schedule: Schedule = ScheduleField

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        slots = ("square_avg",) + ("grad_avg",) * self.spec.centered
        super().__init__(slots + ("momentum_buffer",) * bool(self.spec.momentum))

    def step(self, params: Params, grads: Params) -> None:
        g, lr = self.begin(params, grads)
        alpha = self.spec.alpha
        s, work = self.flat.slot("square_avg"), self.flat.scratch
        np.multiply(g, g, out=work)  # s = alpha s + (1 - alpha) g²
        work *= 1.0 - alpha
        s *= alpha
        s += work
        if self.spec.centered:
            mean = self.flat.slot("grad_avg")
            np.subtract(g, mean, out=work)  # ḡ = alpha ḡ + (1 - alpha) g == ḡ + (1 - alpha)(g - ḡ)
            work *= 1.0 - alpha
            mean += work
            np.multiply(mean, mean, out=work)
            np.subtract(s, work, out=work)
            np.sqrt(work, out=work)
        else:
            np.sqrt(s, out=work)
        work += self.spec.eps
        np.divide(g, work, out=work)  # g / (√s + eps)
        if self.spec.momentum:
            b = self.flat.slot("momentum_buffer")
            b *= self.spec.momentum
            b += work
            np.multiply(b, -lr, out=work)
        else:
            work *= -lr
        self.flat.apply(params, work)


class Adagrad(SlotOptimizer):
    """Adagrad (Duchi et al., 2011), as torch.optim.Adagrad: s = s + g² (s starts at
    `initial_accumulator_value`), p -= lr / (1 + (t - 1) lr_decay) · g / (√s + eps)."""

    name: ClassVar[str] = "adagrad"

    spec: Spec

    class Spec(PluginSpec):
        lr: LearningRate = 0.01
        eps: Epsilon = 1e-10
        lr_decay: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
        initial_accumulator_value: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
        weight_decay: WeightDecay = 0.0
        schedule: Schedule = ScheduleField

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        super().__init__(("sum",), {"sum": self.spec.initial_accumulator_value})

    def step(self, params: Params, grads: Params) -> None:
        g, lr = self.begin(params, grads)
        lr = lr / (1.0 + (self.t - 1) * self.spec.lr_decay)
        s, work = self.flat.slot("sum"), self.flat.scratch
        np.multiply(g, g, out=work)  # s = s + g²
        s += work
        np.sqrt(s, out=work)  # p -= lr g / (√s + eps)
        work += self.spec.eps
        np.divide(g, work, out=work)
        work *= -lr
        self.flat.apply(params, work)
