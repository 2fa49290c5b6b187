"""Every optimizer, option and schedule against torch.optim: 20 steps in float64, to 1e-12.

Skipped without torch, which is never a dependency of seqnet.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from seqnet_optim import SGD, Adagrad, Adam, AdamW, RMSProp

torch = pytest.importorskip("torch")

STEPS = 20
SHAPES = {"W": (3, 4), "b": (4,), "v": (2,)}

# (seqnet optimizer, its options, torch.optim class name, torch's options)
CASES: list[tuple[type[Any], dict[str, Any], str, dict[str, Any]]] = [
    (SGD, {"lr": 0.1}, "SGD", {"lr": 0.1}),
    (SGD, {"lr": 0.05, "momentum": 0.9}, "SGD", {"lr": 0.05, "momentum": 0.9}),
    (SGD, {"momentum": 0.8, "dampening": 0.3}, "SGD",
     {"lr": 0.1, "momentum": 0.8, "dampening": 0.3}),
    (SGD, {"momentum": 0.9, "nesterov": True}, "SGD",
     {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (SGD, {"weight_decay": 0.1}, "SGD", {"lr": 0.1, "weight_decay": 0.1}),
    (SGD, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.05}, "SGD",
     {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}),
    (SGD, {"momentum": 0.7, "dampening": 0.5, "weight_decay": 0.2}, "SGD",
     {"lr": 0.1, "momentum": 0.7, "dampening": 0.5, "weight_decay": 0.2}),
    (Adam, {"lr": 0.01}, "Adam", {"lr": 0.01}),
    (Adam, {"lr": 0.02, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3}, "Adam",
     {"lr": 0.02, "betas": (0.5, 0.9), "eps": 1e-3}),
    (Adam, {"lr": 0.01, "weight_decay": 0.1}, "Adam", {"lr": 0.01, "weight_decay": 0.1}),
    (Adam, {"lr": 0.01, "amsgrad": True}, "Adam", {"lr": 0.01, "amsgrad": True}),
    (Adam, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "beta2": 0.5}, "Adam",
     {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "betas": (0.9, 0.5)}),
    (AdamW, {"lr": 0.01}, "AdamW", {"lr": 0.01}),
    (AdamW, {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}, "AdamW",
     {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    (RMSProp, {"lr": 0.01}, "RMSprop", {"lr": 0.01}),
    (RMSProp, {"lr": 0.01, "alpha": 0.9, "eps": 1e-4}, "RMSprop",
     {"lr": 0.01, "alpha": 0.9, "eps": 1e-4}),
    (RMSProp, {"lr": 0.01, "momentum": 0.9}, "RMSprop", {"lr": 0.01, "momentum": 0.9}),
    (RMSProp, {"lr": 0.01, "centered": True}, "RMSprop", {"lr": 0.01, "centered": True}),
    (RMSProp, {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1}, "RMSprop",
     {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    (Adagrad, {"lr": 0.1}, "Adagrad", {"lr": 0.1}),
    (Adagrad, {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1}, "Adagrad",
     {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1}),
    (Adagrad, {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6}, "Adagrad",
     {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6}),
]  # fmt: skip

# (our schedule, torch schedulers built from an optimizer); each on Adam and on SGD
SCHEDULES: list[tuple[dict[str, Any], Any]] = [
    ({"name": "constant", "warmup": 5},
     lambda o: torch.optim.lr_scheduler.LinearLR(o, total_iters=5)),
    ({"name": "constant", "warmup": 8, "warmup_start": 0.05},
     lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.05, total_iters=8)),
    ({"name": "step", "every": 6, "gamma": 0.5},
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=6, gamma=0.5)),
    ({"name": "cosine", "steps": 20},
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=20)),
    ({"name": "cosine", "steps": 25, "min_lr": 0.002},
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=25, eta_min=0.002)),
    ({"name": "cosine", "steps": 20, "warmup": 4},
     lambda o: torch.optim.lr_scheduler.ChainedScheduler(
         [torch.optim.lr_scheduler.LinearLR(o, total_iters=4),
          torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=20)])),
    ({"name": "step", "every": 3, "gamma": 0.7, "warmup": 5, "warmup_start": 0.2},
     lambda o: torch.optim.lr_scheduler.ChainedScheduler(
         [torch.optim.lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=5),
          torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.7)])),
]  # fmt: skip


def flat_params(rng: np.random.Generator) -> dict[str, Any]:
    """Parameters as views of one buffer (as Model.init makes them): the one-pass path."""
    sizes = [int(np.prod(s)) for s in SHAPES.values()]
    buffer = rng.standard_normal(sum(sizes))
    cuts = np.cumsum([0, *sizes])
    return {
        name: buffer[a:b].reshape(shape)
        for (name, shape), a, b in zip(SHAPES.items(), cuts[:-1], cuts[1:], strict=True)
    }


def compare(ours: Any, make_torch: Any, scheduler: Any = None) -> None:
    rng = np.random.default_rng(7)
    params = flat_params(rng)
    tensors = {n: torch.tensor(p.copy(), requires_grad=True) for n, p in params.items()}
    reference = make_torch(list(tensors.values()))
    schedule = scheduler(reference) if scheduler is not None else None
    for step in range(1, STEPS + 1):
        grads = {n: rng.standard_normal(s) for n, s in SHAPES.items()}
        for name, t in tensors.items():
            t.grad = torch.tensor(grads[name])
        lr = reference.param_groups[0]["lr"]
        reference.step()
        if schedule is not None:
            schedule.step()
        ours.step(params, grads)
        assert ours.lr == pytest.approx(lr, rel=1e-12, abs=0), f"lr of step {step}"
        for name, t in tensors.items():
            np.testing.assert_allclose(
                params[name], t.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=f"step {step}"
            )


@pytest.mark.parametrize(("cls", "options", "torch_name", "torch_options"), CASES)
def test_matches_torch_optim(
    cls: type[Any], options: dict[str, Any], torch_name: str, torch_options: dict[str, Any]
) -> None:
    compare(cls(**options), lambda ps: getattr(torch.optim, torch_name)(ps, **torch_options))


@pytest.mark.parametrize(("schedule", "scheduler"), SCHEDULES)
@pytest.mark.parametrize("which", ["adam", "sgd"])
def test_schedules_match_torch_lr_scheduler(
    schedule: dict[str, Any], scheduler: Any, which: str
) -> None:
    if which == "adam":
        ours: Any = Adam(lr=0.01, schedule=schedule)
        make = lambda ps: torch.optim.Adam(ps, lr=0.01)  # noqa: E731
    else:
        ours = SGD(lr=0.1, momentum=0.9, schedule=schedule)
        make = lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)  # noqa: E731
    compare(ours, make, scheduler)
