"""``hanstack ingest``, ``hanstack sync`` and ``hanstack docs list|show|rm``."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hanstack.cli._common import JSON_OPTION_HELP, console, print_json, state

if TYPE_CHECKING:
    from collections.abc import Iterator

    from hanstack.config import Settings
    from hanstack.ingest.pipeline import IngestOptions, Ingestor, IngestReport

docs_app = typer.Typer(help="Browse and remove ingested documents.", no_args_is_help=True)

TenantOpt = Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant that owns the documents.")]
AclOpt = Annotated[
    list[str] | None,
    typer.Option("--acl", "-g", help="Group allowed to read the documents (repeatable). Default: public."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)]


def open_index(settings: Settings) -> Any | None:
    """The search index of the workspace, when the retrieval extra is installed."""
    try:
        from hanstack.store import open_store
    except ImportError:
        return None
    return open_store(settings)


@contextmanager
def ingestor(
    settings: Settings, *, with_index: bool = True, show_progress: bool = True
) -> Iterator[Ingestor]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hanstack.ingest.pipeline import Ingestor
    from hanstack.ingest.registry import Registry

    settings.ensure_home()
    index = open_index(settings) if with_index else None
    registry = Registry(settings.db_path)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not show_progress,
    )
    tasks: dict[str, Any] = {}

    def on_progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            label = {"files": "reading and analysing files", "index": "embedding and indexing chunks"}[stage]
            tasks[stage] = progress.add_task(label, total=total)
        progress.update(tasks[stage], completed=done, total=max(total, done))

    try:
        with progress:
            yield Ingestor(settings, registry, index=index, progress=on_progress)
    finally:
        registry.close()
        if index is not None and hasattr(index, "close"):
            index.close()


def _options(settings: Settings, tenant: str | None, acl: list[str] | None, trust: str) -> IngestOptions:
    from hanstack.ingest.models import Trust
    from hanstack.ingest.pipeline import IngestOptions

    try:
        trust_value = Trust(trust)
    except ValueError:
        from hanstack.errors import InvalidInputError

        raise InvalidInputError(
            f"unknown trust label {trust!r}", hint="use trusted, untrusted or suspicious"
        ) from None
    return IngestOptions(
        tenant=tenant or settings.ingest.default_tenant,
        acl=tuple(acl or settings.ingest.default_acl),
        trust=trust_value,
    )


def print_report(report: IngestReport, *, as_json: bool) -> None:
    if as_json:
        print_json(report)
        return
    from rich.table import Table

    table = Table(title="ingestion", show_header=False)
    table.add_row("files", str(report.files))
    table.add_row(
        "documents new / updated / unchanged / removed",
        f"{report.documents_new} / {report.documents_updated} / {report.documents_unchanged} / {report.documents_removed}",
    )
    table.add_row("chunks written / indexed", f"{report.chunks_written} / {report.chunks_indexed}")
    table.add_row("failed", str(len(report.failed)))
    table.add_row("seconds", f"{report.seconds:.1f}")
    console.print(table)
    for failure in report.failed:
        console.print(
            f"[red]failed[/] {failure.source}: {failure.message}"
            + (f" [dim]({failure.hint})[/]" if failure.hint else "")
        )


def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    tenant: TenantOpt = None,
    acl: AclOpt = None,
    trust: Annotated[str, typer.Option(help="Trust label: trusted, untrusted or suspicious.")] = "untrusted",
    no_index: Annotated[
        bool, typer.Option("--no-index", help="Only chunk into the registry; skip the search index.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Ingest files and folders (txt, md, html, pdf, docx, hwpx, hwp, jsonl).

    Example: [bold]hanstack ingest ./규정 --tenant acme --acl 인사팀 --acl 경영지원[/]
    """
    settings = state(ctx).settings()
    with ingestor(settings, with_index=not no_index, show_progress=not as_json) as ing:
        report = ing.ingest(paths, _options(settings, tenant, acl, trust))
    print_report(report, as_json=as_json)
    if report.failed and report.files == len(report.failed):
        raise typer.Exit(4)


def sync(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Folder to mirror.")],
    tenant: TenantOpt = None,
    acl: AclOpt = None,
    trust: Annotated[str, typer.Option(help="Trust label: trusted, untrusted or suspicious.")] = "untrusted",
    as_json: JsonOpt = False,
) -> None:
    """Mirror a folder: ingest new and changed files, remove documents whose files are gone.

    Example: [bold]hanstack sync ~/shared/규정집 --tenant acme[/]
    """
    settings = state(ctx).settings()
    with ingestor(settings, show_progress=not as_json) as ing:
        report = ing.sync(folder, _options(settings, tenant, acl, trust))
    print_report(report, as_json=as_json)


@docs_app.command("list")
def docs_list(ctx: typer.Context, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """List ingested documents.

    Example: [bold]hanstack docs list --tenant acme --json[/]
    """
    from hanstack.ingest.registry import Registry

    settings = state(ctx).settings()
    with Registry(settings.db_path) as reg:
        docs = reg.list(tenant=tenant)
        stats = reg.stats()
    if as_json:
        print_json({"documents": docs, "totals": stats})
        return
    from rich.table import Table

    table = Table(title=f"{stats['documents']} documents, {stats['chunks']} chunks, {stats['tokens']} tokens")
    for col in ("id", "tenant", "title", "format", "chunks", "version", "acl", "source"):
        table.add_column(col)
    for d in docs:
        table.add_row(
            d.doc_id[:12],
            d.tenant,
            d.title or "",
            d.format,
            str(d.chunk_count),
            str(d.version),
            ",".join(d.acl),
            _short(d.source),
        )
    console.print(table)


@docs_app.command("show")
def docs_show(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(help="Document id (or a unique prefix of 6+ characters), or a chunk id with --chunk."),
    ],
    chunk: Annotated[
        bool, typer.Option("--chunk", help="REF is a chunk id: print its exact source span.")
    ] = False,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a document and its chunks, or the exact source span of one chunk.

    Example: [bold]hanstack docs show 3f2a9c1b --json[/]  ·  [bold]hanstack docs show --chunk 9e1f...[/]
    """
    from hanstack.ingest.registry import Registry

    settings = state(ctx).settings()
    with Registry(settings.db_path) as reg:
        if chunk:
            c = reg.chunk(ref)
            if tenant is not None and c.provenance.tenant != tenant:
                from hanstack.errors import NotFoundError

                raise NotFoundError(f"no chunk {ref!r} in tenant {tenant!r}")
            span = reg.document_text(c.doc_id)[c.provenance.char_start : c.provenance.char_end]
            if as_json:
                print_json({"chunk": c, "source_span": span})
                return
            p = c.provenance
            console.print(
                f"[bold]{p.title or p.source}[/]  {p.section}  page {p.pages or '-'}  chars {p.char_start}-{p.char_end}"
            )
            console.print(f"[dim]{p.source}[/]")
            console.print(span, markup=False, highlight=False)
            return
        doc = reg.get(reg.resolve_prefix(ref, tenant=tenant) if len(ref) < 24 else ref, tenant=tenant)
        chunks = reg.chunks(doc.doc_id)
    if as_json:
        print_json({"document": doc, "chunks": chunks})
        return
    console.print(
        f"[bold]{doc.title}[/] ({doc.format}, v{doc.version}, {doc.chunk_count} chunks) tenant={doc.tenant} acl={','.join(doc.acl)} trust={doc.trust.value}"
    )
    console.print(f"[dim]{doc.source}  sha256 {doc.content_sha256[:16]}…  {doc.ingested_at}[/]")
    for c in chunks:
        p = c.provenance
        head = c.text[:80].replace("\n", " ")
        console.print(
            f"[cyan]{c.chunk_id[:12]}[/] #{c.ordinal} [{p.section or '-'}] p{p.pages or '-'} {c.token_count} tok  {head}",
            markup=True,
            highlight=False,
        )


@docs_app.command("rm")
def docs_rm(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Document id or a unique prefix.")],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a document and its chunks from the registry and the index.

    Example: [bold]hanstack docs rm 3f2a9c1b[/]
    """
    settings = state(ctx).settings()
    with ingestor(settings, show_progress=False) as ing:
        doc_id = ing.registry.resolve_prefix(ref, tenant=tenant) if len(ref) < 24 else ref
        ing.registry.get(doc_id, tenant=tenant)
        ing.remove(doc_id)
    if as_json:
        print_json({"removed": doc_id})
    else:
        console.print(f"removed {doc_id}")


@docs_app.command("reindex")
def docs_reindex(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Rebuild the search index from the registry: after an upgrade changed the index format
    (the error says so), after changing the embedder or BM25 settings, or when the index is
    damaged. Deletes the index, then embeds and indexes every registered chunk again; documents
    and their chunks stay as they are (no file is re-read).

    Example: [bold]hanstack docs reindex[/]
    """
    from hanstack.ingest.pipeline import IngestReport
    from hanstack.ingest.registry import Registry
    from hanstack.store import Store, drop_index

    settings = state(ctx).settings()
    settings.ensure_home()
    dropped = drop_index(settings)
    registry = Registry(settings.db_path)
    try:
        registry.mark_all_unindexed()
    finally:
        registry.close()
    report = IngestReport()
    with ingestor(settings, show_progress=not as_json) as ing:
        ing.sync_index(report)
        if isinstance(ing.index, Store):
            ing.index.optimize()  # build the HNSW graph now, not on some later write
    if as_json:
        print_json({"dropped": dropped, "chunks_indexed": report.chunks_indexed})
    else:
        console.print(f"rebuilt the index ({dropped}): {report.chunks_indexed} chunks indexed")


def _short(source: str, width: int = 60) -> str:
    return source if len(source) <= width else "…" + source[-(width - 1) :]


def register(app: typer.Typer) -> None:
    app.command()(ingest)
    app.command()(sync)
    app.add_typer(docs_app, name="docs")
