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

from seqnet import allocator

if TYPE_CHECKING:
    from seqnet.specs import RunSpec
    from seqnet.training import Record

app = typer.Typer(
    name="seqnet",
    help="Train recurrent networks on sequence tasks, in plain numpy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
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
) -> None:
    """Train recurrent networks on sequence tasks, in plain numpy."""
    if disable_plugin:  # imported only when needed, so that plain commands start fast
        from seqnet import plugins as loader

        loader.configure(disable=disable_plugin)
        ctx.call_on_close(loader.configure)  # the next command in this process starts clean


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


def summary_line(summary: dict[str, Any], reached: bool) -> str:
    skip = {"task", "cell", "seed", "steps", "seconds", "reached_target"}
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in summary.items() if k not in skip)
    status = "solved" if reached else "not solved"
    return (
        f"{summary['task']} with {summary['cell']}, seed {summary['seed']}: {status} after "
        f"{summary['steps']} steps in {summary['seconds']:.2f} s; held-out {metrics}"
    )


class ProgressDisplay:
    """Progress while training: a rich bar on a terminal, plain lines otherwise, or nothing."""

    def __init__(self, spec: RunSpec, quiet: bool) -> None:
        self.total = spec.train.steps
        self.metric = "exact_match"
        self.quiet = quiet
        self.bar: Any = None

    def __enter__(self) -> Callable[[Record], None] | None:
        if self.quiet:
            return None
        if not sys.stdout.isatty():
            return self.plain
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.bar = Progress(
            TextColumn("training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            transient=True,
        )
        self.bar.start()
        self.task_id = self.bar.add_task("train", total=self.total, status="")
        return self.rich

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    @staticmethod
    def status(record: Record) -> str:
        shown = [f"loss {record.loss:.4f}"]
        for name, value in record.metrics.items():
            # at other lengths (`margin@64`), only what the stop rule looks at
            base, at, _ = name.partition("@")
            if name != "loss" and (not at or base in ("exact_match", "margin")):
                shown.append(f"{name} {value:.3f}")
        return "  ".join(shown)

    def plain(self, record: Record) -> None:
        typer.echo(f"step {record.step}/{self.total}  {self.status(record)}")

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
