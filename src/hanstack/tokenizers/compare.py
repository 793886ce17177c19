"""Token counts of several tokenizers on the same held-out text, relative to a baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hanstack.tokenizers.base import Tokenizer


@dataclass(frozen=True)
class CompareRow:
    tokenizer: str
    vocab_size: int
    tokens: int
    chars_per_token: float
    vs_baseline: float | None
    """tokens / baseline tokens (0.67 = 33% fewer)."""


@dataclass(frozen=True)
class Comparison:
    name: str
    items: int
    chars: int
    baseline: str | None
    rows: list[CompareRow]

    def row(self, tokenizer: str) -> CompareRow:
        return next(r for r in self.rows if r.tokenizer == tokenizer)


def compare_on(
    texts: Sequence[str], tokenizers: Sequence[Tokenizer], *, name: str = "", baseline: str | None = "gpt-4o"
) -> Comparison:
    chars = sum(len(t) for t in texts)
    counts = {tok.name: sum(tok.count_batch(list(texts))) for tok in tokenizers}
    base = counts.get(baseline) if baseline else None
    rows = [
        CompareRow(
            tok.name,
            tok.vocab_size,
            counts[tok.name],
            chars / max(counts[tok.name], 1),
            counts[tok.name] / base if base else None,
        )
        for tok in tokenizers
    ]
    return Comparison(
        name=name, items=len(texts), chars=chars, baseline=baseline if base else None, rows=rows
    )


def relative(ratio: float) -> str:
    """0.67 -> '33.0% fewer', 1.1 -> '10.0% more'."""
    return f"{1 - ratio:.1%} fewer" if ratio <= 1 else f"{ratio - 1:.1%} more"


def comparison_table(comp: Comparison) -> Any:
    from rich.table import Table

    table = Table(title=f"{comp.name}: {comp.items:,} items, {comp.chars:,} chars")
    for col in ("tokenizer", "vocab", "tokens", "chars/token", f"vs {comp.baseline or 'baseline'}"):
        table.add_column(col, justify="left" if col == "tokenizer" else "right")
    for r in sorted(comp.rows, key=lambda r: r.tokens):
        rel = "–" if r.vs_baseline is None else f"{r.vs_baseline:.3f} ({relative(r.vs_baseline)})"
        table.add_row(r.tokenizer, f"{r.vocab_size:,}", f"{r.tokens:,}", f"{r.chars_per_token:.2f}", rel)
    return table
