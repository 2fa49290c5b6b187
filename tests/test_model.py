"""Model: stacked cells and the dense head, gradient-checked end to end through each loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqnet.head import Head
from seqnet.losses import get_loss
from seqnet.model import Model
from seqnet.testing import check_gradients
from seqnet_elman import ElmanCell


def test_head_gradients() -> None:
    rng = np.random.default_rng(0)
    dense = Head(3)
    params = dense.init(rng, 4)
    x = rng.standard_normal((5, 2, 4))
    weights = rng.standard_normal((5, 2, 3))

    def loss() -> float:
        return float(np.sum(dense.forward(params, x, ())[0] * weights))

    _, _, cache = dense.forward(params, x, ())
    dx, _, grads = dense.backward(params, cache, weights, ())
    check_gradients(loss, {**params, "x": x}, {**grads, "x": dx})


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_one_output_head_gives_matmuls_input_gradient_float_for_float(dtype: str) -> None:
    # the V = 1 head (adding) multiplies instead of calling the GEMM: a default run's numbers
    # must not move, down to the sign of a zero (a masked step's gradient is ±0)
    rng = np.random.default_rng(0)
    dense = Head(1)
    params = {k: v.astype(dtype) for k, v in dense.init(rng, 4).items()}
    x = rng.standard_normal((6, 3, 4)).astype(dtype)
    dy = rng.standard_normal((6, 3, 1)).astype(dtype)
    dy[:3] *= 0.0  # ±0, as the loss gives unscored steps
    _, _, cache = dense.forward(params, x, ())
    dx, _, _ = dense.backward(params, cache, dy, ())
    assert dx is not None
    want = (dy.reshape(-1, 1) @ params["W"].T).reshape(x.shape)
    np.testing.assert_array_equal(dx, want)
    np.testing.assert_array_equal(np.signbit(dx), np.signbit(want))
    assert np.signbit(dy).any() and dx.dtype == np.dtype(dtype)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_model_gradients_through_the_loss(layers: int, dropout: float) -> None:
    rng = np.random.default_rng(1)
    model = Model(ElmanCell(hidden=4), input_size=2, output_size=3, layers=layers, dropout=dropout)
    params = model.init(rng)
    x = rng.standard_normal((4, 3, 2))
    y = (rng.random((4, 3, 3)) < 0.5).astype(float)
    mask = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 1, 1]], dtype=float)
    bce = get_loss("sigmoid_bce")

    def forward() -> tuple[float, object, np.ndarray]:
        # the same dropout masks at every evaluation: a fresh generator from one seed
        logits, _, cache = model.forward(params, x, rng=np.random.default_rng(7))
        loss, dlogits = bce(logits, y, mask)
        return loss, cache, dlogits

    _, cache, dlogits = forward()
    grads, _ = model.backward(params, cache, dlogits)  # type: ignore[arg-type]
    assert list(grads) == list(params)
    check_gradients(lambda: forward()[0], params, grads)


def test_parameter_names_are_flat_and_dotted() -> None:
    model = Model(ElmanCell(hidden=5), input_size=2, output_size=1, layers=2)
    params = model.init(np.random.default_rng(0))
    assert sorted(params) == [
        "head.W", "head.b",
        "layers.0.W_h", "layers.0.W_x", "layers.0.b",
        "layers.1.W_h", "layers.1.W_x", "layers.1.b",
    ]  # fmt: skip
    assert params["layers.1.W_x"].shape == (5, 5)  # layer 2 reads layer 1's hidden state
    assert params["head.W"].shape == (5, 1)


def test_float32_model_stays_float32() -> None:
    model = Model(ElmanCell(hidden=4), input_size=2, output_size=1, dtype="float32")
    params = model.init(np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((6, 2, 2))  # float64 in: cast once
    logits, carries, cache = model.forward(params, x)
    grads, _ = model.backward(params, cache, np.ones_like(logits))
    assert logits.dtype == np.float32 and carries[0][0].dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())


def test_carries_continue_a_sequence() -> None:
    """Running x in two halves, feeding the carry back, equals running it whole."""
    model = Model(ElmanCell(hidden=4), input_size=2, output_size=1, layers=2)
    params = model.init(np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((8, 3, 2))
    whole, _, _ = model.forward(params, x)
    first, carries, _ = model.forward(params, x[:5])
    second, _, _ = model.forward(params, x[5:], carries)
    np.testing.assert_allclose(np.concatenate([first, second]), whole, rtol=1e-13)


def test_token_ids_reach_a_vector_layer_one_hot() -> None:
    from seqnet.model import Sequential

    model = Sequential([ElmanCell(hidden=4)], input_size=5, output_size=2)
    params = model.init(np.random.default_rng(0))
    ids = np.random.default_rng(1).integers(0, 5, size=(6, 3))  # (T, B)
    from_ids, _, _ = model.forward(params, ids)
    from_vectors, _, _ = model.forward(params, np.eye(5)[ids])  # (T, B, 5)
    np.testing.assert_array_equal(from_ids, from_vectors)
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 5\)"):
        model.forward(params, ids + 1)


class Lookup:
    """A token reader in name only: y_t = one row of a table per id, for the model's routing."""

    name = "lookup"
    reads_tokens = True

    def init(self, rng: np.random.Generator, input_size: int) -> dict[str, np.ndarray]:
        return {"E": rng.standard_normal((input_size, 2))}

    def output_size(self, input_size: int) -> int:
        return 2

    def initial_carry(self, batch: int, dtype: object) -> tuple[()]:
        return ()

    def forward(self, params: dict[str, np.ndarray], x: np.ndarray, carry: object, rng: object):  # type: ignore[no-untyped-def]
        return params["E"][x], (), x

    def backward(self, params, cache, dy, dcarry, input_grad=True):  # type: ignore[no-untyped-def]
        dE = np.zeros_like(params["E"])
        np.add.at(dE, cache, dy)
        return None, (), {"E": dE}


def test_a_token_reader_gets_the_ids_and_may_only_come_first() -> None:
    from seqnet.errors import SpecError
    from seqnet.model import Sequential

    model = Sequential([Lookup(), ElmanCell(hidden=3)], input_size=7, output_size=2)
    params = model.init(np.random.default_rng(0))
    ids = np.array([[1, 6], [0, 2]])
    logits, _, cache = model.forward(params, ids)
    grads, _ = model.backward(params, cache, np.ones_like(logits))
    assert logits.shape == (2, 2, 2) and set(grads) == set(params)
    assert np.count_nonzero(grads["layers.0.E"].any(axis=1)) == 4  # rows of the ids read
    with pytest.raises(SpecError, match=r"layer 1 \(lookup\) reads tokens: only the first may"):
        Sequential([ElmanCell(hidden=3), Lookup()], input_size=7, output_size=2)


def test_a_token_reader_on_a_task_that_gives_vectors_is_a_spec_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from seqnet.cli import app

    spec = tmp_path / "spec.yaml"
    spec.write_text("task: {name: copy}\nmodel:\n  layers: [{type: embedding, dim: 4}, {type: gru,"
                    " hidden: 8}]\ntrain: {steps: 5}\n")  # fmt: skip
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(spec), "--out", str(out), "-q"])
    assert result.exit_code == 2, result.output
    assert result.stderr == ("error: model: layer 0 (embedding) reads token ids, but task 'copy'"
                             " gives vectors, not ids; drop that layer\n")  # fmt: skip
    assert not out.exists()
