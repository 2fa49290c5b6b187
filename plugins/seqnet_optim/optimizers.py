"""Optimizers: each updates parameters in place and keeps its state as named arrays.

State is `{"step": int, "slots": {slot: {param: array}}}`, which a checkpoint stores as is.
Each update is a few passes over flat buffers (flat.py), in the order torch.optim computes it.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Field

from seqnet.interfaces import Array, Params, PluginSpec
from seqnet_optim.flat import FlatState

LearningRate = Annotated[float, Field(gt=0.0, allow_inf_nan=False, description="learning rate")]
Decay = Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
Epsilon = Annotated[float, Field(gt=0.0, allow_inf_nan=False, description="added to denominators")]


class SlotOptimizer:
    """Shared bookkeeping: named slots (moments), kept flat over all parameters (flat.py)."""

    name: ClassVar[str]
    slot_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.t = 0
        self.flat = FlatState(self.slot_names)

    @property
    def slots(self) -> dict[str, dict[str, Array]]:
        """slot -> parameter name -> array (views of the flat buffers)."""
        return self.flat.slots

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.t, "slots": self.flat.state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t = int(state["step"])
        self.flat.load(state["slots"])


def scaled_step(g: Array, s: Array, work: Array, lr: float, eps: float) -> Array:
    """-lr g / (√s + eps) into `work`: the update RMSProp and Adagrad share."""
    np.sqrt(s, out=work)
    work += eps
    np.divide(g, work, out=work)
    work *= -lr
    return work


class SGD(SlotOptimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum, as torch.optim.SGD."""

    name: ClassVar[str] = "sgd"
    slot_names = ("velocity",)

    class Spec(PluginSpec):
        lr: LearningRate = 0.1
        momentum: Decay = 0.0
        nesterov: bool = False

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.spec = self.Spec(**options)

    def step(self, params: Params, grads: Params) -> None:
        self.t += 1
        lr, mu = self.spec.lr, self.spec.momentum
        g = self.flat.prepare(params, grads)
        update = self.flat.scratch
        if mu == 0.0:
            np.multiply(g, -lr, out=update)
        else:
            v = self.flat.slot("velocity")
            v *= mu  # v = mu v + g
            v += g
            if self.spec.nesterov:  # p -= lr (g + mu v)
                np.multiply(v, mu, out=update)
                update += g
                update *= -lr
            else:  # p -= lr v
                np.multiply(v, -lr, out=update)
        self.flat.apply(params, update)


class Adam(SlotOptimizer):
    """Adam (Kingma & Ba, 2015) with bias correction, as torch.optim.Adam."""

    name: ClassVar[str] = "adam"
    slot_names = ("m", "v")

    class Spec(PluginSpec):
        lr: LearningRate = 0.001
        beta1: Decay = 0.9
        beta2: Decay = 0.999
        eps: Epsilon = 1e-8

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.spec = self.Spec(**options)

    def step(self, params: Params, grads: Params) -> None:
        self.t += 1
        b1, b2, eps = self.spec.beta1, self.spec.beta2, self.spec.eps
        step_size = self.spec.lr / (1.0 - b1**self.t)
        root_correction = math.sqrt(1.0 - b2**self.t)
        g = self.flat.prepare(params, grads)
        m, v, work = self.flat.slot("m"), self.flat.slot("v"), self.flat.scratch
        np.subtract(g, m, out=work)  # m = b1 m + (1 - b1) g == m + (1 - b1)(g - m)
        work *= 1.0 - b1
        m += work
        np.multiply(g, g, out=work)  # v = b2 v + (1 - b2) g²
        work *= 1.0 - b2
        v *= b2
        v += work
        # p -= lr/(1 - b1^t) · m / (√v / √(1 - b2^t) + eps), with √(1 - b2^t) moved out front
        np.sqrt(v, out=work)
        work += eps * root_correction
        np.divide(m, work, out=work)
        work *= -step_size * root_correction
        self.flat.apply(params, work)


class RMSProp(SlotOptimizer):
    """RMSProp (Hinton, 2012), as torch.optim.RMSprop without momentum."""

    name: ClassVar[str] = "rmsprop"
    slot_names = ("square_avg",)

    class Spec(PluginSpec):
        lr: LearningRate = 0.01
        alpha: Decay = 0.99
        eps: Epsilon = 1e-8

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.spec = self.Spec(**options)

    def step(self, params: Params, grads: Params) -> None:
        self.t += 1
        alpha = self.spec.alpha
        g = self.flat.prepare(params, grads)
        s, work = self.flat.slot("square_avg"), self.flat.scratch
        np.multiply(g, g, out=work)  # s = alpha s + (1 - alpha) g²
        work *= 1.0 - alpha
        s *= alpha
        s += work
        self.flat.apply(params, scaled_step(g, s, work, self.spec.lr, self.spec.eps))


class Adagrad(SlotOptimizer):
    """Adagrad (Duchi et al., 2011), as torch.optim.Adagrad."""

    name: ClassVar[str] = "adagrad"
    slot_names = ("sum",)

    class Spec(PluginSpec):
        lr: LearningRate = 0.01
        eps: Epsilon = 1e-10

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.spec = self.Spec(**options)

    def step(self, params: Params, grads: Params) -> None:
        self.t += 1
        g = self.flat.prepare(params, grads)
        s, work = self.flat.slot("sum"), self.flat.scratch
        np.multiply(g, g, out=work)  # s = s + g²
        s += work
        self.flat.apply(params, scaled_step(g, s, work, self.spec.lr, self.spec.eps))
