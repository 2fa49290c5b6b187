"""Model: a stack of recurrent layers of one cell type and a dense head, over one flat params dict.

Parameter names are dotted: `cells.0.W_h`, `head.W`. The model holds no arrays of its own;
`init` places every parameter in one flat buffer (each entry is a view), so an optimizer can
update them all in a few vectorised passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from seqnet import recurrent
from seqnet.head import Head
from seqnet.interfaces import Array, Batch, Carry, Cell, Params, SizedCarry


@dataclass
class ModelCache:
    layer_caches: list[Any]
    dropout_masks: list[Array | None]
    head_cache: Any
    finals: list[Carry]
    params: Params  # the dict forward was given, and its per-layer views (reused by backward)
    subs: dict[str, Params]


class Model:
    """`layers` recurrent layers of `cell`, then a dense head applied at every step.

    forward: x (T, B, D) -> logits (T, B, V). `dropout` (a probability) drops the inputs of
    layers 2..L during training only, when `forward` is given a generator.
    """

    def __init__(
        self,
        cell: Cell,
        input_size: int,
        output_size: int,
        layers: int = 1,
        dropout: float = 0.0,
        dtype: str | np.dtype[Any] = "float64",
    ) -> None:
        self.cell = cell
        self.input_size = input_size
        self.output_size = output_size
        self.layers = layers
        self.dropout = dropout
        self.dtype = np.dtype(dtype)
        self.head = Head(output_size)
        self.prefixes = [f"cells.{i}." for i in range(layers)]
        self.sized = isinstance(cell, SizedCarry)

    def init(self, rng: np.random.Generator) -> Params:
        """Fresh parameters, drawn in float64 and then cast, so both precisions start alike."""
        params: Params = {}
        size = self.input_size
        for prefix in self.prefixes:
            for name, value in self.cell.init(rng, size).items():
                params[prefix + name] = value
            size = self.cell.hidden
        for name, value in self.head.init(rng, size).items():
            params["head." + name] = value
        return flat_params(params, self.dtype)

    def initial_carries(self, batch: int, steps: int | None = None) -> list[Carry]:
        """Zero carries; for a cell with `initial_carry_for` (SizedCarry), sized for `steps`."""
        if steps is not None and self.sized:
            cell: Any = self.cell
            return [cell.initial_carry_for(batch, self.dtype, steps) for _ in range(self.layers)]
        return [self.cell.initial_carry(batch, self.dtype) for _ in range(self.layers)]

    def forward(
        self,
        params: Params,
        x: Array,
        carries: list[Carry] | None = None,
        rng: np.random.Generator | None = None,
    ) -> tuple[Array, list[Carry], ModelCache]:
        """Logits (T, B, V), each layer's final carry, and the cache for `backward`.

        `carries` continues from earlier carries (one tuple per layer); `rng` turns dropout on.
        """
        h = x.astype(self.dtype, copy=False)
        if carries is None:
            carries = self.initial_carries(x.shape[1], x.shape[0])
        finals, caches, masks = [], [], []
        subs = self.subs(params)
        for i, prefix in enumerate(self.prefixes):
            mask = None
            if i > 0 and rng is not None and self.dropout > 0.0:
                keep = 1.0 - self.dropout
                mask = (rng.random(h.shape) < keep).astype(self.dtype) / keep  # (T, B, H)
                h = h * mask
            h, final, cache = recurrent.sequence_forward(self.cell, subs[prefix], h, carries[i])
            finals.append(final)
            caches.append(cache)
            masks.append(mask)
        logits, _, head_cache = self.head.forward(subs["head."], h, ())  # (T, B, V)
        return logits, finals, ModelCache(caches, masks, head_cache, finals, params, subs)

    def backward(
        self, params: Params, cache: ModelCache, dlogits: Array, dcarries: list[Carry] | None = None
    ) -> tuple[Params, list[Carry]]:
        """Gradients of every parameter (same keys as `params`) and of the initial carries."""
        grads: Params = {}
        subs = cache.subs if params is cache.params else self.subs(params)
        dh, _, head_grads = self.head.backward(subs["head."], cache.head_cache, dlogits, ())
        assert dh is not None, "asked for with input_grad=True"
        for name, g in head_grads.items():
            grads["head." + name] = g
        dcarries0: list[Carry] = [()] * self.layers
        for i in reversed(range(self.layers)):
            prefix = self.prefixes[i]
            if dcarries is None:
                dcarry = recurrent.zeros_like_carry(cache.finals[i])
            else:
                dcarry = dcarries[i]
            # the first layer's input is data: nobody needs its gradient
            dx, dcarries0[i], layer_grads = recurrent.sequence_backward(
                self.cell,
                subs[prefix],
                cache.layer_caches[i],
                dh,
                dcarry,
                input_grad=i > 0,
            )
            for name, g in layer_grads.items():
                grads[prefix + name] = g
            if i == 0:
                break
            assert dx is not None, "asked for with input_grad=True"
            dh = dx
            mask = cache.dropout_masks[i]
            if mask is not None:  # h = h * mask
                dh = dh * mask
        return {name: grads[name] for name in params}, dcarries0

    def subs(self, params: Params) -> dict[str, Params]:
        """Each layer's parameters (`cells.0.` ...) and the head's (`head.`), by short name."""
        return {prefix: self.sub(params, prefix) for prefix in (*self.prefixes, "head.")}

    @staticmethod
    def sub(params: Params, prefix: str) -> Params:
        n = len(prefix)
        return {name[n:]: value for name, value in params.items() if name.startswith(prefix)}


def flat_params(params: Params, dtype: np.dtype[Any]) -> Params:
    """The same parameters cast to `dtype`, as views of one contiguous buffer in dict order."""
    sizes = [np.size(value) for value in params.values()]
    flat = np.empty(sum(sizes), dtype=dtype)
    out: Params = {}
    start = 0
    for (name, value), size in zip(params.items(), sizes, strict=True):
        view = flat[start : start + size].reshape(np.shape(value))
        view[...] = value
        out[name] = view
        start += size
    return out


def cast_batch(batch: Batch, dtype: np.dtype[Any]) -> Batch:
    """The batch in the model's precision (integer class targets stay integers)."""
    y = batch.y.astype(dtype, copy=False) if batch.y.dtype.kind == "f" else batch.y
    return Batch(batch.x.astype(dtype, copy=False), y, batch.mask.astype(dtype, copy=False))
