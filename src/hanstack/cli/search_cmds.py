"""``hanstack search`` and ``hanstack eval retrieval``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from hanstack.cli._common import JSON_OPTION_HELP, console, eval_group, print_json, state

if TYPE_CHECKING:
    from hanstack.config import Settings
    from hanstack.eval.retrieval import RetrievalReport
    from hanstack.retrieve.retriever import Fusion, Mode, SearchHit

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)]
ModeOpt = Annotated[
    str, typer.Option("--mode", "-m", help="bm25 (keywords), dense (vectors) or hybrid (both, fused).")
]
FusionOpt = Annotated[
    str | None,
    typer.Option("--fusion", help="weighted (normalised scores) or rrf (ranks). Default: settings."),
]

SEARCH_HELP = """Search the workspace's documents (Korean BM25 + dense vectors, fused).

Quoted phrases are required; article references (제10조) and numbers are matched exactly.

Examples:

  hanstack search "은행업 인가 요건"

  hanstack search "\\"예비 인가\\" 절차" --k 5 --mode bm25

  hanstack search "개인정보 보호법 제15조" --tenant acme --group legal --group hr --json
"""

EVAL_HELP = """Evaluate retrieval on BEIR-like JSONL (nDCG@10, Recall@5/10/20, MRR@10, latency).

Corpus rows: {"doc_id", "text"}; query rows: {"qid", "query", "relevant_doc_ids"}. The corpus is
ingested into a throw-away workspace the way `hanstack ingest` would.

Examples:

  hanstack eval retrieval --corpus corpus.jsonl --queries queries.jsonl

  hanstack eval retrieval --corpus c.jsonl --queries q.jsonl --mode bm25 --tokenizer whitespace --json
"""


def _snippet(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    p = hit.provenance
    return {
        "rank": hit.rank,
        "score": round(hit.score, 6),
        "scores": {k: round(v, 6) for k, v in hit.scores.items()},
        "chunk_id": hit.chunk_id,
        "doc_id": hit.doc_id,
        "source": p.source,
        "title": p.title,
        "pages": p.pages,
        "section": p.section,
        "char_start": p.char_start,
        "char_end": p.char_end,
        "trust": p.trust.value,
        "matched_terms": list(hit.matched_terms),
        "text": hit.text,
    }


def _require_index(settings: Settings) -> None:
    from hanstack.errors import NotFoundError
    from hanstack.store.edge import META_FILE

    if settings.retrieval.store == "edge" and not (settings.index_dir / META_FILE).exists():
        raise NotFoundError(
            f"the workspace {settings.home} has no search index yet",
            hint="add documents first: hanstack ingest PATH",
        )


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for (quote phrases that must appear).")],
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=1000, help="Number of results.")] = 10,
    mode: ModeOpt = "hybrid",
    fusion: FusionOpt = None,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant to search in.")] = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Your ACL group (repeatable). Default: public.")
    ] = None,
    by_doc: Annotated[
        bool, typer.Option("--by-doc", help="One result per document (its best chunk).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    from hanstack.errors import InvalidInputError
    from hanstack.retrieve.retriever import MODES, Retriever

    if mode not in MODES:
        raise InvalidInputError(f"unknown --mode {mode!r}", hint="choose bm25, dense or hybrid")
    if fusion not in (None, "weighted", "rrf"):
        raise InvalidInputError(f"unknown --fusion {fusion!r}", hint="choose weighted or rrf")
    settings = state(ctx).settings()
    _require_index(settings)
    tenant = tenant or settings.ingest.default_tenant
    groups = group or list(settings.ingest.default_acl)
    retriever = Retriever(settings)
    try:
        hits = retriever.search(
            query,
            tenant=tenant,
            groups=groups,
            k=k,
            mode=cast("Mode", mode),
            fusion=cast("Fusion | None", fusion),
            group_by_doc=by_doc,
        )
    finally:
        retriever.close()
    if as_json:
        print_json({"query": query, "mode": mode, "tenant": tenant, "hits": [_hit_json(h) for h in hits]})
        return
    if not hits:
        console.print(f"no results for [bold]{query}[/] in tenant {tenant!r} with groups {', '.join(groups)}")
        return
    for h in hits:
        p = h.provenance
        where = p.source.rsplit("/", 1)[-1]
        if p.pages:
            where += f"  p.{p.pages}"
        if p.section:
            where += f"  {p.section}"
        console.print(f"[bold]{h.rank:>2}.[/] [cyan]{h.score:.3f}[/]  {where}", highlight=False, markup=True)
        console.print(f"    {_snippet(h.text)}", highlight=False, markup=False)
        if h.matched_terms:
            console.print(f"    [dim]matched: {', '.join(h.matched_terms)}[/]", highlight=False)


def eval_retrieval(
    ctx: typer.Context,
    corpus: Annotated[Path, typer.Option("--corpus", help="Corpus JSONL: doc_id, text.")],
    queries: Annotated[Path, typer.Option("--queries", help="Queries JSONL: qid, query, relevant_doc_ids.")],
    mode: ModeOpt = "hybrid",
    tokenizer: Annotated[
        str,
        typer.Option("--tokenizer", help="BM25 terms: kiwi-content (hanstack), kiwi-all, whitespace, mecab."),
    ] = "kiwi-content",
    fusion: FusionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    from hanstack.eval.retrieval import run_retrieval_eval

    settings = state(ctx).settings()
    with console.status("ingesting the corpus, indexing and searching ..."):
        report = run_retrieval_eval(
            corpus, queries, mode=mode, tokenizer_name=tokenizer, fusion=fusion, settings=settings
        )
    if as_json:
        print_json(report.summary())
        return
    _print_report(report)


def _print_report(report: RetrievalReport) -> None:
    from rich.table import Table

    table = Table(title=f"retrieval: mode={report.mode} tokenizer={report.tokenizer} fusion={report.fusion}")
    for col in ("queries", "nDCG@10", "R@5", "R@10", "R@20", "MRR@10", "p50 ms", "p95 ms"):
        table.add_column(col, justify="right")
    table.add_row(
        str(report.queries),
        f"{report.ndcg_10:.4f}",
        f"{report.recall_5:.4f}",
        f"{report.recall_10:.4f}",
        f"{report.recall_20:.4f}",
        f"{report.mrr_10:.4f}",
        f"{report.latency_p50_ms:.1f}",
        f"{report.latency_p95_ms:.1f}",
    )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("search", help=SEARCH_HELP)(search)
    eval_group(app).command("retrieval", help=EVAL_HELP)(eval_retrieval)
