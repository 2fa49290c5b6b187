"""seqnet's conformance kit, run on this package's task, cell and layer."""

import seqnet
from seqnet.testing import check_cell_gradients, check_layer, check_signature, check_task

from seqnet_reverse import CausalConv, IndRNNCell, ReverseTask


def test_the_task_meets_the_contract() -> None:
    check_task(ReverseTask())
    check_task(ReverseTask(length=1, symbols=2))


def test_the_cell_backward_matches_finite_differences() -> None:
    check_cell_gradients(IndRNNCell(hidden=4))
    check_cell_gradients(IndRNNCell(hidden=3), input_size=5, T=7, B=2)


def test_the_layer_meets_the_contract() -> None:
    check_layer(CausalConv(channels=4))
    check_layer(CausalConv(channels=2, kernel=5), input_size=4)


def test_the_constructors_take_the_spec_options() -> None:
    for cls in (ReverseTask, IndRNNCell, CausalConv):
        check_signature(cls)
    conv = CausalConv(channels=4, kernel=5)  # keyword-only, typed: mypy checks these calls
    assert (conv.spec.channels, conv.spec.kernel) == (4, 5)


def test_seqnet_finds_all_three() -> None:
    registry = seqnet.load_registry()
    assert registry.get("task", "reverse").cls is ReverseTask
    assert registry.get("cell", "indrnn").cls is IndRNNCell
    assert registry.get("layer", "causalconv").cls is CausalConv
