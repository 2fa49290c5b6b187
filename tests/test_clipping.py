"""Gradient clipping is torch.nn.utils.clip_grad_norm_'s: scale by clip / (norm + 1e-6) if < 1."""

from __future__ import annotations

import numpy as np
import pytest

from seqnet.training import clip_gradients, global_norm


def test_clipping_by_hand() -> None:
    grads = {"a": np.array([3.0, 4.0])}  # norm 5
    clip_gradients(grads, 5.0, 1.0)
    np.testing.assert_array_equal(grads["a"], np.array([3.0, 4.0]) * (1.0 / (5.0 + 1e-6)))
    # a norm equal to the limit is still scaled, by 1 / (1 + 1e-6), as torch does
    grads = {"a": np.array([0.6, 0.8])}
    clip_gradients(grads, 1.0, 1.0)
    np.testing.assert_array_equal(grads["a"], np.array([0.6, 0.8]) * (1.0 / (1.0 + 1e-6)))
    # below clip - 1e-6, nothing changes, bit for bit
    grads = {"a": np.array([0.3, 0.4])}
    clip_gradients(grads, 0.5, 1.0)
    np.testing.assert_array_equal(grads["a"], np.array([0.3, 0.4]))


@pytest.mark.parametrize("target", [0.3, 1.0 - 5e-7, 1.0, 1.0 + 1e-9, 2.0, 1e3])
def test_clipping_matches_torch(target: float) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    grads = {"W": rng.standard_normal((4, 5)), "b": rng.standard_normal(5)}
    norm = global_norm(grads)
    grads = {n: g * (target / norm) for n, g in grads.items()}  # a gradient of norm ≈ target
    tensors = [
        torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()
    ]
    for t, g in zip(tensors, grads.values(), strict=True):
        t.grad = torch.tensor(g)
    torch_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm=1.0)
    norm = global_norm(grads)
    assert norm == pytest.approx(float(torch_norm), rel=1e-14)
    clip_gradients(grads, norm, 1.0)
    for t, g in zip(tensors, grads.values(), strict=True):
        assert t.grad is not None
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-14, atol=0)
