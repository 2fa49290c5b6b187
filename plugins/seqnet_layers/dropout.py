"""The `dropout` layer: inverted dropout while training, the identity when evaluating."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Field

import seqnet


class Dropout:
    """Dropout: y = x ⊙ m / (1 - p), m_i ~ Bernoulli(1 - p), drawn anew at every forward.

        x (T, B, D) -> y (T, B, D); dx = dy ⊙ m / (1 - p)

    Active only when `forward` is given a generator (training); with `rng=None` (evaluation)
    y = x. No parameters; stateless: the carry is ().
    """

    name: ClassVar[str] = "dropout"

    class Spec(seqnet.PluginSpec):
        p: Annotated[float, Field(ge=0.0, lt=1.0, description="probability of dropping a unit")]

    @seqnet.spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def torch_module(self, params: seqnet.Params) -> Any:
        """torch.nn.Dropout(p), active only in the module's train() mode (seqnet.to_torch)."""
        import torch

        return torch.nn.Dropout(self.spec.p)

    @classmethod
    def from_torch_module(cls, module: Any) -> tuple[dict[str, Any], seqnet.Params] | None:
        import torch

        if type(module) is not torch.nn.Dropout:
            return None
        return {"p": module.p}, {}

    def init(self, rng: np.random.Generator, input_size: int) -> seqnet.Params:
        return {}

    def output_size(self, input_size: int) -> int:
        return input_size

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> seqnet.Carry:
        return ()

    def forward(
        self,
        params: seqnet.Params,
        x: seqnet.Array,
        carry: seqnet.Carry,
        rng: np.random.Generator | None = None,
    ) -> tuple[seqnet.Array, seqnet.Carry, Any]:
        if rng is None or self.spec.p == 0.0:
            return x, (), None
        keep = 1.0 - self.spec.p
        mask = (rng.random(x.shape) < keep).astype(x.dtype) / keep  # (T, B, D)
        return x * mask, (), mask

    def backward(
        self,
        params: seqnet.Params,
        cache: Any,
        dy: seqnet.Array,
        dcarry: seqnet.Carry,
        input_grad: bool = True,
    ) -> tuple[seqnet.Array | None, seqnet.Carry, seqnet.Params]:
        if not input_grad:
            return None, (), {}
        mask = cache
        return (dy if mask is None else dy * mask), (), {}
