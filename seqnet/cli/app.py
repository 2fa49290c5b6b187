"""The `seqnet` command: parse, build one validated spec, call one library function, show it.

Heavy modules (numpy, pydantic, the plugins) are imported inside the commands, so that
`seqnet --help` starts fast.
"""

from __future__ import annotations

import functools
import json
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from seqnet import allocator

if TYPE_CHECKING:
    from seqnet.specs import RunSpec
    from seqnet.training import Record


# Typer carries its own click; its UsageError is the base of the BadParameter it exports
UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)


def usage_line(error: Any) -> str:
    """A click usage error as one line: what is wrong, and where the usage is shown."""
    message = " ".join(error.format_message().split())
    ctx = error.ctx
    where = ctx.command_path if ctx is not None else "seqnet"
    return f"error: {message} ({where} --help shows the usage)"


class OneLineGroup(TyperGroup):
    """The seqnet group: a usage error that click or Typer finds (an unknown flag or command,
    a missing argument, a value out of range) is one line and exit 2, as seqnet's own are."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except UsageError as error:
            raise one_line(error) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as error:
            raise one_line(error) from None


def one_line(error: Exception) -> Exception:
    if type(error).__name__ == "NoArgsIsHelpError":  # bare `seqnet`: the help, as asked
        return error
    return fail(usage_line(error).removeprefix("error: "), 2)


app = typer.Typer(
    name="seqnet",
    cls=OneLineGroup,
    help="Train recurrent networks on sequence tasks, in plain numpy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int) -> typer.Exit:
    """Print `error: message` as one line (a control character a user typed is escaped, so a
    newline in a value cannot split it) and return the Exit to raise."""
    line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    typer.echo(f"error: {line}", err=True)
    return typer.Exit(code)


def friendly(command: F) -> F:
    """Turn seqnet's own errors into one line on stderr and their exit code; never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from seqnet.errors import SeqnetError

        try:
            return command(*args, **kwargs)
        except SeqnetError as error:
            raise fail(str(error), error.exit_code) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None
        except OSError as error:  # a full disk, a read-only folder, a name too long
            where = f": '{error.filename}'" if error.filename else ""
            raise fail(f"{error.strerror or error}{where}", 1) from None
        except MemoryError:
            raise fail("out of memory; ask for a smaller model, batch or length", 1) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def global_options(
    ctx: typer.Context,
    disable_plugin: Annotated[
        list[str] | None,
        typer.Option(
            "--disable-plugin",
            metavar="NAME",
            help="Skip the plugin with this name (as `seqnet plugins` shows it) without"
            " importing it. Repeatable. SEQNET_DISABLE_PLUGINS=NAME,NAME does the same.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=lambda value: show_version(value),
            help="Print seqnet's version and exit.",
        ),
    ] = False,
) -> None:
    """Train recurrent networks on sequence tasks, in plain numpy."""
    if disable_plugin:  # imported only when needed, so that plain commands start fast
        from seqnet import plugins as loader

        loader.configure(disable=disable_plugin)
        ctx.call_on_close(loader.configure)  # the next command in this process starts clean


def show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"seqnet {version('seqnet')}")
        raise typer.Exit(0)


def show_warning(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
    """seqnet's own warnings (a skipped plugin) as one `warning:` line; others as Python does."""
    if category.__module__.startswith("seqnet"):
        typer.echo(f"warning: {message}", err=True)
    else:
        PYTHON_SHOWWARNING(message, category, *args, **kw)


PYTHON_SHOWWARNING = warnings.showwarning


SpecArg = Annotated[
    str,
    typer.Argument(
        metavar="SPEC",
        help="A task name (e.g. binadd) for its default spec, or a spec file"
        " (.yaml, .json, .toml).",
        show_default=False,
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Override any spec field by its dotted path, e.g. --set task.bits=16. Repeatable.",
        show_default=False,
    ),
]

# Common flags: each is a shorthand for one --set, and is validated by the same spec models.
FLAGS = {
    "cell": "model.cell",
    "hidden": "model.hidden",
    "layers": "model.layers",
    "steps": "train.steps",
    "batch": "train.batch",
    "lr": "optimizer.lr",
    "optimizer": "optimizer.name",
    "seed": "train.seed",
}


def opt(help_text: str, metavar: str) -> Any:
    return typer.Option(help=help_text, metavar=metavar, show_default=False)


def overrides(flags: dict[str, str | None], sets: list[str] | None) -> list[str]:
    """Flags first, then --set in the order given (so --set wins over a flag)."""
    given = [f"{FLAGS[name]}={value}" for name, value in flags.items() if value is not None]
    return given + list(sets or [])


@app.command()
@friendly
def run(
    spec: SpecArg,
    cell: Annotated[str | None, opt("Recurrent cell (model.cell), e.g. elman.", "NAME")] = None,
    hidden: Annotated[str | None, opt("Hidden units per layer (model.hidden).", "N")] = None,
    layers: Annotated[str | None, opt("Stacked recurrent layers (model.layers).", "N")] = None,
    steps: Annotated[str | None, opt("Maximum training steps (train.steps).", "N")] = None,
    batch: Annotated[str | None, opt("Sequences per step (train.batch).", "N")] = None,
    lr: Annotated[str | None, opt("Learning rate (optimizer.lr).", "RATE")] = None,
    optimizer: Annotated[str | None, opt("Optimizer (optimizer.name), e.g. adam.", "NAME")] = None,
    seed: Annotated[str | None, opt("Root seed of every random stream (train.seed).", "N")] = None,
    set_: SetOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object, last line.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress and no examples.")
    ] = False,
    out: Annotated[
        str | None,
        opt(
            "Run folder for spec, metrics, checkpoint and summary"
            " (default runs/<task>-<cell>-<timestamp>).",
            "DIR",
        ),
    ] = None,
) -> None:
    """Train a model on a task until it is solved or the step budget runs out.

    Everything lands in a run folder; Ctrl-C saves a checkpoint to `seqnet resume` from.
    """
    from pathlib import Path

    from seqnet.cli_runs import train_folder
    from seqnet.rundir import RunDir, default_folder
    from seqnet.runner import build, load_spec, pin

    flags = {"cell": cell, "hidden": hidden, "layers": layers, "steps": steps, "batch": batch,
             "lr": lr, "optimizer": optimizer, "seed": seed}  # fmt: skip
    resolved = load_spec(spec, overrides(flags, set_))
    parts = build(resolved)  # what cannot be built (a bad text file) fails before any folder
    resolved = pin(resolved, parts.task)
    with RunDir.create(Path(out) if out else default_folder(resolved), resolved) as folder:
        train_folder(folder, resolved, quiet, as_json, None, parts)


def number(value: Any) -> str:
    """A metric for people: four decimals, or four significant digits when it is huge or tiny
    (a diverged loss of 1e300 is not 300 digits)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    return f"{value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e6 else f"{value:.4g}"


def summary_line(summary: dict[str, Any], reached: bool, spec: RunSpec | None = None) -> str:
    """`binadd with elman, seed 0: solved after ...`; `solved` says which metric reached what."""
    skip = {"task", "cell", "seed", "steps", "seconds", "reached_target"}
    metrics = ", ".join(f"{k} {number(v)}" for k, v in summary.items() if k not in skip)
    status = "solved" if reached else "not solved"
    target = f"; target: {solved_means(spec)}" if spec is not None else ""
    return (
        f"{summary['task']} with {summary['cell']}, seed {summary['seed']}: {status} after "
        f"{summary['steps']} steps in {summary['seconds']:.2f} s; held-out {metrics}{target}"
    )


def solved_means(spec: RunSpec) -> str:
    """What `solved` means for this run: the target metric and level, patience, margin."""
    from seqnet.plugins import default_registry

    metric = default_registry().get("task", spec.task.name).cls.target_metric
    t = spec.train
    said = f"{metric} >= {t.target:g} on held-out data"
    if t.patience > 1:
        said += f" at {t.patience} evaluations in a row"
    if t.margin > 0:
        said += f", margin >= {t.margin:g}"
    return said


class ProgressDisplay:
    """Progress while training: a rich bar on a terminal, plain lines otherwise, or nothing."""

    def __init__(self, spec: RunSpec, quiet: bool, to_stderr: bool = False) -> None:
        self.total = spec.train.steps
        self.quiet = quiet
        self.to_stderr = to_stderr
        self.bar: Any = None

    def __enter__(self) -> Callable[[Record], None] | None:
        if self.quiet:
            return None
        if not (sys.stderr if self.to_stderr else sys.stdout).isatty():
            return self.plain
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.bar = Progress(
            TextColumn("training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            transient=True,
            console=Console(stderr=self.to_stderr),
        )
        self.bar.start()
        self.task_id = self.bar.add_task("train", total=self.total, status="")
        return self.rich

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    @staticmethod
    def status(record: Record) -> str:
        shown = [f"loss {number(record.loss)}"]
        for name, value in record.metrics.items():
            # at other lengths (`margin@64`), only what the stop rule looks at
            base, at, _ = name.partition("@")
            if name != "loss" and (not at or base in ("exact_match", "margin")):
                shown.append(f"{name} {number(value)}")
        return "  ".join(shown)

    def plain(self, record: Record) -> None:
        typer.echo(f"step {record.step}/{self.total}  {self.status(record)}", err=self.to_stderr)

    def rich(self, record: Record) -> None:
        self.bar.update(self.task_id, completed=record.step, status=self.status(record))


@app.command("spec")
@friendly
def spec_command(
    spec: Annotated[
        str | None,
        typer.Argument(
            metavar="[SPEC]",
            help="A task name or spec file; prints it complete, every default filled in.",
            show_default=False,
        ),
    ] = None,
    set_: SetOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of YAML.")] = False,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the JSON schema of a run spec instead.")
    ] = False,
) -> None:
    """Print a task's default spec (or a spec file, resolved) as YAML, or the spec schema."""
    from seqnet import specs
    from seqnet.plugins import default_registry
    from seqnet.runner import load_spec

    if schema:
        typer.echo(json.dumps(specs.json_schema(default_registry()), indent=2))
        return
    if spec is None:
        raise fail("name a task or a spec file, or pass --schema", 2)
    resolved = load_spec(spec, set_ or [])
    typer.echo(specs.dump(resolved, "json" if as_json else "yaml"), nl=as_json)


@app.command()
@friendly
def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List every registered task, cell and optimizer and who provides it; then the plugins
    that were skipped (kind `plugin`, status `failed` with the reason, or `disabled`)."""
    from seqnet.plugins import default_registry

    registry = default_registry()
    rows = [
        {
            "kind": e.kind,
            "name": e.name,
            "plugin": e.plugin,
            "distribution": e.distribution,
            "version": e.version,
            "description": e.description,
            "status": "ok",
        }
        for e in registry.all()
    ]
    skipped = [(f.source, "failed", f.reason) for f in registry.failed]
    skipped += [(source, "disabled", "") for source in registry.disabled]
    rows += [
        {
            "kind": "plugin",
            "name": source.name,
            "plugin": source.name,
            "distribution": source.distribution,
            "version": source.version,
            "description": f"{status}: {reason}" if reason else status,
            "status": status,
            **({"reason": reason} if reason else {}),
        }
        for source, status, reason in skipped
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None)
    for column in ("kind", "name", "provided by", "description"):
        table.add_column(column)
    for row in rows:
        provider = f"{row['distribution']} {row['version']} ({row['plugin']})"
        table.add_row(row["kind"], row["name"], provider, row["description"])
    Console().print(table)


def main() -> None:
    warnings.showwarning = show_warning
    # The seqnet program owns its process: each training step's large arrays reuse the memory
    # the last one freed. A library call never changes this (seqnet.allocator).
    allocator.keep_freed_memory()
    app()


# The other commands register themselves on `app` when imported; they need `app` above.
import seqnet.cli_bench  # noqa: E402  (bench)
import seqnet.cli_runs  # noqa: E402  (resume, eval, predict, plot)
import seqnet.cli_sample  # noqa: E402  (sample)
import seqnet.cli_sweep  # noqa: E402, F401  (sweep)
