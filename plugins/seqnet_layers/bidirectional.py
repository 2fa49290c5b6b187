"""The `bidirectional` layer: a registered cell run forward and reversed in time, merged."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

import seqnet


class Bidirectional:
    """Bidirectional: one cell over x forward in time, a second (own weights) over x reversed.

        →h_t = cell_fwd(x_t, →h_{t-1})         t = 0 .. T-1        (T, B, H)
        ←h_t = cell_bwd(x_t, ←h_{t+1})         t = T-1 .. 0        (T, B, H)
        y_t = [→h_t | ←h_t]  (merge concat, (T, B, 2H))  or  →h_t + ←h_t  (merge sum, (T, B, H))

    x (T, B, D). Both directions are the engine's cell layer (`seqnet.CellLayer`), so
    backprop through time is the engine's, written once: dx = dx_fwd + dx_bwd. Parameters
    `fwd.*` and `bwd.*` are the cell's own (e.g. `fwd.W_x`); the carry is the forward cell's
    carry parts followed by the reversed cell's (its carry_T is its state after step 0).
    Any option the cell takes passes through: `{type: bidirectional, cell: lstm, hidden: 64}`.
    As torch.nn.LSTM/GRU(bidirectional=True): `fwd` is layer 0, `bwd` is layer 0 `_reverse`.
    """

    name: ClassVar[str] = "bidirectional"

    class Spec(seqnet.PluginSpec):
        cell: str = Field(description="a registered cell, run in both directions")
        hidden: Annotated[int, Field(gt=0, le=1_000_000, description="each direction's H")]
        merge: Literal["concat", "sum"] = Field(
            "concat", description="concat: (T, B, 2H); sum: (T, B, H)"
        )
        options: dict[str, Any] = Field(
            default_factory=dict, description="the cell's other options (may also be given flat)"
        )
        _cell_spec: BaseModel = PrivateAttr()

        @model_validator(mode="before")
        @classmethod
        def _gather_cell_options(cls, data: Any) -> Any:
            """Options this Spec does not declare are the cell's: gathered into `options`."""
            if not isinstance(data, dict):
                return data
            own = set(cls.model_fields) | {"type"}
            extra = {k: v for k, v in data.items() if k not in own}
            if not extra:
                return data
            kept = {k: v for k, v in data.items() if k in own}
            return {**kept, "options": {**dict(kept.get("options") or {}), **extra}}

        @model_validator(mode="after")
        def _check_cell(self) -> Bidirectional.Spec:
            if "reverse" in self.options:
                raise _error("bidirectional runs its cell both ways: drop `reverse`")
            cell = {"type": self.cell, "hidden": self.hidden, **self.options}
            try:
                self._cell_spec = seqnet.layer_spec(cell)
            except seqnet.SeqnetError as error:
                raise _error(f"bidirectional {self.cell}: {error}") from None
            # a cell's layer spec is the one with `reverse` (seqnet.layer_spec)
            if "reverse" not in type(self._cell_spec).model_fields:
                raise _error(f"bidirectional: '{self.cell}' is a layer, not a recurrent cell")
            return self

    @seqnet.spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        """The cell's other options go in `options` (`options={"activation": "relu"}`)."""
        self.spec = spec
        fwd = seqnet.build_layer(spec._cell_spec)
        assert isinstance(fwd, seqnet.CellLayer), "a cell's spec builds its cell layer"
        self.fwd = fwd
        self.bwd = seqnet.CellLayer(fwd.cell, reverse=True)
        self.parts = len(self.fwd.initial_carry(1, np.dtype(np.float64)))
        self.causal = False  # y_t depends on x after t: running two halves is not the whole

    def torch_module(self, params: seqnet.Params) -> Any:
        """One torch.nn.RNN, LSTM or GRU with bidirectional=True (seqnet.to_torch): `fwd` is its
        layer 0, `bwd` its layer 0 `_reverse`; merge sum adds the halves."""
        import torch

        make = getattr(self.fwd.cell, "torch_module", None)
        if make is None:
            raise seqnet.SpecError(
                f"bidirectional {self.spec.cell}: the cell has no PyTorch counterpart"
            )
        fwd, bwd = make(_sub(params, "fwd.")), make(_sub(params, "bwd."))
        options = {"nonlinearity": fwd.nonlinearity} if isinstance(fwd, torch.nn.RNN) else {}
        both = type(fwd)(fwd.input_size, fwd.hidden_size, bidirectional=True, **options)
        weights = seqnet.torch_weights(fwd)
        weights |= {k + "_reverse": v for k, v in seqnet.torch_weights(bwd).items()}
        return seqnet.torch_recurrent(seqnet.torch_loaded(both, weights), merge=self.spec.merge)

    def init(self, rng: np.random.Generator, input_size: int) -> seqnet.Params:
        params = {"fwd." + k: v for k, v in self.fwd.init(rng, input_size).items()}
        return params | {"bwd." + k: v for k, v in self.bwd.init(rng, input_size).items()}

    def output_size(self, input_size: int) -> int:
        return 2 * self.spec.hidden if self.spec.merge == "concat" else self.spec.hidden

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> seqnet.Carry:
        return self.fwd.initial_carry(batch, dtype) + self.bwd.initial_carry(batch, dtype)

    def forward(
        self,
        params: seqnet.Params,
        x: seqnet.Array,
        carry: seqnet.Carry,
        rng: np.random.Generator | None = None,
    ) -> tuple[seqnet.Array, seqnet.Carry, Any]:
        n = self.parts
        y_f, carry_f, cache_f = self.fwd.forward(_sub(params, "fwd."), x, carry[:n], rng)
        y_b, carry_b, cache_b = self.bwd.forward(_sub(params, "bwd."), x, carry[n:], rng)
        concat = self.spec.merge == "concat"
        y = np.concatenate((y_f, y_b), axis=-1) if concat else y_f + y_b  # (T, B, 2H or H)
        return y, carry_f + carry_b, (cache_f, cache_b)

    def backward(
        self,
        params: seqnet.Params,
        cache: Any,
        dy: seqnet.Array,
        dcarry: seqnet.Carry,
        input_grad: bool = True,
    ) -> tuple[seqnet.Array | None, seqnet.Carry, seqnet.Params]:
        cache_f, cache_b = cache
        n, H = self.parts, self.spec.hidden
        # y = [y_f | y_b]  or  y = y_f + y_b
        dy_f, dy_b = (dy[..., :H], dy[..., H:]) if self.spec.merge == "concat" else (dy, dy)
        dx_f, dcarry_f, grads_f = self.fwd.backward(
            _sub(params, "fwd."), cache_f, dy_f, dcarry[:n], input_grad
        )
        dx_b, dcarry_b, grads_b = self.bwd.backward(
            _sub(params, "bwd."), cache_b, dy_b, dcarry[n:], input_grad
        )
        grads = {"fwd." + k: g for k, g in grads_f.items()}
        grads |= {"bwd." + k: g for k, g in grads_b.items()}
        if not input_grad or dx_f is None or dx_b is None:
            return None, dcarry_f + dcarry_b, grads
        return dx_f + dx_b, dcarry_f + dcarry_b, grads  # both directions read the same x


def _error(reason: str) -> PydanticCustomError:
    """A validation error that reads as the reason alone (no "Value error, " before it)."""
    return PydanticCustomError("layer_options", "{reason}", {"reason": reason})


def _sub(params: seqnet.Params, prefix: str) -> seqnet.Params:
    n = len(prefix)
    return {name[n:]: value for name, value in params.items() if name.startswith(prefix)}
