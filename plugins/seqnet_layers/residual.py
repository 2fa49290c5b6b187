"""The `residual` layer: a stack of layers whose output is added to its input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError

import seqnet


class Residual:
    """Residual: y = x + f(x), f the given layers applied in order.

        h_0 = x,  h_k = layer_k(h_{k-1})      x, h_K, y (T, B, D)
        y = x + h_K;    dx = dy + (the layers' backward of dy)

    The layers must give back as many features as they receive (checked by `output_size`).
    Parameters are the layers' own under `layers.k.` (e.g. `layers.0.W`); the carry is the
    layers' carries one after another (`()` when all are stateless).
    """

    name: ClassVar[str] = "residual"

    class Spec(seqnet.PluginSpec):
        layers: list[Any] = Field(
            min_length=1,
            description="the layers of f, each {type: NAME, ...its options}; in code also a"
            " layer or cell object, kept as its spec (`Dense(units=8)`, `GRUCell(hidden=8)`)",
        )
        _layer_specs: list[BaseModel] = PrivateAttr()

        @field_validator("layers", mode="before")
        @classmethod
        def _as_specs(cls, layers: Any) -> Any:
            return [_as_data(layer) for layer in layers] if isinstance(layers, list) else layers

        @model_validator(mode="after")
        def _check_layers(self) -> Residual.Spec:
            specs = []
            for k, data in enumerate(self.layers):
                try:
                    specs.append(seqnet.layer_spec(data))
                except seqnet.SeqnetError as error:
                    raise PydanticCustomError(
                        "layer_options", "{reason}", {"reason": f"residual layers.{k}: {error}"}
                    ) from None
            self._layer_specs = specs
            return self

    @seqnet.spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.layers = [seqnet.build_layer(layer) for layer in spec._layer_specs]
        self.prefixes = [f"layers.{k}." for k in range(len(self.layers))]
        self.parts = [len(layer.initial_carry(1, np.dtype(np.float64))) for layer in self.layers]
        # y_t depends on no x after t unless a layer reads the sequence backwards
        self.causal = all(
            getattr(layer, "causal", not getattr(layer, "reverse", False)) for layer in self.layers
        )

    def torch_module(self, params: seqnet.Params) -> Any:
        """Its layers' torch modules, their output added to the input (seqnet.to_torch)."""
        from seqnet_layers.torch_residual import ResidualModule  # imports torch

        layers = [
            seqnet.layer_to_torch(layer, _sub(params, prefix), f"residual layer {k}")
            for k, (prefix, layer) in enumerate(zip(self.prefixes, self.layers, strict=True))
        ]
        return ResidualModule(layers, self.parts)

    @classmethod
    def from_torch_module(cls, module: Any) -> tuple[dict[str, Any], seqnet.Params] | None:
        """What `torch_module` made, back to the layer list and params."""
        from seqnet_layers.torch_residual import ResidualModule

        if not isinstance(module, ResidualModule):
            return None
        sections: list[dict[str, Any]] = []
        params: seqnet.Params = {}
        for layer in module.layers:
            for section, layer_params in seqnet.layer_from_torch(layer):
                prefix = f"layers.{len(sections)}."
                params |= {prefix + name: value for name, value in layer_params.items()}
                sections.append(section)
        return {"layers": sections}, params

    def init(self, rng: np.random.Generator, input_size: int) -> seqnet.Params:
        self.output_size(input_size)
        params: seqnet.Params = {}
        size = input_size
        for prefix, layer in zip(self.prefixes, self.layers, strict=True):
            params |= {prefix + k: v for k, v in layer.init(rng, size).items()}
            size = layer.output_size(size)
        return params

    def output_size(self, input_size: int) -> int:
        size = input_size
        for layer in self.layers:
            size = layer.output_size(size)
        if size != input_size:
            raise seqnet.SpecError(
                f"residual: its layers turn {input_size} features into {size}; y = x + f(x)"
                f" needs f to give back {input_size}"
            )
        return input_size

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> seqnet.Carry:
        return tuple(part for layer in self.layers for part in layer.initial_carry(batch, dtype))

    def _split(self, carry: seqnet.Carry) -> list[seqnet.Carry]:
        out, start = [], 0
        for n in self.parts:
            out.append(carry[start : start + n])
            start += n
        return out

    def forward(
        self,
        params: seqnet.Params,
        x: seqnet.Array,
        carry: seqnet.Carry,
        rng: np.random.Generator | None = None,
    ) -> tuple[seqnet.Array, seqnet.Carry, Any]:
        h, finals, caches = x, list[seqnet.Array](), list[Any]()
        for prefix, layer, part in zip(self.prefixes, self.layers, self._split(carry), strict=True):
            h, final, cache = layer.forward(_sub(params, prefix), h, part, rng)
            finals.extend(final)
            caches.append(cache)
        return x + h, tuple(finals), caches

    def backward(
        self,
        params: seqnet.Params,
        cache: Any,
        dy: seqnet.Array,
        dcarry: seqnet.Carry,
        input_grad: bool = True,
    ) -> tuple[seqnet.Array | None, seqnet.Carry, seqnet.Params]:
        grads: seqnet.Params = {}
        dcarries: list[seqnet.Carry] = []
        dh: seqnet.Array | None = dy
        parts = self._split(dcarry)
        for k in reversed(range(len(self.layers))):
            # h_k = layer_k(h_{k-1}); the first layer's input is x, needed only if dx is
            assert dh is not None, "asked for with input_grad=True"
            dh, dpart, layer_grads = self.layers[k].backward(
                _sub(params, self.prefixes[k]), cache[k], dh, parts[k], k > 0 or input_grad
            )
            grads |= {self.prefixes[k] + name: g for name, g in layer_grads.items()}
            dcarries.insert(0, dpart)
        dcarry0 = tuple(part for d in dcarries for part in d)
        grads = {name: grads[name] for name in params}
        if not input_grad or dh is None:
            return None, dcarry0, grads
        return dy + dh, dcarry0, grads  # y = x + h_K


def _as_data(layer: Any) -> Any:
    """A layer or cell object's spec as the dict a spec file would hold; anything else as it
    is (a dict is validated as a layer section, anything else is refused there)."""
    if isinstance(layer, seqnet.CellLayer):  # a cell layer's options are its cell's
        return {**_as_data(layer.cell), "reverse": layer.reverse}
    spec, name = getattr(layer, "spec", None), getattr(layer, "name", None)
    if isinstance(spec, BaseModel) and isinstance(name, str) and not isinstance(layer, Mapping):
        return {**spec.model_dump(), "type": name}
    return layer


def _sub(params: seqnet.Params, prefix: str) -> seqnet.Params:
    n = len(prefix)
    return {name[n:]: value for name, value in params.items() if name.startswith(prefix)}
