"""Shared CLI plumbing: the per-invocation state, consoles and ``--json`` output."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from hanstack.config import Settings

console = Console()
err_console = Console(stderr=True)

JSON_OPTION_HELP = "Print machine-readable JSON instead of a table."


@dataclass
class State:
    """What the root callback knows; settings are built on first use (keeps ``--help`` fast)."""

    workspace: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            from hanstack.config import load_settings

            self._settings = load_settings(self.workspace)
        return self._settings


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):  # commands invoked without the root callback (tests)
        obj = State()
        ctx.find_root().obj = obj
    return obj


def to_jsonable(value: Any) -> Any:
    """pydantic models, dataclasses and paths to plain JSON values."""
    from dataclasses import asdict, is_dataclass

    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    """Korean stays Korean: no ``\\uXXXX`` escapes."""
    typer.echo(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2))


def eval_group(app: typer.Typer) -> typer.Typer:
    """The shared ``hanstack eval`` group: each domain adds its evaluation to the same group."""
    for info in app.registered_groups:
        if info.name == "eval" and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help="Evaluate retrieval, answers and guards on labelled sets.", no_args_is_help=True)
    app.add_typer(group, name="eval")
    return group
