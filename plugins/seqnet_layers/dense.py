"""The `dense` layer: an affine map of every step followed by an activation."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Field

import seqnet
from seqnet_layers.activations import Activation, activate, activation_of, slope, torch_activation


class Dense:
    """Dense: y_t = act(x_t W + b) at every step, act linear, tanh, relu, sigmoid or gelu.

        a = x W + b            x (T, B, D), W (D, U), b (U,), a (T, B, U)
        y = act(a)             (T, B, U)

    gelu is the exact one, a Φ(a) with Φ the standard normal CDF (torch's default,
    `approximate="none"`). Stateless: the carry is (). Initialised as torch.nn.Linear: W and b
    uniform in ±1/√D; W = Linear.weight.T, b = Linear.bias.
    """

    name: ClassVar[str] = "dense"

    class Spec(seqnet.PluginSpec):
        units: Annotated[int, Field(gt=0, le=1_000_000, description="output size U")]
        activation: Activation = Field("linear", description="applied after the affine map")

    @seqnet.spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def torch_module(self, params: seqnet.Params) -> Any:
        """torch.nn.Linear (W = weight.T), followed by the activation module (seqnet.to_torch)."""
        import torch

        W = params["W"]
        linear = seqnet.torch_loaded(
            torch.nn.Linear(*W.shape), {"weight": W.T, "bias": params["b"]}
        )
        if self.spec.activation == "linear":
            return linear
        return torch.nn.Sequential(linear, torch_activation(self.spec.activation))

    @classmethod
    def from_torch_module(cls, module: Any) -> tuple[dict[str, Any], seqnet.Params] | None:
        """A torch.nn.Linear, alone or followed by Tanh, ReLU, Sigmoid or exact GELU in a
        torch.nn.Sequential."""
        import torch

        activation: Activation | None = "linear"
        if type(module) is torch.nn.Sequential and len(module) == 2:
            module, activation = module[0], activation_of(module[1])
            if activation in (None, "linear"):  # a Linear then an Identity is not one
                return None
        if type(module) is not torch.nn.Linear or module.bias is None:
            return None
        w = seqnet.torch_weights(module)
        options = {"units": w["weight"].shape[0], "activation": activation}
        return options, {"W": w["weight"].T.copy(), "b": w["bias"]}

    def init(self, rng: np.random.Generator, input_size: int) -> seqnet.Params:
        bound = 1.0 / np.sqrt(input_size)
        return {
            "W": rng.uniform(-bound, bound, (input_size, self.spec.units)),
            "b": rng.uniform(-bound, bound, self.spec.units),
        }

    def output_size(self, input_size: int) -> int:
        return self.spec.units

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> seqnet.Carry:
        return ()

    def forward(
        self,
        params: seqnet.Params,
        x: seqnet.Array,
        carry: seqnet.Carry,
        rng: np.random.Generator | None = None,
    ) -> tuple[seqnet.Array, seqnet.Carry, Any]:
        T, B, D = x.shape
        a = (x.reshape(T * B, D) @ params["W"]).reshape(T, B, -1)  # (T, B, U)
        a += params["b"]
        y, kept = activate(self.spec.activation, a)
        return y, (), (x, a, kept)

    def backward(
        self,
        params: seqnet.Params,
        cache: Any,
        dy: seqnet.Array,
        dcarry: seqnet.Carry,
        input_grad: bool = True,
    ) -> tuple[seqnet.Array | None, seqnet.Carry, seqnet.Params]:
        x, a, kept = cache
        T, B, D = x.shape
        # y = act(a)
        act_slope = slope(self.spec.activation, a, kept)
        da = dy if act_slope is None else dy * act_slope
        flat_da = da.reshape(T * B, -1)  # (N, U)
        # a = x W + b
        grads = {"W": x.reshape(T * B, D).T @ flat_da, "b": np.add.reduce(flat_da, axis=0)}
        if not input_grad:
            return None, (), grads
        return (flat_da @ params["W"].T).reshape(T, B, D), (), grads
