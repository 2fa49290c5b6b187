"""Commands about seqnet itself: `spec` (a task's default spec, the schema) and `plugins`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from seqnet.cli.app import app, fail, friendly
from seqnet.cli.options import SetOpt


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
    from seqnet import spec_files, specs
    from seqnet.plugins import default_registry
    from seqnet.runner import load_spec

    if schema:
        typer.echo(json.dumps(specs.json_schema(default_registry()), indent=2))
        return
    if spec is None:
        raise fail("name a task or a spec file, or pass --schema", 2)
    resolved = load_spec(spec, set_ or [])
    typer.echo(spec_files.dump(resolved, "json" if as_json else "yaml"), nl=as_json)


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
