"""Binary addition: reading numbers a user typed, writing sums, and the carry it shows in plots."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqnet.interfaces import Predicting
from seqnet_binadd import BinaryAdditionTask


def test_is_a_predicting_task_with_a_length() -> None:
    task = BinaryAdditionTask()
    assert isinstance(task, Predicting)
    assert BinaryAdditionTask.length_option == "bits"


@given(st.integers(0, 2**200), st.integers(0, 2**200))
def test_parse_then_format_of_the_true_sum_round_trips(a: int, b: int) -> None:
    task = BinaryAdditionTask(bits=8)
    batch = task.parse([str(a), str(b)])
    assert batch.x.shape == (max(8, a.bit_length(), b.bit_length()) + 1, 1, 2)
    perfect = np.where(batch.y > 0.5, 5.0, -5.0)  # logits that say exactly the targets
    assert task.format(perfect, batch) == [str(a + b)]


def test_numbers_past_pythons_digit_limit() -> None:
    task = BinaryAdditionTask()
    big = "9" * 5000  # int(big) alone raises ValueError under the default 4,300-digit limit
    batch = task.parse([big, "1"])
    text = task.format(np.where(batch.y > 0.5, 1.0, -1.0), batch)[0]
    assert text == "1" + "0" * 5000
    assert sys.get_int_max_str_digits() == 4300  # the limit is put back


def test_binary_and_hex_input() -> None:
    task = BinaryAdditionTask()
    batch = task.parse(["0b101", "0x10"])
    assert task.format(np.where(batch.y > 0.5, 1.0, -1.0), batch) == ["21"]


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["-3", "4"], "'-3' is negative; binadd adds non-negative integers"),
        (["3", "four"], "'four' is not a non-negative integer"),
        (["3", "1.5"], "'1.5' is not a non-negative integer"),
        (["3", ""], "'' is not a non-negative integer"),
        (["3", "0b102"], "'0b102' is not a non-negative integer"),
        (["3"], "binadd adds two numbers; got 1"),
    ],
)
def test_bad_input_is_one_clear_line(words: list[str], message: str) -> None:
    with pytest.raises(ValueError) as info:
        BinaryAdditionTask().parse(words)
    assert str(info.value) == message


def test_step_rows_carry_is_the_carry_into_each_step() -> None:
    task = BinaryAdditionTask(bits=4)
    batch = task.encode([0b0111], [0b0001])  # 7 + 1: the carry ripples through three steps
    rows = task.step_rows(batch)
    assert rows["carry in"][:, 0].tolist() == [0, 1, 1, 1, 0]
    assert rows["sum"][:, 0].tolist() == [0, 0, 0, 1, 0]  # 8, least significant bit first


def test_default_trains_to_a_margin() -> None:
    train = BinaryAdditionTask.defaults["train"]
    assert train["margin"] > 0 and train["patience"] >= 2


@pytest.mark.parametrize("bits", [1, 8, 62, 63, 200])
def test_samples_are_true_sums_on_both_paths(bits: int) -> None:
    """Up to 62 bits the sums are taken in int64, above in Python integers: both are exact."""
    task = BinaryAdditionTask(bits=bits)
    batch = task.sample(np.random.default_rng(bits), 64)
    assert batch.x.shape == (bits + 1, 64, 2) and batch.y.shape == (bits + 1, 64, 1)
    assert not batch.x[-1].any()  # the padding step that lets the carry out
    a = task.decode(batch.x[:, :, 0].astype(np.uint8))
    b = task.decode(batch.x[:, :, 1].astype(np.uint8))
    total = task.decode(batch.y[..., 0].astype(np.uint8))
    assert total == [p + q for p, q in zip(a, b, strict=True)]


def longest_propagate_run(a: np.ndarray, b: np.ndarray) -> int:
    """The longest stretch of positions where exactly one operand bit is 1."""
    longest = run = 0
    for p, q in zip(a, b, strict=True):
        run = run + 1 if p != q else 0
        longest = max(longest, run)
    return longest


@pytest.mark.parametrize("bits", [8, 100])
def test_propagate_puts_a_long_carry_run_in_each_sum(bits: int) -> None:
    task = BinaryAdditionTask(bits=bits, propagate=bits)
    batch = task.sample(np.random.default_rng(0), 500)
    a, b = batch.x[:-1, :, 0], batch.x[:-1, :, 1]
    runs = [longest_propagate_run(a[:, i], b[:, i]) for i in range(500)]
    plain = BinaryAdditionTask(bits=bits).sample(np.random.default_rng(0), 500)
    plain_runs = [longest_propagate_run(plain.x[:-1, i, 0], plain.x[:-1, i, 1]) for i in range(500)]
    # a run of 1..bits positions, at least as long as the random bits around it made
    assert np.mean(runs) > np.mean(plain_runs) + bits / 4
    assert max(runs) == bits  # some sums are one carry run from end to end
    sums = task.decode(batch.y[..., 0].astype(np.uint8))
    pairs = zip(task.decode(a.astype(np.uint8)), task.decode(b.astype(np.uint8)), strict=True)
    assert sums == [p + q for p, q in pairs]  # still true sums


def test_propagate_zero_leaves_the_samples_as_they_were() -> None:
    one = BinaryAdditionTask(bits=16, bits_min=1).sample(np.random.default_rng(3), 32)
    two = BinaryAdditionTask(bits=16, bits_min=1, propagate=0).sample(np.random.default_rng(3), 32)
    assert np.array_equal(one.x, two.x) and np.array_equal(one.y, two.y)


def test_heldout_runs_give_validation_sums_long_carry_runs_and_leave_training_alone() -> None:
    task = BinaryAdditionTask(bits=256, heldout_runs=True)
    held = task.heldout(np.random.default_rng(0), 400)
    a, b = held.x[:-1, :, 0], held.x[:-1, :, 1]
    runs = [longest_propagate_run(a[:, i], b[:, i]) for i in range(400)]
    # one run of 1..256 propagate positions per sum: about half are longer than 100 steps,
    # where 400 random sums of 256 bits have none longer than about 20
    assert sum(r > 100 for r in runs) > 120
    carry_in = task.step_rows(held)["carry in"]
    ends = [int(np.argmax(np.convolve(a[:, i] != b[:, i], np.ones(r), "valid") == r))
            for i, r in enumerate(runs)]  # fmt: skip
    # the carry into the long runs is 0 in some sums and 1 in others
    assert 0 < np.mean([carry_in[t, i] for i, t in enumerate(ends) if runs[i] > 100]) < 1
    pairs = zip(task.decode(a.astype(np.uint8)), task.decode(b.astype(np.uint8)), strict=True)
    assert task.decode(held.y[..., 0].astype(np.uint8)) == [p + q for p, q in pairs]
    plain = BinaryAdditionTask(bits=256)
    for rng_seed in (1, 2):  # training sums, and held-out ones without the option: unchanged
        got = task.sample(np.random.default_rng(rng_seed), 8)
        want = plain.sample(np.random.default_rng(rng_seed), 8)
        assert np.array_equal(got.x, want.x)
        off = plain.heldout(np.random.default_rng(rng_seed), 8)
        assert np.array_equal(off.x, want.x)
