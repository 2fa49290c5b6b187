"""The optimizers: a first step by hand, several steps against torch.optim, state round trips.

They keep their moments flat over all parameters (seqnet_optim.flat); these tests also check
that a model's flat parameters and separate arrays are updated identically.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from seqnet.interfaces import Params
from seqnet.model import Model
from seqnet_elman import ElmanCell
from seqnet_optim import SGD, Adagrad, Adam, RMSProp
from seqnet_optim.flat import FlatLayout

CONFIGS: list[tuple[type[Any], dict[str, Any]]] = [
    (SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.1, "momentum": 0.9}),
    (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (Adam, {"lr": 0.01}),
    (Adam, {"lr": 0.01, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3}),
    (RMSProp, {"lr": 0.01}),
    (Adagrad, {"lr": 0.1}),
]
IDS = [f"{cls.name}-{i}" for i, (cls, _) in enumerate(CONFIGS)]


def problem(seed: int = 0, steps: int = 5) -> tuple[Params, list[Params]]:
    """Three parameters of different shapes and a gradient for each of `steps` steps."""
    rng = np.random.default_rng(seed)
    shapes = {"W": (3, 4), "b": (4,), "v": (2,)}
    params = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
    grads = [{n: rng.standard_normal(s) for n, s in shapes.items()} for _ in range(steps)]
    return params, grads


def test_first_steps_by_hand() -> None:
    """One parameter p = 1 with gradient g = 0.5, worked out from each method's definition."""
    g = {"p": np.array([0.5])}

    def after(opt: Any, steps: int = 1) -> float:
        p = {"p": np.array([1.0])}
        for _ in range(steps):
            opt.step(p, g)
        return float(p["p"][0])

    assert after(SGD(lr=0.1)) == pytest.approx(1 - 0.1 * 0.5, abs=1e-15)
    # momentum 0.9: v1 = g, v2 = 0.9 g + g = 1.9 g; p = 1 - 0.1 (g + 1.9 g) = 0.855
    assert after(SGD(lr=0.1, momentum=0.9), 2) == pytest.approx(0.855, abs=1e-15)
    # nesterov: p -= lr (g + mu v); v1 = g: 1 - 0.1 (0.5 + 0.45) = 0.905
    assert after(SGD(lr=0.1, momentum=0.9, nesterov=True)) == pytest.approx(0.905, abs=1e-15)
    # Adam's first step: m̂ = g, v̂ = g², so p = 1 - lr g / (|g| + eps) ≈ 1 - lr
    assert after(Adam(lr=0.1)) == pytest.approx(1 - 0.1 * 0.5 / (0.5 + 1e-8), abs=1e-15)
    # ... and its second with the same g: m̂ = g and v̂ = g² again, another lr
    assert after(Adam(lr=0.1), 2) == pytest.approx(1 - 2 * 0.1 * 0.5 / (0.5 + 1e-8), abs=1e-14)
    # RMSProp: s = 0.01 g² = 0.0025, p = 1 - 0.01 g / (√s + eps) = 1 - 0.01 · 10
    expected = 1 - 0.01 * 0.5 / (math.sqrt(0.0025) + 1e-8)
    assert after(RMSProp(lr=0.01)) == pytest.approx(expected, abs=1e-15)
    # Adagrad: s = g², so p = 1 - lr g / (|g| + eps)
    assert after(Adagrad(lr=0.1)) == pytest.approx(1 - 0.1 * 0.5 / (0.5 + 1e-10), abs=1e-15)


@pytest.mark.parametrize(("cls", "options"), CONFIGS, ids=IDS)
def test_matches_torch_optim(cls: type[Any], options: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    params, grads = problem()
    tensors = {n: torch.tensor(p.copy(), requires_grad=True) for n, p in params.items()}
    if cls is SGD:
        reference = torch.optim.SGD(list(tensors.values()), **options)
    elif cls is Adam:
        betas = (options.get("beta1", 0.9), options.get("beta2", 0.999))
        reference = torch.optim.Adam(
            list(tensors.values()), lr=options["lr"], betas=betas, eps=options.get("eps", 1e-8)
        )
    elif cls is RMSProp:
        reference = torch.optim.RMSprop(list(tensors.values()), **options)
    else:
        reference = torch.optim.Adagrad(list(tensors.values()), **options)
    ours = cls(**options)
    for g in grads:
        for name, t in tensors.items():
            t.grad = torch.tensor(g[name])
        reference.step()
        ours.step(params, g)
    for name, t in tensors.items():
        np.testing.assert_allclose(params[name], t.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("cls", "options"), CONFIGS, ids=IDS)
def test_state_round_trip_resumes_exactly(cls: type[Any], options: dict[str, Any]) -> None:
    params, grads = problem(steps=6)
    first = cls(**options)
    for g in grads[:3]:
        first.step(params, g)
    state = first.state_dict()
    resumed_params = {n: p.copy() for n, p in params.items()}
    resumed = cls(**options)
    resumed.load_state_dict(state)
    for g in grads[3:]:
        first.step(params, g)
        resumed.step(resumed_params, g)
    for name in params:
        np.testing.assert_array_equal(resumed_params[name], params[name])
    assert resumed.state_dict()["step"] == first.state_dict()["step"] == 6


def test_state_dict_is_a_snapshot_by_parameter_name() -> None:
    params, grads = problem()
    opt = Adam(lr=0.01)
    opt.step(params, grads[0])
    state = opt.state_dict()
    assert state["step"] == 1
    assert set(state["slots"]) == {"m", "v"}
    assert {n: a.shape for n, a in state["slots"]["m"].items()} == {
        n: p.shape for n, p in params.items()
    }
    np.testing.assert_allclose(state["slots"]["m"]["b"], 0.1 * grads[0]["b"], rtol=1e-15)
    before = state["slots"]["m"]["b"].copy()
    opt.step(params, grads[1])  # later steps do not change a snapshot already taken
    np.testing.assert_array_equal(state["slots"]["m"]["b"], before)


@pytest.mark.parametrize(("cls", "options"), CONFIGS, ids=IDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_model_flat_params_and_separate_arrays_agree(
    cls: type[Any], options: dict[str, Any], dtype: str
) -> None:
    """Model.init's params share one buffer (one pass per update); copies take the slow path."""
    model = Model(ElmanCell(hidden=3), input_size=2, output_size=2, layers=2, dtype=dtype)
    flat = model.init(np.random.default_rng(0))
    assert FlatLayout(flat).flat_base(flat) is not None  # the one-pass path is the one taken
    assert FlatLayout(flat).flat_base({n: p.copy() for n, p in flat.items()}) is None
    separate = {n: p.copy() for n, p in flat.items()}
    rng = np.random.default_rng(1)
    fast, slow = cls(**options), cls(**options)
    for _ in range(3):
        grads = {n: rng.standard_normal(p.shape).astype(dtype) for n, p in flat.items()}
        fast.step(flat, grads)
        slow.step(separate, grads)
    for name in flat:
        assert flat[name].dtype == np.dtype(dtype)
        np.testing.assert_array_equal(flat[name], separate[name])
    assert not np.array_equal(flat["head.W"], model.init(np.random.default_rng(0))["head.W"])


def test_moments_follow_parameters_by_name_when_the_set_changes() -> None:
    params, grads = problem()
    opt = Adam(lr=0.01)
    opt.step(params, grads[0])
    m_b = opt.state_dict()["slots"]["m"]["b"]
    params["extra"] = np.zeros(5)  # a parameter added mid-run starts with zero moments
    opt.step(params, {**grads[1], "extra": np.ones(5)})
    state = opt.state_dict()["slots"]["m"]
    np.testing.assert_allclose(state["b"], 0.9 * m_b + 0.1 * grads[1]["b"], rtol=1e-15)
    np.testing.assert_allclose(state["extra"], 0.1, rtol=1e-15)
