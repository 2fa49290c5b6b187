"""Splitting a batch over threads gives the Model's own numbers, reproducibly."""

from __future__ import annotations

import numpy as np
import pytest

from seqnet.interfaces import Array
from seqnet.model import Model
from seqnet.parallel import MIN_SLICE_WORK, BatchParallel, SplitCache
from seqnet.testing.gradients import check_gradients, relative_error
from seqnet_elman import ElmanCell
from seqnet_gru import GRUCell
from seqnet_lstm import LSTMCell

T, B, D, V = 4, 7, 3, 2


def problem(cell: object, layers: int = 2, dropout: float = 0.0) -> tuple[Model, dict[str, Array]]:
    model = Model(cell, D, V, layers=layers, dropout=dropout)  # type: ignore[arg-type]
    return model, model.init(np.random.default_rng(0))


def data(model: Model) -> tuple[Array, list[tuple[Array, ...]], Array, list[tuple[Array, ...]]]:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((T, B, D))
    carries = [tuple(rng.standard_normal(p.shape) for p in c) for c in model.initial_carries(B)]
    dlogits = rng.standard_normal((T, B, V))
    dfinals = [tuple(rng.standard_normal(p.shape) for p in c) for c in carries]
    return x, carries, dlogits, dfinals


def test_slices_cover_the_batch_in_order_and_only_when_it_pays() -> None:
    model = Model(ElmanCell(hidden=128), D, V)
    split = BatchParallel(model, threads=2)
    assert split.slices(2 * MIN_SLICE_WORK // 128) == [slice(0, 128), slice(128, 256)]
    assert split.slices(255) == [slice(0, 255)]  # 127 rows × 128 units: too little a slice
    assert BatchParallel(model, threads=3, min_slice_work=1).slices(8) == [
        slice(0, 2),
        slice(2, 5),
        slice(5, 8),
    ]
    assert BatchParallel(model, threads=1, min_slice_work=1).slices(8) == [slice(0, 8)]


@pytest.mark.parametrize("cell", [ElmanCell(hidden=5), LSTMCell(hidden=5), GRUCell(hidden=5)])
@pytest.mark.parametrize("threads", [2, 3])
def test_split_forward_and_backward_equal_the_models(cell: object, threads: int) -> None:
    model, params = problem(cell)
    x, carries, dlogits, dfinals = data(model)
    split = BatchParallel(model, threads, min_slice_work=1)

    logits, finals, cache = model.forward(params, x, carries)
    grads, dcarries = model.backward(params, cache, dlogits, dfinals)
    s_logits, s_finals, s_cache = split.forward(params, x, carries)
    s_grads, s_dcarries = split.backward(params, s_cache, dlogits, dfinals)

    assert isinstance(s_cache, SplitCache) and len(s_cache.caches) == threads
    assert relative_error(s_logits, logits) < 1e-13
    for ours, theirs in zip([*s_finals, *s_dcarries], [*finals, *dcarries], strict=True):
        for a, b in zip(ours, theirs, strict=True):
            assert relative_error(a, b) < 1e-13
    assert s_grads.keys() == grads.keys()
    for name in grads:
        assert relative_error(s_grads[name], grads[name]) < 1e-12, name


def test_a_batch_too_small_to_split_goes_to_the_model_whole() -> None:
    model, params = problem(ElmanCell(hidden=5))
    x, _, dlogits, _ = data(model)
    split = BatchParallel(model, threads=2)  # 3 rows × 5 units per slice: far too little
    logits, _, cache = split.forward(params, x)
    grads, _ = split.backward(params, cache, dlogits)
    expected, _, model_cache = model.forward(params, x)
    assert not isinstance(cache, SplitCache)
    np.testing.assert_array_equal(logits, expected)
    for name, g in model.backward(params, model_cache, dlogits)[0].items():
        np.testing.assert_array_equal(grads[name], g)


def test_split_with_dropout_is_reproducible_and_its_gradients_check() -> None:
    model, params = problem(LSTMCell(hidden=4), layers=2, dropout=0.3)
    x, carries, dlogits, dfinals = data(model)
    split = BatchParallel(model, threads=2, min_slice_work=1)

    def loss() -> float:
        logits, finals, _ = split.forward(params, x, carries, rng=np.random.default_rng(5))
        total = float(np.sum(logits * dlogits))
        for final, dfinal in zip(finals, dfinals, strict=True):
            total += sum(float(np.sum(c * d)) for c, d in zip(final, dfinal, strict=True))
        return total

    first, _, cache = split.forward(params, x, carries, rng=np.random.default_rng(5))
    again, _, _ = split.forward(params, x, carries, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(first, again)
    grads, _ = split.backward(params, cache, dlogits, dfinals)
    check_gradients(loss, dict(params), grads)
