"""The `embedding` layer: integer token ids to learned vectors."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Field

import seqnet


class Embedding:
    """Embedding: y_t = W[x_t], a row of a learned table for each token id.

        x (T, B) integer ids in [0, V)     W (V, E)     y = W[x] (T, B, E)
        dW[v] = Σ_{t,b : x_tb = v} dy_tb   (ids that repeat add up); no gradient for the ids

    The layer's input size is the vocabulary size V (the task's `vocab_size`). Stateless: the
    carry is (). Initialised as torch.nn.Embedding: W ~ N(0, 1); W = Embedding.weight.
    """

    name: ClassVar[str] = "embedding"
    reads_tokens: ClassVar[bool] = True

    class Spec(seqnet.PluginSpec):
        dim: Annotated[int, Field(gt=0, le=1_000_000, description="vector size E")]

    @seqnet.spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def torch_module(self, params: seqnet.Params) -> Any:
        """torch.nn.Embedding with weight W (seqnet.to_torch)."""
        import torch

        W = params["W"]
        return seqnet.torch_loaded(torch.nn.Embedding(*W.shape), {"weight": W})

    @classmethod
    def from_torch_module(cls, module: Any) -> tuple[dict[str, Any], seqnet.Params] | None:
        """A torch.nn.Embedding without max_norm (which would change the rows it reads)."""
        import torch

        if type(module) is not torch.nn.Embedding or module.max_norm is not None:
            return None
        W = seqnet.torch_weights(module)["weight"]
        return {"dim": W.shape[1]}, {"W": W}

    def init(self, rng: np.random.Generator, input_size: int) -> seqnet.Params:
        return {"W": rng.standard_normal((input_size, self.spec.dim))}

    def output_size(self, input_size: int) -> int:
        return self.spec.dim

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> seqnet.Carry:
        return ()

    def forward(
        self,
        params: seqnet.Params,
        x: seqnet.Array,
        carry: seqnet.Carry,
        rng: np.random.Generator | None = None,
    ) -> tuple[seqnet.Array, seqnet.Carry, Any]:
        V = params["W"].shape[0]
        if x.dtype.kind not in "iu" or x.ndim != 2:
            raise TypeError(f"embedding reads integer token ids (T, B), got {x.dtype} {x.shape}")
        if x.size and (x.min() < 0 or x.max() >= V):  # a negative id would index from the end
            raise ValueError(f"token ids must lie in [0, {V}); got {x.min()}..{x.max()}")
        return params["W"][x], (), x  # (T, B, E)

    def backward(
        self,
        params: seqnet.Params,
        cache: Any,
        dy: seqnet.Array,
        dcarry: seqnet.Carry,
        input_grad: bool = True,
    ) -> tuple[seqnet.Array | None, seqnet.Carry, seqnet.Params]:
        ids = cache.reshape(-1)  # (N,)
        V, E = params["W"].shape
        # y = W[x]: each step's gradient added into its token's row; one bincount over the flat
        # (row, column) index does every column at once (np.add.at took 5× as long)
        cells = (ids[:, None] * E + np.arange(E)).reshape(-1)  # (N·E,)
        dW = np.bincount(cells, weights=dy.reshape(-1), minlength=V * E).reshape(V, E)
        return None, (), {"W": dW.astype(dy.dtype, copy=False)}
