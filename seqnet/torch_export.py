"""A seqnet model as a torch.nn.Module (`to_torch`) and a PyTorch model as seqnet's (`from_torch`).

Each layer converts itself through two optional methods (`TorchExport`, `TorchImport`), so a
plugin's layer can take part; this module wires them, splits torch's stacked and bidirectional
recurrent modules into seqnet layers, and imports torch only when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from seqnet.errors import SeqnetError, SpecError
from seqnet.interfaces import Array, Layer, Params
from seqnet.model import Sequential, flat_params, layer_name, reads_tokens
from seqnet.recurrent import CellLayer
from seqnet.registry import Kind

INSTALL = "seqnet.to_torch and seqnet.from_torch need PyTorch, not installed: pip install torch"


@runtime_checkable
class TorchExport(Protocol):
    """Optional method of a cell or layer: the torch.nn.Module that computes what it computes.

    A cell returns a one-layer, one-direction, time-major torch.nn.RNN, LSTM or GRU holding its
    params (seqnet runs it forward or reversed, as the cell layer says). A stateless layer
    returns any module with `forward(x) -> y`; a layer with a carry returns a module with the
    class attribute `takes_carry = True` and `forward(x, carry) -> (y, carry)` in seqnet's carry
    layout (`seqnet.torch_recurrent` makes one of a recurrent module). Load weights with
    `seqnet.torch_loaded(module, weights)`, which gives the module the params' dtype. Raise
    seqnet.SpecError, one line, for an option torch cannot follow.
    """

    def torch_module(self, params: Params) -> Any: ...


@runtime_checkable
class TorchImport(Protocol):
    """Optional classmethod of a cell or layer class: `from_torch_module(module)` gives the
    options (the layer's spec section without `type`) and params of a torch module this class
    computes exactly, or None when it does not take that module. A cell is asked about
    one-layer, one-direction recurrent modules with biases only (seqnet splits the others)."""

    def from_torch_module(self, module: Any) -> tuple[dict[str, Any], Params] | None: ...


class Converted(NamedTuple):
    """A model and its params (what `from_torch` returns; `to_torch` takes it back), and the
    `model.layers` section of a spec that builds the same model."""

    model: Sequential
    params: Params
    layers: list[dict[str, Any]]


def require_torch() -> Any:
    """The torch module; a SeqnetError with one line saying how to install it if it is missing."""
    try:
        import torch
    except ImportError:
        raise SeqnetError(INSTALL) from None
    return torch


def torch_loaded(module: Any, weights: Mapping[str, Array]) -> Any:
    """`module` in the dtype of `weights` (numpy arrays, copied in), every entry of its
    state_dict set from them; a missing or unexpected name or a wrong shape is an error."""
    torch = require_torch()
    dtype = torch.from_numpy(np.asarray(next(iter(weights.values())))).dtype
    module = module.to(dtype)
    module.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in weights.items()})
    return module


def torch_weights(module: Any) -> dict[str, Array]:
    """A torch module's state_dict as numpy arrays (copies)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def torch_recurrent(rnn: Any, reverse: bool = False, merge: str = "concat") -> Any:
    """A one-layer torch recurrent module as a layer with seqnet's carry: `reverse` reads the
    sequence from its end; a bidirectional one's halves are concatenated or (merge "sum") added."""
    require_torch()
    from seqnet.torch_modules import Recurrent

    return Recurrent(rnn, reverse=reverse, merge=merge)


def to_torch(source: Any, params: Params | None = None) -> Any:
    """A torch.nn.Module computing what a seqnet model computes, in its params' dtype.

    `source`: a seqnet.Sequential with its `params`, or anything with `.model` and `.params`
    (a seqnet.Run, what `from_torch` returns). The module's forward(x, carries=None) returns
    (logits (T, B, V), final carries), as Sequential.forward; see seqnet.torch_modules.Exported.
    A layer with no PyTorch counterpart is a SpecError naming it.
    """
    model = getattr(source, "model", source)
    params = getattr(source, "params", None) if params is None else params
    if not isinstance(model, Sequential):
        raise SpecError(
            f"to_torch takes a seqnet model (a Sequential, or a run with .model and .params);"
            f" got {type(model).__name__}"
        )
    if params is None:
        raise SpecError("to_torch needs the model's params: to_torch(model, params)")
    torch = require_torch()
    from seqnet.torch_modules import Exported

    layers = [
        layer_to_torch(layer, model.sub(params, prefix), f"layer {k}")
        for k, (prefix, layer) in enumerate(zip(model.prefixes, model.layers, strict=True))
    ]
    W = params["head.W"]
    head = torch_loaded(torch.nn.Linear(*W.shape), {"weight": W.T, "bias": params["head.b"]})
    first = bool(model.layers) and reads_tokens(model.layers[0])
    return Exported(layers, head, model.input_size, first).eval()


def layer_to_torch(layer: Layer, params: Params, where: str = "layer") -> Any:
    """One seqnet layer as a torch module with `forward(x, carry) -> (y, carry)`."""
    torch = require_torch()
    from seqnet.torch_modules import Recurrent, Stateless

    part: Any = layer.cell if isinstance(layer, CellLayer) else layer
    reverse = isinstance(layer, CellLayer) and layer.reverse
    if not isinstance(part, TorchExport):
        raise SpecError(
            f"{where} ({layer_name(layer)}) has no PyTorch counterpart: to_torch cannot export it"
        )
    module = part.torch_module(params)
    if isinstance(module, torch.nn.RNNBase):
        return Recurrent(module, reverse=reverse)
    if getattr(module, "takes_carry", False):  # Recurrent, or a layer's own (residual)
        return module
    return Stateless(module)


def from_torch(module: Any, task: Any) -> Converted:
    """A seqnet model and params computing what a PyTorch model computes.

    `module`: what `to_torch` made, or a module whose children, in the order it applies them,
    are recurrent modules (torch.nn.RNN, LSTM, GRU: any number of layers, bidirectional or not,
    time-major or batch-first) and other layers seqnet has (Embedding, LayerNorm, Dropout,
    Linear), the last child a torch.nn.Linear: the head. `task`: a task object or a registered
    task name; the model's sizes must be the task's.
    """
    torch = require_torch()
    from seqnet.layers import active_registry, build_layer
    from seqnet.torch_modules import Exported

    if isinstance(task, str):
        task = active_registry().get("task", task).cls()
    if isinstance(module, Exported):
        parts, head = list(module.layers), module.head
    else:
        parts = list(module.children())
        if not parts or not isinstance(parts[-1], torch.nn.Linear):
            raise SpecError(
                f"from_torch: the last child of {type(module).__name__} must be a torch.nn.Linear"
                " (the head)"
            )
        parts, head = parts[:-1], parts[-1]
    sections: list[dict[str, Any]] = []
    found: list[Params] = []
    for part in parts:
        for section, part_params in layer_from_torch(part):
            sections.append(section)
            found.append(part_params)
    layers = [build_layer(section) for section in sections]
    dtype = "float32" if head.weight.dtype == torch.float32 else "float64"
    model = Sequential(layers, task.input_size, task.output_size, dtype=dtype)
    weights = torch_weights(head)
    params: Params = {}
    for k, part_params in enumerate(found):
        params |= {f"layers.{k}.{name}": value for name, value in part_params.items()}
    params |= {"head.W": weights["weight"].T.copy(), "head.b": weights["bias"]}
    expected = model.init(np.random.default_rng(0))
    for name, value in expected.items():
        if name not in params or params[name].shape != value.shape:
            raise SpecError(_size_problem(name, params.get(name), value, task))
    return Converted(model, flat_params({n: params[n] for n in expected}, model.dtype), sections)


def _size_problem(name: str, got: Array | None, want: Array, task: Any) -> str:
    shape = "missing" if got is None else f"of shape {got.shape}"
    return (
        f"from_torch: {name} is {shape}, the model needs {want.shape} (task"
        f" {getattr(task, 'name', type(task).__name__)}: inputs {task.input_size}, outputs"
        f" {task.output_size})"
    )


def layer_from_torch(part: Any) -> list[tuple[dict[str, Any], Params]]:
    """The seqnet layer sections (`{type: ..., ...}`) and their params that one torch module
    stands for (a stacked recurrent module is several layers); for layers made of layers."""
    torch = require_torch()
    from seqnet.torch_modules import Recurrent, Stateless

    if isinstance(part, Stateless):
        part = part.module
    reverse, merge = False, "concat"
    if isinstance(part, Recurrent):
        part, reverse, merge = part.rnn, part.reverse, part.merge
    if not isinstance(part, torch.nn.RNNBase):
        return [_claimed(part, "layer")]
    out: list[tuple[dict[str, Any], Params]] = []
    for k, directions in enumerate(_split(part)):
        if k > 0 and part.dropout > 0.0:  # torch drops out between its layers when training
            out.append(({"type": "dropout", "p": part.dropout}, {}))
        halves = [_claimed(one, "cell") for one in directions]
        (section, params), *reversed_half = halves
        if not reversed_half:
            out.append(({**section, "reverse": reverse}, params))
            continue
        ((_, params_b),) = reversed_half  # the same cell and options as the forward half
        cell, hidden = section.pop("type"), section.pop("hidden")
        # the layer that torch's bidirectional=True is: one cell each way, own weights
        bidirectional = {"type": "bidirectional", "cell": cell, "hidden": hidden, "merge": merge}
        both = {"fwd." + n: v for n, v in params.items()}
        both |= {"bwd." + n: v for n, v in params_b.items()}
        out.append(({**bidirectional, "options": section}, both))
    return out


def _split(rnn: Any) -> list[list[Any]]:
    """A torch recurrent module as one-layer, one-direction modules with biases: per layer, the
    forward direction and (if bidirectional) the reverse one."""
    torch = require_torch()
    if getattr(rnn, "proj_size", 0):
        raise SpecError("from_torch: an LSTM with proj_size has no seqnet counterpart")
    weights = torch_weights(rnn)
    layers = []
    for k in range(rnn.num_layers):
        directions = []
        for suffix in ("", "_reverse")[: 2 if rnn.bidirectional else 1]:
            size = rnn.input_size if k == 0 else rnn.hidden_size * (2 if rnn.bidirectional else 1)
            options = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, torch.nn.RNN) else {}
            one = type(rnn)(size, rnn.hidden_size, **options)
            names = [f"{w}_l{k}{suffix}" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            zeros = np.zeros(weights[names[0]].shape[0], dtype=weights[names[0]].dtype)
            arrays = [weights[names[0]], weights[names[1]]]
            arrays += [weights.get(names[2], zeros), weights.get(names[3], zeros)]
            plain = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
            directions.append(torch_loaded(one, dict(zip(plain, arrays, strict=True))))
        layers.append(directions)
    return layers


def _claimed(part: Any, kind: Kind) -> tuple[dict[str, Any], Params]:
    """The section and params of the first registered `kind` whose `from_torch_module` takes
    `part`, in name order; a SpecError naming the module when none does."""
    from seqnet.layers import active_registry

    registry = active_registry()
    for name in registry.names(kind):
        cls = registry.entries[kind][name].cls
        if isinstance(cls, TorchImport):
            taken = cls.from_torch_module(part)
            if taken is not None:
                options, params = taken
                return {"type": name, **options}, params
    raise SpecError(f"from_torch: no seqnet {kind} computes {part!r}")
