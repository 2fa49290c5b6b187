"""Adam and AdamW, as torch.optim computes them (amsgrad included)."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from seqnet import Params, PluginSpec, spec_init
from seqnet_optim.optimizers import (
    Decay,
    Epsilon,
    LearningRate,
    ScheduleField,
    SlotOptimizer,
    WeightDecay,
)
from seqnet_optim.schedules import Schedule


class Adam(SlotOptimizer):
    """Adam (Kingma & Ba, 2015) with bias correction, as torch.optim.Adam: m = β1 m + (1 - β1) g,
    v = β2 v + (1 - β2) g², p -= lr/(1 - β1^t) · m / (√v̂ / √(1 - β2^t) + eps), where v̂ is v, or
    with `amsgrad` the largest v so far. `weight_decay` adds weight_decay · p to g (L2)."""

    name: ClassVar[str] = "adam"
    decoupled: ClassVar[bool] = False

    spec: Spec

    class Spec(PluginSpec):
        lr: LearningRate = 0.001
        beta1: Decay = 0.9
        beta2: Decay = 0.999
        eps: Epsilon = 1e-8
        amsgrad: bool = False
        weight_decay: WeightDecay = 0.0
        schedule: Schedule = ScheduleField

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        super().__init__(slot_names(spec))

    def step(self, params: Params, grads: Params) -> None:
        if self.decoupled:  # AdamW: p *= 1 - lr wd, then Adam without decay in the gradient
            self.t += 1
            g = self.flat.prepare(params, grads)
            lr = self.spec.schedule.rate(self.spec.lr, self.t - 1)
            if self.spec.weight_decay:
                self.flat.scale_params(params, 1.0 - lr * self.spec.weight_decay)
        else:
            g, lr = self.begin(params, grads)
        b1, b2, eps = self.spec.beta1, self.spec.beta2, self.spec.eps
        step_size = lr / (1.0 - b1**self.t)
        root_correction = math.sqrt(1.0 - b2**self.t)
        m, v, work = self.flat.slot("m"), self.flat.slot("v"), self.flat.scratch
        np.subtract(g, m, out=work)  # m = b1 m + (1 - b1) g == m + (1 - b1)(g - m)
        work *= 1.0 - b1
        m += work
        np.multiply(g, g, out=work)  # v = b2 v + (1 - b2) g²
        work *= 1.0 - b2
        v *= b2
        v += work
        if self.spec.amsgrad:
            v = np.maximum(self.flat.slot("v_max"), v, out=self.flat.slot("v_max"))
        # p -= lr/(1 - b1^t) · m / (√v / √(1 - b2^t) + eps), with √(1 - b2^t) moved out front
        np.sqrt(v, out=work)
        work += eps * root_correction
        np.divide(m, work, out=work)
        work *= -step_size * root_correction
        self.flat.apply(params, work)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as torch.optim.AdamW:
    p *= 1 - lr · weight_decay before Adam's update, whose gradient has no decay added."""

    name: ClassVar[str] = "adamw"
    decoupled: ClassVar[bool] = True

    class Spec(Adam.Spec):
        weight_decay: WeightDecay = 0.01  # torch.optim.AdamW's default

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        SlotOptimizer.__init__(self, slot_names(spec))


def slot_names(spec: Adam.Spec) -> tuple[str, ...]:
    return ("m", "v") + ("v_max",) * spec.amsgrad
