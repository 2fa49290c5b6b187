"""The Chomsky-hierarchy tasks: hand-worked answers, draws that agree with them, the layout.

Golden inputs come from the examples in the docstrings of the paper's code (tasks/*/*.py in
google-deepmind/neural_networks_chomsky_hierarchy), rewritten in seqnet's alphabets, or are
worked by hand in the comment beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import seqnet_chomsky as chomsky
from seqnet import Batch, Model
from seqnet.cli import app
from seqnet.errors import SpecError
from seqnet.registry import Registry
from seqnet.testing import check_task, perfect_outputs
from seqnet_chomsky.layout import LayoutTask, pad_together
from seqnet_elman import ElmanCell

runner = CliRunner()
TASKS = [task for level in chomsky.LEVELS.values() for task in level]


def targets(task: LayoutTask, word: str) -> str:
    """The targets the task gives for one input typed in its alphabet, spelled."""
    batch = task.parse([word])
    return "".join(task.outputs[int(c)] for c in batch.y[batch.mask[:, 0] > 0, 0])


GOLDEN: list[tuple[type[LayoutTask], str, str]] = [
    # even_pairs.py: 001110 has one 10 and one 01 (even: 0); 0101001 has 2 + 3 (odd: 1)
    (chomsky.EvenPairsTask, "001110", "0"),
    (chomsky.EvenPairsTask, "0101001", "1"),
    # parity_check.py: three 1s (odd), four 1s (even)
    (chomsky.ParityCheckTask, "1010100", "1"),
    (chomsky.ParityCheckTask, "01111", "0"),
    # cycle_navigation.py: moves 1 -1 0 -1 -1 end at -2, state 3; 1 1 1 -1 at 2 (> +1, < −1)
    (chomsky.CycleNavigationTask, "><=<<", "3"),
    (chomsky.CycleNavigationTask, ">>><", "2"),
    # modular_arithmetic.py: * first, then left to right, mod 5
    (chomsky.ModularArithmeticSimpleTask, "1+2*3", "2"),
    (chomsky.ModularArithmeticSimpleTask, "1-1-1", "4"),
    (chomsky.ModularArithmeticSimpleTask, "0*1+4*3-2", "0"),
    # stack_manipulation.py: stack 0110 (bottom first), PUSH 1, POP, POP -> 011, popped as
    # 110, then $ and 0s to ℓ + 1 = 8 (the code's docstring shows one 0 too many for the 2nd)
    (chomsky.StackManipulationTask, "0110bpp", "110$0000"),
    (chomsky.StackManipulationTask, "110ppp", "$000000"),
    (chomsky.StackManipulationTask, "1ppa", "0$000"),  # POP on an empty stack does nothing
    # reverse_string.py
    (chomsky.ReverseStringTask, "011010", "010110"),
    # by hand, mod 5: (3 * −2) = −6 ≡ 4; ((4+3)−0) = 7 ≡ 2; * before + in typed input: 7 ≡ 2
    (chomsky.ModularArithmeticTask, "(3*-2)", "4"),
    (chomsky.ModularArithmeticTask, "((4+3)-0)", "2"),
    (chomsky.ModularArithmeticTask, "(1+2*3)", "2"),
    # by hand, mod 5: x + 1 ≡ 0 -> 4; −x + 2 ≡ 4 -> x ≡ −2 ≡ 3; x − 3 ≡ 1 -> 4
    (chomsky.SolveEquationTask, "((x)+1)=0", "4"),
    (chomsky.SolveEquationTask, "((-x)+(2))=4", "3"),
    (chomsky.SolveEquationTask, "(x-3)=1", "4"),
    # duplicate_string.py
    (chomsky.DuplicateStringTask, "101", "101101"),
    # missing_duplicate_string.py: 0110 0?10 -> 1; 101 1?1 and a padding _ -> 0
    (chomsky.MissingDuplicateTask, "01100?10", "1"),
    (chomsky.MissingDuplicateTask, "1011?1_", "0"),
    # odds_first.py as coded: 0-based odd positions (0,1,1,1) first, then even ones (0,1,0,0);
    # the code's docstring gives the other order, 0100 0111
    (chomsky.OddsFirstTask, "00110101", "01110100"),
    # binary_addition.py: 4 + 22 = 26 = 0b11010, written 01011, then $ and 0s to ℓ + 1 = 10
    # (its docstring drops one 0); 9 + 32 = 41 = 0b101001
    (chomsky.BinaryAdditionTask, "001+01101", "01011$0000"),
    (chomsky.BinaryAdditionTask, "1001+000001", "100101$00000"),
    # binary_multiplication.py: 4 × 22 = 88 = 0b1011000; 9 × 32 = 288 = 0b100100000
    (chomsky.BinaryMultiplicationTask, "001*01101", "0001101$0"),
    (chomsky.BinaryMultiplicationTask, "1001*000001", "000001001$0"),
    # compute_sqrt.py: ⌊√37⌋ = 6 = 110 in ⌈6/2⌉ = 3 bits (its docstring says 101, which is
    # 5); ⌊√7⌋ = 2 = 10
    (chomsky.ComputeSqrtTask, "100101", "110"),
    (chomsky.ComputeSqrtTask, "111", "10"),
    # bucket_sort.py
    (chomsky.BucketSortTask, "10204112", "00111224"),
]


@pytest.mark.parametrize(("task", "word", "want"), GOLDEN)
def test_hand_worked_answers(task: type[LayoutTask], word: str, want: str) -> None:
    assert targets(task(), word) == want


def test_every_task_has_golden_answers() -> None:
    assert {task for task, _, _ in GOLDEN} == set(TASKS)


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_draws_agree_with_the_answers(task: type[LayoutTask]) -> None:
    """Fast vectorised draws give what the plain answer gives, on both sides of 62 bits
    (int64 numbers below, Python ints above)."""
    t = task()
    for length in (1, 2, 3, 4, 5, 8, 40, 62, 63, 100):
        tokens, want = t.draw(np.random.default_rng(length), 8, length)
        assert tokens.shape[1] == want.shape[1] == 8
        assert ((tokens >= 0) & (tokens < len(t.inputs))).all()
        assert ((want >= 0) & (want < len(t.outputs))).all()
        np.testing.assert_array_equal(t.answer(tokens), want, err_msg=f"length {length}")


def test_missing_duplicates_answer_is_the_parity_of_the_bits_shown() -> None:
    """The regular shortcut the docs name: why an Elman net can score 100 on this CS task."""
    t = chomsky.MissingDuplicateTask()
    for length in (2, 3, 7, 40, 500):
        tokens, want = t.draw(np.random.default_rng(length), 64, length)
        shown = np.where(tokens == 1, 1, 0).sum(axis=0) % 2  # `?` and the `_` pad count 0
        np.testing.assert_array_equal(want[0], shown, err_msg=f"length {length}")


def test_long_binary_numbers_are_exact() -> None:
    """At ℓ = 300 the operands pass 2^62: the sum and product are Python's, bit for bit."""
    t = chomsky.BinaryMultiplicationTask()
    tokens, want = t.draw(np.random.default_rng(0), 4, 300)
    for i in range(4):
        word = "".join(t.inputs[int(c)] for c in tokens[:, i])
        a, b = (int(part[::-1], 2) for part in word.split("*"))
        bits = "".join(t.outputs[int(c)] for c in want[:, i]).split("$")[0]
        assert int(bits[::-1], 2) == a * b


def test_one_length_per_batch_uniform_over_the_range() -> None:
    t = chomsky.ReverseStringTask(length=5, length_min=2)
    rng = np.random.default_rng(0)
    seen = {t.sample(rng, 3).x.shape[0] // 2 for _ in range(100)}  # T = ℓ + ℓ
    assert seen == {2, 3, 4, 5}


def test_the_layout_input_then_one_blank_per_output() -> None:
    t = chomsky.DuplicateStringTask()
    batch = t.encode(np.array([[1], [0]]), np.array([[1], [0], [1], [0]]))
    # 1 0 then four blanks (channel 2); scored only at the blanks
    assert batch.x[:, 0].tolist() == [[0, 1, 0], [1, 0, 0]] + [[0, 0, 1]] * 4
    assert batch.mask[:, 0].tolist() == [0, 0, 1, 1, 1, 1]
    assert batch.y[2:, 0].tolist() == [1, 0, 1, 0]


def test_computation_steps_come_between_the_input_and_the_blanks() -> None:
    t = chomsky.DuplicateStringTask(computation_steps=1)
    batch = t.encode(np.array([[1], [0]]), np.array([[1], [0], [1], [0]]))
    # 1 0, then k·ℓ = 2 computation steps (marker channel 2 and the blank, channel 3), then
    # the four blanks; the blank stays the last channel, and only the blanks are scored
    assert t.input_size == 4
    assert batch.x[:, 0].tolist() == (
        [[0, 1, 0, 0], [1, 0, 0, 0]] + [[0, 0, 1, 1]] * 2 + [[0, 0, 0, 1]] * 4
    )
    assert batch.mask[:, 0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert batch.y[4:, 0].tolist() == [1, 0, 1, 0]
    two = chomsky.ParityCheckTask(computation_steps=2, length=5, length_min=0)
    assert two.sample(np.random.default_rng(0), 3).x.shape == (5 + 10 + 1, 3, 4)
    typed = t.parse(["011", "1"])  # padded with blanks after the shorter one's outputs
    assert typed.x.shape == (12, 2, 4) and typed.mask.sum(axis=0).tolist() == [6, 2]
    assert typed.x[4:, 1].tolist() == [[0, 0, 0, 1]] * 8


@pytest.mark.parametrize("k", [0, 1, 2])
def test_the_tape_jumps_by_the_input_length_whatever_the_computation_steps(k: int) -> None:
    from seqnet_memory import TapeRNNCell

    t = chomsky.ReverseStringTask(computation_steps=k, length=6, length_min=0)
    batch = t.sample(np.random.default_rng(0), 2)
    model = Model(TapeRNNCell(hidden=3), t.input_size, t.output_size)
    _, finals, _ = model.forward(model.init(np.random.default_rng(0)), batch.x)
    assert finals[0][2].tolist() == [6, 6]  # L counts the 6 input tokens, not the blanks


def test_computation_steps_are_kept_at_every_test_length() -> None:
    from seqnet.lengths import options_at_length

    options = chomsky.ReverseStringTask(computation_steps=2).spec.model_dump()
    at = chomsky.ReverseStringTask(**options_at_length(chomsky.ReverseStringTask, options, 50))
    assert at.sample(np.random.default_rng(0), 1).x.shape[0] == 50 + 100 + 50
    with pytest.raises(SpecError, match=r"computation_steps: .*less than or equal to 4"):
        chomsky.ReverseStringTask(computation_steps=5)


def test_metrics_count_up_to_the_terminator_per_sequence() -> None:
    t = chomsky.StackManipulationTask()
    batch = t.parse(["1ppa", "0110bpp"])  # targets 0$000 and 110$0000
    right = perfect_outputs(t, batch)
    assert t.metrics(right, batch) == {"accuracy": 1.0, "exact_match": 1.0}
    wrong = right.copy()
    ends = np.flatnonzero(batch.mask[:, 0])
    wrong[ends[2:], 0] = np.roll(
        right[ends[2:], 0], 1, axis=-1
    )  # after the terminator: not counted
    assert t.metrics(wrong, batch)["accuracy"] == 1.0
    steps = np.flatnonzero(batch.mask[:, 1])
    wrong[steps[0], 1] = np.roll(right[steps[0], 1], 1)  # 1 of the 4 counted outputs of 110$
    # per sequence, then averaged: (1 + 3/4) / 2, not the pooled 5/6
    assert t.metrics(wrong, batch) == {"accuracy": 0.875, "exact_match": 0.5}


def test_inputs_of_several_lengths_are_padded_without_changing_outputs() -> None:
    t = chomsky.OddsFirstTask()
    words = ["011", "1", "10110", "0000"]
    batch = t.parse(words)
    assert batch.mask.sum(axis=0).tolist() == [3, 1, 5, 4]  # ℓ outputs each
    model = Model(ElmanCell(hidden=5), t.input_size, t.output_size)
    params = model.init(np.random.default_rng(1))
    together, _, _ = model.forward(params, batch.x)
    for i, word in enumerate(words):
        alone, _, _ = model.forward(params, t.parse([word]).x)
        T = 2 * len(word)  # the input and its ℓ blanks; padding after that is unscored
        np.testing.assert_allclose(together[:T, i], alone[:, 0], rtol=0, atol=1e-12)


def test_length_min_zero_means_exactly_length() -> None:
    t = chomsky.ParityCheckTask(length=7, length_min=0)  # seqnet's `<option>_min` convention
    rng = np.random.default_rng(0)
    assert {t.sample(rng, 2).x.shape[0] for _ in range(20)} == {8}


def test_parse_refuses_what_the_task_cannot_read() -> None:
    with pytest.raises(ValueError, match="not an input of parity_check"):
        chomsky.ParityCheckTask().parse(["0120"])
    with pytest.raises(ValueError, match="one x"):
        chomsky.SolveEquationTask().parse(["(1+2)=3"])
    with pytest.raises(ValueError, match="digits and operators in turn"):
        chomsky.ModularArithmeticSimpleTask().parse(["1+"])


def test_options_are_checked() -> None:
    with pytest.raises(SpecError, match=r"^ParityCheckTask: length_min"):
        chomsky.ParityCheckTask(length=3, length_min=5)
    with pytest.raises(SpecError, match=r"^ParityCheckTask\.length: .*less than or equal to 10000"):
        chomsky.ParityCheckTask(length=10_001)
    assert chomsky.BucketSortTask().input_size == 6  # 5 symbols and the blank
    assert chomsky.ModularArithmeticTask(modulus=7).output_size == 7


def test_evaluate_lengths_scores_exactly_each_length() -> None:
    from seqnet.lengths import evaluate_lengths, length_score

    class Recorder(chomsky.ParityCheckTask):
        def metrics(self, outputs: np.ndarray, batch: Batch) -> dict[str, float]:
            return {**super().metrics(outputs, batch), "T": float(batch.x.shape[0])}

    model = Model(ElmanCell(hidden=3), 3, 2)
    params = model.init(np.random.default_rng(0))
    options = {"length": 40, "length_min": 1}
    table = evaluate_lengths(model, params, Recorder, options, [41, 60], 20)
    assert [row["T"] for row in table.values()] == [42.0, 61.0]  # ℓ inputs and one blank
    score, same = length_score(model, params, Recorder, options, [41, 60], 20)
    assert same == table
    assert score == pytest.approx((table["41"]["accuracy"] + table["60"]["accuracy"]) / 2)
    with pytest.raises(SpecError, match=r"task\.length: Input should be less than or equal"):
        evaluate_lengths(model, params, Recorder, options, [41, 20_000], 20)
    with pytest.raises(SpecError, match="has no metric 'nope'"):
        length_score(model, params, Recorder, options, [41], 5, metric="nope")


def test_pad_together_keeps_each_batch() -> None:
    a = chomsky.ParityCheckTask().encode(np.array([[1]]), np.array([[1]]))
    b = chomsky.ParityCheckTask().encode(np.array([[0], [1], [1]]), np.array([[0]]))
    both = pad_together([a, b], 2)
    assert both.x.shape == (4, 2, 3)
    assert both.mask[:, 0].tolist() == [0, 1, 0, 0] and both.mask[:, 1].tolist() == [0, 0, 0, 1]
    assert both.x[2:, 0].tolist() == [[0, 0, 1], [0, 0, 1]]  # padded with unscored blanks


@pytest.fixture(scope="module")
def even_pairs_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few steps of a small Elman on even_pairs: enough for eval and predict to read."""
    folder = tmp_path_factory.mktemp("runs") / "even_pairs"
    args = ["run", "even_pairs", "--cell", "elman", "--hidden", "4", "--steps", "3", "--batch",
            "4", "--set", "train.eval_samples=8", "--out", str(folder), "-q"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return folder


def test_eval_takes_ranges_and_gives_the_mean(even_pairs_run: Path) -> None:
    args = ["eval", str(even_pairs_run), "--lengths", "41,45-47", "--samples", "10", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert list(out["lengths"]) == ["41", "45", "46", "47"]
    rows = out["lengths"].values()
    assert out["mean"]["accuracy"] == pytest.approx(sum(r["accuracy"] for r in rows) / 4)
    table = runner.invoke(
        app, ["eval", str(even_pairs_run), "--lengths", "41,50", "--samples", "4"]
    )
    assert table.exit_code == 0, table.output
    assert [line.split()[0] for line in table.stdout.splitlines()] == ["length", "41", "50", "mean"]


@pytest.mark.parametrize("lengths", ["5-3", "0", "a-b", "3-", ",", "1-200000"])
def test_eval_refuses_bad_lengths_in_one_line(even_pairs_run: Path, lengths: str) -> None:
    result = runner.invoke(app, ["eval", str(even_pairs_run), "--lengths", lengths])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --lengths must be") and result.stderr.count("\n") == 1


def test_eval_refuses_a_length_the_task_does_not_take(even_pairs_run: Path) -> None:
    result = runner.invoke(app, ["eval", str(even_pairs_run), "--lengths", "20000"])
    assert result.exit_code == 2
    message = "error: task.length: Input should be less than or equal to 10000 (got 20000)"
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_predict_answers_typed_inputs(even_pairs_run: Path) -> None:
    result = runner.invoke(app, ["predict", str(even_pairs_run), "0110", "1"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.split()) == 2 and set(result.stdout.split()) <= {"0", "1"}
    bad = runner.invoke(app, ["predict", str(even_pairs_run), "012"])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: '012' is not an input of even_pairs")


def test_plot_draws_the_hidden_units_across_an_example(
    even_pairs_run: Path, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    result = runner.invoke(
        app, ["plot", str(even_pairs_run), "--out", str(tmp_path), "--length", "6"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "hidden.png").stat().st_size > 0
    rows = chomsky.EvenPairsTask().step_rows(chomsky.EvenPairsTask().parse(["0110"]))
    assert rows["input"][:, 0].tolist() == [0, 1, 1, 0, 0]  # the blank shows as 0
    assert rows["output step"][:, 0].tolist() == [0, 0, 0, 0, 1]
    assert rows["target"][:, 0].tolist() == [0, 0, 0, 0, 0]  # two unequal pairs: even


@pytest.mark.parametrize(
    ("task", "options"),
    [
        (chomsky.ModularArithmeticTask, {"modulus": 10}),
        (chomsky.SolveEquationTask, {"modulus": 2, "length": 3}),
        (chomsky.BucketSortTask, {"symbols": 10}),
        (chomsky.ModularArithmeticSimpleTask, {"modulus": 3}),
        (chomsky.BinaryAdditionTask, {"length": 200, "length_min": 150}),  # Python ints
        (chomsky.StackManipulationTask, {"length": 1}),
        (chomsky.ComputeSqrtTask, {"length": 1000, "length_min": 0}),
    ],
    ids=lambda v: v.name if isinstance(v, type) else str(v),
)
def test_other_options_conform(
    registry: Registry, task: type[LayoutTask], options: dict[str, int]
) -> None:
    check_task(task(**options), registry=registry)


def test_plot_draws_a_class_task_without_step_rows(tmp_path: Path) -> None:
    """copy has integer class targets (T, B) and no step_rows: the fallback row is its targets."""
    pytest.importorskip("matplotlib")
    folder = tmp_path / "copy"
    args = ["run", "copy", "--hidden", "4", "--steps", "2", "--set", "train.eval_samples=4",
            "--out", str(folder), "-q"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(
        app, ["plot", str(folder), "--out", str(tmp_path / "p"), "--length", "3"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / "hidden.png").stat().st_size > 0
