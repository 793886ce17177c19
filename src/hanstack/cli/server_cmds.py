"""``hanstack serve``, ``hanstack keys create|list|revoke``, ``hanstack audit verify|export|erase|retain``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from hanstack.cli._common import JSON_OPTION_HELP, console, err_console, print_json, state

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)]

keys_app = typer.Typer(
    help="API keys of the gateway: shown once, stored hashed, revocable.", no_args_is_help=True
)
audit_app = typer.Typer(
    help="The tamper-evident audit log: verify, export, erase, retain.", no_args_is_help=True
)


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default server.host, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default server.port, 8000).")] = None,
    audit_fsync: Annotated[
        bool, typer.Option("--audit-fsync", help="fsync each audit batch (survives power loss; slower).")
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Run the gateway (one process; OpenAI-compatible API, hanstack routes, console at /console/).

    Examples:
      hanstack serve
      hanstack serve --host 0.0.0.0 --port 8080 --audit-fsync
    """
    try:
        import uvicorn
    except ImportError as exc:
        from hanstack.errors import MissingDependencyError

        raise MissingDependencyError("uvicorn", "server", "hanstack serve") from exc
    from hanstack.server.app import create_app

    settings = state(ctx).settings()
    app = create_app(settings, audit_durability="fsync" if audit_fsync else "os")
    h, p = host or settings.server.host, port or settings.server.port
    err_console.print(
        f"hanstack gateway on http://{h}:{p}  (console: http://{h}:{p}/console/, workspace {settings.home})"
    )
    uvicorn.run(app, host=h, port=p, log_level=log_level, workers=1, timeout_keep_alive=30)


# --- keys --------------------------------------------------------------------------------------
def _store(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from hanstack.auth import KeyStore

    settings = state(ctx).settings()
    settings.ensure_home()
    return KeyStore(settings.keys_path)


def keys_create(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Tenant the key belongs to.")],
    role: Annotated[
        str, typer.Option(help="user or admin (admin also reads the tenant's audit log).")
    ] = "user",
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    expires_days: Annotated[
        float | None, typer.Option("--expires-days", help="Days until the key expires.")
    ] = None,
    groups: Annotated[
        str, typer.Option(help="Comma-separated access groups (besides public) the key may read.")
    ] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create a key. The secret is printed once and never stored.

    Example: hanstack keys create --tenant acme --role admin --groups legal,hr --expires-days 90
    """
    info, secret = _store(ctx).create(
        tenant=tenant, role=role, name=name, expires_in_days=expires_days, groups=groups.split(",")
    )
    if as_json:
        print_json({**info.to_dict(), "key": secret})
        return
    console.print(f"key id [bold]{info.key_id}[/] for tenant [bold]{info.tenant}[/] ({info.role})")
    console.print(f"[bold green]{secret}[/]")
    err_console.print("[yellow]store it now: it is shown only once[/]")


def keys_list(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Only this tenant.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List keys (ids, tenants, roles, status; never secrets).

    Example: hanstack keys list --tenant acme
    """
    keys = _store(ctx).list(tenant)
    if as_json:
        print_json([k.to_dict() for k in keys])
        return
    from rich.table import Table

    table = Table("key id", "tenant", "role", "groups", "name", "created", "expires", "status")
    for k in keys:
        table.add_row(
            k.key_id,
            k.tenant,
            k.role,
            ",".join(k.groups) or "-",
            k.name,
            k.created_at[:19],
            (k.expires_at or "-")[:19],
            k.status,
        )
    console.print(table)


def keys_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="Key id (or the whole key).")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key; a running gateway refuses it from the next request on.

    Example: hanstack keys revoke 3f2a9c1b7e4d
    """
    info = _store(ctx).revoke(key_id)
    if as_json:
        print_json(info.to_dict())
    else:
        console.print(f"revoked {info.key_id} ({info.tenant})")


# --- audit -------------------------------------------------------------------------------------
def _audit_dir(ctx: typer.Context) -> Path:
    return state(ctx).settings().audit_dir


def audit_verify(
    ctx: typer.Context,
    expect_head: Annotated[
        str | None, typer.Option(help="A head hash you recorded earlier (detects a truncated end).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify the hash chain, MACs, erasures and the retention checkpoint; exit 7 on any problem.

    Example: hanstack audit verify --json
    """
    from hanstack.audit import load_or_create_key, verify_log
    from hanstack.errors import AuditIntegrityError

    directory = _audit_dir(ctx)
    key = load_or_create_key(directory) if (directory / "audit.key").exists() else None
    report = verify_log(directory, key=key, expect_head=expect_head)
    if as_json:
        print_json(report.to_dict())
    else:
        status = "[bold green]OK[/]" if report.ok else "[bold red]TAMPERED[/]"
        console.print(
            f"{status}  records {report.records}  seq {report.first_seq}..{report.last_seq}  erased {report.erased}"
        )
        console.print(f"head {report.head}")
        if report.checkpoint:
            console.print(
                f"retention checkpoint: {report.checkpoint.get('dropped_count')} records dropped before seq {report.checkpoint['seq'] + 1}"
            )
        for p in report.problems:
            console.print(f"  line {p.line} seq {p.seq}: {p.problem}")
    if not report.ok:
        raise AuditIntegrityError(f"audit log failed verification ({len(report.problems)} problem(s))")


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    from hanstack.errors import InvalidInputError

    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInputError(
            f"--since {value!r} is not an ISO date", hint="e.g. 2026-01-31 or 2026-01-31T09:00:00Z"
        ) from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def audit_export(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="Only records at or after this ISO date/time.")] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Only this tenant.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default stdout).")
    ] = None,
) -> None:
    """Export whole records (hashes included) as JSONL.

    Example: hanstack audit export --since 2026-01-01 -o audit-2026.jsonl
    """
    from hanstack.audit import export_jsonl

    kw = {"since": _parse_since(since), "tenant": tenant}
    if output is None:
        export_jsonl(_audit_dir(ctx), sys.stdout, **kw)
        return
    with output.open("w", encoding="utf-8") as fh:
        n = export_jsonl(_audit_dir(ctx), fh, **kw)
    err_console.print(f"{n} records → {output}")


def audit_erase(
    ctx: typer.Context,
    subject: Annotated[str, typer.Option(help="The data subject: phone, email, name or user id as sent.")],
    reason: Annotated[str, typer.Option(help="Recorded with the erasure.")] = "data subject request",
    as_json: JsonOpt = False,
) -> None:
    """Erase a data subject's raw data from the log (PIPA); the chain stays verifiable.

    Example: hanstack audit erase --subject 010-1234-5678
    """
    from hanstack.audit import erase_subject

    report = erase_subject(_audit_dir(ctx), subject, reason=reason)
    if as_json:
        print_json(
            {"erasure_id": report.erasure_id, "subject_tag": report.subject_tag, "erased_seqs": report.seqs}
        )
    else:
        console.print(
            f"erased the content of {len(report.seqs)} record(s)"
            + (f" (erasure {report.erasure_id})" if report.seqs else "")
        )


def audit_retain(
    ctx: typer.Context,
    days: Annotated[
        float | None, typer.Option(help="Keep this many days (default audit.retention_days).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Drop records older than the retention period behind a signed checkpoint.

    Example: hanstack audit retain --days 365
    """
    from hanstack.audit import apply_retention

    settings = state(ctx).settings()
    report = apply_retention(
        settings.audit_dir, days=days if days is not None else settings.audit.retention_days
    )
    if as_json:
        print_json(
            {
                "dropped": report.dropped,
                "kept": report.kept,
                "cutoff": report.cutoff,
                "checkpoint": report.checkpoint,
            }
        )
    else:
        console.print(f"dropped {report.dropped}, kept {report.kept} (cutoff {report.cutoff})")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    keys_app.command("create")(keys_create)
    keys_app.command("list")(keys_list)
    keys_app.command("revoke")(keys_revoke)
    app.add_typer(keys_app, name="keys")
    audit_app.command("verify")(audit_verify)
    audit_app.command("export")(audit_export)
    audit_app.command("erase")(audit_erase)
    audit_app.command("retain")(audit_retain)
    app.add_typer(audit_app, name="audit")
