"""`Run`: one run and its folder, the object a script needs and the one the CLI calls.

Training writes the folder (seqnet.rundir); scoring it at lengths, on held-out data or on a data
file is seqnet.scoring's and seqnet.lengths'; drawing text from it is seqnet.generate's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from seqnet import spec_files, specs
from seqnet.atomic import write_atomic
from seqnet.checkpoint import Checkpoint
from seqnet.errors import SpecError
from seqnet.evaluation import checked_lengths, evaluate_run
from seqnet.folder_training import train_in
from seqnet.generate import sample_text
from seqnet.interfaces import FileData, Params, Predicting, Task
from seqnet.lengths import forward_chunked
from seqnet.model import Sequential, cast_batch
from seqnet.overrides import SHORTHANDS, apply_overrides, parse_override, plugins_first
from seqnet.plots import matplotlib_or_fail, plot_run
from seqnet.plugins import default_registry
from seqnet.registry import Registry
from seqnet.rundir import CHECKPOINT, SPEC, RunDir, RunDirError, Which, default_folder
from seqnet.runner import Parts, build, check_inputs, pin, raw_spec
from seqnet.scoring import predict_file
from seqnet.specs import RunSpec
from seqnet.training import Result

Source = str | Path | Mapping[str, Any] | RunSpec
MAX_PLOT_LENGTH = 1000


class Run:
    """One training run and its folder (spec.yaml, metrics.jsonl, checkpoint.npz, summary.json).

    `Run.create` starts a run, `Run.open` finds one. A Run that writes holds the folder's lock
    (one owner at a time, as `seqnet run` and `seqnet resume` do): `create` takes it and keeps
    it until the end of the first `train`; `train`/`resume` on an opened Run take it for their
    duration. Inside `with Run.create(...) as run:` (or `Run.open`) the lock, once taken, is held
    until the block ends; `close()` releases it at any time. Reading (`evaluate`, `predict`,
    `sample`, `params`, `history`) needs no lock.
    """

    def __init__(self, folder: RunDir, registry: Registry, spec: RunSpec | None = None,
                 parts: Parts | None = None, checkpoint: Which = "kept") -> None:  # fmt: skip
        self.folder = folder
        self.registry = registry
        self.reads: Which = checkpoint
        self._model: tuple[Checkpoint, RunSpec] | None = None
        self._spec = spec
        self._parts = parts
        self._loaded: tuple[Checkpoint, RunSpec] | None = None
        self._params: Params | None = None
        self._holding = False
        self._summary: dict[str, Any] | None = None

    @classmethod
    def create(
        cls,
        task_or_spec: Source,
        out: str | Path | None = None,
        *,
        settings: Iterable[str] = (),
        registry: Registry | None = None,
        **overrides: Any,
    ) -> Run:
        """A new run in a new folder, from a task name (its defaults, exactly as `seqnet run
        TASK` applies them), a spec file, a spec mapping, or a resolved RunSpec.

        `overrides` set spec fields: by shorthand (`hidden=32`, `cell="gru"`, `steps`, `batch`,
        `lr`, `optimizer`, `seed`, `layers`, `dropout`, as the `seqnet run` flags) or by dotted path
        through a dict (`**{"train.steps": 500}`); `settings` are `--set` texts
        (`"task.bits=16"`), applied last. `out` is the folder (it must not hold a run); None
        makes `runs/<task>-<cell>-<timestamp>` under the current folder, as `seqnet run` does.
        Nothing is written if the spec is bad or cannot be built.
        """
        registry = registry or default_registry()
        raw = raw_spec(task_or_spec, registry)
        given = {dotted(key): value for key, value in overrides.items()}
        pairs = [(path, given[path]) for path in plugins_first(given)]
        pairs += [parse_override(text) for text in settings]
        spec = specs.resolve(apply_overrides(raw, pairs, registry), registry)
        parts = build(spec, registry)  # what cannot be built (a bad text file) fails first
        check_inputs(parts, spec)
        spec = pin(spec, parts.task, registry)
        folder = RunDir.create(Path(out) if out is not None else default_folder(spec), spec)
        return cls(folder, registry, spec, parts)

    @classmethod
    def open(
        cls, folder: str | Path, *, registry: Registry | None = None, checkpoint: Which = "kept"
    ) -> Run:
        """The run in `folder` (one `seqnet run` or `Run.create` made); nothing is read yet.

        `checkpoint` is the one that `params`, `evaluate`, `predict` and `sample` read: `kept`
        (the best with train.keep best, else the last), `last` or `best`
        (checkpoint-best.npz, with train.keep best or both). Training always continues from
        the last."""
        path = Path(folder)
        if not path.is_dir():
            raise RunDirError(f"run folder '{path}' not found")
        if not (path / CHECKPOINT).exists() and not (path / SPEC).exists():
            raise RunDirError(f"'{path}' has no {CHECKPOINT}; it is not a seqnet run folder")
        if checkpoint not in ("kept", "last", "best"):
            raise SpecError(f"checkpoint is kept, last or best (got {checkpoint!r})")
        return cls(RunDir(path), registry or default_registry(), checkpoint=checkpoint)

    def __enter__(self) -> Run:
        self._holding = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the folder's lock, if this Run holds it."""
        self._holding = False
        self.folder.release()

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def spec(self) -> RunSpec:
        """The run's resolved spec (its checkpoint's, once it has one)."""
        if self._spec is None:
            if self.folder.checkpoint_path.exists():
                self._spec = self.loaded()[1]
            else:
                self._spec = self.folder.spec_file(self.registry)
        return self._spec

    @property
    def parts(self) -> Parts:
        if self._parts is None:
            self._parts = build(self.spec, self.registry)
        return self._parts

    @property
    def task(self) -> Task:
        return self.parts.task

    @property
    def model(self) -> Sequential:
        return self.parts.model

    def loaded(self) -> tuple[Checkpoint, RunSpec]:
        """The folder's checkpoint and its spec, checked against what the spec builds (read
        once; a run that has none yet is an error saying how to start it)."""
        if self._loaded is None:
            self._loaded = RunDir.open(self.path).load(self.registry)
        return self._loaded

    def model_checkpoint(self) -> tuple[Checkpoint, RunSpec]:
        """The checkpoint the run's model is read from (`checkpoint` of `Run.open`) and its
        spec: the last unless train.keep (or the choice) says the best."""
        if self._model is None:
            self._model = RunDir.open(self.path).load(self.registry, self.reads)
        return self._model

    def reads_last(self) -> bool:
        return self.reads == "last" or (self.reads == "kept" and self.spec.train.keep != "best")

    @property
    def params(self) -> Params:
        """The trained parameters: the last training's, else the checkpoint's (the best one's,
        with train.keep best or `Run.open(..., checkpoint="best")`)."""
        if self._params is not None and self.reads_last():
            return self._params
        return self.model_checkpoint()[0].params

    @property
    def history(self) -> list[dict[str, Any]]:
        """metrics.jsonl's rows: one dict per evaluation (step, loss, val_loss, metrics...)."""
        return self.folder.records()

    @contextlib.contextmanager
    def writing(self, what: str) -> Iterator[None]:
        """Hold the folder's lock while writing; let it go after, unless inside `with`."""
        self.folder.claim(what)
        try:
            yield
        finally:
            if not self._holding:
                self.folder.release()

    def train(
        self,
        steps: int | None = None,
        callbacks: Sequence[object] = (),
        stop_requested: Callable[[], bool] | None = None,
    ) -> Result:
        """Train from where the run stands (its start, or its checkpoint, exactly as if it had
        never stopped) to the end of its budget (`train.steps`) or its target.

        `steps=N` trains N more steps now; the budget stays unless N goes past it. A run that
        reached its target, or spent its budget, trains on only with `steps`. `callbacks` are
        objects with any of `seqnet.Callback`'s methods (`seqnet.ProgressBar()`,
        `seqnet.EarlyStopping(...)`, your own), called after the folder's own log and saves. Raises
        `Interrupted` (with a checkpoint saved) when `stop_requested()` turns true between steps,
        and NonFiniteError (the last good checkpoint kept) on a non-finite loss or gradient.
        """
        if steps is not None and (type(steps) is not int or steps < 1):
            raise SpecError(f"steps must be a whole number >= 1 (got {steps!r})")
        with self.writing("resume"):
            spec, resume_from = self.where_it_stands(steps)
            start = resume_from.step if resume_from is not None else 0
            until = spec.train.steps if steps is None else start + steps
            if until > spec.train.steps:
                train = spec.train.model_copy(update={"steps": until})
                spec = spec.model_copy(update={"train": train})
                write_atomic(self.path / SPEC, spec_files.dump(spec, "yaml"))
            self._spec = spec
            # parts built by `create` are used once, by the first training, as `seqnet run` does
            built, self._parts = (self._parts if resume_from is None else None), None
            result, self._summary, parts = train_in(
                self.folder,
                spec,
                registry=self.registry,
                resume_from=resume_from,
                callbacks=callbacks,
                stop_requested=stop_requested,
                parts=built,
                until=until,
            )
        self._parts, self._params, self._loaded, self._model = parts, result.params, None, None
        return result

    def resume(
        self,
        steps: int | None = None,
        callbacks: Sequence[object] = (),
        stop_requested: Callable[[], bool] | None = None,
    ) -> Result:
        """`train`, said of a run opened from its folder: continue it from its checkpoint (or
        start it, if it stopped before its first one)."""
        return self.train(steps, callbacks, stop_requested)

    def where_it_stands(self, steps: int | None) -> tuple[RunSpec, Checkpoint | None]:
        """The spec to train on and the checkpoint to continue (None: from the start)."""
        if not self.folder.checkpoint_path.exists():
            return self.spec, None
        self._loaded = None  # what is on disk now, not what was read before
        ckpt, spec = self.loaded()
        spec = self.folder.check_spec_file(spec, self.registry)
        if ckpt.loop["reached"] and steps is None:
            raise RunDirError(
                f"the run in {self.path} is finished: it reached its target at step"
                f" {ckpt.step}; pass --steps N to train on (it stops at the next evaluation"
                " that reaches the target)"
            )
        if ckpt.loop.get("stopped") and steps is None:
            raise RunDirError(
                f"the run in {self.path} stopped early at step {ckpt.step}"
                f" ({ckpt.loop['stopped']}); pass --steps N to train on (it stops at the next"
                " evaluation that does not improve)"
            )
        if steps is None and ckpt.step >= spec.train.steps:
            raise RunDirError(
                f"the run's budget of {spec.train.steps} steps is spent; pass --steps N"
            )
        return spec, ckpt

    def evaluate(
        self,
        lengths: Sequence[int] | None = None,
        samples: int = 1000,
        seed: int = 0,
        data: str | Path | None = None,
        settings: Iterable[str] = (),
        on_progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Score the trained model on data it has not seen, as `seqnet eval` does:

        - `{"lengths": {length: metrics}, "mean": metrics}` at each of `lengths` (default: the
          trained length), `samples` fresh sequences each from a generator seeded by
          (`seed`, length); the mean weighs each length the same;
        - `{"data": file, **metrics, "sequences": n}` for a task that reads data files: the
          file `data`, or the test part of the run's own;
        - `{"heldout": metrics, "sequences": n}` for a task without a length (charlm).

        `settings` change task options only (`"task.bits=16"` texts, as `--set`).
        `on_progress(done, total)` follows the scoring at lengths, in sequence steps
        (`seqnet.progress.OnProgress` makes one that draws a progress bar).
        """
        ckpt, trained = self.model_checkpoint()
        changes = [parse_override(text) for text in settings]
        for path, _ in changes:
            if not path.startswith("task.") or path == "task.name":
                raise SpecError(f"eval can change task options only (task.<option>), not '{path}'")
        asked = checked_lengths(lengths)
        where = Path(data) if data is not None else None
        return evaluate_run(ckpt, trained, changes, asked, samples, seed, where, self.registry,
                            on_progress)  # fmt: skip

    def predict(self, inputs: str | Sequence[str]) -> list[str]:
        """The model's answer to your input, as the task writes it: `run.predict("12345 67890")`
        is `["80235"]` for binadd. A string is split into words; a list is the words."""
        task = self.task
        if not isinstance(task, Predicting):
            raise SpecError(
                f"task '{self.spec.task.name}' cannot read input (it has no parse/format)"
            )
        words = inputs.split() if isinstance(inputs, str) else list(inputs)
        try:
            batch = cast_batch(task.parse(words), self.model.dtype)
        except ValueError as error:
            raise SpecError(str(error)) from None
        return list(task.format(forward_chunked(self.model, self.params, batch.x), batch))

    def predict_file(self, data: str | Path) -> Iterator[dict[str, Any]]:
        """One prediction per sequence of a data file, in order (for tasks that read files)."""
        if not isinstance(self.task, FileData):
            raise SpecError(
                f"task '{self.spec.task.name}' does not read data files; --data is for those"
            )
        return predict_file(self.model, self.params, self.task, Path(data))

    def sample(
        self, chars: int = 300, temperature: float = 0.8, prime: str | None = None, seed: int = 0
    ) -> str:
        """Text from a character model (charlm): `prime` (default: a newline), then `chars`
        symbols drawn at `temperature` (0: always the likeliest) from a generator of `seed`."""
        return sample_text(self.model, self.params, self.task, chars, temperature, prime, seed)

    def plot(self, out: str | Path | None = None, length: int = 48, seed: int = 0) -> list[Path]:
        """Write the run's figures as PNGs into `out` (default: the folder's plots/) and return
        their paths: learning_curves.png, and for a task with a length hidden.png, the hidden
        units across one example `length` long drawn from `seed`. Needs matplotlib. Writing into
        the run folder takes its lock for the while, as `seqnet plot` does."""
        if type(length) is not int or not 1 <= length <= MAX_PLOT_LENGTH:
            raise SpecError(f"length must be a whole number from 1 to {MAX_PLOT_LENGTH:,}")
        RunDir.open(self.path)  # a run with a checkpoint, or one line saying what it lacks
        matplotlib_or_fail()
        target = Path(out) if out is not None else self.path / "plots"
        inside = self.path.resolve() in (target.resolve(), *target.resolve().parents)
        with self.writing("plot") if inside else contextlib.nullcontext():
            return plot_run(self.folder, target, length, seed)

    @property
    def summary(self) -> dict[str, Any]:
        """summary.json: what ran, how long, and the final held-out metrics ({} before it ends)."""
        return self._summary if self._summary is not None else self.folder.summary()


def dotted(key: str) -> str:
    """A keyword of `Run.create` as a spec path: a shorthand (`hidden`), or a dotted path."""
    if "." in key:
        return key
    if key in SHORTHANDS:
        return SHORTHANDS[key]
    raise SpecError(
        f"unknown setting '{key}': give a dotted path (model.hidden) or one of"
        f" {', '.join(SHORTHANDS)}"
    )
