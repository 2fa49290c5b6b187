"""Callbacks: the protocol (any object with some of the methods), stopping early, keeping the
best parameters, and the loggers; a run gives the same numbers with or without them."""

from __future__ import annotations

import csv
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import seqnet
from seqnet.callbacks import Start
from seqnet.errors import SeqnetError, SpecError
from seqnet.model import Model
from seqnet.training import Record, Result, Snapshot
from seqnet.trainspec import TrainSpec
from seqnet_binadd import BinaryAdditionTask
from seqnet_elman import ElmanCell
from seqnet_optim import Adam

QUICK = {"eval_samples": 100, "eval_every": 10, "batch": 8}


def run(steps: int = 40, callbacks: list[object] | None = None, **train: Any) -> Result:
    task = BinaryAdditionTask(bits=4)
    model = Model(ElmanCell(hidden=6), task.input_size, task.output_size)
    spec = TrainSpec(steps=steps, seed=3, **{**QUICK, **train})
    return seqnet.train(model, task, Adam(lr=0.01), spec, callbacks=callbacks or [])


def untimed(history: list[Record]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.as_dict().items() if k != "seconds"} for r in history]


class Everything:
    """Every hook, each call noted in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def on_start(self, start: Start) -> None:
        self.calls.append(("start", (start.step, start.steps)))

    def on_step(self, record: Record) -> None:
        self.calls.append(("step", (record.step, dict(record.metrics))))

    def on_eval(self, record: Record) -> None:
        self.calls.append(("eval", record))

    def on_checkpoint(self, snapshot: Snapshot) -> None:
        self.calls.append(("checkpoint", snapshot.step))

    def on_end(self, result: Result) -> None:
        self.calls.append(("end", result))

    def on_error(self, error: BaseException) -> None:
        self.calls.append(("error", error))


def test_every_hook_is_called_in_order_and_the_numbers_do_not_change() -> None:
    plain = run(25)
    seen = Everything()
    watched = run(25, [seen])
    for name in plain.params:
        np.testing.assert_array_equal(plain.params[name], watched.params[name])
    assert untimed(plain.history) == untimed(watched.history)
    kinds = [kind for kind, _ in seen.calls]
    assert kinds[:2] == ["start", "checkpoint"] and kinds[-1] == "end"
    assert seen.calls[0][1] == (0, 25)
    steps = [value for kind, value in seen.calls if kind == "step"]
    assert steps == [(n, {}) for n in range(1, 26)]  # every step, no held-out metrics
    evals = [value for kind, value in seen.calls if kind == "eval"]
    assert evals == watched.history and [r.step for r in evals] == [10, 20, 25]
    assert [v for k, v in seen.calls if k == "checkpoint"] == [0, 10, 20, 25]
    assert seen.calls[-1][1] is watched
    # an evaluation's record follows its step's record, and its checkpoint follows it
    assert kinds[kinds.index("eval") - 1 : kinds.index("eval") + 2] == [
        "step",
        "eval",
        "checkpoint",
    ]


def test_an_object_with_only_on_end_is_a_callback() -> None:
    class Done:
        def __init__(self) -> None:
            self.results: list[Result] = []

        def on_end(self, result: Result) -> None:
            self.results.append(result)

    done = Done()
    result = run(20, [done])
    assert done.results == [result]


def test_an_object_with_no_hook_is_refused_by_name() -> None:
    with pytest.raises(SeqnetError, match="none of the methods on_start, on_step"):
        run(5, [print])


def test_on_error_instead_of_on_end_when_training_raises() -> None:
    class Broken(Everything):
        def on_eval(self, record: Record) -> None:
            raise RuntimeError("broken callback")

    broken = Broken()
    with pytest.raises(RuntimeError, match="broken callback"):
        run(20, [broken])
    kinds = [kind for kind, _ in broken.calls]
    assert "end" not in kinds and kinds[-1] == "error"
    assert str(broken.calls[-1][1]) == "broken callback"


def test_stop_training_from_on_step_stops_at_that_step() -> None:
    class StopAt:
        def on_step(self, record: Record) -> None:
            if record.step == 13:
                raise seqnet.StopTraining("enough at 13")

    seen = Everything()
    result = run(40, [StopAt(), seen])
    assert result.steps == 13 and result.stopped == "enough at 13"
    assert [r.step for r in result.history] == [10]
    assert [v for k, v in seen.calls if k == "checkpoint"] == [0, 10, 13]  # saved where it stopped
    assert seen.calls[-1] == ("end", result)
    assert set(result.metrics) >= {"loss", "exact_match"}  # the final held-out score still runs


def expected_stop(values: list[float], steps: list[int], patience: int, mode: str) -> int:
    """Where early stopping must stop, worked out from an unstopped run's history."""
    best, waited = None, 0
    for value, step in zip(values, steps, strict=True):
        if best is None or (value < best if mode == "min" else value > best):
            best, waited = value, 0
            continue
        waited += 1
        if waited >= patience:
            return step
    return steps[-1]


@pytest.mark.parametrize(
    ("metric", "mode", "patience"), [("val_loss", None, 2), ("bit_accuracy", "max", 3)]
)
def test_early_stopping_stops_at_the_right_step(
    metric: str, mode: str | None, patience: int
) -> None:
    free = run(200, eval_every=5)
    rows = [r.as_dict() for r in free.history]
    want = expected_stop([row[metric] for row in rows], [row["step"] for row in rows],
                         patience, mode or "min")  # fmt: skip
    assert want < free.steps, "the run must get worse somewhere for this test to mean anything"
    stopper = seqnet.EarlyStopping(metric, patience=patience, mode=mode)  # type: ignore[arg-type]
    stopped = run(200, [stopper], eval_every=5)
    assert stopped.steps == want
    assert stopped.stopped is not None and f"{metric} did not improve" in stopped.stopped
    assert untimed(stopped.history) == untimed(free.history)[: len(stopped.history)]


def test_early_stopping_needs_a_mode_it_cannot_guess() -> None:
    with pytest.raises(SpecError, match="lower or higher bit_accuracy"):
        seqnet.EarlyStopping("bit_accuracy")
    with pytest.raises(SpecError, match="patience must be"):
        seqnet.EarlyStopping(patience=0)
    with pytest.raises(SpecError, match="no metric 'val_los'"):
        run(10, [seqnet.EarlyStopping("val_los", mode="min")])


def test_keep_best_holds_the_parameters_of_the_best_evaluation() -> None:
    best = seqnet.KeepBest("bit_accuracy", "max")
    result = run(60, [best], eval_every=5)
    scores = {r.step: r.metrics["bit_accuracy"] for r in result.history}
    assert best.step == max(scores, key=scores.__getitem__)
    assert best.value == max(scores.values())
    assert best.step != result.steps, "the best must not be the last for this test to mean much"
    # the same run stopped at the best step has exactly those parameters
    again = run(best.step, eval_every=5)
    assert best.params is not None
    for name, value in again.params.items():
        np.testing.assert_array_equal(best.params[name], value)


def test_csv_logger_writes_a_row_per_evaluation(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    result = run(30, [seqnet.CSVLogger(path)])
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["step"]) for row in rows] == [10, 20, 30]
    first = result.history[0].as_dict()
    assert list(rows[0]) == list(first)  # step, loss, grad_norm, seconds, val_loss, metrics
    for row, record in zip(rows, result.history, strict=True):
        for name, value in record.as_dict().items():
            assert float(row[name]) == value  # written by repr: read back exactly
    # appending (a resumed run) adds rows under the same header
    run(10, [seqnet.CSVLogger(path, append=True)])
    with path.open(newline="") as f:
        assert [row["step"] for row in csv.DictReader(f)] == ["10", "20", "30", "10"]


def events(path: Path) -> list[tuple[str, int, float]]:
    """(tag, step, value) of every scalar in a TensorBoard event file (TFRecord framing:
    length, its CRC, the Event proto, its CRC)."""
    from tensorboardX.proto import event_pb2

    data, out, at = path.read_bytes(), [], 0
    while at < len(data):
        (length,) = struct.unpack("<Q", data[at : at + 8])
        event = event_pb2.Event.FromString(data[at + 12 : at + 12 + length])
        at += 12 + length + 4
        out += [(v.tag, event.step, v.simple_value) for v in event.summary.value]
    return out


def test_tensorboard_logger_writes_event_files(tmp_path: Path) -> None:
    pytest.importorskip("tensorboardX")
    result = run(20, [seqnet.TensorBoardLogger(tmp_path / "tb", every_step=True)])
    files = list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert len(files) == 1
    scalars = events(files[0])
    val_loss = [(step, value) for tag, step, value in scalars if tag == "val_loss"]
    assert val_loss == [(r.step, pytest.approx(r.metrics["loss"], rel=1e-6))
                        for r in result.history]  # fmt: skip
    assert len([1 for tag, _, _ in scalars if tag == "step/loss"]) == 20
    assert {"loss", "grad_norm", "exact_match", "bit_accuracy"} <= {t for t, _, _ in scalars}


def test_tensorboard_logger_without_tensorboardx_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorboardX" else real(name, *a),
    )
    with pytest.raises(SeqnetError) as error:
        seqnet.TensorBoardLogger("tb")
    assert str(error.value) == (
        "the TensorBoard logger needs tensorboardX: pip install 'seqnet[tensorboard]'"
    )
