"""Sequential: a list of layers, then the dense head the task implies, over one flat params dict.

Parameter names are dotted: `layers.0.W_h`, `layers.2.fwd.b`, `head.W`. The model holds no
arrays of its own; `init` places every parameter in one flat buffer (each entry is a view), so
an optimizer can update them all in a few vectorised passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seqnet.errors import SpecError
from seqnet.head import Head
from seqnet.interfaces import Array, Batch, Carry, Cell, Layer, Params, sized_carry
from seqnet.recurrent import CellLayer, zeros_like_carry


@dataclass
class ModelCache:
    caches: list[Any]  # one per layer, then the head's
    finals: list[Carry]
    params: Params  # the dict forward was given, and its per-layer views (reused by backward)
    subs: dict[str, Params]


def as_layer(part: Layer | Cell) -> Layer:
    """A layer as it is; a cell (anything with `step` and no `output_size`) as a CellLayer."""
    if isinstance(part, Layer):
        return part
    return CellLayer(part)


def reads_tokens(layer: Layer) -> bool:
    return bool(getattr(type(layer), "reads_tokens", False))


class Sequential:
    """`layers` applied in order, then a dense head to `output_size` at every step.

    forward: x (T, B, D) -> logits (T, B, V), where D = `input_size`. A cell in `layers` is run
    as a layer (seqnet.CellLayer). x may also be integer token ids (T, B) < `input_size`: a
    first layer that reads tokens (embedding) gets them as they are, any other gets them
    one-hot, (T, B, input_size).
    """

    def __init__(
        self,
        layers: Sequence[Layer | Cell],
        input_size: int,
        output_size: int,
        dtype: str | np.dtype[Any] = "float64",
    ) -> None:
        self.layers: list[Layer] = [as_layer(part) for part in layers]
        self.input_size = input_size
        self.output_size = output_size
        self.dtype = np.dtype(dtype)
        self.head = Head(output_size)
        for i, layer in enumerate(self.layers[1:], start=1):
            if reads_tokens(layer):
                raise SpecError(f"layer {i} ({layer_name(layer)}) reads tokens: only the first may")
        self.sizes = [input_size]  # each layer's input size, then the head's
        for layer in self.layers:
            self.sizes.append(layer.output_size(self.sizes[-1]))
        self.prefixes = [f"layers.{i}." for i in range(len(self.layers))]
        self.parts: list[Layer] = [*self.layers, self.head]
        self.all_prefixes = [*self.prefixes, "head."]

    @property
    def width(self) -> int:
        """The widest layer's output: the work per row that BatchParallel weighs."""
        return max(self.sizes[1:])

    def init(self, rng: np.random.Generator) -> Params:
        """Fresh parameters, drawn in float64 and then cast, so both precisions start alike."""
        params: Params = {}
        for prefix, layer, size in zip(self.all_prefixes, self.parts, self.sizes, strict=True):
            for name, value in layer.init(rng, size).items():
                params[prefix + name] = value
        return flat_params(params, self.dtype)

    def initial_carries(self, batch: int, steps: int | None = None) -> list[Carry]:
        """Zero carries; a layer with `initial_carry_for` (SizedCarry) sizes its for `steps`."""
        return [
            layer.initial_carry_for(batch, self.dtype, steps)
            if steps is not None and sized_carry(layer)
            else layer.initial_carry(batch, self.dtype)
            for layer in self.layers
        ]

    def inputs(self, x: Array) -> Array:
        """What the first layer reads: ids as they are for a token reader, else vectors in the
        model's precision (ids one-hot)."""
        if x.dtype.kind in "iu":
            if self.layers and reads_tokens(self.layers[0]):
                return x
            return one_hot(x, self.input_size, self.dtype)  # (T, B, D)
        return x.astype(self.dtype, copy=False)

    def forward(
        self,
        params: Params,
        x: Array,
        carries: list[Carry] | None = None,
        rng: np.random.Generator | None = None,
    ) -> tuple[Array, list[Carry], ModelCache]:
        """Logits (T, B, V), each layer's final carry, and the cache for `backward`.

        `carries` continues from earlier carries (one tuple per layer, `()` for a stateless
        one); `rng` is given when training (dropout on) and None when evaluating.
        """
        h = self.inputs(x)
        if carries is None:
            carries = self.initial_carries(x.shape[1], x.shape[0])
        finals, caches = [], []
        subs = self.subs(params)
        for prefix, layer, carry in zip(self.prefixes, self.layers, carries, strict=True):
            h, final, cache = layer.forward(subs[prefix], h, carry, rng)
            finals.append(final)
            caches.append(cache)
        logits, _, head_cache = self.head.forward(subs["head."], h, (), rng)  # (T, B, V)
        caches.append(head_cache)
        return logits, finals, ModelCache(caches, finals, params, subs)

    def backward(
        self, params: Params, cache: ModelCache, dlogits: Array, dcarries: list[Carry] | None = None
    ) -> tuple[Params, list[Carry]]:
        """Gradients of every parameter (same keys as `params`) and of the initial carries."""
        grads: Params = {}
        subs = cache.subs if params is cache.params else self.subs(params)
        dh, _, head_grads = self.head.backward(
            subs["head."], cache.caches[-1], dlogits, (), input_grad=bool(self.layers)
        )
        for name, g in head_grads.items():
            grads["head." + name] = g
        dcarries0: list[Carry] = [()] * len(self.layers)
        for i in reversed(range(len(self.layers))):
            prefix = self.prefixes[i]
            dcarry = zeros_like_carry(cache.finals[i]) if dcarries is None else dcarries[i]
            assert dh is not None, "asked for with input_grad=True"
            # the first layer's input is data: nobody needs its gradient
            dh, dcarries0[i], layer_grads = self.layers[i].backward(
                subs[prefix], cache.caches[i], dh, dcarry, input_grad=i > 0
            )
            for name, g in layer_grads.items():
                grads[prefix + name] = g
        return {name: grads[name] for name in params}, dcarries0

    def subs(self, params: Params) -> dict[str, Params]:
        """Each layer's parameters (`layers.0.` ...) and the head's (`head.`), by short name."""
        return {prefix: self.sub(params, prefix) for prefix in self.all_prefixes}

    @staticmethod
    def sub(params: Params, prefix: str) -> Params:
        n = len(prefix)
        return {name[n:]: value for name, value in params.items() if name.startswith(prefix)}


def stacked(cell: Cell, layers: int = 1, dropout: float = 0.0) -> list[Layer]:
    """The shorthand model's layers: `layers` of one cell, with dropout between them.

    The dropout is the registered `dropout` layer, drawing from the model's generator in
    layer order, so `--layers 2 --dropout 0.2` gives the numbers it always has.
    """
    from seqnet.layers import build_layer  # the registry: only when dropout asks for it

    parts: list[Layer] = []
    for i in range(layers):
        if i > 0 and dropout > 0.0:
            parts.append(build_layer({"type": "dropout", "p": dropout}))
        parts.append(CellLayer(cell))
    return parts


def Model(  # the name of the class it replaces, kept for code that builds one
    cell: Cell,
    input_size: int,
    output_size: int,
    layers: int = 1,
    dropout: float = 0.0,
    dtype: str | np.dtype[Any] = "float64",
) -> Sequential:
    """Today's model: `layers` recurrent layers of `cell` (dropout between), then the head."""
    return Sequential(stacked(cell, layers, dropout), input_size, output_size, dtype=dtype)


def layer_name(layer: Layer) -> str:
    return str(getattr(layer, "name", type(layer).__name__))


def one_hot(ids: Array, size: int, dtype: np.dtype[Any]) -> Array:
    """(T, B) integer ids -> (T, B, size) one-hot vectors."""
    if ids.size and (ids.min() < 0 or ids.max() >= size):
        raise ValueError(f"token ids must lie in [0, {size}); got {ids.min()}..{ids.max()}")
    out = np.zeros((*ids.shape, size), dtype=dtype)  # (T, B, D)
    np.put_along_axis(out, ids[..., None], 1.0, axis=-1)
    return out


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
    """The batch in the model's precision (token ids and integer class targets stay integers)."""
    x = batch.x.astype(dtype, copy=False) if batch.x.dtype.kind == "f" else batch.x
    y = batch.y.astype(dtype, copy=False) if batch.y.dtype.kind == "f" else batch.y
    return Batch(x, y, batch.mask.astype(dtype, copy=False))
