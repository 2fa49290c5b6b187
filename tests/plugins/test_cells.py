"""Conformance of every registered cell (each option variant), and tests that the kit bites.

A new cell plugin is checked here by registering it: nothing in this file names a cell except
the golden values at the end and the deliberately broken cells that the kit must reject.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from seqnet import recurrent
from seqnet.errors import SpecError
from seqnet.interfaces import Array, Carry, Params
from seqnet.plugins import load_registry
from seqnet.registry import Registry
from seqnet.testing import (
    SHAPES,
    check_cell_gradients,
    check_deterministic,
    check_float32,
    check_input_grad_skip,
    check_kernels_agree,
    check_sequence_matches_steps,
    check_stacked_gradients,
    option_variants,
)
from seqnet.testing.cells import random_problem, run_both_ways
from seqnet.testing.gradients import relative_error
from seqnet_elman import ElmanCell
from seqnet_gru import GRUCell
from seqnet_lstm import LSTMCell

REGISTRY = load_registry()
CELLS = REGISTRY.names("cell")
VARIANTS = [
    pytest.param(name, options, id="-".join([name, *map(str, list(options.values())[1:])]))
    for name in CELLS
    for options in option_variants(REGISTRY.get("cell", name).cls, hidden=4)
]
SHAPE_IDS = [f"T{T}-B{B}" for T, B in SHAPES]


def make(name: str, options: dict[str, Any]) -> Any:
    return REGISTRY.get("cell", name).cls(**options)


def test_the_reference_cells_are_registered() -> None:
    assert {"elman", "lstm", "gru"} <= set(CELLS)


@pytest.mark.parametrize("name", CELLS)
def test_each_cell_has_a_one_line_description(name: str, registry: Registry) -> None:
    description = registry.get("cell", name).description
    assert description
    assert description.strip() == description


@pytest.mark.parametrize(("T", "B"), SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize(("name", "options"), VARIANTS)
def test_gradients(name: str, options: dict[str, Any], T: int, B: int) -> None:
    errors = check_cell_gradients(make(name, options), input_size=3, T=T, B=B)
    assert {"x", "carry0[0]"} <= set(errors)


@pytest.mark.parametrize(("T", "B"), SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize(("name", "options"), VARIANTS)
def test_sequence_path_equals_step_path(name: str, options: dict[str, Any], T: int, B: int) -> None:
    check_sequence_matches_steps(make(name, options), input_size=3, T=T, B=B)


@pytest.mark.parametrize(("T", "B"), SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize(("name", "options"), VARIANTS)
def test_skipping_dx_changes_no_other_gradient(
    name: str, options: dict[str, Any], T: int, B: int
) -> None:
    check_input_grad_skip(make(name, options), input_size=3, T=T, B=B)


@pytest.mark.parametrize("cls", [ElmanCell, LSTMCell, GRUCell])
def test_reference_cells_skip_dx_for_the_first_layer(cls: Any) -> None:
    # a sixth of a one-layer training step's matrix work (issue 8)
    assert recurrent.skips_input_grad(cls)


@pytest.mark.parametrize(("name", "options"), VARIANTS)
def test_same_seed_same_numbers(name: str, options: dict[str, Any]) -> None:
    check_deterministic(lambda: make(name, options))


@pytest.mark.parametrize(("name", "options"), VARIANTS)
def test_float32_runs_clean_and_stays_float32(name: str, options: dict[str, Any]) -> None:
    check_float32(make(name, options))


@pytest.mark.parametrize("dropout", [0.0, 0.25], ids=["no-dropout", "dropout"])
@pytest.mark.parametrize("name", CELLS)
def test_two_layer_model_gradients(name: str, dropout: float) -> None:
    errors = check_stacked_gradients(make(name, {"hidden": 4}), layers=2, dropout=dropout)
    assert any(key.startswith(f"layers.{2 if dropout else 1}.") for key in errors)
    assert f"carries[{2 if dropout else 1}][0]" in errors  # the second cell's carry


# ---- the kit must reject broken cells --------------------------------------------------------


class WrongRecurrentGradient(ElmanCell):
    """Elman, but backward drops the gradient that flows through the carry into W_h."""

    def backward(
        self, params: Params, cache: Any, dh: Array, dcarry: Carry, input_grad: bool = True
    ) -> tuple[Array | None, Carry, Params]:
        dx, dcarry0, grads = super().backward(params, cache, dh, dcarry, input_grad)
        grads["W_h"] = grads["W_h"] * 1.001
        return dx, dcarry0, grads


class ReturnsDxAnyway(ElmanCell):
    """Elman that takes input_grad but ignores it."""

    def backward(
        self, params: Params, cache: Any, dh: Array, dcarry: Carry, input_grad: bool = True
    ) -> tuple[Array | None, Carry, Params]:
        return super().backward(params, cache, dh, dcarry)


class SkipChangesGrads(ElmanCell):
    """Elman whose dx-less backward forgets the bias gradient's last step."""

    def backward(
        self, params: Params, cache: Any, dh: Array, dcarry: Carry, input_grad: bool = True
    ) -> tuple[Array | None, Carry, Params]:
        dx, dcarry0, grads = super().backward(params, cache, dh, dcarry, input_grad)
        if not input_grad:
            grads["b"] = grads["b"] * 0.999
        return dx, dcarry0, grads


class SequencePathDrifts(ElmanCell):
    """Elman whose sequence forward differs from its step (the bias counted twice)."""

    def forward(self, params: Params, x: Array, carry: Carry) -> tuple[Array, Carry, Any]:
        return super().forward({**params, "b": 2.0 * params["b"]}, x, carry)


class UpcastsFloat32(ElmanCell):
    """Elman that silently computes in float64 whatever it is given."""

    def forward(self, params: Params, x: Array, carry: Carry) -> tuple[Array, Carry, Any]:
        wide = {k: v.astype(np.float64) for k, v in params.items()}
        return super().forward(wide, x.astype(np.float64), (carry[0].astype(np.float64),))


class IgnoresSeed(ElmanCell):
    """Elman whose init draws from its own generator instead of the one it is given."""

    def init(self, rng: np.random.Generator, input_size: int) -> Params:
        return super().init(np.random.default_rng(1234), input_size)


def test_gradient_check_catches_a_wrong_backward() -> None:
    with pytest.raises(AssertionError, match="W_h"):
        check_cell_gradients(WrongRecurrentGradient(hidden=4))


def test_sequence_check_catches_a_drifting_sequence_path() -> None:
    with pytest.raises(AssertionError, match="sequence and step paths differ"):
        check_sequence_matches_steps(SequencePathDrifts(hidden=4))


def test_skip_check_catches_a_dx_that_is_still_made() -> None:
    with pytest.raises(AssertionError, match="returned dx instead of None"):
        check_input_grad_skip(ReturnsDxAnyway(hidden=4))


def test_skip_check_catches_gradients_that_change_without_dx() -> None:
    with pytest.raises(AssertionError, match="changed a carry or parameter gradient"):
        check_input_grad_skip(SkipChangesGrads(hidden=4))


def test_float32_check_catches_an_upcast() -> None:
    with pytest.raises(AssertionError, match="float64"):
        check_float32(UpcastsFloat32(hidden=4))


def test_determinism_check_catches_an_init_that_ignores_its_generator() -> None:
    with pytest.raises(AssertionError, match="same parameters for two seeds"):
        check_deterministic(lambda: IgnoresSeed(hidden=4))


def test_option_variants_cover_each_literal_option_once() -> None:
    variants = option_variants(ElmanCell, hidden=4)
    assert variants == [
        {"hidden": 4},
        {"hidden": 4, "activation": "sigmoid"},
        {"hidden": 4, "activation": "relu"},
        {"hidden": 4, "init": "glorot_orthogonal"},
    ]


# ---- golden values and defaults a person can check by hand -----------------------------------


def zero_params(cell: Any, input_size: int) -> Params:
    params: Params = cell.init(np.random.default_rng(0), input_size)
    return {name: np.zeros_like(value) for name, value in params.items()}


def test_lstm_with_zero_weights_halves_the_cell() -> None:
    # All z = 0: i = f = o = σ(0) = ½ and g = tanh(0) = 0, so c = ½ c_prev and h = ½ tanh(c).
    cell = LSTMCell(hidden=2)
    x = np.ones((1, 1, 3))
    h, (h_T, c_T), _ = recurrent.sequence_forward(
        cell, zero_params(cell, 3), x, (np.zeros((1, 2)), np.array([[1.0, -2.0]]))
    )
    np.testing.assert_allclose(c_T, [[0.5, -1.0]], rtol=1e-15)
    np.testing.assert_allclose(h[0], [[0.5 * np.tanh(0.5), 0.5 * np.tanh(-1.0)]], rtol=1e-15)
    np.testing.assert_array_equal(h_T, h[0])


def test_gru_with_zero_weights_halves_the_state() -> None:
    # All pre-activations 0: r = z = ½ and n = tanh(0) = 0, so h = (1 − ½)·0 + ½ h_prev.
    cell = GRUCell(hidden=2)
    h, (h_T,), _ = recurrent.sequence_forward(
        cell, zero_params(cell, 3), np.ones((2, 1, 3)), (np.array([[1.0, -2.0]]),)
    )
    np.testing.assert_allclose(h[:, 0], [[0.5, -1.0], [0.25, -0.5]], rtol=1e-15)
    np.testing.assert_array_equal(h_T, h[-1])


def test_lstm_forget_bias_is_one_by_default_and_optional() -> None:
    H = 3
    params = LSTMCell(hidden=H).init(np.random.default_rng(0), 2)
    np.testing.assert_array_equal(params["b_x"][H : 2 * H], 1.0)
    np.testing.assert_array_equal(params["b_h"][H : 2 * H], 0.0)
    drawn = LSTMCell(hidden=H, forget_bias=None).init(np.random.default_rng(0), 2)
    assert np.all(np.abs(drawn["b_x"]) <= 1 / np.sqrt(H))
    assert not np.any(drawn["b_x"][H : 2 * H] == 1.0)
    keras = LSTMCell(hidden=H, init="glorot_orthogonal").init(np.random.default_rng(0), 2)
    np.testing.assert_array_equal(keras["b_x"], np.repeat([0.0, 1.0, 0.0, 0.0], H))


@pytest.mark.parametrize(("cls", "gates"), [(LSTMCell, 4), (GRUCell, 3)])
def test_glorot_orthogonal_gives_orthogonal_recurrent_blocks(cls: Any, gates: int) -> None:
    H = 5
    W_h = cls(hidden=H, init="glorot_orthogonal").init(np.random.default_rng(0), 2)["W_h"]
    assert W_h.shape == (H, gates * H)
    for k in range(gates):
        block = W_h[:, k * H : (k + 1) * H]
        np.testing.assert_allclose(block.T @ block, np.eye(H), atol=1e-12)


@pytest.mark.parametrize(("T", "B"), SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("name", CELLS)
def test_every_kernel_of_a_cell_agrees_with_the_reference(name: str, T: int, B: int) -> None:
    check_kernels_agree(lambda: make(name, {"hidden": 4}), input_size=3, T=T, B=B)


def test_the_lstm_numba_kernel_agrees_with_numpy_to_1e_12() -> None:
    pytest.importorskip("numba")
    assert LSTMCell.kernels() == ("numpy", "numba")
    outputs = {}
    for kernel in LSTMCell.kernels():
        cell = LSTMCell(hidden=5)
        cell.kernel = kernel
        problem = random_problem(cell, 3, T=7, B=4, seed=1)
        outputs[kernel] = list(run_both_ways(cell, *problem))
    for ref, got in zip(outputs["numpy"], outputs["numba"], strict=True):
        assert ref.keys() == got.keys()
        for key in ref:
            assert relative_error(ref[key], got[key]) < 1e-12, key
            # stronger, and what keeps default runs' numbers with the extra: numpy's order of
            # operations, so the very same floats
            np.testing.assert_array_equal(got[key], ref[key], err_msg=key)
    check_cell_gradients(cell, T=7, B=4)  # the numba path's own gradient check


def test_seqnet_kernel_variable_forces_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQNET_KERNEL", "numpy")
    assert LSTMCell(hidden=2).kernel == "numpy"
    monkeypatch.setenv("SEQNET_KERNEL", "")
    assert LSTMCell(hidden=2).kernel == LSTMCell.kernels()[-1]
    monkeypatch.setenv("SEQNET_KERNEL", "cuda")
    with pytest.raises(SpecError, match="SEQNET_KERNEL='cuda': expected numpy, numba or auto"):
        LSTMCell(hidden=2)


def test_without_numba_the_lstm_runs_on_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "numba" else real_find_spec(name)
    )
    assert LSTMCell.kernels() == ("numpy",)
    monkeypatch.delenv("SEQNET_KERNEL", raising=False)
    assert LSTMCell(hidden=2).kernel == "numpy"
    monkeypatch.setenv("SEQNET_KERNEL", "numba")
    with pytest.raises(SpecError, match=r"numba is not installed: pip install 'seqnet\[fast\]'"):
        LSTMCell(hidden=2)


def test_numba_is_imported_only_when_an_lstm_runs() -> None:
    # `seqnet run binadd` (Elman) must not pay for importing numba
    code = (
        "import sys\n"
        "from seqnet.plugins import load_registry\n"
        "from seqnet_lstm import LSTMCell\n"
        "load_registry(); LSTMCell(hidden=2)\n"
        "assert 'numba' not in sys.modules, 'numba imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
