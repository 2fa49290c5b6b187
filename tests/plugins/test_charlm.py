"""The character language model: the text, its split, windows, bits per character, bad files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from seqnet.cli import app
from seqnet.errors import SpecError
from seqnet.runner import build, load_spec
from seqnet.training import train
from seqnet_charlm import CharLMTask
from seqnet_charlm.text import fits

runner = CliRunner()
HEAD = "abcd " * 180  # 900 characters of a, b, c, d and space
TAIL = "xyz" * 33 + "x"  # 100 characters: the held-out 10 %, which no training target reads


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("text") / "corpus.txt"
    path.write_text(HEAD + TAIL, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def task(corpus: Path) -> CharLMTask:
    return CharLMTask(path=corpus, window=8)


def test_vocabulary_is_every_character_sorted(task: CharLMTask) -> None:
    assert task.vocabulary == " abcdxyz"
    assert task.input_size == task.output_size == 8
    assert task.split == 900


@given(st.text(alphabet=" abcdxyz", max_size=40))
def test_encode_then_decode_gives_the_text_back(task: CharLMTask, text: str) -> None:
    assert task.decode(task.encode(text)) == text


def test_encode_names_characters_the_text_never_had(task: CharLMTask) -> None:
    with pytest.raises(SpecError, match="'Qé'"):
        task.encode("abQéé")


def test_training_windows_predict_the_next_character_of_the_head(task: CharLMTask) -> None:
    batch = task.sample(np.random.default_rng(0), 500)
    assert batch.x.shape == (8, 500) and batch.y.shape == (8, 500)  # token ids in, ids out
    assert batch.x.dtype.kind == "i" and task.vocab_size == task.input_size == 8
    # each target is the next step's input
    np.testing.assert_array_equal(batch.x[1:], batch.y[:-1])
    assert set(task.decode(batch.y.ravel())) <= set("abcd ")  # never a character of the tail


def test_heldout_windows_tile_the_tail(task: CharLMTask) -> None:
    batch = task.heldout(np.random.default_rng(0), 1000)
    assert batch.y.shape == (8, 12)  # all 100 // 8 windows: fewer than asked for
    assert task.decode(batch.y.T.ravel()) == TAIL[:96]
    some = task.heldout(np.random.default_rng(0), 5)
    assert some.y.shape == (8, 5)
    assert set(task.decode(some.y.ravel())) <= set("xyz")


def test_bits_per_character(task: CharLMTask) -> None:
    batch = task.sample(np.random.default_rng(1), 4)
    uniform = np.zeros((*batch.y.shape, 8))
    assert task.metrics(uniform, batch)["bpc"] == pytest.approx(math.log2(8))  # 3 bits
    sure = np.zeros_like(uniform)
    np.put_along_axis(sure, batch.y[..., None], 40.0, axis=-1)
    assert task.metrics(sure, batch) == {"bpc": pytest.approx(0.0, abs=1e-12), "accuracy": 1.0}


def test_examples_show_text_and_guesses_on_one_line(task: CharLMTask) -> None:
    batch = task.windows(np.array([899]))  # reads ' xyzxyzx', the last space of the head
    guesses = np.zeros((8, 1, 8))
    guesses[..., 0] = 1.0  # always ' '
    assert task.examples(guesses, batch, 1) == ["'xyzxyzxy' guessed '        '  (0 of 8 right)"]


def test_relative_paths_are_kept_absolute(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(corpus.parent)
    spec = load_spec("charlm", ["task.path=corpus.txt", "task.window=8"])
    assert spec.model_dump()["task"]["path"] == corpus


def test_without_a_path_it_reads_pythons_own_reference_text() -> None:
    task = CharLMTask()
    assert len(task.ids) > 100_000 and "def" in task.decode(task.ids[:20_000])


@pytest.mark.parametrize(("window", "heldout"), [(1, 0.5), (8, 0.1), (64, 0.1), (3, 0.9)])
def test_the_shortest_text_that_fits_is_named(tmp_path: Path, window: int, heldout: float) -> None:
    path = tmp_path / "short.txt"
    path.write_text("ab", encoding="utf-8")
    with pytest.raises(SpecError, match=r"needs at least (\d+)") as error:
        CharLMTask(path=path, window=window, heldout=heldout)
    need = int(str(error.value).split("at least ")[1].split(")")[0])
    assert fits(need, window, heldout) and not any(fits(n, window, heldout) for n in range(need))
    path.write_text("ab" * need, encoding="utf-8")
    CharLMTask(path=path, window=window, heldout=heldout)


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    empty, latin, short = tmp_path / "empty.txt", tmp_path / "latin1.txt", tmp_path / "short.txt"
    empty.write_bytes(b"")
    latin.write_bytes("café".encode("latin-1"))
    short.write_text("hello", encoding="utf-8")
    return {
        "missing": (tmp_path / "nope.txt", "no such file"),
        "directory": (tmp_path, "is a directory, not a text file"),
        "empty": (empty, "the file is empty"),
        "not UTF-8": (latin, "not UTF-8 text (byte 3 cannot be decoded)"),
        "too short": (short, "5 characters are too few for task.window=64"),
    }


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "not UTF-8", "too short"])
def test_a_bad_file_is_one_line_exit_2_and_no_run_folder(tmp_path: Path, case: str) -> None:
    path, message = bad_files(tmp_path)[case]
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["run", "charlm", "--set", f"task.path={path}", "--out", str(out), "-q"]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: task.path: {message}")
    assert result.stderr.count("\n") == 1
    if case != "too short":  # checked by the spec, before the run folder is made
        assert not out.exists()


def test_a_repetitive_text_is_learned(corpus: Path) -> None:
    spec = load_spec(
        "charlm",
        [f"task.path={corpus}", "task.window=8", "model.cell=elman", "model.hidden=16",
         "optimizer.lr=0.02", "train.steps=300", "train.eval_every=50"],
    )  # fmt: skip
    parts = build(spec)
    result = train(parts.model, parts.task, parts.optimizer, spec.train, examples=0)
    # scored on the tail: "xyz" repeats, which no training window showed; but the head's
    # "abcd " is learned to about zero bits
    head = parts.task.sample(np.random.default_rng(0), 50)
    logits, _, _ = parts.model.forward(result.params, head.x)
    assert parts.task.metrics(logits, head)["bpc"] < 0.5
    assert result.metrics["bpc"] > 3.0  # nothing seen of the tail's "xyz"


@pytest.fixture(scope="module")
def trained(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("runs") / "charlm"
    args = ["run", "charlm", "--set", f"task.path={corpus}", "--set", "task.window=8",
            "--cell", "elman", "--hidden", "16", "--lr", "0.02", "--steps", "300",
            "--out", str(folder), "-q"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return folder


def test_sample_continues_what_it_learned(trained: Path) -> None:
    result = runner.invoke(
        app, ["sample", str(trained), "--chars", "11", "--temperature", "0", "--prime", "abc"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "abcd abcd abcd\n"


def test_sample_draws_are_seeded(trained: Path) -> None:
    def draw(seed: str) -> str:
        args = ["sample", str(trained), "--chars", "40", "--temperature", "5", "--seed", seed]
        result = runner.invoke(app, [*args, "--prime", "a"])
        assert result.exit_code == 0, result.output
        return result.stdout

    assert draw("1") == draw("1") != draw("2")


@pytest.mark.parametrize(
    ("prime", "message"),
    [
        ("Q", "error: --prime: characters not in the text's vocabulary: 'Q'\n"),
        ("", "error: --prime must hold at least one character\n"),
    ],
)
def test_sample_refuses_a_prime_it_cannot_read(trained: Path, prime: str, message: str) -> None:
    result = runner.invoke(app, ["sample", str(trained), "--prime", prime])
    assert result.exit_code == 2
    assert result.stderr == message


def test_sample_needs_a_text_task(tmp_path: Path) -> None:
    folder = tmp_path / "parity"
    assert (
        runner.invoke(app, ["run", "parity", "--steps", "1", "--out", str(folder), "-q"]).exit_code
        == 0
    )
    result = runner.invoke(app, ["sample", str(folder)])
    assert result.exit_code == 2
    assert result.stderr == "error: task 'parity' does not generate text (try a charlm run)\n"
