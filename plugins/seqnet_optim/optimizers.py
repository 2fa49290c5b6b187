"""Optimizers: each updates parameters in place and keeps its state as named arrays.

State is `{"step": int, "slots": {slot: {param: array}}}`, which a checkpoint stores as is.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Field

from seqnet.interfaces import Array, Params, PluginSpec

LearningRate = Annotated[float, Field(gt=0.0, allow_inf_nan=False, description="learning rate")]
Decay = Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
Epsilon = Annotated[float, Field(gt=0.0, allow_inf_nan=False, description="added to denominators")]


class SlotOptimizer:
    """Shared bookkeeping: named per-parameter slots (moments), created on first use."""

    name: ClassVar[str]
    slot_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.t = 0
        self.slots: dict[str, dict[str, Array]] = {slot: {} for slot in self.slot_names}

    def slot(self, slot: str, name: str, like: Array) -> Array:
        table = self.slots[slot]
        if name not in table:
            table[name] = np.zeros_like(like)
        return table[name]

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.t,
            "slots": {s: {n: a.copy() for n, a in t.items()} for s, t in self.slots.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t = int(state["step"])
        self.slots = {
            slot: {n: np.array(a) for n, a in state["slots"].get(slot, {}).items()}
            for slot in self.slot_names
        }


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
        for name, p in params.items():
            g = grads[name]
            if mu == 0.0:
                p -= lr * g
                continue
            v = self.slot("velocity", name, p)
            v *= mu  # v = mu v + g
            v += g
            p -= lr * (g + mu * v) if self.spec.nesterov else lr * v


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
        b1, b2 = self.spec.beta1, self.spec.beta2
        step_size = self.spec.lr / (1.0 - b1**self.t)
        root_correction = np.sqrt(1.0 - b2**self.t)
        for name, p in params.items():
            g = grads[name]
            m = self.slot("m", name, p)
            v = self.slot("v", name, p)
            m *= b1  # m = b1 m + (1 - b1) g
            m += (1.0 - b1) * g
            v *= b2  # v = b2 v + (1 - b2) g²
            v += (1.0 - b2) * (g * g)
            # p -= lr m̂ / (√v̂ + eps), with the bias corrections folded into two scalars
            denom = np.sqrt(v)
            denom /= root_correction
            denom += self.spec.eps
            p -= step_size * (m / denom)


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
        for name, p in params.items():
            g = grads[name]
            s = self.slot("square_avg", name, p)
            s *= alpha  # s = alpha s + (1 - alpha) g²
            s += (1.0 - alpha) * (g * g)
            p -= self.spec.lr * g / (np.sqrt(s) + self.spec.eps)


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
        for name, p in params.items():
            g = grads[name]
            s = self.slot("sum", name, p)
            s += g * g
            p -= self.spec.lr * g / (np.sqrt(s) + self.spec.eps)
