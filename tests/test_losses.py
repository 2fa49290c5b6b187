"""The output losses: gradient-checked with masks, golden values by hand, safe at huge logits."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from seqnet.interfaces import Array, LossName
from seqnet.losses import get_loss
from seqnet.testing import check_gradients

LOSS_NAMES: list[LossName] = ["sigmoid_bce", "softmax_ce", "mse"]
MASK = np.array([[1, 1, 0], [1, 0, 1], [0, 0, 0], [0, 1, 1]], dtype=float)  # (T=4, B=3)


def targets(name: LossName, rng: np.random.Generator, shape: tuple[int, int, int]) -> Array:
    T, B, V = shape
    if name == "softmax_ce":
        return rng.integers(0, V, (T, B))
    if name == "sigmoid_bce":
        return rng.random(shape)  # soft targets in [0, 1] exercise the general formula
    return rng.standard_normal(shape)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_gradients_with_a_mask(name: LossName) -> None:
    rng = np.random.default_rng(0)
    logits = 2.0 * rng.standard_normal((4, 3, 5))
    y = targets(name, rng, logits.shape)
    fn = get_loss(name)
    _, dlogits = fn(logits, y, MASK)
    check_gradients(lambda: fn(logits, y, MASK)[0], {"logits": logits}, {"logits": dlogits})
    # unscored steps get no gradient at all
    assert np.all(dlogits[MASK == 0] == 0.0)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_unscored_steps_do_not_count(name: LossName) -> None:
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((4, 3, 5))
    y = targets(name, rng, logits.shape)
    changed = logits.copy()
    changed[MASK == 0] = 1e3  # wild values where nothing is scored
    fn = get_loss(name)
    assert fn(changed, y, MASK)[0] == pytest.approx(fn(logits, y, MASK)[0], rel=1e-12)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_loss_is_the_mean_over_scored_steps(name: LossName) -> None:
    """Scoring every step of a batch twice over (B doubled) leaves the mean unchanged."""
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((4, 3, 5))
    y = targets(name, rng, logits.shape)
    fn = get_loss(name)
    once = fn(logits, y, MASK)[0]
    twice = fn(np.concatenate([logits] * 2, 1), np.concatenate([y] * 2, 1), np.tile(MASK, 2))[0]
    assert twice == pytest.approx(once, rel=1e-12)


def test_golden_values() -> None:
    # By hand: BCE at z = 0 is log 2 whatever the target; softmax over V equal logits is
    # log V; MSE of (3 - 1)² = 4. Each over one scored step (mask of ones).
    one = np.ones((1, 1))
    assert get_loss("sigmoid_bce")(np.zeros((1, 1, 1)), np.ones((1, 1, 1)), one)[0] == (
        pytest.approx(math.log(2.0), rel=1e-15)
    )
    assert get_loss("softmax_ce")(np.zeros((1, 1, 4)), np.array([[2]]), one)[0] == (
        pytest.approx(math.log(4.0), rel=1e-15)
    )
    loss, d = get_loss("mse")(np.full((1, 1, 1), 3.0), np.ones((1, 1, 1)), one)
    assert loss == 4.0 and d[0, 0, 0] == 4.0  # d/dz (z - 1)² = 2 (z - 1)


def test_an_all_zero_mask_gives_zero_loss_and_gradient() -> None:
    logits = np.ones((2, 2, 3))
    for name in LOSS_NAMES:
        y = targets(name, np.random.default_rng(3), logits.shape)
        loss, d = get_loss(name)(logits, y, np.zeros((2, 2)))
        assert loss == 0.0 and not d.any()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_huge_logits_stay_finite_without_warnings(dtype: str) -> None:
    """|z| = 1e4 makes e^z overflow; the losses never compute it, and their values are exact."""
    z = np.array([1e4, -1e4], dtype=dtype).reshape(2, 1, 1)  # (T=2, B=1, V=1)
    mask = np.ones((2, 1), dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # overflow, invalid or divide would raise here (e^-1e4 underflowing to 0 is the point)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            # right answers cost nothing: y = 1 at +1e4, y = 0 at -1e4
            good, dgood = get_loss("sigmoid_bce")(z, np.array([1, 0], dtype).reshape(2, 1, 1), mask)
            # wrong answers cost |z| each: the mean over two steps is 1e4
            bad, dbad = get_loss("sigmoid_bce")(z, np.array([0, 1], dtype).reshape(2, 1, 1), mask)
            logits = np.array([[[1e4, -1e4, 0.0]], [[-1e4, 1e4, 0.0]]], dtype=dtype)  # (2, 1, 3)
            right, dright = get_loss("softmax_ce")(logits, np.array([[0], [1]]), mask)
            wrong, dwrong = get_loss("softmax_ce")(logits, np.array([[1], [0]]), mask)
    assert good == 0.0 and bad == pytest.approx(1e4, rel=1e-6)
    assert right == 0.0 and wrong == pytest.approx(2e4, rel=1e-6)  # z_max − z_y = 2e4
    # gradients: sigmoid(z) − y over 2 steps is 0 or ±½; softmax − onehot likewise
    np.testing.assert_array_equal(dgood, 0.0)
    np.testing.assert_array_equal(np.abs(dbad), 0.5)
    np.testing.assert_array_equal(dright, 0.0)
    assert np.all(np.isfinite(dwrong)) and np.abs(dwrong).max() == 0.5
    for d in (dgood, dbad, dright, dwrong):
        assert d.dtype == np.dtype(dtype)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_float32_in_float32_out(name: LossName) -> None:
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((3, 2, 4)).astype(np.float32)
    y = targets(name, rng, logits.shape)
    y = y.astype(np.float32) if y.dtype.kind == "f" else y
    _, d = get_loss(name)(logits, y, np.ones((3, 2), dtype=np.float32))
    assert d.dtype == np.float32
