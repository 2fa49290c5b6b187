"""Parity of the built-in layers with PyTorch in float64: same weights ⇒ same outputs and
gradients (of every parameter and of the input), to 1e-10. Skipped without torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from seqnet.interfaces import Array, Params
from seqnet_gru import GRUCell
from seqnet_layers import ActivationLayer, Bidirectional, Dense, Dropout, Embedding, LayerNorm
from seqnet_lstm import LSTMCell

torch = pytest.importorskip("torch")

TOL = 1e-10
T, B, D = 5, 3, 4


def assert_close(name: str, ours: Array, theirs: Any) -> None:
    if isinstance(theirs, torch.Tensor):
        theirs = theirs.detach().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL, err_msg=name)


TORCH_ACTIVATIONS = {
    "linear": lambda a: a,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "gelu": torch.nn.functional.gelu,  # approximate="none": the exact, erf-based gelu
}


@pytest.mark.parametrize("activation", sorted(TORCH_ACTIVATIONS))
def test_dense_matches_linear_and_activation(activation: str) -> None:
    rng = np.random.default_rng(3)
    layer = Dense(units=6, activation=activation)  # type: ignore[arg-type]
    params = layer.init(rng, D)
    x = 2.0 * rng.standard_normal((T, B, D))  # wide enough to reach gelu's and σ's tails
    dy = rng.standard_normal((T, B, 6))
    linear = torch.nn.Linear(D, 6, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(params["W"].T))
        linear.bias.copy_(torch.from_numpy(params["b"]))
    tx = torch.tensor(x, requires_grad=True)
    ty = TORCH_ACTIVATIONS[activation](linear(tx))
    (ty * torch.from_numpy(dy)).sum().backward()

    y, carry, cache = layer.forward(params, x, (), None)
    dx, dcarry, grads = layer.backward(params, cache, dy, ())
    assert carry == () and dcarry == ()
    assert_close("y", y, ty)
    assert_close("dx", dx, tx.grad)
    assert_close("dW", grads["W"], linear.weight.grad.T)
    assert_close("db", grads["b"], linear.bias.grad)


@pytest.mark.parametrize("function", sorted(TORCH_ACTIVATIONS))
def test_the_activation_layer_is_its_torch_module_both_ways(function: str) -> None:
    rng = np.random.default_rng(5)
    layer = ActivationLayer(function=function)  # type: ignore[arg-type]
    x = 2.0 * rng.standard_normal((T, B, D))
    dy = rng.standard_normal((T, B, D))
    module = layer.torch_module({})
    tx = torch.tensor(x, requires_grad=True)
    ty = module(tx)
    (ty * torch.from_numpy(dy)).sum().backward()
    y, carry, cache = layer.forward({}, x, (), None)
    dx, _, grads = layer.backward({}, cache, dy, ())
    assert carry == () and grads == {}
    assert_close("y", y, ty)
    assert_close("dx", dx, tx.grad)
    assert ActivationLayer.from_torch_module(module) == ({"function": function}, {})
    assert ActivationLayer.from_torch_module(torch.nn.GELU(approximate="tanh")) is None


def test_gelu_matches_torch_far_into_both_tails() -> None:
    a = np.linspace(-12.0, 12.0, 4801).reshape(-1, 1, 1)  # steps of 0.005, through every branch
    layer = Dense(units=1, activation="gelu")
    params = {"W": np.ones((1, 1)), "b": np.zeros(1)}
    y, _, cache = layer.forward(params, a, (), None)
    dx, _, _ = layer.backward(params, cache, np.ones_like(a), ())
    ta = torch.tensor(a, requires_grad=True)
    ty = torch.nn.functional.gelu(ta)
    ty.sum().backward()
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(dx, ta.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_embedding_matches_nn_embedding_with_repeated_ids() -> None:
    rng = np.random.default_rng(4)
    V, E = 7, 5
    layer = Embedding(dim=E)
    params = layer.init(rng, V)
    ids = rng.integers(0, V, (T, B))
    ids[0, 0] = ids[1, 0] = ids[2, 2] = 3  # the same row used three times: its gradients add up
    dy = rng.standard_normal((T, B, E))
    module = torch.nn.Embedding(V, E, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(params["W"]))
    ty = module(torch.from_numpy(ids))
    (ty * torch.from_numpy(dy)).sum().backward()

    y, _, cache = layer.forward(params, ids, (), None)
    dx, _, grads = layer.backward(params, cache, dy, (), input_grad=False)
    assert dx is None
    assert_close("y", y, ty)
    assert_close("dW", grads["W"], module.weight.grad)


def test_layernorm_matches_nn_layernorm() -> None:
    rng = np.random.default_rng(5)
    layer = LayerNorm()
    params = layer.init(rng, D)
    np.testing.assert_array_equal(params["g"], np.ones(D))  # torch's init: ones and zeros
    np.testing.assert_array_equal(params["b"], np.zeros(D))
    params = {k: v + 0.3 * rng.standard_normal(D) for k, v in params.items()}
    x = 3.0 * rng.standard_normal((T, B, D)) + 1.0
    dy = rng.standard_normal((T, B, D))
    module = torch.nn.LayerNorm(D, dtype=torch.float64)  # eps 1e-5, as ours
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(params["g"]))
        module.bias.copy_(torch.from_numpy(params["b"]))
    tx = torch.tensor(x, requires_grad=True)
    ty = module(tx)
    (ty * torch.from_numpy(dy)).sum().backward()

    y, _, cache = layer.forward(params, x, (), None)
    dx, _, grads = layer.backward(params, cache, dy, ())
    assert_close("y", y, ty)
    assert_close("dx", dx, tx.grad)
    assert_close("dg", grads["g"], module.weight.grad)
    assert_close("db", grads["b"], module.bias.grad)


def torch_weights(module: Any, suffix: str = "") -> dict[str, Array]:
    """A recurrent module's layer-0 weights (or its `_reverse` ones) under the plain names."""
    return {
        k.removesuffix(suffix): v.detach().numpy().copy()
        for k, v in module.named_parameters()
        if k.endswith(suffix) and (suffix or not k.endswith("_reverse"))
    }


def torch_grads(module: Any, suffix: str = "") -> dict[str, Array]:
    return {
        k.removesuffix(suffix): v.grad.numpy().copy()
        for k, v in module.named_parameters()
        if k.endswith(suffix) and (suffix or not k.endswith("_reverse"))
    }


def randomise(module: Any, rng: np.random.Generator, scale: float = 0.6) -> None:
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.from_numpy(rng.uniform(-scale, scale, tuple(parameter.shape))))


RECURRENT = {"lstm": (torch.nn.LSTM, LSTMCell, 2), "gru": (torch.nn.GRU, GRUCell, 1)}


def bidirectional_params(cell_cls: Any, module: Any) -> Params:
    params = {"fwd." + k: v for k, v in cell_cls.from_torch(torch_weights(module)).items()}
    reverse = cell_cls.from_torch(torch_weights(module, "_reverse"))
    return params | {"bwd." + k: v for k, v in reverse.items()}


def bidirectional_grads(cell_cls: Any, module: Any) -> Params:
    grads = {"fwd." + k: v for k, v in cell_cls.from_torch(torch_grads(module)).items()}
    reverse = cell_cls.from_torch(torch_grads(module, "_reverse"))
    return grads | {"bwd." + k: v for k, v in reverse.items()}


def ours_from_torch_carry(parts: list[Array]) -> tuple[Array, ...]:
    """torch's carry parts, each (2, B, H) [forward, reverse] -> ours: forward's, reverse's."""
    return tuple(p[0] for p in parts) + tuple(p[1] for p in parts)


@pytest.mark.parametrize("merge", ["concat", "sum"])
@pytest.mark.parametrize("cell", sorted(RECURRENT))
def test_bidirectional_matches_torch_over_two_sequences(cell: str, merge: str) -> None:
    """Two sequences with the carry fed back (torch's reverse direction carries over too)."""
    module_cls, cell_cls, parts = RECURRENT[cell]
    rng = np.random.default_rng(8)
    H, T1, T2 = 4, 5, 3
    module = module_cls(D, H, bidirectional=True, dtype=torch.float64)
    randomise(module, rng)
    layer = Bidirectional(cell=cell, hidden=H, merge=merge)  # type: ignore[arg-type]
    params = bidirectional_params(cell_cls, module)
    assert set(params) == set(layer.init(np.random.default_rng(0), D))
    x1, x2 = rng.standard_normal((T1, B, D)), rng.standard_normal((T2, B, D))
    carry0 = [0.5 * rng.standard_normal((2, B, H)) for _ in range(parts)]
    width = 2 * H if merge == "concat" else H
    R1, R2 = rng.standard_normal((T1, B, width)), rng.standard_normal((T2, B, width))
    S = [rng.standard_normal((2, B, H)) for _ in range(parts)]

    def merged(out: Any) -> Any:
        return out if merge == "concat" else out[..., :H] + out[..., H:]

    tx1, tx2 = (torch.tensor(x, requires_grad=True) for x in (x1, x2))
    tcarry0 = [torch.tensor(p, requires_grad=True) for p in carry0]
    as_torch = (lambda c: tuple(c)) if parts == 2 else (lambda c: c[0])
    out1, tcarry1 = module(tx1, as_torch(tcarry0))
    out2, tcarry2 = module(tx2, tcarry1)
    final = list(tcarry2) if parts == 2 else [tcarry2]
    loss = (merged(out1) * torch.from_numpy(R1)).sum() + (merged(out2) * torch.from_numpy(R2)).sum()
    for p, s in zip(final, S, strict=True):
        loss = loss + (p * torch.from_numpy(s)).sum()
    loss.backward()

    y1, carry1, cache1 = layer.forward(params, x1, ours_from_torch_carry(carry0), None)
    y2, carry2, cache2 = layer.forward(params, x2, carry1, None)
    assert_close("y1", y1, merged(out1))
    assert_close("y2", y2, merged(out2))
    want_final = ours_from_torch_carry([p.detach().numpy() for p in final])
    for k, (ours, theirs) in enumerate(zip(carry2, want_final, strict=True)):
        assert_close(f"carry2[{k}]", ours, theirs)
    dx2, dcarry1, grads2 = layer.backward(params, cache2, R2, ours_from_torch_carry(S))
    dx1, dcarry0, grads1 = layer.backward(params, cache1, R1, dcarry1)
    assert_close("dx1", dx1, tx1.grad)
    assert_close("dx2", dx2, tx2.grad)
    want_dcarry0 = ours_from_torch_carry([p.grad.numpy() for p in tcarry0])
    for k, (ours, theirs) in enumerate(zip(dcarry0, want_dcarry0, strict=True)):
        assert_close(f"dcarry0[{k}]", ours, theirs)
    expected = bidirectional_grads(cell_cls, module)
    assert set(expected) == set(params)
    for key in params:
        assert_close(f"d{key}", grads1[key] + grads2[key], expected[key])


class TorchFiveLayers(torch.nn.Module):  # type: ignore[misc, name-defined]
    """embedding -> bidirectional LSTM -> dropout -> GRU -> dense relu -> linear head."""

    def __init__(self, V: int, E: int, H: int, U: int) -> None:
        super().__init__()
        f64 = torch.float64
        self.embedding = torch.nn.Embedding(V, E, dtype=f64)
        self.lstm = torch.nn.LSTM(E, H, bidirectional=True, dtype=f64)
        self.dropout = torch.nn.Dropout(0.3)
        self.gru = torch.nn.GRU(2 * H, H, dtype=f64)
        self.dense = torch.nn.Linear(H, U, dtype=f64)
        self.head = torch.nn.Linear(U, V, dtype=f64)

    def forward(self, ids: Any, lstm0: Any, gru0: Any) -> tuple[Any, Any, Any]:
        h, lstm_final = self.lstm(self.embedding(ids), lstm0)
        h, gru_final = self.gru(self.dropout(h), gru0)
        return self.head(torch.relu(self.dense(h))), lstm_final, gru_final


def test_five_layer_model_matches_torch() -> None:
    """The issue's model, in eval mode (dropout off): logits, final carries and every gradient,
    of each parameter and of each initial carry."""
    import seqnet

    rng = np.random.default_rng(9)
    V, E, H, U = 6, 3, 4, 5
    net = TorchFiveLayers(V, E, H, U).eval()
    randomise(net, rng)
    model = seqnet.Sequential(
        [Embedding(dim=E), Bidirectional(cell="lstm", hidden=H), Dropout(p=0.3),
         GRUCell(hidden=H), Dense(units=U, activation="relu")],
        input_size=V, output_size=V,
    )  # fmt: skip
    weights = {k: v.detach().numpy().copy() for k, v in net.named_parameters()}
    params: Params = {"layers.0.W": weights["embedding.weight"]}
    params |= {"layers.1." + k: v for k, v in bidirectional_params(LSTMCell, net.lstm).items()}
    params |= {"layers.3." + k: v for k, v in GRUCell.from_torch(torch_weights(net.gru)).items()}
    params |= {"layers.4.W": weights["dense.weight"].T, "layers.4.b": weights["dense.bias"]}
    params |= {"head.W": weights["head.weight"].T, "head.b": weights["head.bias"]}
    assert list(params) == list(model.init(np.random.default_rng(0)))  # names and order

    ids = rng.integers(0, V, (T, B))
    lstm0 = [0.5 * rng.standard_normal((2, B, H)) for _ in range(2)]
    gru0 = 0.5 * rng.standard_normal((1, B, H))
    R = rng.standard_normal((T, B, V))
    S_lstm = [rng.standard_normal((2, B, H)) for _ in range(2)]
    S_gru = rng.standard_normal((1, B, H))

    t_lstm0 = [torch.tensor(p, requires_grad=True) for p in lstm0]
    t_gru0 = torch.tensor(gru0, requires_grad=True)
    logits, (h_n, c_n), g_n = net(torch.from_numpy(ids), tuple(t_lstm0), t_gru0)
    loss = (logits * torch.from_numpy(R)).sum() + (g_n * torch.from_numpy(S_gru)).sum()
    for p, s in zip((h_n, c_n), S_lstm, strict=True):
        loss = loss + (p * torch.from_numpy(s)).sum()
    loss.backward()

    carries0 = [(), ours_from_torch_carry(lstm0), (), (gru0[0],), ()]
    ours, finals, cache = model.forward(params, ids, carries0, None)
    assert_close("logits", ours, logits)
    want = ours_from_torch_carry([h_n.detach().numpy(), c_n.detach().numpy()])
    for k, part in enumerate(finals[1]):
        assert_close(f"lstm carry[{k}]", part, want[k])
    assert_close("gru carry", finals[3][0], g_n[0])

    dfinals = [(), ours_from_torch_carry(S_lstm), (), (S_gru[0],), ()]
    grads, dcarries0 = model.backward(params, cache, R, dfinals)
    tgrads = {k: v.grad.numpy() for k, v in net.named_parameters()}
    expected: Params = {"layers.0.W": tgrads["embedding.weight"]}
    expected |= {"layers.1." + k: v for k, v in bidirectional_grads(LSTMCell, net.lstm).items()}
    expected |= {"layers.3." + k: v for k, v in GRUCell.from_torch(torch_grads(net.gru)).items()}
    expected |= {"layers.4.W": tgrads["dense.weight"].T, "layers.4.b": tgrads["dense.bias"]}
    expected |= {"head.W": tgrads["head.weight"].T, "head.b": tgrads["head.bias"]}
    assert set(grads) == set(expected)
    for key in expected:
        assert_close(f"d{key}", grads[key], expected[key])
    want = ours_from_torch_carry([p.grad.numpy() for p in t_lstm0])
    for k, part in enumerate(dcarries0[1]):
        assert_close(f"dlstm0[{k}]", part, want[k])
    assert_close("dgru0", dcarries0[3][0], t_gru0.grad[0])
