"""``hanstack triage|extract|classify|summarize``: structured Korean tasks from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hanstack.cli._common import JSON_OPTION_HELP, console, print_json, state
from hanstack.errors import InvalidInputError

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Tier (tiny-test, small, large), catalog name, endpoint or auto."),
]
EscalateOpt = Annotated[
    bool, typer.Option("--escalate/--no-escalate", help="On invalid output, retry on the next pulled tier.")
]


def _read_text(value: str) -> str:
    """The argument itself, ``-`` for stdin, or ``@path`` for a file's contents."""
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        return _read_file(Path(value[1:]))
    return value


def _read_file(path: Path) -> str:
    from hanstack.korean.normalize import decode_bytes

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from exc
    return decode_bytes(data, source=str(path)).text


def _emit(result: Any, as_json: bool) -> None:
    payload = {
        "result": result.as_dict(),
        "model": result.model,
        "attempts": [
            {"model": a.model, "mode": a.mode, "ok": a.ok, "error": a.error} for a in result.attempts
        ],
    }
    if result.truncated_input:
        payload["truncated_input"] = True
    if as_json:
        print_json(payload)
        return
    for key, value in payload["result"].items():
        if isinstance(value, list):
            console.print(f"[bold]{key}[/]:")
            for item in value:
                console.print(f"  • {item}", markup=False, highlight=False)
        else:
            console.print(f"[bold]{key}[/]: ", end="")
            console.print(str(value), markup=False, highlight=False)
    console.print(f"[dim]model: {result.model}, attempts: {len(result.attempts)}[/]")


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def triage_cmd(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Customer message, '-' for stdin, or @file.")],
    categories: Annotated[
        str | None,
        typer.Option("--categories", help="Comma-separated category codes (default: telecom/finance set)."),
    ] = None,
    model: ModelOpt = None,
    escalate: EscalateOpt = True,
    as_json: JsonOpt = False,
) -> None:
    """Triage a customer-support message: intent, category, urgency, sentiment, summary, actions, needs_human."""
    from hanstack.tasks import triage

    settings = state(ctx).settings()
    cats = _split(categories) if categories else None
    _emit(
        triage(_read_text(text), settings=settings, model=model, categories=cats, escalate=escalate), as_json
    )


def extract_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Document to read (text; '-' for stdin).")],
    schema: Annotated[
        Path, typer.Option("--schema", "-s", help="JSON-schema file of the fields to extract.")
    ],
    model: ModelOpt = None,
    escalate: EscalateOpt = True,
    as_json: JsonOpt = False,
) -> None:
    """Extract the fields of a JSON schema from a document."""
    from hanstack.tasks import extract

    settings = state(ctx).settings()
    doc = sys.stdin.read() if str(file) == "-" else _read_file(file)
    _emit(extract(doc, schema, settings=settings, model=model, escalate=escalate), as_json)


def classify_cmd(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Text to classify, '-' for stdin, or @file.")],
    labels: Annotated[
        str, typer.Option("--labels", "-l", help="Comma-separated labels, e.g. 칭찬,불만,문의.")
    ],
    model: ModelOpt = None,
    escalate: EscalateOpt = True,
    as_json: JsonOpt = False,
) -> None:
    """Classify a text into one of the given labels."""
    from hanstack.tasks import classify

    settings = state(ctx).settings()
    _emit(
        classify(_read_text(text), _split(labels), settings=settings, model=model, escalate=escalate), as_json
    )


def summarize_cmd(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Text, '-' for stdin, or @file.")],
    budget: Annotated[
        int, typer.Option("--budget", "-b", help="Token budget of the summary (model's tokenizer).")
    ] = 120,
    bullets: Annotated[int, typer.Option("--bullets", help="Most bullets.")] = 5,
    model: ModelOpt = None,
    escalate: EscalateOpt = True,
    as_json: JsonOpt = False,
) -> None:
    """Summarize a text as bullets within a token budget."""
    from hanstack.tasks import summarize

    settings = state(ctx).settings()
    res = summarize(
        _read_text(text),
        budget_tokens=budget,
        max_bullets=bullets,
        settings=settings,
        model=model,
        escalate=escalate,
    )
    _emit(res, as_json)


def register(app: typer.Typer) -> None:
    app.command("triage")(triage_cmd)
    app.command("extract")(extract_cmd)
    app.command("classify")(classify_cmd)
    app.command("summarize")(summarize_cmd)
