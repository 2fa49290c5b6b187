"""The optimizers: first steps and schedules by hand, option validation, state round trips.

(Parity with torch.optim, option by option: test_optim_torch.py; the conformance kit over every
registered optimizer: tests/test_optimizer_conformance.py.)

They keep their moments flat over all parameters (seqnet_optim.flat); these tests also check
that a model's flat parameters and separate arrays are updated identically.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from seqnet import Params, SpecError
from seqnet.model import Model
from seqnet_elman import ElmanCell
from seqnet_optim import SGD, Adagrad, Adam, AdamW, RMSProp
from seqnet_optim.flat import FlatLayout

CONFIGS: list[tuple[type[Any], dict[str, Any]]] = [
    (SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.1, "momentum": 0.9}),
    (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (Adam, {"lr": 0.01}),
    (Adam, {"lr": 0.01, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3}),
    (Adam, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    (AdamW, {"lr": 0.01, "weight_decay": 0.1}),
    (SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.1}),
    (RMSProp, {"lr": 0.01}),
    (RMSProp, {"lr": 0.01, "centered": True, "momentum": 0.9, "weight_decay": 0.1}),
    (Adagrad, {"lr": 0.1}),
    (Adagrad, {"lr": 0.1, "lr_decay": 0.1, "initial_accumulator_value": 0.1}),
    (Adam, {"lr": 0.01, "schedule": {"name": "cosine", "steps": 2, "warmup": 1}}),
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


def test_new_options_first_steps_by_hand() -> None:
    """p = 1, g = 0.5, worked out from each option's definition (as torch.optim states it)."""
    g = {"p": np.array([0.5])}

    def after(opt: Any, steps: int = 1) -> float:
        p = {"p": np.array([1.0])}
        for _ in range(steps):
            opt.step(p, g)
        return float(p["p"][0])

    # L2 weight decay 0.2: g' = 0.5 + 0.2 · 1 = 0.7, so SGD's step is 0.1 · 0.7
    assert after(SGD(lr=0.1, weight_decay=0.2)) == pytest.approx(0.93, abs=1e-15)
    # dampening 0.5: v1 = g (no dampening on the first step), v2 = 0.9 g + 0.5 g = 1.4 g;
    # p = 1 - 0.1 (0.5 + 0.7) = 0.88
    assert after(SGD(lr=0.1, momentum=0.9, dampening=0.5), 2) == pytest.approx(0.88, abs=1e-15)
    # AdamW: p = 1 · (1 - 0.1 · 0.5) = 0.95, then Adam's first step of ≈ lr: 0.85
    expected = 0.95 - 0.1 * 0.5 / (0.5 + 1e-8)
    assert after(AdamW(lr=0.1, weight_decay=0.5)) == pytest.approx(expected, abs=1e-15)
    # Adam with L2 decay 0.5: g' = 1.0, and the first step is still ≈ lr whatever g' is
    assert after(Adam(lr=0.1, weight_decay=0.5)) == pytest.approx(1 - 0.1 / (1 + 1e-8), abs=1e-15)
    # centered RMSProp: s = 0.01 g², ḡ = 0.01 g, s - ḡ² = 0.0025 - 0.000025 = 0.002475
    expected = 1 - 0.01 * 0.5 / (math.sqrt(0.002475) + 1e-8)
    assert after(RMSProp(lr=0.01, centered=True)) == pytest.approx(expected, abs=1e-15)
    # Adagrad with lr_decay 1: the second step's rate is lr / 2; s1 = 0.25, s2 = 0.5
    expected = 1 - 0.1 * 0.5 / (0.5 + 1e-10) - 0.05 * 0.5 / (math.sqrt(0.5) + 1e-10)
    assert after(Adagrad(lr=0.1, lr_decay=1.0), 2) == pytest.approx(expected, abs=1e-15)


def test_amsgrad_keeps_the_largest_second_moment() -> None:
    opt = Adam(lr=0.01, amsgrad=True, beta2=0.5)
    p = {"p": np.array([1.0])}
    for g in (2.0, 0.0):  # v = 0.5 · 4 = 2, then 0.5 · 2 = 1; v_max stays 2
        opt.step(p, {"p": np.array([g])})
    state = opt.state_dict()["slots"]
    assert state["v"]["p"][0] == 1.0 and state["v_max"]["p"][0] == 2.0


def test_schedules_by_hand() -> None:
    def rates(schedule: dict[str, Any], steps: int, lr: float = 1.0) -> list[float]:
        opt = SGD(lr=lr, schedule=schedule)
        p = {"p": np.array([0.0])}
        out = []
        for _ in range(steps):
            opt.step(p, {"p": np.array([0.0])})
            out.append(opt.lr)
        return out

    assert rates({"name": "constant"}, 3, lr=0.3) == [0.3, 0.3, 0.3]  # bit for bit lr
    assert rates({"name": "constant", "warmup": 2, "warmup_start": 0.5}, 4) == [0.5, 0.75, 1, 1]
    assert rates({"name": "step", "every": 2, "gamma": 0.5}, 5) == [1, 1, 0.5, 0.5, 0.25]
    cosine = rates({"name": "cosine", "steps": 2, "min_lr": 0.2}, 4)
    assert cosine == pytest.approx([1.0, 0.6, 0.2, 0.2], abs=1e-15)  # then stays at min_lr


@pytest.mark.parametrize(
    ("cls", "options", "message"),
    [
        (SGD, {"nesterov": True}, "SGD: nesterov needs momentum > 0 and dampening 0"),
        (SGD, {"momentum": 0.9, "nesterov": True, "dampening": 0.1}, "SGD: nesterov needs"),
        (Adam, {"weight_decay": -1}, "Adam.weight_decay: Input should be greater than or equal"),
        (Adam, {"schedule": {"name": "cosine"}}, "Adam.schedule.cosine.steps: Field required"),
        (
            Adam,
            {"schedule": {"name": "linear"}},
            "Adam.schedule: the schedule is one of constant, step, cosine",
        ),
        (
            Adam,
            {"schedule": {"name": "step", "every": 5, "gama": 0.5}},
            "Adam.schedule.step.gama: unknown option",
        ),
        (RMSProp, {"center": True}, "RMSProp.center: unknown option"),
    ],
)
def test_bad_options_are_refused(cls: type[Any], options: dict[str, Any], message: str) -> None:
    """A constructor's keywords are validated by the Spec: one line naming the class and field."""
    with pytest.raises(SpecError, match=f"^{re.escape(message)}") as caught:
        cls(**options)
    assert "\n" not in str(caught.value)


def test_a_schedule_is_set_from_the_command_line_and_named_in_errors() -> None:
    from seqnet.runner import load_spec

    spec = load_spec("binadd", ["optimizer.schedule={name: cosine, steps: 3000, warmup: 100}"])
    assert spec.options("optimizer")["schedule"] == {
        "name": "cosine", "warmup": 100, "warmup_start": 1 / 3, "steps": 3000, "min_lr": 0.0,
    }  # fmt: skip
    spec = load_spec("binadd", ["optimizer.schedule.warmup=50"])
    assert spec.options("optimizer")["schedule"]["warmup"] == 50
    with pytest.raises(SpecError, match=r"^optimizer.schedule.step.every: Field required$"):
        load_spec("binadd", ["optimizer.schedule={name: step}"])
    with pytest.raises(SpecError, match=r"optimizer.schedule.cosine.bogus: unknown option"):
        load_spec("binadd", ["optimizer.schedule={name: cosine, steps: 9, bogus: 1}"])
