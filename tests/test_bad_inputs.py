"""The corpus of bad input: every command, every option a spec holds, spec files, run folders.

Each case ends in one `error:` line on stderr and exit 2 (usage) or 1 (runtime): never a
traceback, a hang, or a silent wrong answer. Cases are generated from the registry where they
can be (every numeric option of every plugin), and by hypothesis where a generator helps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from seqnet import memory, specs
from seqnet.cli import app, number
from seqnet.plugins import load_registry
from seqnet.trainspec import TrainSpec

runner = CliRunner()
TINY = ["--hidden", "4", "--steps", "20", "--set", "task.bits=3", "--set", "train.eval_every=10",
        "--set", "train.eval_samples=20"]  # fmt: skip


def one_line(result: Any, code: int, *, contains: str = "") -> str:
    """The contract: exit `code`, one `error:` line on stderr, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert contains in lines[0], lines[0]
    return str(lines[0])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad") / "binadd"
    result = runner.invoke(app, ["run", "binadd", *TINY, "--out", str(folder), "-q"])
    assert result.exit_code == 0, result.output
    return folder


# --- usage errors click and Typer find themselves: one line, exit 2 --------------------------

USAGE = [
    ["run"],
    ["run", "binadd", "--bogus"],
    ["run", "binadd", "--hidden"],
    ["run", "binadd", "--set"],
    ["run", "binadd", "extra-argument"],
    ["frobnicate"],
    ["--bogus"],
    ["--disable-plugin"],
    ["resume"],
    ["resume", "x", "--steps", "0"],
    ["resume", "x", "--steps", "-3"],
    ["resume", "x", "--steps", "many"],
    ["eval"],
    ["eval", "x", "--samples", "0"],
    ["eval", "x", "--samples", "nan"],
    ["eval", "x", "--samples", str(10**30)],
    ["eval", "x", "--seed", "-1"],
    ["predict"],
    ["plot"],
    ["plot", "x", "--length", "0"],
    ["plot", "x", "--length", str(10**30)],
    ["plot", "x", "--length", "ten"],
    ["sample"],
    ["sample", "x", "--temperature", "nan"],
    ["sample", "x", "--temperature", "-1"],
    ["sample", "x", "--chars", "-1"],
    ["sample", "x", "--chars", str(10**30)],
    ["sample", "x", "--seed", "-2"],
    ["sweep", "binadd", "--samples", "many"],
    ["sweep", "binadd", "--workers", "x"],
    ["sweep", "binadd", "--bogus"],
    ["spec", "binadd", "--bogus"],
    ["plugins", "--bogus"],
    ["plugins", "extra"],
]


@pytest.mark.parametrize("args", USAGE, ids=" ".join)
def test_a_usage_error_is_one_line(args: list[str]) -> None:
    line = one_line(runner.invoke(app, args), 2)
    assert "--help shows the usage" in line


# --- every numeric option: booleans are not numbers, sizes have a ceiling ---------------------

REGISTRY = load_registry()


def numeric_options() -> list[tuple[list[str], str, type]]:
    """(leading --set overrides that choose the plugin, dotted path, int or float) for every
    numeric field of the engine's sections and of every registered plugin's Spec."""
    out: list[tuple[list[str], str, type]] = []
    for section, model in (("model", specs.StackSection), ("train", TrainSpec),
                           ("optimizer", specs.OptimizerSection)):  # fmt: skip
        for name, field in model.model_fields.items():
            kinds = {t for t, _ in __import__("seqnet.bounds").bounds._members(field.annotation)}
            for kind in (int, float):
                if kind in kinds:
                    out.append(([], f"{section}.{name}", kind))
                    break
    for kind, section, chooser in (("task", "task", "task.name"), ("cell", "model", "model.cell"),
                                   ("optimizer", "optimizer", "optimizer.name")):  # fmt: skip
        for plugin in REGISTRY.names(kind):  # type: ignore[arg-type]
            cls = REGISTRY.get(kind, plugin).cls
            lead = [] if kind == "task" else [f"{chooser}={plugin}"]
            task = plugin if kind == "task" else "binadd"
            for name, field in cls.Spec.model_fields.items():
                if name == "hidden":
                    continue  # model.hidden, above
                kinds = {
                    t for t, _ in __import__("seqnet.bounds").bounds._members(field.annotation)
                }
                for number_kind in (int, float):
                    if number_kind in kinds:
                        out.append(([f"task.name={task}", *lead], f"{section}.{name}", number_kind))
                        break
    return out


NUMERIC = numeric_options()


def spec_args(lead: list[str], path: str, value: str) -> list[str]:
    task = next((s.split("=", 1)[1] for s in lead if s.startswith("task.name=")), "binadd")
    sets = [s for s in lead if not s.startswith("task.name=")] + [f"{path}={value}"]
    return ["spec", task, *(a for s in sets for a in ("--set", s))]


@pytest.mark.parametrize("value", ["true", "false", "yes", "off"])
@pytest.mark.parametrize(("lead", "path", "kind"), NUMERIC, ids=[p for _, p, _ in NUMERIC])
def test_a_boolean_is_not_a_number(lead: list[str], path: str, kind: type, value: str) -> None:
    line = one_line(runner.invoke(app, spec_args(lead, path, value)), 2)
    assert path in line and "a number is needed" in line


@pytest.mark.parametrize("value", [str(10**30), str(-(10**30)), "9" * 5000])
@pytest.mark.parametrize(
    ("lead", "path"), [(lead, p) for lead, p, kind in NUMERIC if kind is int],
    ids=[p for _, p, kind in NUMERIC if kind is int],
)  # fmt: skip
def test_a_huge_whole_number_is_refused_before_use(lead: list[str], path: str, value: str) -> None:
    line = one_line(runner.invoke(app, spec_args(lead, path, value)), 2)
    assert len(line) < 300


@pytest.mark.parametrize("flag", ["--hidden", "--batch", "--layers", "--steps", "--seed"])
@pytest.mark.parametrize("value", [str(10**30), "true", "1e400", "-1", "1.5", "", "9" * 5000])
def test_the_run_flags_are_validated_like_the_spec(
    flag: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    line = one_line(runner.invoke(app, ["run", "binadd", flag, value, "--out", "never"]), 2)
    assert len(line) < 300
    assert not Path("never").exists()


@pytest.mark.parametrize(
    ("sets", "asked"),
    [
        (["model.hidden=200000"], "model.hidden 200,000"),
        (["model.hidden=2000", "model.layers=1000"], "model.layers 1,000"),
        (["task.bits=10000000"], "steps per sequence "),
        (["train.batch=1000000", "model.hidden=256"], "train.batch 1,000,000"),
        (["train.eval_samples=10000000", "model.hidden=256"], "train.eval_samples 10,000,000"),
        (["model.cell=lstm", "model.hidden=60000"], "parameters"),
    ],
)
def test_a_run_too_large_for_memory_is_refused_before_allocating(
    sets: list[str], asked: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(memory, "available", lambda: 4 * 2**30)
    args = ["run", "binadd", *(a for s in sets for a in ("--set", s)), "--out", str(tmp_path / "r")]
    line = one_line(runner.invoke(app, args), 2, contains="more than the 4.0 GB")
    assert asked in line
    assert not (tmp_path / "r").exists()


def test_the_memory_estimate_counts_parameters_exactly() -> None:
    for cell, options in (("elman", {}), ("lstm", {}), ("gru", {})):
        cls = REGISTRY.get("cell", cell).cls
        for hidden, inputs in ((5, 3), (64, 2), (7, 64)):
            real = sum(v.size for v in cls(hidden=hidden, **options).init(
                __import__("numpy").random.default_rng(0), inputs).values())  # fmt: skip
            assert round(memory.parameter_count(cls, options, hidden, inputs)) == real


@pytest.mark.parametrize(
    "text",
    ["model.hidden", "=3", "", "model.hidden=" + "x" * 2000, "nosuch.option=1", "model=3",
     "task.name=nosuchtask", "model.cell=nosuchcell", "optimizer.name=nosuch",
     "model.dropout=0.5", "model.dropout=1.0", "model.dtype=float16", "train.target=0",
     "train.seed=-1", "train.seed=" + str(2**64), "optimizer.lr=nan", "optimizer.lr=inf",
     "optimizer.clip=-1", "model.hidden=[1, 2]", "model.hidden={a: 1}", "model.hidden=1.5",
     "task.bits=0", "train.bogus=1", "task.name=", "model.activation=softmax"],
)  # fmt: skip
def test_a_bad_override_is_one_line(text: str) -> None:
    line = one_line(runner.invoke(app, ["spec", "binadd", "--set", text]), 2)
    assert len(line) < 400


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(["model.hidden", "train.batch", "task.bits", "optimizer.lr",
                          "train.seed", "model.dropout", "model.cell", "train.target"]),
    value=st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.booleans(),
                    st.lists(st.integers(), max_size=3)),
)  # fmt: skip
def test_any_override_value_is_accepted_or_refused_in_one_line(path: str, value: Any) -> None:
    text = f"{path}={value}" if not isinstance(value, list) else f"{path}={json.dumps(value)}"
    result = runner.invoke(app, ["spec", "binadd", "--set", text])
    if result.exit_code != 0:
        one_line(result, 2)


# --- spec files: bounded in size, depth and aliases -----------------------------------------

BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
        f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
        f" *{chr(97 + i)}]\n"
        for i in range(9)
    )
    + "task: {name: binadd}\n"
)

SPEC_FILES = {
    "deep.yaml": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep-map.yaml": "".join("  " * i + f"k{i}:\n" for i in range(2000)) + "  " * 2000 + "v\n",
    "deep.json": "[" * 100_000 + "]" * 100_000,
    "deep-object.json": '{"a":' * 3000 + "1" + "}" * 3000,
    "deep.toml": "a = " + "[" * 5000 + "]" * 5000 + "\n",
    "deep-table.toml": "a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n",
    "bomb.yaml": BOMB,
    "bomb-task.yaml": BOMB.replace("task: {name: binadd}", "task: {name: binadd, bits: *j}"),
    "huge.yaml": "task: {name: binadd}\n#" + "x" * 1_100_000 + "\n",
    "binary.yaml": "\x00\xff\xfe garbage",
    "list.yaml": "- 1\n- 2\n",
    "scalar.json": "3",
    "empty.toml": "",
    "empty.yaml": "",
    "bad.json": "{task: binadd}",
    "bad.toml": "task = ",
    "bad.yaml": "task: [unclosed\n",
    "tab.yaml": "task:\n\tname: binadd\n",
    "unknown-section.yaml": "task: {name: binadd}\nextra: {a: 1}\n",
    "task-string.yaml": "task: binadd\n",
    "no-task.yaml": "model: {hidden: 8}\n",
    "bool-hidden.yaml": "task: {name: binadd}\nmodel: {hidden: true}\n",
    "huge-bits.json": '{"task": {"name": "binadd", "bits": ' + "9" * 4500 + "}}",
    "nan.json": '{"task": {"name": "binadd"}, "optimizer": {"lr": NaN}}',
    "spec.txt": "task: {name: binadd}\n",
    "dir.yaml/": "",
}


@pytest.mark.parametrize("name", list(SPEC_FILES))
@pytest.mark.parametrize("command", ["spec", "run", "sweep"])
def test_a_bad_spec_file_is_one_line(
    name: str, command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / name.rstrip("/")
    if name.endswith("/"):
        path.mkdir()
    else:
        data = SPEC_FILES[name]
        path.write_bytes(data.encode("utf-8", "surrogateescape") if name != "binary.yaml"
                         else b"\x00\xff\xfe garbage")  # fmt: skip
    line = one_line(runner.invoke(app, [command, str(path)]), 2)
    assert len(line) < 500
    assert not (tmp_path / "runs").exists() and not (tmp_path / "sweeps").exists()


def test_a_task_name_is_not_a_file_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("parity").write_text("not a spec")
    Path("binadd").mkdir()
    for task in ("parity", "binadd"):
        result = runner.invoke(app, ["spec", task])
        assert result.exit_code == 0, result.output
    Path("mytask").write_text("task: {name: parity}\n")
    one_line(runner.invoke(app, ["spec", "mytask"]), 2, contains="needs a .yaml, .json or .toml")
    assert runner.invoke(app, ["spec", "./sub/x.yaml"]).exit_code == 2


# --- a trained run folder, asked badly ------------------------------------------------------

FOLDER_ARGS = [
    (["eval", "{d}", "--lengths", "0"], 2),
    (["eval", "{d}", "--lengths", "-1"], 2),
    (["eval", "{d}", "--lengths", "a"], 2),
    (["eval", "{d}", "--lengths", ","], 2),
    (["eval", "{d}", "--lengths", "3,x"], 2),
    (["eval", "{d}", "--lengths", "1000000000000"], 2),
    (["eval", "{d}", "--lengths", "9" * 5000], 2),
    (["eval", "{d}", "--set", "model.hidden=3"], 2),
    (["eval", "{d}", "--set", "task.name=parity"], 2),
    (["eval", "{d}", "--set", "task.bits=true"], 2),
    (["eval", "{d}", "--set", "task.bogus=1"], 2),
    (["predict", "{d}", "12", "zz"], 2),
    (["predict", "{d}", "12"], 2),
    (["predict", "{d}", "1", "2", "3"], 2),
    (["sample", "{d}"], 2),
    (["plot", "{d}", "--out", "{d}/spec.yaml"], 2),
    (["resume", "{d}/nope"], 2),
    (["resume", "{d}/spec.yaml"], 2),
    (["eval", "{d}/nope"], 2),
    (["run", "binadd", "--out", "{d}"], 2),
    (["run", "binadd", "--out", "{d}/spec.yaml"], 2),
    (["run", "binadd", "--out", "{d}/" + "x" * 300], 1),
    (["run", "binadd", "--out", "{d}/" + "x" * 300 + "/y"], 1),
    (["plot", "{d}", "--out", "{d}/" + "x" * 300], 1),
]


@pytest.mark.parametrize(("args", "code"), FOLDER_ARGS, ids=lambda a: str(a)[:40])
def test_a_run_folder_asked_badly_is_one_line(trained: Path, args: list[str], code: int) -> None:
    pytest.importorskip("matplotlib")
    before = {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file()}
    one_line(runner.invoke(app, [a.replace("{d}", str(trained)) for a in args]), code)
    after = {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file()}
    assert before == after  # nothing written, nothing half written


def damaged(source: Path, dest: Path, how: str) -> Path:
    dest.mkdir()
    for f in source.iterdir():
        if f.is_file():
            (dest / f.name).write_bytes(f.read_bytes())
    ckpt = dest / "checkpoint.npz"
    data = ckpt.read_bytes()
    kind, _, arg = how.partition(":")
    if kind == "truncate":
        ckpt.write_bytes(data[: int(len(data) * float(arg))])
    elif kind == "flip":
        at = int(len(data) * float(arg))
        ckpt.write_bytes(data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1 :])
    elif kind == "empty":
        ckpt.write_bytes(b"")
    elif kind == "pickle":
        ckpt.write_bytes(b"\x80\x04\x95" + data[3:])
    elif kind == "folder":
        ckpt.unlink()
        ckpt.mkdir()
    elif kind == "metrics":
        (dest / "metrics.jsonl").write_text('[1, 2]\n{"step": 10}\n')
    elif kind == "metrics-binary":
        (dest / "metrics.jsonl").write_bytes(b"\xff\xfe\x00\n")
    elif kind == "spec-garbage":
        (dest / "spec.yaml").write_text("task: [\n")
    return dest


DAMAGE = ["truncate:0.0", "truncate:0.01", "truncate:0.3", "truncate:0.5", "truncate:0.9",
          "truncate:0.999", "flip:0.05", "flip:0.5", "flip:0.95", "empty", "pickle", "folder",
          "metrics", "metrics-binary", "spec-garbage"]  # fmt: skip
COMMANDS = [["resume", "{d}", "--steps", "5"], ["eval", "{d}", "--samples", "5"],
            ["predict", "{d}", "1", "2"], ["plot", "{d}"], ["sample", "{d}"]]  # fmt: skip


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_damaged_run_folder_is_refused_or_used_never_a_traceback(
    trained: Path, tmp_path: Path, how: str, command: list[str]
) -> None:
    pytest.importorskip("matplotlib")
    folder = damaged(trained, tmp_path / "d", how)
    result = runner.invoke(app, [a.replace("{d}", str(folder)) for a in command])
    reads_only_the_checkpoint = command[0] in ("eval", "predict") or (
        command[0] == "plot" and how == "spec-garbage")  # fmt: skip
    if how in ("metrics", "metrics-binary", "spec-garbage") and reads_only_the_checkpoint:
        assert result.exit_code == 0, result.output  # the checkpoint is whole: it is used
        return
    one_line(result, result.exit_code)
    assert result.exit_code in (1, 2)
    assert not list(folder.glob(".*.tmp"))


# --- eval at lengths, the combinations it must accept and the ones it must refuse -------------


@pytest.fixture(scope="module")
def adding(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad") / "adding"
    args = ["run", "adding", "--hidden", "4", "--steps", "10", "--set", "task.length=5",
            "--set", "train.eval_samples=20", "--set", "train.eval_every=5"]  # fmt: skip
    result = runner.invoke(app, [*args, "--out", str(folder), "-q"])
    assert result.exit_code == 0, result.output
    return folder


def test_eval_below_a_tasks_minimum_length_is_one_line(adding: Path) -> None:
    line = one_line(runner.invoke(app, ["eval", str(adding), "--lengths", "1"]), 2)
    assert "task.length" in line and "greater than or equal to 2" in line


def test_eval_applies_lengths_before_it_validates_set(adding: Path) -> None:
    result = runner.invoke(app, ["eval", str(adding), "--lengths", "3,4", "--set",
                                 "task.length=1", "--samples", "10", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)["lengths"]) == ["3", "4"]


def test_eval_json_has_no_float_noise(trained: Path) -> None:
    result = runner.invoke(app, ["eval", str(trained), "--samples", "7", "--json"])
    assert result.exit_code == 0, result.output
    for row in json.loads(result.stdout)["lengths"].values():
        for value in row.values():
            assert len(repr(value)) <= 16, value


# --- small things a new user meets ----------------------------------------------------------


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("seqnet ")


def test_json_stdout_is_the_json_alone_and_quiet_still_names_the_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "binadd", *TINY, "--json", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["task"] == "binadd"
    assert "step 10/20" in result.stderr
    quiet = runner.invoke(app, ["run", "binadd", *TINY, "-q", "--out", str(tmp_path / "q")])
    assert quiet.stdout == "" and f"run folder: {tmp_path / 'q'}" in quiet.stderr


def test_the_summary_line_says_what_solved_means(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "adding", "--hidden", "4", "--steps", "5", "--set",
                                 "task.length=5", "--set", "train.eval_samples=20", "--out",
                                 str(tmp_path / "a")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "target: r2 >= 0.95 on held-out data" in result.stdout


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1e300, "1e+300"), (-1e300, "-1e+300"), (0.5, "0.5000"), (1e-9, "1e-09"), (0, "0.0000"),
     (float("inf"), "inf"), (float("nan"), "nan"), (123456.0, "123456.0000")],
)  # fmt: skip
def test_a_diverged_number_is_short(value: float, shown: str) -> None:
    assert number(value) == shown


def test_dropout_with_one_layer_is_refused() -> None:
    line = one_line(runner.invoke(app, ["spec", "binadd", "--set", "model.dropout=0.5"]), 2)
    assert "model.layers 1" in line
    ok = runner.invoke(app, ["spec", "binadd", "--set", "model.layers=2", "--set",
                             "model.dropout=0.5"])  # fmt: skip
    assert ok.exit_code == 0, ok.output


def test_charlm_samples_without_newlines_and_evaluates_held_out_bpc(tmp_path: Path) -> None:
    text = tmp_path / "t.txt"
    text.write_text("abcabcabcabc" * 40)
    folder = tmp_path / "lm"
    args = ["run", "charlm", "--set", f"task.path={text}", "--cell", "elman", "--hidden", "4",
            "--steps", "5", "--set", "task.window=8", "--set", "train.eval_samples=4"]  # fmt: skip
    result = runner.invoke(app, [*args, "--out", str(folder), "-q"])
    assert result.exit_code == 0, result.output
    sampled = runner.invoke(app, ["sample", str(folder), "--chars", "10"])
    assert sampled.exit_code == 0, sampled.output
    assert len(sampled.stdout.rstrip("\n")) == 11
    # a task without a length is scored on its held-out data: bits per character for charlm
    scored = runner.invoke(app, ["eval", str(folder), "--json"])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["heldout"]["bpc"] > 0
    other = tmp_path / "other.txt"
    other.write_text("xyz " * 400)
    one_line(runner.invoke(app, ["eval", str(folder), "--set", f"task.path={other}"]), 2)
