"""The built-in layers' own promises, beyond the kit: options, errors, dropout, gelu's erf."""

from __future__ import annotations

import math

import numpy as np
import pytest

import seqnet
from seqnet.signatures import from_spec
from seqnet_gru import GRUCell
from seqnet_layers import Bidirectional, Dense, Dropout, Embedding, LayerNorm, Residual
from seqnet_layers.activations import normal_cdf


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"type": "dense", "units": 3, "activaton": "relu"}, "activaton: unknown option"),
        ({"type": "dense", "units": 3, "activation": "swish"}, "activation"),
        ({"type": "embedding", "dim": 0}, "dim"),
        ({"type": "dropout", "p": 1.0}, "p: Input should be less than 1"),
        ({"type": "layernorm", "eps": 0}, "eps"),
        ({"type": "bidirectional", "cell": "lstm", "hidden": 4, "bogus": 1}, "bogus: unknown"),
        ({"type": "bidirectional", "cell": "lstm", "hidden": 4, "reverse": True}, "reverse"),
        ({"type": "bidirectional", "cell": "nope", "hidden": 4}, "unknown layer type 'nope'"),
        ({"type": "bidirectional", "cell": "elman", "hidden": 4, "merge": "max"}, "merge"),
        ({"type": "residual", "layers": []}, "at least 1 item"),
        ({"type": "residual", "layers": [{"type": "dense"}]}, "residual layers.0: units"),
    ],
)
def test_a_bad_option_is_one_line_naming_it(section: dict[str, object], message: str) -> None:
    with pytest.raises(seqnet.SpecError) as caught:
        seqnet.layer_spec(section)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bidirectional_passes_the_cells_own_options_through() -> None:
    flat = seqnet.layer_spec(
        {"type": "bidirectional", "cell": "elman", "hidden": 5, "activation": "relu"}
    )
    layer = seqnet.build_layer(flat)
    assert isinstance(layer, Bidirectional)
    for direction in (layer.fwd, layer.bwd):
        assert direction.cell.spec.activation == "relu"  # type: ignore[attr-defined]
    assert (layer.fwd.reverse, layer.bwd.reverse) == (False, True)
    assert layer.output_size(3) == 10
    in_code = Bidirectional(cell="elman", hidden=5, merge="sum", options={"activation": "relu"})
    assert in_code.spec.options == {"activation": "relu"} and in_code.output_size(3) == 5


def test_the_engines_path_builds_the_same_layer_as_the_constructor() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 2, 3))
    for layer in (
        Dense(units=4, activation="gelu"),
        LayerNorm(eps=1e-3),
        Bidirectional(cell="gru", hidden=3),
        Residual(layers=[LayerNorm(), GRUCell(hidden=3)]),
    ):
        twin = from_spec(type(layer), layer.spec)
        params = layer.init(np.random.default_rng(1), 3)
        assert list(params) == list(twin.init(np.random.default_rng(1), 3))
        carry = layer.initial_carry(2, np.dtype(np.float64))
        y, _, _ = layer.forward(params, x, carry, None)
        y_twin, _, _ = twin.forward(params, x, carry, None)
        np.testing.assert_array_equal(y, y_twin)


def test_residual_needs_its_layers_to_keep_the_size() -> None:
    with pytest.raises(seqnet.SpecError, match="turn 3 features into 4"):
        Residual(layers=[Dense(units=4)]).output_size(3)
    block = Residual(layers=[LayerNorm(), Dense(units=3, activation="tanh")])
    params = block.init(np.random.default_rng(0), 3)
    assert sorted(params) == ["layers.0.b", "layers.0.g", "layers.1.W", "layers.1.b"]
    x = np.random.default_rng(1).standard_normal((2, 2, 3))
    y, carry, _ = block.forward({k: 0.0 * v for k, v in params.items()}, x, (), None)
    np.testing.assert_array_equal(y, x)  # f(x) = 0 when every weight is 0: y = x
    assert carry == ()


def test_residual_round_trips_cells_given_in_code() -> None:
    block = Residual(layers=[GRUCell(hidden=3), seqnet.CellLayer(GRUCell(hidden=3), reverse=True)])
    layers = block.spec.layers
    assert [d["type"] for d in layers] == ["gru", "gru"]
    assert [d.get("reverse", False) for d in layers] == [False, True]
    rebuilt = from_spec(Residual, Residual.Spec(layers=layers))
    assert [layer.reverse for layer in rebuilt.layers] == [False, True]  # type: ignore[attr-defined]
    assert not rebuilt.causal and len(rebuilt.initial_carry(2, np.dtype(np.float64))) == 2


def test_dropout_is_the_identity_without_a_generator() -> None:
    x = np.random.default_rng(0).standard_normal((5, 4, 6))
    y, _, cache = Dropout(p=0.5).forward({}, x, (), None)
    assert y is x
    dy = np.ones_like(x)
    dx, _, grads = Dropout(p=0.5).backward({}, cache, dy, ())
    assert dx is dy and grads == {}


def test_dropout_drops_a_fraction_p_and_scales_the_rest() -> None:
    x = np.ones((100, 50, 40), dtype=np.float32)
    layer = Dropout(p=0.3)
    y, _, mask = layer.forward({}, x, (), np.random.default_rng(0))
    assert y.dtype == np.float32
    kept = y != 0.0
    assert abs(kept.mean() - 0.7) < 0.01  # 200,000 draws: the standard error is 0.001
    np.testing.assert_allclose(y[kept], 1.0 / 0.7, rtol=1e-6)
    again, _, _ = layer.forward({}, x, (), np.random.default_rng(0))
    np.testing.assert_array_equal(y, again)  # the mask comes from the generator alone
    dx, _, _ = layer.backward({}, mask, x, ())
    np.testing.assert_array_equal(dx, y)  # dx = dy ⊙ m / (1 - p)


def test_embedding_refuses_what_is_not_an_id() -> None:
    layer = Embedding(dim=2)
    params = layer.init(np.random.default_rng(0), 4)
    with pytest.raises(TypeError, match="integer token ids"):
        layer.forward(params, np.zeros((3, 2, 4)), (), None)
    with pytest.raises(ValueError, match=r"\[0, 4\); got 0..4"):
        layer.forward(params, np.array([[0, 4]]), (), None)
    with pytest.raises(ValueError, match=r"got -1..1"):
        layer.forward(params, np.array([[-1, 1]]), (), None)


def test_normal_cdf_equals_math_erfc_everywhere() -> None:
    # every branch of Cody's approximation (|z| ≤ 0.47, ≤ 4, > 4) and the tails beyond
    x = np.concatenate([np.linspace(-40.0, 40.0, 16001), [0.0, -0.0, 1e-300, np.inf, -np.inf]])
    want = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x])
    np.testing.assert_allclose(normal_cdf(x), want, rtol=1e-12, atol=3e-16)
    assert normal_cdf(x.astype(np.float32)).dtype == np.float32
    assert np.isnan(normal_cdf(np.array([np.nan]))).all()


def test_the_layers_import_only_the_public_api() -> None:
    """A stranger's layer plugin can import exactly what the built-in one does."""
    import ast
    from pathlib import Path

    import seqnet_layers

    used = set()
    for path in Path(seqnet_layers.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                used |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                used.add(node.module)
    assert {name for name in used if name.split(".")[0] == "seqnet"} == {"seqnet"}


@pytest.mark.parametrize(
    "layer",
    [
        pytest.param(Bidirectional(cell=cell, hidden=3, merge=merge), id=f"bi-{cell}-{merge}")  # type: ignore[arg-type]
        for cell in ("elman", "lstm", "gru")
        for merge in ("concat", "sum")
    ]
    + [
        pytest.param(Bidirectional(cell="elman", hidden=2, activation="relu"), id="bi-relu"),
        pytest.param(
            Residual(
                layers=[LayerNorm(), {"type": "lstm", "hidden": 3}, {"type": "dropout", "p": 0.5}]
            ),
            id="residual-carry",
        ),
        pytest.param(
            Residual(layers=[Bidirectional(cell="gru", hidden=3, merge="sum")]), id="residual-bi"
        ),
        pytest.param(Embedding(dim=3), id="embedding"),
        pytest.param(Dropout(p=0.0), id="dropout-0"),
        pytest.param(LayerNorm(eps=0.5), id="layernorm-eps"),
    ],
)
def test_the_kit_passes_beyond_the_registry_defaults(layer: seqnet.Layer) -> None:
    """The engine's test runs each layer with its smallest options; these are the others."""
    seqnet.testing.check_layer(layer, input_size=3)
