"""Rendering a :class:`~hanstack.tokenizers.stats.StatsReport`: JSON, CSV, a Rich table, a chart."""

from __future__ import annotations

import csv
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hanstack.errors import InvalidInputError, MissingDependencyError
from hanstack.tokenizers.stats import StatsReport, TokenizerStats

CSV_COLUMNS = (
    "name",
    "vocab_size",
    "tokens",
    "tokens_per_sentence",
    "chars_per_token",
    "bytes_per_token",
    "fertility_eojeol",
    "fertility_morpheme",
    "premium",
    "english_tokens",
    "byte_fallback_share",
    "roundtrip_exact",
    "nfd_penalty",
    "price_per_mtok",
    "cost_per_m_chars",
    "chars_in_8k",
    "chars_in_32k",
    "chars_in_128k",
    "seconds",
    "source",
)


def report_to_dict(report: StatsReport) -> dict[str, Any]:
    return {
        "corpus": asdict(report.corpus),
        "prices": {
            "date": report.prices_date,
            "source": report.prices_source,
            "currency": report.currency,
            "illustrative": report.prices_source.startswith("built-in"),
        },
        "timings": report.timings,
        "tokenizers": [asdict(r) for r in report.rows],
    }


def _flat_row(row: TokenizerStats) -> dict[str, Any]:
    out = asdict(row)
    for key, value in out.pop("chars_in_context").items():
        out[f"chars_in_{key}"] = value
    return out


def write_csv(report: StatsReport, path: Path) -> Path:
    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            for row in report.rows:
                writer.writerow({k: v for k, v in _flat_row(row).items() if k in CSV_COLUMNS})
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror}") from exc
    return path


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def _kilo(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def rich_table(report: StatsReport) -> Any:
    from rich.table import Table

    c = report.corpus
    morph = f", {c.morphemes:,} morphemes" if c.morphemes else ""
    table = Table(
        title=f"Tokenizer cost on {c.name or 'the corpus'}: {c.sentences:,} sentences, {c.chars:,} chars, "
        f"{c.eojeols:,} eojeol{morph}",
        caption=(
            f"cost: {report.currency} per 1M characters (input), prices from the {report.prices_source}"
            f"{' dated ' + report.prices_date if report.prices_date else ''}"
            if report.prices_source
            else None
        ),
    )
    columns = [
        ("tokenizer", "left"),
        ("vocab", "right"),
        ("tok\n/sent", "right"),
        ("chars\n/tok", "right"),
        ("bytes\n/tok", "right"),
        ("tok\n/eojeol", "right"),
        ("tok\n/morph", "right"),
        ("premium\n×EN", "right"),
        ("byte\nfrag", "right"),
        ("round\ntrip", "right"),
        ("NFD\n×", "right"),
        (f"{report.currency}\n/1M chars", "right"),
        ("chars in\n8k/32k/128k", "right"),
    ]
    for title, justify in columns:
        table.add_column(title, justify=justify)  # type: ignore[arg-type]
    # the tokenizer's name is what a reader scans for, and the context triple reads as one value
    table.columns[0].no_wrap = True
    table.columns[0].min_width = max(len(r.name) for r in report.rows)
    table.columns[-1].no_wrap = True
    for r in sorted(report.rows, key=lambda r: -r.bytes_per_token):
        ctx = r.chars_in_context
        table.add_row(
            r.name,
            f"{r.vocab_size:,}",
            f"{r.tokens_per_sentence:.1f}",
            f"{r.chars_per_token:.2f}",
            f"{r.bytes_per_token:.2f}",
            f"{r.fertility_eojeol:.2f}",
            _fmt(r.fertility_morpheme, ".2f"),
            _fmt(r.premium, ".2f"),
            f"{r.byte_fallback_share:.1%}",
            f"{r.roundtrip_exact:.0%}",
            f"{r.nfd_penalty:.2f}",
            _fmt(r.cost_per_m_chars, ".3f"),
            "/".join(_kilo(ctx[k]) for k in ("8k", "32k", "128k")),
        )
    return table


def write_chart(report: StatsReport, path: Path) -> Path:
    """A two-panel bar chart, best tokenizer on top: Korean tokens per 1,000 characters (with the
    premium over English when known), and cost per million characters."""
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise InvalidInputError(f"chart file {path.name} must end in .png or .svg")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependencyError("matplotlib", "tokenizers", "Drawing the chart") from exc

    rows = sorted(report.rows, key=lambda r: r.chars_per_token)  # barh draws bottom-up: best on top
    names = [r.name for r in rows]
    per_k = [1000 / r.chars_per_token for r in rows]
    costs = [r.cost_per_m_chars for r in rows]
    has_cost = any(v is not None for v in costs)
    fig, axes = plt.subplots(
        1, 2 if has_cost else 1, figsize=(13 if has_cost else 8, 0.55 * len(rows) + 1.8), squeeze=False
    )
    ax = axes[0][0]
    bars = ax.barh(names, per_k, color="#3b6ea8")
    best = min(per_k)
    for bar, r, v in zip(bars, rows, per_k, strict=True):
        label = f"{v:,.0f}"
        if r.premium is not None:
            label += f"  ({r.premium:.2f}× English)"
        elif best:
            label += f"  ({v / best:.2f}× best)"
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + label, va="center", fontsize=9)
    ax.set_xlabel("tokens per 1,000 Korean characters (lower is better)")
    ax.set_xlim(0, max(per_k) * 1.45)
    ax.set_title("Token count" + (" and premium over English" if any(r.premium for r in rows) else ""))
    ax.grid(axis="x", alpha=0.3)
    if has_cost:
        cx = axes[0][1]
        values = [v or 0.0 for v in costs]
        cbars = cx.barh(names, values, color="#c0703a")
        for bar, cost in zip(cbars, costs, strict=True):
            text = "no price" if cost is None else f"{report.currency} {cost:.3f}"
            cx.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + text, va="center", fontsize=9)
        cx.set_xscale("symlog", linthresh=0.1)
        cx.set_xlim(0, max(values) * 4 if max(values) > 0 else 1)
        cx.set_xlabel(f"{report.currency} per 1M Korean characters (input, log scale)")
        dated = f" of {report.prices_date}" if report.prices_date else ""
        cx.set_title(f"Input cost (illustrative list prices{dated})")
        cx.grid(axis="x", alpha=0.3)
    c = report.corpus
    fig.suptitle(f"{c.name or 'corpus'}: {c.sentences:,} sentences, {c.chars:,} characters", fontsize=11)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=130)
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror}") from exc
    finally:
        plt.close(fig)
    return path
