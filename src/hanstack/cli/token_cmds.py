"""``hanstack tokens list|count|stats|train``: what model tokenizers cost on Korean text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hanstack.cli._common import JSON_OPTION_HELP, console, err_console, print_json

tokens_app = typer.Typer(
    help="The tokenizer lab: real model tokenizers on Korean text (counts, cost, training).",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)]
FieldOpt = Annotated[
    str | None,
    typer.Option("--field", help="JSONL field holding the text (default: text, review, passage ...)."),
]


def _names(value: str | None) -> list[str]:
    from hanstack.tokenizers import FAST_PRESETS

    if not value:
        return list(FAST_PRESETS)
    return [v.strip() for v in value.split(",") if v.strip()]


@tokens_app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """Show the tokenizer presets with their source and vocabulary size.

    Example: hanstack tokens list
    """
    from rich.table import Table

    from hanstack.tokenizers import list_presets

    presets = list_presets()
    if as_json:
        print_json(
            [
                {
                    "name": p.name,
                    "aliases": list(p.aliases),
                    "vocab_size": p.vocab_size,
                    "models": p.models,
                    "source": p.source,
                    "kind": p.kind,
                    "fast": p.fast,
                    "notes": p.notes,
                }
                for p in presets
            ]
        )
        return
    table = Table(title="Tokenizer presets (any tokenizer.json, .model, .gguf or .tiktoken file also works)")
    for col in ("name", "vocab", "models", "source", "fast"):
        table.add_column(col, justify="right" if col == "vocab" else "left")
    for p in presets:
        table.add_row(p.name, f"{p.vocab_size:,}", p.models, p.source, "yes" if p.fast else "")
    console.print(table)


@tokens_app.command("count")
def count_cmd(
    source: Annotated[str, typer.Argument(help="A text file, or - for standard input.")],
    tokenizer: Annotated[
        str, typer.Option("--tokenizer", "-t", help="Preset(s), comma-separated, or a vocabulary file.")
    ] = "gpt-4o",
    as_json: JsonOpt = False,
) -> None:
    """Count the tokens of a whole file (or stdin) with one or more tokenizers.

    Examples: hanstack tokens count -t qwen-2.5 report.txt
              echo "안녕하세요" | hanstack tokens count -t gpt-4o,gemma-3 -
    """
    from hanstack.tokenizers import get_tokenizer
    from hanstack.tokenizers.corpus import read_text

    text = read_text(source)
    rows = []
    for name in _names(tokenizer):
        tok = get_tokenizer(name)
        n = tok.count(text)
        rows.append(
            {
                "tokenizer": tok.name,
                "tokens": n,
                "chars": len(text),
                "chars_per_token": round(len(text) / n, 3) if n else None,
            }
        )
    if as_json:
        print_json(rows if len(rows) > 1 else rows[0])
        return
    for row in rows:
        cpt = f", {row['chars_per_token']:.2f} chars/token" if row["chars_per_token"] else ""
        console.print(f"[bold]{row['tokens']:,}[/] tokens ({row['tokenizer']}) · {row['chars']:,} chars{cpt}")


@tokens_app.command("stats")
def stats_cmd(
    ctx: typer.Context,
    corpus: Annotated[
        str,
        typer.Option(
            "--corpus", "-c", help="Korean text: file (one sentence a line; .txt/.jsonl[.gz]), folder, or -."
        ),
    ],
    tokenizers: Annotated[
        str | None,
        typer.Option(
            "--tokenizers", "-t", help="Comma-separated presets or files (default: the fast presets)."
        ),
    ] = None,
    parallel: Annotated[
        Path | None,
        typer.Option("--parallel", help="English text aligned line by line with --corpus (for the premium)."),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option("--prices", help="Price table, TOML or JSON (default: built-in illustrative table)."),
    ] = None,
    morphemes: Annotated[
        bool,
        typer.Option(
            "--morphemes/--no-morphemes", help="Kiwi morpheme fertility (slower; cached per corpus)."
        ),
    ] = True,
    max_chars: Annotated[
        int | None, typer.Option("--max-chars", help="Read at most this many characters of the corpus.")
    ] = None,
    field: FieldOpt = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Also write the table as CSV.")] = None,
    chart: Annotated[Path | None, typer.Option("--chart", help="Also draw a chart (.png or .svg).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Per tokenizer: tokens/sentence, chars and bytes per token, fertility per eojeol and morpheme,
    premium over English, byte-fragment share, round-trip, NFD penalty, cost and context fit.

    Examples: hanstack tokens stats -c ko.txt --parallel en.txt -t gpt-4o,gpt-4,gemma-3 --chart cost.png
              hanstack tokens stats -c docs/ --no-morphemes --json
    """
    from hanstack.cli._common import state
    from hanstack.tokenizers import get_tokenizer
    from hanstack.tokenizers.corpus import read_items
    from hanstack.tokenizers.prices import load_prices
    from hanstack.tokenizers.report import report_to_dict, rich_table, write_chart, write_csv
    from hanstack.tokenizers.stats import compute_stats

    ko = read_items(corpus, field=field, max_chars=max_chars)
    en = None
    if parallel is not None:
        en = read_items(parallel, field=field)
        if max_chars is not None:  # the Korean side was cut short: keep the aligned English lines
            en = en[: len(ko)]
    price_table = load_prices(prices)
    cache_dir = state(ctx).settings().cache_dir / "tokstats"
    with err_console.status(f"loading tokenizers and measuring {len(ko):,} items ..."):
        toks = [get_tokenizer(name) for name in _names(tokenizers)]
        report = compute_stats(
            ko,
            toks,
            english=en,
            prices=price_table,
            morphemes=morphemes,
            cache_dir=cache_dir,
            name=Path(corpus).name if corpus != "-" else "stdin",
        )
    if csv_path is not None:
        write_csv(report, csv_path)
    if chart is not None:
        write_chart(report, chart)
    if as_json:
        print_json(report_to_dict(report))
        return
    console.print(rich_table(report))
    t = report.timings
    kiwi = f"Kiwi morphemes {t['morphemes_s']:.2f} s" if morphemes else "morphemes skipped (--no-morphemes)"
    console.print(f"[dim]tokenizers {t['tokenizers_s']:.2f} s, {kiwi}[/]")
    for path in (csv_path, chart):
        if path is not None:
            console.print(f"wrote {path}")


@tokens_app.command("train")
def train_cmd(
    corpus: Annotated[
        list[str],
        typer.Option("--corpus", "-c", help="Training text (repeatable): file, folder, .jsonl[.gz]."),
    ],
    vocab_size: Annotated[
        int, typer.Option("--vocab-size", "-n", help="Vocabulary size (special tokens included).")
    ] = 32_000,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write tokenizer.json (file or folder).")
    ] = Path("tokenizer.json"),
    model: Annotated[str, typer.Option("--model", help="bpe (byte-level BPE) or unigram.")] = "bpe",
    split: Annotated[
        str,
        typer.Option(
            "--split", help="Pre-tokenization: gpt2 (letters/digits/punctuation apart) or whitespace."
        ),
    ] = "gpt2",
    morpheme_aware: Annotated[
        bool, typer.Option("--morpheme-aware", help="Learn no merge across Kiwi morpheme boundaries.")
    ] = False,
    heldout: Annotated[
        list[str] | None,
        typer.Option("--heldout", help="Text not trained on, to compare with the presets (repeatable)."),
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option("--compare", help="Presets to compare with on --heldout (default: the fast presets)."),
    ] = None,
    max_chars: Annotated[
        int | None, typer.Option("--max-chars", help="Train on at most this many characters per corpus.")
    ] = None,
    field: FieldOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Train a Korean-efficient byte-level tokenizer (HF tokenizers) and save a standard tokenizer.json.

    Example: hanstack tokens train -c reviews.jsonl.gz -c laws/ -n 64000 --heldout flores_ko.txt -o ko64k/
    """
    from hanstack.tokenizers import get_tokenizer, load_file
    from hanstack.tokenizers.compare import compare_on
    from hanstack.tokenizers.corpus import read_items
    from hanstack.tokenizers.train import TrainConfig, train_tokenizer

    config = TrainConfig(vocab_size=vocab_size, model=model, split=split, morpheme_aware=morpheme_aware)  # type: ignore[arg-type]
    texts: list[str] = []
    for path in corpus:
        texts.extend(read_items(path, field=field, max_chars=max_chars))
    with err_console.status(f"training a {vocab_size:,}-token {model} tokenizer on {len(texts):,} items ..."):
        result = train_tokenizer(texts, output, config)
    trained = load_file(result.path)
    comparisons = []
    for path in heldout or []:
        held = read_items(path, field=field)
        others = [get_tokenizer(n) for n in _names(compare)]
        comparisons.append(
            compare_on(
                held, [trained, *others], name=Path(path).name, baseline=others[0].name if others else None
            )
        )
    if as_json:
        print_json({"result": result, "heldout": comparisons})
        return
    console.print(
        f"wrote [bold]{result.path}[/]: {result.vocab_size:,} tokens, trained on {result.items:,} items "
        f"({result.chars:,} chars) in {result.seconds:.1f} s"
    )
    from hanstack.tokenizers.compare import comparison_table

    for comp in comparisons:
        console.print(comparison_table(comp))


@tokens_app.command("extend")
def extend_cmd(
    source: Annotated[
        Path, typer.Option("--from", help="A byte-level BPE tokenizer.json trained by 'tokens train'.")
    ],
    add: Annotated[int, typer.Option("--add", "-n", help="How many new tokens to append.")] = 16_000,
    base: Annotated[
        str, typer.Option("--base", help="Vocabulary to extend: gpt-4o (o200k_base) or gpt-4 (cl100k_base).")
    ] = "gpt-4o",
    output: Annotated[Path, typer.Option("--output", "-o", help="The extended .tiktoken file.")] = Path(
        "extended.tiktoken"
    ),
    heldout: Annotated[
        list[str] | None, typer.Option("--heldout", help="Text to measure the gain on (repeatable).")
    ] = None,
    field: FieldOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Append Korean tokens to an existing vocabulary (original ids unchanged) and report the gain.

    Example: hanstack tokens extend --from ko64k/tokenizer.json --add 16000 -o o200k_ko.tiktoken --heldout ko.txt
    """
    from hanstack.tokenizers import get_preset, get_tokenizer, load_file
    from hanstack.tokenizers.compare import compare_on, comparison_table
    from hanstack.tokenizers.corpus import read_items
    from hanstack.tokenizers.extend import extend_tiktoken

    encoding = base if base.endswith("_base") else get_preset(base).arg
    result = extend_tiktoken(encoding, source, output, add=add)
    extended = load_file(result.path)
    comparisons = [
        compare_on(
            read_items(path, field=field),
            [extended, get_tokenizer(encoding)],
            name=Path(path).name,
            baseline=get_tokenizer(encoding).name,
        )
        for path in heldout or []
    ]
    if as_json:
        print_json({"result": result, "heldout": comparisons})
        return
    console.print(
        f"wrote [bold]{result.path}[/]: {result.base} ({result.base_size:,} tokens) + {result.added:,} "
        f"Korean tokens = {result.vocab_size:,}"
    )
    for comp in comparisons:
        console.print(comparison_table(comp))


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")
