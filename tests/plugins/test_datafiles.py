"""The data-file tasks: the three JSON Lines forms, splits, buckets, what a run saves, streamed
eval and predict, CSV forecasts, TSV text, and one line for every kind of bad data."""

from __future__ import annotations

import errno
import itertools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from seqnet import Batch
from seqnet.cli import app
from seqnet.plugins import load_registry
from seqnet.registry import Registry
from seqnet.testing import check_task
from seqnet_datafiles import SequencesTask, TextlinesTask, TimeseriesTask, index, store, table
from seqnet_datafiles.encode import MAX_PADDING, Buckets, bucket_starts, padding

runner = CliRunner()
rng = np.random.default_rng


def jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def classified(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Symbol strings of 2 to 9 steps labelled by whether 'a' outnumbers 'b'."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        s = rng.choice(["a", "b", "c"], size=int(rng.integers(2, 10))).tolist()
        rows.append({"input": s, "label": "a" if s.count("a") > s.count("b") else "b"})
    return rows


FORMS: dict[str, list[dict[str, Any]]] = {
    "labelling-numbers": [
        {"input": [float(i), i + 0.5, 1.0][: 1 + i % 3], "target": [0.5 * i, 1.0, 2.0][: 1 + i % 3]}
        for i in range(40)
    ],
    "classification-vectors": [
        {"input": [[i % 3, 1.0], [0.0, i % 2]] * (1 + i % 2), "label": i % 3} for i in range(40)
    ],
    "read-then-write-symbols": [
        {"input": list("xyz"[: 1 + i % 3]), "output": list("xyz"[: 1 + i % 3])[::-1]}
        for i in range(40)
    ],
    "classification-numbers": [{"input": [i, -i], "label": i / 7} for i in range(40)],
}


@pytest.mark.parametrize("form", FORMS)
def test_each_form_passes_the_kit(tmp_path: Path, registry: Registry, form: str) -> None:
    path = jsonl(tmp_path / "data.jsonl", FORMS[form])
    check_task(SequencesTask(path=path), registry=registry)


def test_the_form_sets_loss_sizes_and_metrics(tmp_path: Path) -> None:
    rtw = SequencesTask(path=jsonl(tmp_path / "a.jsonl", FORMS["read-then-write-symbols"]))
    assert (rtw.loss, rtw.target_metric) == ("softmax_ce", "accuracy")
    assert rtw.schema.vocabulary == ["x", "y", "z"] and rtw.schema.classes == ["x", "y", "z"]
    assert rtw.input_size == rtw.vocab_size == 4 + 1  # unknown + 3 symbols, and "write now"
    batch = rtw.encode(rtw.parts()[0], np.array([0]))
    # the line's input is read one step per symbol, then "write now" for each output
    L = batch.mask.shape[0] // 2
    assert batch.mask[:, 0].tolist() == [0.0] * L + [1.0] * L
    assert batch.x[L:, 0].tolist() == [4] * L
    numbers = SequencesTask(path=jsonl(tmp_path / "b.jsonl", FORMS["labelling-numbers"]))
    assert (numbers.loss, numbers.target_metric, numbers.output_size) == ("mse", "skill", 1)


def test_unknown_symbols_get_the_reserved_id(tmp_path: Path) -> None:
    task = SequencesTask(path=jsonl(tmp_path / "d.jsonl", classified(50)))
    other = jsonl(tmp_path / "new.jsonl", [{"input": ["a", "q", "b"], "label": "a"}])
    (batch,) = task.read(other, 8)
    assert batch.x[:, 0].tolist() == [1, 0, 2]  # 'q' is unknown: id 0


def test_split_is_exact_and_follows_the_seed(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "d.jsonl", classified(100))
    sizes = [len(p) for p in SequencesTask(path=path, split=[0.7, 0.2, 0.1]).parts()]
    assert sizes == [70, 20, 10]

    def lines(seed: int) -> list[int]:
        return SequencesTask(path=path, seed=seed).parts()[2].numbers.tolist()

    assert lines(0) == lines(0) and lines(0) != lines(1)
    everything = sorted(n for p in SequencesTask(path=path).parts() for n in p.numbers.tolist())
    assert everything == list(range(1, 101))  # each line in exactly one part


def test_buckets_keep_padding_under_a_quarter(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 300, size=400)
    rows = [{"input": [1.0] * int(n), "label": int(n % 2)} for n in lengths]
    task = SequencesTask(path=jsonl(tmp_path / "long.jsonl", rows))
    draws = np.random.default_rng(0)
    for _ in range(200):
        batch = task.sample(draws, 16)
        steps = (np.abs(batch.x).sum(axis=-1) > 0).sum(axis=0)  # (B,) each line's length
        assert padding(steps) < MAX_PADDING
    # the bound itself: every bucket [lo, hi] has 3 hi < 4 lo
    starts = bucket_starts(1000)
    assert all(3 * (b - 1) < 4 * a for a, b in itertools.pairwise(starts))


TEXTS = {form: "".join(json.dumps(r) + "\n" for r in rows) for form, rows in FORMS.items()}
TEXTS["textlines"] = "".join(f"{'xy'[i % 2]}\tab{'c' * (i % 5)} é\n" for i in range(40))


@pytest.mark.parametrize("keep", [True, False], ids=["lines-kept", "store-only"])
@pytest.mark.parametrize("form", TEXTS)
def test_the_binary_copy_gives_the_batches_of_the_parsed_lines(
    tmp_path: Path, form: str, keep: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training and scoring read the values the scan stored, not the text: the same batches,
    whether a small store keeps the lines it read, decoded, or reads each one again."""
    if not keep:
        monkeypatch.setattr(index, "KEEP_BYTES", 0)
    cls = TextlinesTask if form == "textlines" else SequencesTask
    files = {part: tmp_path / f"{part}.txt" for part in ("train", "validation", "test")}
    lines = TEXTS[form].splitlines(keepends=True)
    # the test part in reverse, so that no part's line can stand in for another's
    for part, path in files.items():
        path.write_text("".join(lines[::-1] if part == "test" else lines), encoding="utf-8")
    task = cls(**files)
    kinds, encoder = task.kinds(), task.encoder

    def parsed(path: Path, index: list[int]) -> Batch:
        text = path.read_text(encoding="utf-8").splitlines()
        records = [cls.parse(text[i], kinds, "", True) for i in index]
        return encoder.batch([encoder.encoded(r, path, 1) for r in records])

    def same(a: Batch, b: Batch) -> None:
        for got, want in zip((a.x, a.y, a.mask), (b.x, b.y, b.mask), strict=True):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)

    same(next(task.read(None, 100)), parsed(files["test"], list(range(40))))
    buckets, drawn, again = Buckets(task.parts()[0].steps), rng(4), rng(4)
    for _ in range(30):  # 180 draws of 40 lines: most are drawn again
        batch = task.sample(drawn, 6)
        same(batch, parsed(files["train"], buckets.draw(again, 6).tolist()))
    assert bool(task._reader and task._reader.kept) == keep


def run_cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_a_run_saves_what_it_learned_and_eval_predict_need_no_training_file(
    tmp_path: Path,
) -> None:
    data = jsonl(tmp_path / "d.jsonl", classified(200))
    out = tmp_path / "run"
    args = ["run", "sequences", "--set", f"task.path={data}", "--steps", "30", "--seed", "2"]
    result = run_cli(*args, "--out", str(out), "-q", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.splitlines()[-1])
    spec = (out / "spec.yaml").read_text()
    assert "vocabulary:\n    - a\n    - b\n    - c" in spec and "seed: 2" in spec
    scored = run_cli("eval", str(out), "--json")
    assert scored.exit_code == 0, scored.output
    test_part = json.loads(scored.stdout)
    assert test_part["sequences"] == 20 and test_part["accuracy"] == summary["accuracy"]

    other = jsonl(tmp_path / "other.jsonl", classified(37, seed=5))
    data.unlink()  # eval and predict on another file rebuild the task from the saved spec
    scored = run_cli("eval", str(out), "--data", str(other), "--json")
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["sequences"] == 37
    predicted = tmp_path / "predictions.jsonl"
    done = run_cli("predict", str(out), "--data", str(other), "--out", str(predicted))
    assert done.exit_code == 0, done.output
    rows = [json.loads(line) for line in predicted.read_text().splitlines()]
    assert len(rows) == 37 and all(set(r) == {"label"} and r["label"] in "ab" for r in rows)


def test_streamed_scores_equal_one_batch(tmp_path: Path, registry: Registry) -> None:
    from seqnet.runner import build, load_spec
    from seqnet.scoring import score_file

    data = jsonl(tmp_path / "d.jsonl", FORMS["labelling-numbers"])
    parts = build(load_spec("sequences", [f"task.path={data}"], registry), registry)
    params = parts.model.init(np.random.default_rng(0))
    task = parts.task
    assert isinstance(task, SequencesTask)
    small = score_file(parts.model, params, task, data, batch=3)
    whole = score_file(parts.model, params, task, data, batch=1000)
    assert small.keys() == whole.keys()
    for name in whole:
        assert small[name] == pytest.approx(whole[name], rel=1e-12)


def series(path: Path, n: int, bad: dict[int, str] | None = None) -> Path:
    rows = ["t,x,y"]
    for i in range(n):
        rows.append(f"{i},{np.sin(i / 5):.4f},{(bad or {}).get(i, f'{np.cos(i / 5):.4f}')}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_timeseries_statistics_come_from_the_training_part(tmp_path: Path) -> None:
    task = TimeseriesTask(path=series(tmp_path / "s.csv", 100), window=5, split=[0.6, 0.2, 0.2])
    rows = np.arange(100)
    for name, column in (("x", np.sin(rows / 5)), ("y", np.cos(rows / 5))):
        i = task.stats.inputs.index(name)
        assert task.stats.mean[i] == pytest.approx(column[:60].mean(), abs=1e-3)
        assert task.stats.std[i] == pytest.approx(column[:60].std(), abs=1e-3)
    assert task.stats.targets == ["y"]  # the last column
    train, val, test = (r for _, r in task.parts())
    assert (train[0], train[-1], val[0], val[-1], test[0], test[-1]) == (5, 59, 60, 79, 80, 99)


def test_timeseries_skill_against_the_naive_forecast(tmp_path: Path, registry: Registry) -> None:
    task = TimeseriesTask(path=series(tmp_path / "s.csv", 100), window=4, horizon=2)
    check_task(task, registry=registry)
    batch = task.test(np.random.default_rng(0), 100)
    naive = np.zeros_like(batch.y)
    naive[-1] = batch.x[-1][:, task.targets]  # the last value of the window, normalised
    scores = task.metrics(naive, batch)
    assert scores["skill"] == pytest.approx(0.0, abs=1e-12)
    assert scores["mse"] == pytest.approx(scores["naive_mse"])


def test_textlines_reads_label_tab_text(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "t.tsv"
    lines = [f"{'yes' if i % 2 else 'no'}\t{'ab' * (1 + i % 5)}\tc" for i in range(30)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    task = TextlinesTask(path=path)
    check_task(task, registry=registry)
    assert task.schema.classes == ["no", "yes"] and task.schema.vocabulary == ["\t", "a", "b", "c"]


def bad_lines(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


GOOD = '{"input": [1, 2], "label": 0}\n{"input": [3], "label": 1}\n' * 10
BAD_DATA = {
    "malformed JSON": ("d.jsonl", GOOD + '{"input": [1, 2], "label": 0\n', "line 21: malformed"),
    "missing field": ("d.jsonl", GOOD + '{"label": 1}\n', "line 21: missing field 'input'"),
    "mixed forms": ("d.jsonl", GOOD + '{"input": [1], "target": [1]}\n', "one form per file"),
    "vectors of different lengths": (
        "d.jsonl", '{"input": [[1, 2], [3]], "label": 0}\n', "line 1: 'input' holds vectors"
        " of different lengths (1 and 2)",
    ),
    "vector width changes": (
        "d.jsonl", '{"input": [[1, 2]], "label": 0}\n{"input": [[3, 4, 5]], "label": 1}\n',
        "line 2: its inputs are vectors of 3 numbers but the file's have 2",
    ),
    "NaN": ("d.jsonl", GOOD + '{"input": [NaN], "label": 0}\n', "line 21: NaN is not a number"),
    "infinity": ("d.jsonl", GOOD + '{"input": [1e999], "label": 0}\n', "line 21: 'input' holds"
                 " NaN or infinity"),
    "an Infinity literal": ("d.jsonl", GOOD + '{"input": [1, Infinity], "label": 0}\n',
                            "line 21: Infinity is not a number seqnet can use"),
    "infinity in a target": ("d.jsonl", '{"input": [1], "target": [0.5]}\n' * 20
                             + '{"input": [1], "target": [1e999]}\n',
                             "line 21: 'target' holds NaN or infinity"),
    "empty file": ("d.jsonl", "", "the file is empty"),
    "empty split": ("d.jsonl", "".join(GOOD.splitlines(keepends=True)[:2]),
                    "2 lines leave the validation part empty"),
    "binary file": ("d.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a binary file"),
    "not UTF-8": ("d.jsonl", GOOD.encode() + b'{"input": ["\xff"], "label": 0}\n',
                  "line 21: not UTF-8"),
    "non-numeric CSV column": ("s.csv", "a,b\n1,2\n3,x\n", "line 3: column 'b' is not a number"),
    "NaN in a CSV column": ("s.csv", "a,b\n1,2\n3,nan\n", "line 3: column 'b' is NaN or"
                            " infinity ('nan')"),
    "binary CSV": ("s.csv", b"a,b\n\x00\x01\n", "a binary file"),
    "binary TSV": ("t.tsv", b"json\tx\n\x00\x01\n", "a binary file"),
    "window longer than the series": ("s.csv", "a,b\n" + "1,2\n" * 20, "the series has 20 rows,"
                                      " but task.window=24 and task.horizon=1 need at least 25"),
    "CSV without a header": ("s.csv", "1,2\n3,4\n", "line 1: the first line must be a header"),
    "TSV line without a tab": ("t.tsv", "a\tx\nb\ty\n" * 10 + "no tab here\n",
                               "line 21: no TAB between the label and the text"),
}  # fmt: skip
TASK_OF = {".jsonl": "sequences", ".csv": "timeseries", ".tsv": "textlines"}


@pytest.mark.parametrize("case", BAD_DATA)
def test_bad_data_is_one_line_exit_2_and_no_run_folder(tmp_path: Path, case: str) -> None:
    name, text, message = BAD_DATA[case]
    path = bad_lines(tmp_path, name, text)
    out = tmp_path / "run"
    task = TASK_OF[path.suffix]
    result = run_cli("run", task, "--set", f"task.path={path}", "--out", str(out), "-q")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {path}: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not out.exists()


def test_a_series_too_large_to_hold_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """timeseries keeps its series in memory: past table.MAX_VALUES values it stops reading."""
    monkeypatch.setattr(table, "MAX_VALUES", 100)
    path = series(tmp_path / "s.csv", 60)  # 3 columns: row 34 (line 35) holds values 100-102
    out = tmp_path / "run"
    result = run_cli("run", "timeseries", "--set", f"task.path={path}", "--out", str(out), "-q")
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"error: {path}: line 35: more than 100 values: timeseries holds the"
                             " series in memory (8 bytes a value); read fewer columns or a shorter"
                             " file\n")  # fmt: skip
    assert not out.exists()


def test_no_room_for_the_binary_copy_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store.os, "write", full)
    data, out = jsonl(tmp_path / "d.jsonl", classified(50)), tmp_path / "run"
    result = run_cli("run", "sequences", "--set", f"task.path={data}", "--out", str(out), "-q")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: cannot keep a binary copy of the data in ")
    assert "(No space left on device); set TMPDIR to a folder" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not out.exists()


def test_a_label_training_never_saw_names_the_file_and_line(tmp_path: Path) -> None:
    train = jsonl(tmp_path / "train.jsonl", classified(30))
    validation = jsonl(tmp_path / "validation.jsonl", classified(5))
    test = jsonl(tmp_path / "test.jsonl", [*classified(3), {"input": ["a"], "label": "zebra"}])
    out = tmp_path / "run"
    files = [f"--set=task.{p}={f}" for p, f in (("train", train), ("validation", validation),
                                                 ("test", test))]  # fmt: skip
    result = run_cli("run", "sequences", *files, "--out", str(out), "-q")
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"error: {test}: line 4: label 'zebra' never appears in the training part\n"
    )
    assert not out.exists()


def test_eval_data_with_an_unseen_class_is_one_line(tmp_path: Path) -> None:
    data = jsonl(tmp_path / "d.jsonl", classified(60))
    out = tmp_path / "run"
    ran = run_cli("run", "sequences", "--set", f"task.path={data}", "--steps", "2", "--out",
                  str(out), "-q")  # fmt: skip
    assert ran.exit_code == 0, ran.output
    other = jsonl(tmp_path / "o.jsonl", [{"input": ["a"], "label": "a"}, {"input": ["b"],
                                          "label": "c"}])  # fmt: skip
    result = run_cli("eval", str(out), "--data", str(other))
    assert result.exit_code == 2
    assert result.stderr == f"error: {other}: line 2: class 'c' was never seen in training\n"
    predicted = tmp_path / "p.jsonl"
    broken = jsonl(tmp_path / "b.jsonl", [{"input": ["a"]}, {"input": "a"}])
    result = run_cli("predict", str(out), "--data", str(broken), "--out", str(predicted))
    assert result.exit_code == 2
    assert "line 2: 'input' must be a list" in result.stderr
    assert not predicted.exists()  # no half-written predictions


def test_predict_out_in_no_folder_or_on_a_folder_is_one_line(tmp_path: Path) -> None:
    data = jsonl(tmp_path / "d.jsonl", classified(60))
    out = tmp_path / "run"
    ran = run_cli("run", "sequences", "--set", f"task.path={data}", "--steps", "2", "--out",
                  str(out), "-q")  # fmt: skip
    assert ran.exit_code == 0, ran.output
    nowhere = tmp_path / "missing" / "p.jsonl"
    result = run_cli("predict", str(out), "--data", str(data), "--out", str(nowhere))
    assert result.exit_code == 2
    assert result.stderr == f"error: --out {nowhere}: no folder {nowhere.parent} to write it in\n"
    result = run_cli("predict", str(out), "--data", str(data), "--out", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == f"error: --out {tmp_path}: is a folder; give the file to write\n"
    assert not nowhere.parent.exists()


def test_the_three_tasks_are_registered() -> None:
    names = load_registry().names("task")
    assert {"sequences", "timeseries", "textlines"} <= set(names)
