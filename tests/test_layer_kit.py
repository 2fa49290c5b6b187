"""Every registered layer, and every cell as a layer either way, passes seqnet.testing.check_layer;
layers with a wrong gradient, a carry they ignore or a random evaluation are rejected by it."""

from __future__ import annotations

from typing import Any, ClassVar, get_args, get_origin

import numpy as np
import pytest

import seqnet
from seqnet.plugins import default_registry
from seqnet.recurrent import CellLayer
from seqnet.testing import check_layer, option_variants
from seqnet_elman import ElmanCell

REGISTRY = default_registry()

# The smallest options each built-in layer needs (the ones without a default).
BASE: dict[str, dict[str, Any]] = {
    "dense": {"units": 4},
    "embedding": {"dim": 4},
    "dropout": {"p": 0.25},
    "bidirectional": {"cell": "gru", "hidden": 3},
    "residual": {"layers": [{"type": "dense", "units": 3, "activation": "tanh"}]},
}


def literal_variants(cls: type[Any], base: dict[str, Any]) -> list[dict[str, Any]]:
    """`base`, then each other value of each Literal (or bool) option, one change at a time."""
    found = [dict(base)]
    for name, field in cls.Spec.model_fields.items():
        values = get_args(field.annotation) if get_origin(field.annotation) is not None else ()
        if field.annotation is bool:
            values = (False, True)
        if values and all(isinstance(v, str | bool) for v in values):
            found += [{**base, name: v} for v in values if v != base.get(name, field.default)]
    return found


LAYER_CASES = [
    pytest.param({"type": name, **options}, id=f"{name}-{options}")
    for name in REGISTRY.names("layer")
    for options in literal_variants(REGISTRY.get("layer", name).cls, BASE.get(name, {}))
]
CELL_CASES = [
    pytest.param({"type": name, "reverse": reverse, **options}, id=f"{name}-{reverse}-{options}")
    for name in REGISTRY.names("cell")
    for options in option_variants(REGISTRY.get("cell", name).cls, hidden=3)
    for reverse in (False, True)
]


@pytest.mark.parametrize("section", LAYER_CASES + CELL_CASES)
def test_every_registered_layer_passes_the_kit(section: dict[str, Any]) -> None:
    check_layer(seqnet.build_layer(section))


class WrongGrad(CellLayer):
    """An Elman layer whose bias gradient is off by a tenth."""

    def backward(self, *args: Any, **kwargs: Any) -> Any:
        dx, dcarry, grads = super().backward(*args, **kwargs)
        return dx, dcarry, {**grads, "b": grads["b"] * 1.1}


class IgnoresCarry(CellLayer):
    """An Elman layer that starts from zeros whatever carry it is given."""

    def forward(self, params: Any, x: Any, carry: Any, rng: Any = None) -> Any:
        return super().forward(params, x, self.initial_carry(x.shape[1], x.dtype), rng)


class NoisyEvaluation(CellLayer):
    """An Elman layer that adds noise even when evaluating (rng=None)."""

    noise: ClassVar[np.random.Generator] = np.random.default_rng()

    def forward(self, params: Any, x: Any, carry: Any, rng: Any = None) -> Any:
        y, final, cache = super().forward(params, x, carry, rng)
        return y + 1e-3 * self.noise.standard_normal(y.shape), final, cache


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (WrongGrad, "gradient check failed (tolerance 1e-06): b: "),
        (IgnoresCarry, "gradient check failed (tolerance 1e-06): carry.0: "),
        (NoisyEvaluation, "gradient check failed"),
    ],
)
def test_the_kit_rejects_a_broken_layer(broken: type[CellLayer], message: str) -> None:
    with pytest.raises(AssertionError) as err:
        check_layer(broken(ElmanCell(hidden=3)))
    assert message in str(err.value)


def test_the_kit_rejects_a_random_evaluation_even_without_the_gradient_check() -> None:
    with pytest.raises(AssertionError, match=r"evaluation \(rng=None\) gave different outputs"):
        seqnet.testing.check_layer_deterministic(NoisyEvaluation(ElmanCell(hidden=3)))


def test_the_kit_rejects_a_layer_whose_halves_do_not_join() -> None:
    with pytest.raises(AssertionError, match="two halves with the carry passed on != the whole"):
        seqnet.testing.check_halves(CellLayer(ElmanCell(hidden=3), reverse=True))
