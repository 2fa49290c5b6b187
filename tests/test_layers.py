"""Layers from specs: cells as layers (either direction), `layer_spec` and `build_layer`."""

from __future__ import annotations

import numpy as np
import pytest

import seqnet
from seqnet.recurrent import CellLayer
from seqnet_lstm import LSTMCell


def test_a_reversed_cell_layer_reads_the_sequence_from_its_end() -> None:
    cell = LSTMCell(hidden=4)
    rng = np.random.default_rng(0)
    params = cell.init(rng, 3)
    x = rng.normal(size=(5, 2, 3))  # (T, B, D)
    carry = cell.initial_carry(2, np.dtype("float64"))
    backward_layer = CellLayer(cell, reverse=True)
    y, final, _ = backward_layer.forward(params, x, carry, None)
    h, want_final, _ = CellLayer(cell).forward(params, x[::-1].copy(), carry, None)
    np.testing.assert_array_equal(y, h[::-1])
    for got, want in zip(final, want_final, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_spec_section_names_a_cell_by_its_own_name() -> None:
    layer = seqnet.build_layer({"type": "lstm", "hidden": 8, "reverse": True})
    assert isinstance(layer, CellLayer) and layer.reverse
    assert layer.output_size(3) == 8 and layer.name == "lstm"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"type": "lstm", "hidden": 8, "units": 3}, "model.layers.0.units: unknown option"),
        ({"type": "nosuch"}, "unknown layer type 'nosuch'; available: "),
        ({"hidden": 8}, "model.layers.0: a layer needs a `type`"),
        ({"type": "elman", "hidden": 0}, "model.layers.0.hidden: Input should be greater than 0"),
    ],
)
def test_a_bad_layer_section_is_one_line_naming_it(
    section: dict[str, object], message: str
) -> None:
    with pytest.raises(seqnet.SpecError) as err:
        seqnet.layer_spec(section, where=("model", "layers", "0"))
    assert message in str(err.value) and "\n" not in str(err.value)
