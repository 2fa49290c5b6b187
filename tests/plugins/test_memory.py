"""The stack and tape cells: hand-worked memory moves, memory sized by the sequence, bounds."""

from __future__ import annotations

import numpy as np
import pytest

import seqnet
from seqnet.model import Model
from seqnet.testing import check_cell_gradients, check_sequence_matches_steps
from seqnet_memory import StackRNNCell, TapeRNNCell
from seqnet_memory.controller import segment
from seqnet_memory.memories import stack_update, tape_update

PUSH, POP, NOOP = np.eye(3)[[0]], np.eye(3)[[1]], np.eye(3)[[2]]


def test_a_stack_pushes_and_pops_whole_cells() -> None:
    s = np.zeros((1, 4, 2))
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]])
    s = stack_update(s, PUSH, a)
    s = stack_update(s, PUSH, b)
    assert s[0, :3].tolist() == [[3, 4], [1, 2], [0, 0]]
    s = stack_update(s, NOOP, b)
    assert s[0, :2].tolist() == [[3, 4], [1, 2]]
    s = stack_update(s, POP, b)  # the value is ignored when popping
    assert s[0, :2].tolist() == [[1, 2], [0, 0]]


def test_a_soft_action_mixes_the_three_stacks() -> None:
    s = np.array([[[1.0], [2.0], [3.0]]])  # top 1, then 2, 3
    p = np.array([[0.5, 0.25, 0.25]])
    new = stack_update(s, p, np.array([[9.0]]))
    # row 0: .5·9 + .25·2 + .25·1; row 1: .5·1 + .25·3 + .25·2; row 2: .5·2 + .25·0 + .25·3
    assert new[0, :, 0].tolist() == [5.25, 1.75, 1.75]


def test_a_tape_writes_moves_and_jumps_by_the_input_length() -> None:
    N, L = 7, np.array([3])
    stay, left, right, jump_left, jump_right = (np.eye(5)[[k]] for k in range(5))
    tape = np.zeros((1, N, 1))
    tape = tape_update(tape, left, np.array([[1.0]]), L)  # write 1, head one cell on
    tape = tape_update(tape, jump_left, np.array([[2.0]]), L)  # write 2, head 3 cells on
    # the head is at cell 4 of the tape as written: 1 sits 4 cells back, 2 sits 3 cells back
    assert tape[0, (-4) % N, 0] == 1.0 and tape[0, (-3) % N, 0] == 2.0
    tape = tape_update(tape, jump_right, np.array([[5.0]]), L)  # write 5 at 4, back to 1
    assert tape[0, 0, 0] == 2.0 and tape[0, 3, 0] == 5.0
    tape = tape_update(tape, right, np.array([[2.0]]), L)  # rewrite 2, back to cell 0
    assert tape[0, 0, 0] == 1.0
    tape = tape_update(tape, stay, np.array([[7.0]]), L)
    assert tape[0, 0, 0] == 7.0


@pytest.mark.parametrize("cls", [StackRNNCell, TapeRNNCell])
def test_a_sequence_gets_one_memory_cell_more_than_it_has_steps(cls: type) -> None:
    model = Model(cls(hidden=4, memory=2), input_size=3, output_size=2)
    params = model.init(np.random.default_rng(0))
    for T in (5, 40):
        x = np.random.default_rng(1).standard_normal((T, 2, 3))
        _, finals, _ = model.forward(params, x)
        assert finals[0][1].shape == (2, T + 1, 8)
    assert cls(hidden=4, memory=2).initial_carry(2, np.dtype(np.float64))[1].shape == (2, 2, 8)


def test_a_long_stack_remembers_what_a_short_one_drops() -> None:
    # 30 pushes then 30 pops: a 31-cell stack gives the first value back; 4 cells cannot
    cell = StackRNNCell(hidden=2, memory=4, cell_size=1)
    values = np.arange(1.0, 31.0)
    for rows, first in ((31, 1.0), (4, 0.0)):
        s = np.zeros((1, rows, 1))
        for v in values:
            s = stack_update(s, PUSH, np.array([[v]]))
        for _ in range(29):
            s = stack_update(s, POP, np.zeros((1, 1)))
        assert s[0, 0, 0] == first
    assert cell.spec.memory == 4


@pytest.mark.parametrize(("T", "B", "kept"), [(100, 1, 100), (100, 600, 10)])
def test_a_long_forward_keeps_about_root_t_memories(T: int, B: int, kept: int) -> None:
    # 100 steps of a (B, 101, 8) tape: every memory at B = 1; past KEEP_ALL numbers, √T of them
    cell = TapeRNNCell(hidden=3)
    params = cell.init(np.random.default_rng(0), 2)
    x = np.zeros((T, B, 2))
    _, _, cache = cell.forward(params, x, cell.initial_carry_for(B, np.dtype(np.float64), T))
    assert len(cache[6]) == kept and segment(100) == 10


@pytest.mark.parametrize(
    "options",
    [{"memory": 2_000_000}, {"cell_size": 4096}, {"memory": 0}, {"cell_size": 0}],
)
def test_memory_sizes_a_user_types_are_bounded(options: dict[str, int]) -> None:
    name = next(iter(options))
    with pytest.raises(seqnet.SpecError, match=rf"^StackRNNCell\.{name}: Input should be"):
        StackRNNCell(hidden=4, **options)


@pytest.mark.parametrize("cls", [StackRNNCell, TapeRNNCell])
def test_the_replayed_backward_passes_the_kit(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    # keep no memories beyond the √T snapshots, so backward replays every segment
    monkeypatch.setattr("seqnet_memory.controller.KEEP_ALL", 0)
    for T, B in ((1, 1), (5, 3), (11, 2)):
        check_cell_gradients(cls(hidden=4), input_size=3, T=T, B=B)
        check_sequence_matches_steps(cls(hidden=4), input_size=3, T=T, B=B)


def test_a_sequence_scored_in_time_chunks_gets_a_memory_for_all_its_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # evaluation runs long sequences TIME_CHUNK steps at a time: the stack must still be sized
    # for the whole sequence, not for its first chunk (or a deep push is dropped)
    from seqnet import lengths

    model = Model(StackRNNCell(hidden=4), input_size=3, output_size=2)
    params = model.init(np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((30, 2, 3))
    whole, finals, _ = model.forward(params, x)
    monkeypatch.setattr(lengths, "TIME_CHUNK", 10)
    chunked = lengths.forward_chunked(model, params, x)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-12)
    assert finals[0][1].shape == (2, 31, 8)


@pytest.mark.parametrize("update", ["stack", "tape"])
def test_the_memory_gradients_hold_at_the_sizes_of_the_test_lengths(update: str) -> None:
    # the kit checks small cells; scoring at ℓ = 500 runs memories of hundreds of rows and
    # jumps of hundreds of cells (some past the tape's size): the actions' and the memory's
    # gradients there, against central differences
    from seqnet.testing import check_gradients
    from seqnet_memory.memories import stack_update_backward, tape_update_backward

    rng = np.random.default_rng(0)
    B, S, M = 3, 401, 4
    forward, backward, actions = {
        "stack": (stack_update, stack_update_backward, 3),
        "tape": (tape_update, tape_update_backward, 5),
    }[update]
    L = np.array([3, 400, 805])  # within, at and past the tape's 401 rows
    arrays = {
        "s": rng.standard_normal((B, S, M)),
        "p": rng.dirichlet(np.ones(actions), size=B),
        "v": rng.standard_normal((B, M)),
    }
    g = rng.standard_normal((B, S, M))

    def loss() -> float:
        return float(np.vdot(g, forward(arrays["s"], arrays["p"], arrays["v"], L)))

    ds, dp, dv = backward(arrays["s"], arrays["p"], arrays["v"], L, g)
    check_gradients(loss, arrays, {"s": ds, "p": dp, "v": dv})
