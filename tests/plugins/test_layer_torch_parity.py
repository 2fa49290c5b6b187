"""Parity of the built-in layers with PyTorch in float64: same weights ⇒ same outputs and
gradients (of every parameter and of the input), to 1e-10. Skipped without torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from seqnet.interfaces import Array
from seqnet_layers import Dense, Embedding, LayerNorm

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
