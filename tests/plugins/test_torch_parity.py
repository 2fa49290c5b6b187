"""Parity with PyTorch in float64: same weights ⇒ same outputs and gradients, to 1e-10.

Two consecutive sequences with the carry fed back (so gradients flow through the carry from
one into the other), for one cell and for a two-layer Model with a linear head. Skipped when
torch is not installed; torch is never a dependency of seqnet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from seqnet import recurrent
from seqnet.interfaces import Array, Carry, Params
from seqnet.model import Model
from seqnet_elman import ElmanCell
from seqnet_gru import GRUCell
from seqnet_lstm import LSTMCell

torch = pytest.importorskip("torch")

TOL = 1e-10
D, H, B, T1, T2 = 3, 4, 2, 5, 3


def elman_from_torch(weights: dict[str, Array], layer: int = 0) -> Params:
    """torch.nn.RNN -> ElmanCell: the two torch biases add up to seqnet's one."""
    k = f"_l{layer}"
    return {
        "W_x": weights["weight_ih" + k].T.copy(),
        "W_h": weights["weight_hh" + k].T.copy(),
        "b": weights["bias_ih" + k] + weights["bias_hh" + k],
    }


def elman_grads_from_torch(grads: dict[str, Array], layer: int = 0) -> Params:
    """Gradients of a torch.nn.RNN in seqnet's names: each torch bias gets b's gradient."""
    k = f"_l{layer}"
    assert_close("bias_hh", grads["bias_hh" + k], grads["bias_ih" + k])  # torch sums each its way
    return {**elman_from_torch(grads, layer), "b": grads["bias_ih" + k]}


# name -> (torch module for L layers, seqnet cell, weights -> params, grads -> params)
CASES: dict[str, tuple[Callable[[int], Any], Callable[[], Any], Any, Any]] = {
    "elman-tanh": (
        lambda L: torch.nn.RNN(D, H, num_layers=L, nonlinearity="tanh", dtype=torch.float64),
        lambda: ElmanCell(hidden=H, activation="tanh"),
        elman_from_torch,
        elman_grads_from_torch,
    ),
    "elman-relu": (
        lambda L: torch.nn.RNN(D, H, num_layers=L, nonlinearity="relu", dtype=torch.float64),
        lambda: ElmanCell(hidden=H, activation="relu"),
        elman_from_torch,
        elman_grads_from_torch,
    ),
    "lstm": (
        lambda L: torch.nn.LSTM(D, H, num_layers=L, dtype=torch.float64),
        lambda: LSTMCell(hidden=H),
        LSTMCell.from_torch,
        LSTMCell.from_torch,
    ),
    "gru": (
        lambda L: torch.nn.GRU(D, H, num_layers=L, dtype=torch.float64),
        lambda: GRUCell(hidden=H),
        GRUCell.from_torch,
        GRUCell.from_torch,
    ),
}


def torch_module(name: str, layers: int, rng: np.random.Generator) -> Any:
    """The torch module of `name`, its weights drawn from `rng` (so the test owns its numbers)."""
    module = CASES[name][0](layers)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.from_numpy(rng.uniform(-0.6, 0.6, tuple(parameter.shape))))
    return module


def weights_of(module: Any) -> dict[str, Array]:
    return {k: v.detach().numpy().copy() for k, v in module.named_parameters()}


def grads_of(module: Any) -> dict[str, Array]:
    return {k: v.grad.numpy().copy() for k, v in module.named_parameters()}


def torch_carry(parts: list[Any]) -> Any:
    """torch's carry: a tensor h, or a tuple (h, c) for the LSTM; each (L, B, H)."""
    return tuple(parts) if len(parts) == 2 else parts[0]


def torch_parts(carry: Any) -> list[Any]:
    return list(carry) if isinstance(carry, tuple) else [carry]


def assert_close(name: str, ours: Array, theirs: Array) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL, err_msg=name)


def problem(rng: np.random.Generator, parts: int, layers: int, V: int) -> dict[str, Any]:
    """Inputs of both sequences, the initial carry (parts, each (L, B, H)), loss weights."""
    return {
        "x1": rng.standard_normal((T1, B, D)),
        "x2": rng.standard_normal((T2, B, D)),
        "carry0": [0.5 * rng.standard_normal((layers, B, H)) for _ in range(parts)],
        "R1": rng.standard_normal((T1, B, V)),
        "R2": rng.standard_normal((T2, B, V)),
        "S": [rng.standard_normal((layers, B, H)) for _ in range(parts)],
    }


def run_torch(
    module: Any, head: Any, p: dict[str, Any]
) -> tuple[list[Array], list[Array], dict[str, Array]]:
    """Outputs, final carry parts and gradients (also of x1, x2, carry0) from torch."""
    x1, x2 = (torch.tensor(p[k], requires_grad=True) for k in ("x1", "x2"))
    carry0 = [torch.tensor(part, requires_grad=True) for part in p["carry0"]]
    out1, carry1 = module(x1, torch_carry(carry0))
    out2, carry2 = module(x2, carry1)  # the carry fed back, still in the graph
    outs = [head(out1), head(out2)] if head is not None else [out1, out2]
    loss = (outs[0] * torch.from_numpy(p["R1"])).sum() + (outs[1] * torch.from_numpy(p["R2"])).sum()
    for part, weight in zip(torch_parts(carry2), p["S"], strict=True):
        loss = loss + (part * torch.from_numpy(weight)).sum()
    loss.backward()
    extra = {"x1": x1.grad.numpy(), "x2": x2.grad.numpy()}
    extra |= {f"carry0[{k}]": part.grad.numpy() for k, part in enumerate(carry0)}
    return (
        [o.detach().numpy() for o in outs],
        [part.detach().numpy() for part in torch_parts(carry2)],
        extra,
    )


@pytest.mark.parametrize("path", ["sequence", "steps"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_one_cell_matches_torch_over_two_sequences(name: str, path: str) -> None:
    rng = np.random.default_rng(7)
    module = torch_module(name, 1, rng)
    cell = CASES[name][1]()
    params = CASES[name][2](weights_of(module))
    parts = len(cell.initial_carry(B, np.dtype(np.float64)))
    p = problem(rng, parts, 1, H)
    outs, finals, theirs = run_torch(module, None, p)

    forward, backward = {
        "sequence": (recurrent.sequence_forward, recurrent.sequence_backward),
        "steps": (recurrent.step_forward, recurrent.step_backward),
    }[path]
    carry0: Carry = tuple(part[0] for part in p["carry0"])
    h1, carry1, cache1 = forward(cell, params, p["x1"], carry0)
    h1 = h1.copy()  # the next forward must not disturb what we compare
    h2, carry2, cache2 = forward(cell, params, p["x2"], carry1)
    assert_close("h1", h1, outs[0])
    assert_close("h2", h2, outs[1])
    for k, part in enumerate(carry2):
        assert_close(f"carry2[{k}]", part, finals[k][0])

    dx2, dcarry1, grads2 = backward(cell, params, cache2, p["R2"], tuple(s[0] for s in p["S"]))
    dx1, dcarry0, grads1 = backward(cell, params, cache1, p["R1"], dcarry1)
    assert_close("dx1", dx1, theirs["x1"])
    assert_close("dx2", dx2, theirs["x2"])
    for k, part in enumerate(dcarry0):
        assert_close(f"dcarry0[{k}]", part, theirs[f"carry0[{k}]"][0])
    expected = CASES[name][3](grads_of(module))
    assert set(expected) == set(params)
    for key in params:
        assert_close(f"d{key}", grads1[key] + grads2[key], expected[key])


@pytest.mark.parametrize("name", sorted(CASES))
def test_two_layer_model_matches_torch_over_two_sequences(name: str) -> None:
    rng = np.random.default_rng(11)
    V = 2
    module = torch_module(name, 2, rng)
    head = torch.nn.Linear(H, V, dtype=torch.float64)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, (V, H))))
        head.bias.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, V)))
    cell = CASES[name][1]()
    model = Model(cell, D, V, layers=2)
    weights = weights_of(module)
    params: Params = {}
    for layer in range(2):
        params |= {f"layers.{layer}.{k}": v for k, v in CASES[name][2](weights, layer).items()}
    params["head.W"] = head.weight.detach().numpy().T.copy()
    params["head.b"] = head.bias.detach().numpy().copy()
    assert set(params) == set(model.init(np.random.default_rng(0)))
    parts = len(cell.initial_carry(B, np.dtype(np.float64)))
    p = problem(rng, parts, 2, V)
    outs, finals, theirs = run_torch(module, head, p)

    carries0 = [tuple(part[layer] for part in p["carry0"]) for layer in range(2)]
    logits1, carries1, cache1 = model.forward(params, p["x1"], carries0)
    logits2, carries2, cache2 = model.forward(params, p["x2"], carries1)
    assert_close("logits1", logits1, outs[0])
    assert_close("logits2", logits2, outs[1])
    for layer in range(2):
        for k in range(parts):
            assert_close(f"carry2[{layer}][{k}]", carries2[layer][k], finals[k][layer])

    dfinal = [tuple(s[layer] for s in p["S"]) for layer in range(2)]
    grads2, dcarries1 = model.backward(params, cache2, p["R2"], dfinal)
    grads1, dcarries0 = model.backward(params, cache1, p["R1"], dcarries1)
    for layer in range(2):
        for k in range(parts):
            want = theirs[f"carry0[{k}]"][layer]
            assert_close(f"dcarry0[{layer}][{k}]", dcarries0[layer][k], want)
    tgrads = grads_of(module)
    expected: Params = {}
    for layer in range(2):
        expected |= {f"layers.{layer}.{k}": v for k, v in CASES[name][3](tgrads, layer).items()}
    expected["head.W"] = head.weight.grad.numpy().T
    expected["head.b"] = head.bias.grad.numpy()
    for key in params:
        assert_close(f"d{key}", grads1[key] + grads2[key], expected[key])


@pytest.mark.parametrize("cls", [LSTMCell, GRUCell])
def test_torch_mapping_round_trips(cls: Any) -> None:
    params = cls(hidden=H).init(np.random.default_rng(0), D)
    back = cls.from_torch(cls.to_torch(params, layer=1), layer=1)
    assert set(back) == set(params)
    for key in params:
        np.testing.assert_array_equal(back[key], params[key])
