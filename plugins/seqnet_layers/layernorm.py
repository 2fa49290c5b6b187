"""The `layernorm` layer: each step's vector normalised over its features, then scaled."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Field

import seqnet


class LayerNorm:
    """LayerNorm over the last axis, with a learned gain and bias (as torch.nn.LayerNorm).

        μ = mean_d x_d    σ² = mean_d (x_d - μ)²    x̂ = (x - μ) / √(σ² + ε)
        y = x̂ ⊙ g + b        x, y (T, B, D); g, b (D,); μ, σ² (T, B, 1)
        dx = (dx̂ - mean_d dx̂ - x̂ mean_d(dx̂ ⊙ x̂)) / √(σ² + ε),  dx̂ = dy ⊙ g

    σ² is the biased variance, ε = 1e-5 by default, as torch. Init g = 1, b = 0;
    g = LayerNorm.weight, b = LayerNorm.bias. Stateless: the carry is ().
    """

    name: ClassVar[str] = "layernorm"

    class Spec(seqnet.PluginSpec):
        eps: Annotated[float, Field(gt=0.0, le=1.0, description="added to the variance, ε")] = 1e-5

    @seqnet.spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def torch_module(self, params: seqnet.Params) -> Any:
        """torch.nn.LayerNorm with weight g and bias b (seqnet.to_torch)."""
        import torch

        g = params["g"]
        module = torch.nn.LayerNorm(g.shape[0], eps=self.spec.eps)
        return seqnet.torch_loaded(module, {"weight": g, "bias": params["b"]})

    @classmethod
    def from_torch_module(cls, module: Any) -> tuple[dict[str, Any], seqnet.Params] | None:
        """A torch.nn.LayerNorm over the last axis, with a gain and a bias."""
        import torch

        if type(module) is not torch.nn.LayerNorm or len(module.normalized_shape) != 1:
            return None
        if module.weight is None or module.bias is None:
            return None
        w = seqnet.torch_weights(module)
        return {"eps": module.eps}, {"g": w["weight"], "b": w["bias"]}

    def init(self, rng: np.random.Generator, input_size: int) -> seqnet.Params:
        return {"g": np.ones(input_size), "b": np.zeros(input_size)}

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
        centred = x - x.mean(axis=-1, keepdims=True)  # (T, B, D)
        var = np.mean(centred * centred, axis=-1, keepdims=True)  # (T, B, 1)
        inv_std = 1.0 / np.sqrt(var + self.spec.eps)  # (T, B, 1)
        xhat = centred * inv_std  # (T, B, D)
        return xhat * params["g"] + params["b"], (), (xhat, inv_std)

    def backward(
        self,
        params: seqnet.Params,
        cache: Any,
        dy: seqnet.Array,
        dcarry: seqnet.Carry,
        input_grad: bool = True,
    ) -> tuple[seqnet.Array | None, seqnet.Carry, seqnet.Params]:
        xhat, inv_std = cache
        D = xhat.shape[-1]
        # y = x̂ ⊙ g + b
        grads = {
            "g": np.add.reduce((dy * xhat).reshape(-1, D), axis=0),
            "b": np.add.reduce(dy.reshape(-1, D), axis=0),
        }
        if not input_grad:
            return None, (), grads
        # x̂ = (x - μ) / √(σ² + ε), with μ and σ² functions of x
        dxhat = dy * params["g"]  # (T, B, D)
        dx = dxhat - dxhat.mean(axis=-1, keepdims=True)
        dx -= xhat * np.mean(dxhat * xhat, axis=-1, keepdims=True)
        dx *= inv_std
        return dx, (), grads
