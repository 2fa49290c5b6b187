"""Arguments and options that several commands share, and the flag-to-`--set` shorthands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

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


def opt(help_text: str, metavar: str) -> Any:
    return typer.Option(help=help_text, metavar=metavar, show_default=False)


def overrides(flags: dict[str, str | None], sets: list[str] | None) -> list[str]:
    """Flags first (those choosing a plugin before the rest), each a shorthand for one --set
    (seqnet.overrides.SHORTHANDS), validated by the same spec models; then --set in the order
    given (so --set wins over a flag)."""
    from seqnet.overrides import SHORTHANDS, plugins_first

    given = [f"{SHORTHANDS[name]}={value}" for name, value in flags.items() if value is not None]
    return plugins_first(given) + list(sets or [])


DirArg = Annotated[
    Path, typer.Argument(metavar="DIR", help="A run folder (from seqnet run --out).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE",
        help="A data file in the run's own form (for tasks that read files).",
        show_default=False,
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no examples.")]
CheckpointOpt = Annotated[
    str | None,
    typer.Option(
        "--checkpoint",
        metavar="last|best",
        help="Which checkpoint to read: the last, or the best evaluation's (train.keep best or"
        " both). Default: the best with train.keep best, else the last.",
        show_default=False,
    ),
]


def which_checkpoint(given: str | None) -> Any:
    """--checkpoint's value as seqnet.rundir.RunDir.load's `which` (None: `kept`)."""
    if given is None:
        return "kept"
    if given not in ("last", "best"):
        from seqnet.errors import SpecError

        raise SpecError(f"--checkpoint is last or best (got '{given}')")
    return given
