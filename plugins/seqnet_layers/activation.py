"""The `activation` layer: one elementwise function of every feature, with no parameters."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

import seqnet
from seqnet_layers.activations import Activation, activate, activation_of, slope, torch_activation


class ActivationLayer:
    """y = act(x) at every step and feature, act linear, tanh, relu, sigmoid or gelu:

        x (T, B, D) -> y (T, B, D);  dx = dy ⊙ act'(x)

    The functions are the `dense` layer's (which applies one after its affine map); this layer
    applies one alone, e.g. between a cell and the readout: `[{type: lstm, hidden: 64},
    {type: activation, function: relu}]` reads the head from ReLU(h). No parameters;
    stateless: the carry is ().
    """

    name: ClassVar[str] = "activation"

    class Spec(seqnet.PluginSpec):
        function: Activation = Field("relu", description="applied to every feature")

    @seqnet.spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def torch_module(self, params: seqnet.Params) -> Any:
        """torch.nn.ReLU, Tanh, Sigmoid, GELU or Identity (seqnet.to_torch)."""
        return torch_activation(self.spec.function)

    @classmethod
    def from_torch_module(cls, module: Any) -> tuple[dict[str, Any], seqnet.Params] | None:
        function = activation_of(module)
        return None if function is None else ({"function": function}, {})

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
        y, kept = activate(self.spec.function, x)
        return y, (), (x, kept)

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
        x, kept = cache
        act_slope = slope(self.spec.function, x, kept)
        return (dy if act_slope is None else dy * act_slope), (), {}
