"""The optimizer conformance kit: every registered optimizer passes it with every option worth
covering, and it rejects the broken optimizers it claims to catch.

A new optimizer plugin is checked here by being installed: the parameters come from the registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from seqnet import Params
from seqnet.plugins import load_registry
from seqnet.testing import check_optimizer, optimizer_variants

REGISTRY = load_registry()
SCHEDULES: list[dict[str, Any]] = [
    {"name": "constant", "warmup": 3},
    {"name": "step", "every": 2, "gamma": 0.5},
    {"name": "cosine", "steps": 5, "min_lr": 1e-4, "warmup": 2},  # runs past `steps`
]
# option combinations of the reference optimizers beyond one change at a time
COMBINATIONS: dict[str, list[dict[str, Any]]] = {
    "sgd": [{"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
            {"momentum": 0.9, "dampening": 0.5, "weight_decay": 0.01}],
    "adam": [{"amsgrad": True, "weight_decay": 0.01}],
    "adamw": [{"amsgrad": True, "weight_decay": 0.1}, {"weight_decay": 0.0}],
    "rmsprop": [{"centered": True, "momentum": 0.9, "weight_decay": 0.01}],
    "adagrad": [{"lr_decay": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 0.01}],
}  # fmt: skip


def cases() -> list[Any]:
    out = []
    for name in REGISTRY.names("optimizer"):
        cls = REGISTRY.get("optimizer", name).cls
        variants = optimizer_variants(cls) + COMBINATIONS.get(name, [])
        if "schedule" in cls.Spec.model_fields:
            variants += [{"schedule": s} for s in SCHEDULES]
        out += [pytest.param(cls, v, id=f"{name}-{i}") for i, v in enumerate(variants)]
    return out


@pytest.mark.parametrize(("cls", "options"), cases())
def test_every_registered_optimizer_conforms(cls: type[Any], options: dict[str, Any]) -> None:
    check_optimizer(cls(**options))


def test_a_class_is_checked_with_its_defaults() -> None:
    check_optimizer(REGISTRY.get("optimizer", "adam").cls)


def test_the_variants_cover_each_option_of_the_reference_optimizers() -> None:
    sgd = REGISTRY.get("optimizer", "sgd").cls
    assert optimizer_variants(sgd) == [{}, {"momentum": 0.1}, {"dampening": 0.1},
                                       {"weight_decay": 0.1}]  # fmt: skip
    rmsprop = REGISTRY.get("optimizer", "rmsprop").cls
    assert {"centered": True} in optimizer_variants(rmsprop)


class Momentum:
    """SGD with momentum, correct when it does not break one rule on purpose."""

    name: ClassVar[str] = "momentum"

    def __init__(self, forget: bool = False, replace: bool = False, live: bool = False,
                 odd_state: bool = False, upcast: bool = False) -> None:  # fmt: skip
        self.forget, self.replace, self.live = forget, replace, live
        self.odd_state, self.upcast = odd_state, upcast
        self.velocity: dict[str, Any] = {}
        self.t = 0

    def step(self, params: Params, grads: Params) -> None:
        self.t += 1
        for name, g in grads.items():
            v = self.velocity.setdefault(name, np.zeros_like(g))
            v *= 0.9
            v += g
            if self.replace:
                params[name] = params[name] - 0.1 * v
            elif self.upcast:
                params[name] = params[name].astype(np.float64) - 0.1 * v
            else:
                params[name] -= 0.1 * v

    def state_dict(self) -> dict[str, Any]:
        velocity = self.velocity if self.live else {n: v.copy() for n, v in self.velocity.items()}
        state: dict[str, Any] = {"step": self.t, "velocity": {} if self.forget else velocity}
        if self.odd_state:
            state["seen"] = set(self.velocity)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t = int(state["step"])
        self.velocity = {n: np.array(v) for n, v in state["velocity"].items()}


def test_a_correct_optimizer_passes() -> None:
    check_optimizer(Momentum())


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"forget": True}, "after a resume through a checkpoint differs"),
        ({"replace": True}, "replaced layers.0.W_x instead of updating it in place"),
        ({"live": True}, r"state_dict\(\) taken earlier"),
        ({"odd_state": True}, r"state_dict\(\)\['seen'\]: a set"),
        ({"upcast": True}, "instead of updating it in place"),
    ],
)
def test_a_broken_optimizer_is_rejected(broken: dict[str, bool], message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_optimizer(Momentum(**broken))


class Float64Only(Momentum):
    """Right in float64; a float32 parameter is replaced by a float64 one (`np.asarray(p, float)`
    to be safe), which the in-place check, run in float64, cannot see."""

    def step(self, params: Params, grads: Params) -> None:
        for name, g in grads.items():
            v = self.velocity.setdefault(name, np.zeros_like(g, dtype=np.float64))
            v *= 0.9
            v += g
            p = np.asarray(params[name], dtype=float)
            p -= 0.1 * v
            params[name] = p


def test_a_float32_parameter_that_turns_float64_is_rejected() -> None:
    with pytest.raises(AssertionError, match="is no longer float32"):
        check_optimizer(Float64Only())


def test_the_guides_optimizer_example_passes_the_kit() -> None:
    """docs/writing-plugins.md's HeavyBall, run as written (it calls check_optimizer itself)."""
    guide = (Path(__file__).resolve().parents[1] / "docs" / "writing-plugins.md").read_text()
    block = guide.split("<!-- optimizer example -->\n```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(block, "writing-plugins.md", "exec"), namespace)  # the guide's own code
    broken = namespace["HeavyBall"]
    broken.state_dict = lambda self: {"velocity": {}}  # the guide's "forget the velocity"
    with pytest.raises(AssertionError, match="after a resume through a checkpoint differs"):
        check_optimizer(broken)
