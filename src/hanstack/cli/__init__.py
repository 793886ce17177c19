"""The ``hanstack`` command: a thin shell over the library.

Each domain keeps its commands in a module of this package that exposes ``register(app)``;
this file only wires them in and maps :class:`HanstackError` to a message and an exit code (the
one place besides the server where a broad ``except`` is allowed).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from hanstack.cli._common import State, err_console
from hanstack.errors import HanstackError

# Modules that contribute commands, in help order. A module that is not there is skipped, so a
# domain can land on its own.
COMMAND_MODULES = (
    "hanstack.cli.ingest_cmds",
    "hanstack.cli.search_cmds",
    "hanstack.cli.answer_cmds",
    "hanstack.cli.model_cmds",
    "hanstack.cli.task_cmds",
    "hanstack.cli.token_cmds",
    "hanstack.cli.guard_cmds",
    "hanstack.cli.server_cmds",
    "hanstack.cli.demo_cmds",
)

app = typer.Typer(
    name="hanstack",
    help="hanstack: a Korean-first, sovereign AI stack (ingest, search, ask, guard, serve).",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace folder (default: $HANSTACK_HOME or ~/.local/share/hanstack).",
            envvar="HANSTACK_HOME",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at INFO level to stderr.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    ctx.obj = State(workspace=workspace)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        module.register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turning hanstack errors into clean exits.

    ``standalone_mode=False`` lets the hanstack errors reach this function, but it also changes
    what click does with the rest: ``typer.Exit(code)`` comes back as the *return value* (so it
    is passed on here, or ``guard check`` flagging an attack would exit 0), and usage errors come
    back as exceptions for this function to show.
    """
    try:
        code = app(args=argv, standalone_mode=False)
    except HanstackError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}")
        if exc.hint:
            err_console.print(f"[yellow]hint:[/] {exc.hint}")
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # the CLI edge: never a bare traceback for a user
        usage = _click_exception_exit_code(exc)
        if usage is not None:
            sys.exit(usage)
        err_console.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}")
        err_console.print("[yellow]hint:[/] rerun with --verbose and report it with the command line")
        if logging.getLogger().isEnabledFor(logging.INFO):
            raise
        sys.exit(70)
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        sys.exit(code)


def _click_exception_exit_code(exc: Exception) -> int | None:
    """Show a click usage error (a bad option value, an unknown command) the way click does and
    return its exit code (2); ``None`` for anything else.

    Matched by class name along the MRO because typer >= 0.20 raises the exceptions of its own
    vendored copy of click (``typer._click``), which ``isinstance(exc, click.ClickException)``
    does not recognise: a bad ``--k`` used to be reported as an "internal error".
    """
    if not any(c.__name__ == "ClickException" for c in type(exc).__mro__):
        return None
    show = getattr(exc, "show", None)
    if callable(show):
        show()
    code = getattr(exc, "exit_code", 2)
    return code if isinstance(code, int) else 2
