"""The Typer app of the `seqnet` command and its one-line error handling: a leaf module.

Each command group registers itself on `app` from its own module (seqnet.cli.train, .runs,
.info, .sample, .sweep, .bench); seqnet.cli imports them all.
"""

from __future__ import annotations

import functools
import signal
import warnings
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

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


class SignalScope:
    """Inside a `with` block, SIGINT and SIGTERM go to `self.handle` (main thread only); after
    it the previous handlers return, unless a signal came (`self.received`): the process is
    then on its way out, and a late Ctrl-C must not cut the exit short with a traceback from
    interpreter shutdown, so both stay ignored."""

    received: object = None

    def handle(self, signum: int, frame: Any) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        self.previous: dict[int, Any] = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self.handle)
        except ValueError:  # not the main thread: leave the signals alone
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, signal.SIG_IGN if self.received else handler)
