"""``hanstack ask`` (grounded answers with citations) and ``hanstack eval answers``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from hanstack.cli._common import JSON_OPTION_HELP, console, err_console, eval_group, print_json, state
from hanstack.config import AnswerabilityMethod

if TYPE_CHECKING:
    from hanstack.answer.schema import Answer

ASK_HELP = """Answer a question from your documents, with a citation for every claim.

Examples:

  hanstack ask "대통령의 임기는 몇 년인가요?"

  hanstack ask "국회의원의 임기는?" --model large --k 5 --json

  hanstack ask "연차휴가 규정" --tenant acme --group hr --group legal

  hanstack ask "대통령의 임기는?" --answerability likelihood --json

Every claim is checked against the passage it cites; unsupported claims are removed, and when
nothing supported remains the answer says so ("문서에서 근거를 찾을 수 없습니다") with what was
searched. Without a model (--model extractive, or none pulled) the answer quotes source sentences
verbatim and is labelled extractive.

--answerability likelihood (opt-in; setting answer.answerability) decides whether the passages
answer the question by query likelihood with the large model instead of the lexical gate (measured:
fewer answerable questions refused and more unanswerable ones), at ~40 s more per question on a CPU.
Without a pulled large model the gate decides, and the answer says so.
"""


def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question, in Korean or English.")],
    tenant: Annotated[
        str | None, typer.Option("--tenant", "-t", help="Tenant to search (default: settings).")
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option("--group", "-g", help="ACL group of the asker (repeatable; default: public)."),
    ] = None,
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="small | large | auto | extractive | a registered model name."),
    ] = "auto",
    k: Annotated[int, typer.Option("--k", help="Passages to retrieve.", min=1, max=50)] = 5,
    answerability: Annotated[
        AnswerabilityMethod | None,
        typer.Option(
            "--answerability",
            help="What decides whether the documents answer: gate (lexical+dense, instant) or "
            "likelihood (query likelihood with the large model, ~40 s on CPU; opt-in). "
            "Default: setting answer.answerability (gate).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    from hanstack.answer import Answerer

    settings = state(ctx).settings()
    answerer = Answerer(settings, model=model, k=k, answerability=answerability)
    try:
        answer = answerer.ask(question, tenant=tenant, groups=group, model=model, k=k)
    finally:
        answerer.close()
    if as_json:
        print_json(answer)
        return
    if answer.mode == "extractive" and model != "extractive" and answer.model.attempts:
        err_console.print(
            f"[yellow]model {model!r} not available ({'; '.join(answer.model.attempts[:-1]) or 'none pulled'}); "
            "answered extractively — pull one with: hanstack models pull small[/]"
        )
    check = answer.answerability
    if check is not None and check.fallback_reason:
        err_console.print(f"[yellow]{escape(check.fallback_reason)}[/]")
    render_answer(answer)


def render_answer(answer: Answer) -> None:
    """The answer, each claim with its [S1] citations, then the sources with the exact quoted spans."""
    if answer.abstained:
        body = Text(answer.text, style="yellow")
        if answer.abstain_reason:
            body.append(f"\n이유: {answer.abstain_reason}", style="dim")
        console.print(Panel(body, title="답변 없음 (abstained)", border_style="yellow"))
    else:
        body = Text()
        if answer.label:
            body.append(answer.label + "\n\n", style="bold magenta")
        for i, claim in enumerate(answer.claims, 1):
            ids = "".join(f"[{c.source_id}]" for c in claim.citations)
            body.append(f"{i}. {claim.text} ")
            body.append(ids, style="bold cyan")
            body.append("\n")
        title = "추출식 답변 (extractive)" if answer.mode == "extractive" else "답변"
        console.print(Panel(body, title=title, border_style="magenta" if answer.label else "green"))
    cited = {c.source_id: c for claim in answer.claims for c in claim.citations}
    if cited:
        console.print("[bold]근거 (sources)[/]")
    by_id = {s.id: s for s in answer.sources}
    for claim in answer.claims:
        for c in claim.citations:
            src = by_id.get(c.source_id)
            where = [escape(c.title or c.source)]
            if c.title and c.title != c.source:
                where.append(f"[dim]{escape(c.source)}[/]")
            if c.page_start is not None:
                pages = (
                    str(c.page_start)
                    if c.page_end in (None, c.page_start)
                    else f"{c.page_start}-{c.page_end}"
                )
                where.append(f"p. {pages}")
            if c.section:
                where.append(escape(c.section))
            where.append(f"chars {c.doc_start}-{c.doc_end}")
            if src is not None and src.trust == "suspicious":
                where.append("[red]지시문 의심 문서(데이터로만 사용)[/]")
            console.print(f"  [bold cyan][{c.source_id}][/] " + " · ".join(where))
            console.print(f"      [green]“{escape(c.quote)}”[/]")
    if answer.removed_claims:
        console.print(f"[dim]확인되지 않아 제외된 주장 {len(answer.removed_claims)}개:[/]")
        for claim in answer.removed_claims:
            console.print(f"  [dim strike]{escape(claim.text)}[/] [dim]({escape(claim.reason or '')})[/]")
    check = answer.answerability
    if check is not None and check.method == "likelihood":
        console.print(
            f"[dim]answerability: query likelihood {check.score:.3f} "
            f"{'≥' if check.answerable else '<'} {check.threshold:g} "
            f"({escape(check.model or '')}, {check.passages} passages, {check.seconds:.1f}s)[/]"
        )
    m, t, tm = answer.model, answer.tokens, answer.timings
    model_line = m.name if not m.attempts else " → ".join(m.attempts)
    console.print(
        f"[dim]model {escape(model_line)} · tokens {t.prompt_tokens}+{t.completion_tokens} ({escape(t.tokenizer)}) · "
        f"{tm.total_s:.2f}s (retrieve {tm.retrieve_s:.2f}s, generate {tm.generate_s:.2f}s, check {tm.check_s:.2f}s)[/]"
    )


EVAL_HELP = """Evaluate grounded answers on a retrieval set with reference answers.

Default set: ../shared/data/retrieval/autorag_ko (corpus.jsonl + queries.jsonl). Reports citation
precision/recall, answer F1 and ROUGE-L on content morphemes, abstention on an unanswerable set (each
query's gold passage removed), faithfulness and latency p50/p95, per model.

Examples:

  hanstack eval answers --model extractive

  hanstack eval answers --model small --model large --limit 20 --seed 7 --out results.json
"""


def eval_answers(
    ctx: typer.Context,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Folder with corpus.jsonl and queries.jsonl (default: autorag_ko)."),
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Model(s) to evaluate (repeatable).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Evaluate a random subset of this many queries.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the subset.")] = 7,
    k: Annotated[int, typer.Option("--k", help="Passages to retrieve.")] = 5,
    unanswerable: Annotated[bool, typer.Option(help="Also run the gold-removed (unanswerable) set.")] = True,
    out: Annotated[Path | None, typer.Option("--out", help="Write the full report (JSON) here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    from hanstack.eval.answers import default_data_dir, evaluate_answers, write_report

    settings = state(ctx).settings()
    data_dir = data or default_data_dir()
    report = evaluate_answers(
        settings,
        data_dir,
        models=model or ["extractive"],
        limit=limit,
        seed=seed,
        k=k,
        unanswerable=unanswerable,
        progress=not as_json,
    )
    if out is not None:
        write_report(report, out)
        err_console.print(f"report written to {out}")
    if as_json:
        print_json(report["summary"])
        return
    _print_summary(report["summary"])


def _print_summary(summary: dict) -> None:
    from rich.table import Table

    table = Table(title="grounded answers")
    cols = [
        "model",
        "n",
        "cit_precision",
        "cit_recall",
        "f1",
        "rougeL",
        "abstain_unans",
        "false_abstain",
        "claims_supported",
        "unsupported_final",
        "p50_s",
        "p95_s",
    ]
    for c in cols:
        table.add_column(c)
    for name, row in summary.items():
        table.add_row(name, *[_fmt(row.get(c)) for c in cols[1:]])
    console.print(table)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "-" if v is None else str(v)


def register(app: typer.Typer) -> None:
    app.command("ask", help=ASK_HELP)(ask)
    eval_group(app).command("answers", help=EVAL_HELP)(eval_answers)
