"""Tokenizer lab benchmark: what each preset costs on Korean, a Korean tokenizer trained by hanstack,
and the speed of ``tokens stats``.

    python bench/tokens.py                 # everything (~15-25 min on 2 cores, mostly training)
    python bench/tokens.py --skip-train    # FLORES table + speed only (~2 min)

1. FLORES-200 devtest (1,012 sentence pairs, ../shared/data/flores200): premium over English and
   bytes per token for every preset, one table (anchors: cl100k ≈ 2.4×, o200k ≈ 3.9 bytes/token).
2. Byte-level tokenizers trained on Korean text that is not FLORES (NSMC reviews, kolaw/kobill,
   AutoRAG passages; items equal to a FLORES sentence are dropped), vocabulary 64k: tokens on FLORES
   devtest Korean vs o200k_base (target: ≥ 33% fewer), and on in-domain held-out text (every 100th
   NSMC review, every 10th AutoRAG passage, one kobill bill, none of them trained on).
3. Speed of the statistics on 1 M Korean characters (NSMC) with the fast presets; Kiwi's morpheme
   count measured separately.

Results: bench/results/tokens.{json,md}, bench/results/tokens_flores.{png,csv}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, SHARED, require, write_results
from hanstack.errors import HanstackError
from hanstack.tokenizers import FAST_PRESETS, get_tokenizer, list_presets, load_file
from hanstack.tokenizers.compare import Comparison, compare_on, relative
from hanstack.tokenizers.corpus import read_items
from hanstack.tokenizers.prices import load_prices
from hanstack.tokenizers.report import report_to_dict, write_chart, write_csv
from hanstack.tokenizers.stats import compute_stats
from hanstack.tokenizers.train import TrainConfig, train_tokenizer

PACKAGES = (
    "quicktok-v1",
    "toktok-rs",
    "tiktoken",
    "tokenizers",
    "mistral-common",
    "llama-cpp-python",
    "kiwipiepy",
)
TARGET = 0.67  # ≤ 67% of o200k's tokens = at least 33% fewer
# (label, config, training set): the main candidates, best first
VARIANTS: dict[str, TrainConfig] = {
    "bpe-whitespace-64k": TrainConfig(vocab_size=64_000, model="bpe", split="whitespace"),
    "bpe-whitespace-64k-morph": TrainConfig(
        vocab_size=64_000, model="bpe", split="whitespace", morpheme_aware=True
    ),
    "bpe-gpt2-64k": TrainConfig(vocab_size=64_000, model="bpe", split="gpt2"),
    "unigram-whitespace-64k": TrainConfig(vocab_size=64_000, model="unigram", split="whitespace"),
}
DEFAULT_VARIANTS = ("bpe-whitespace-64k", "bpe-whitespace-64k-morph", "bpe-gpt2-64k")


def flores() -> tuple[list[str], list[str]]:
    root = require(SHARED / "flores200")
    return read_items(root / "kor_Hang.devtest"), read_items(root / "eng_Latn.devtest")


def all_presets() -> tuple[list[Any], list[str]]:
    toks, skipped = [], []
    for preset in list_presets():
        if preset.name.endswith("-tiktoken") or preset.name in ("utf8-bytes", "qwen-3"):
            continue  # same vocabulary as another row (tiktoken = quicktok ids; qwen-3 = qwen-2.5 BPE)
        try:
            toks.append(get_tokenizer(preset.name))
        except HanstackError as exc:
            skipped.append(f"{preset.name}: {exc}")
    return toks, skipped


def flores_table(ko: list[str], en: list[str]) -> dict[str, Any]:
    toks, skipped = all_presets()
    report = compute_stats(
        ko,
        toks,
        english=en,
        prices=load_prices(),
        morphemes=True,
        cache_dir=RESULTS / ".cache",
        name="FLORES-200 devtest (kor_Hang)",
    )
    write_csv(report, RESULTS / "tokens_flores.csv")
    write_chart(report, RESULTS / "tokens_flores.png")
    return {"report": report_to_dict(report), "skipped": skipped}


# --- training data ------------------------------------------------------------------------------


def training_data(exclude: set[str]) -> tuple[list[str], dict[str, list[str]], dict[str, int]]:
    nsmc = read_items(require(SHARED / "corpora" / "nsmc" / "nsmc_raw_reviews.jsonl.gz"))
    kolaw = read_items(require(SHARED / "corpora" / "kolaw"))
    bills = sorted(require(SHARED / "corpora" / "kobill").glob("*.txt"))
    rag = read_items(require(SHARED / "retrieval" / "autorag_ko" / "corpus.jsonl"))
    held = {
        "NSMC reviews (every 100th)": nsmc[::100],
        "AutoRAG passages (every 10th)": rag[::10],
        f"kobill {bills[-1].name}": read_items(bills[-1]),
    }
    train_nsmc = [t for i, t in enumerate(nsmc) if i % 100]
    train_rag = [t for i, t in enumerate(rag) if i % 10]
    train_bills = [t for b in bills[:-1] for t in read_items(b)]
    train = train_nsmc + kolaw + train_bills + train_rag
    kept = [t for t in train if t.strip() not in exclude]
    sizes = {
        "nsmc_items": len(train_nsmc),
        "kolaw_items": len(kolaw),
        "kobill_items": len(train_bills),
        "autorag_items": len(train_rag),
        "dropped_equal_to_flores": len(train) - len(kept),
        "chars": sum(len(t) for t in kept),
    }
    return kept, held, sizes


def comparison_dict(comp: Comparison) -> dict[str, Any]:
    return {
        "name": comp.name,
        "items": comp.items,
        "chars": comp.chars,
        "baseline": comp.baseline,
        "rows": [r.__dict__ for r in comp.rows],
    }


def train_variants(names: tuple[str, ...], ko_flores: list[str], out_dir: Path) -> dict[str, Any]:
    flores_all = set(ko_flores) | set(read_items(SHARED / "flores200" / "kor_Hang.dev"))
    train, held, sizes = training_data(flores_all)
    fast = [get_tokenizer(n) for n in FAST_PRESETS if n != "qwen-3"]
    results: dict[str, Any] = {"training_set": sizes, "variants": {}}
    for name in names:
        config = VARIANTS[name]
        print(f"training {name} on {len(train):,} items ({sizes['chars']:,} chars) ...", flush=True)
        res = train_tokenizer(train, out_dir / name / "tokenizer.json", config)
        tok = load_file(res.path)
        tok.name = f"hanstack-{name}"
        on_flores = compare_on(ko_flores, [tok, *fast], name="FLORES-200 devtest (kor_Hang)")
        in_domain = [compare_on(texts, [tok, *fast], name=label) for label, texts in held.items()]
        in_domain_all = compare_on(
            [t for texts in held.values() for t in texts], [tok, *fast], name="in-domain held-out (all three)"
        )
        ratio = on_flores.row(tok.name).vs_baseline or 0.0
        results["variants"][name] = {
            "config": config.__dict__,
            "train_seconds": round(res.seconds, 1),
            "morpheme_seconds": round(res.morpheme_seconds, 1),
            "vocab_size": res.vocab_size,
            "sha256": hashlib.sha256(res.path.read_bytes()).hexdigest(),
            "flores": comparison_dict(on_flores),
            "in_domain": [comparison_dict(c) for c in in_domain],
            "in_domain_all": comparison_dict(in_domain_all),
            "flores_vs_o200k": ratio,
            "meets_target": ratio <= TARGET,
        }
        print(
            f"  {name}: FLORES {on_flores.row(tok.name).tokens:,} tokens = {ratio:.3f} of o200k "
            f"({relative(ratio)}); in-domain {in_domain_all.row(tok.name).vs_baseline:.3f}",
            flush=True,
        )
    return results


# --- speed --------------------------------------------------------------------------------------


def speed(chars: int = 1_000_000) -> dict[str, Any]:
    texts = read_items(SHARED / "corpora" / "nsmc" / "nsmc_raw_reviews.jsonl.gz", max_chars=chars)
    names = [n for n in FAST_PRESETS]
    t0 = time.perf_counter()
    toks = [get_tokenizer(n) for n in names]  # already loaded by the FLORES table in a full run
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    report = compute_stats(texts, toks, morphemes=False)
    stats_s = time.perf_counter() - t1
    from hanstack.tokenizers.stats import count_morphemes

    t2 = time.perf_counter()
    morphemes = count_morphemes(texts)  # no cache: the real cost
    morph_s = time.perf_counter() - t2
    return {
        "chars": sum(len(t) for t in texts),
        "items": len(texts),
        "tokenizers": names,
        "load_seconds": round(load_s, 2),
        "stats_seconds": round(stats_s, 2),
        "per_tokenizer_seconds": {r.name: round(r.seconds, 3) for r in report.rows},
        "kiwi_morpheme_seconds": round(morph_s, 2),
        "morphemes": morphemes,
        "target_seconds": 10,
        "meets_target": stats_s <= 10,
    }


# --- markdown -------------------------------------------------------------------------------------


def markdown(payload: dict[str, Any]) -> str:
    lines: list[str] = []
    fl = payload["flores"]["report"]
    c = fl["corpus"]
    lines += [
        "## 1. FLORES-200 devtest, every preset",
        f"{c['sentences']:,} Korean sentences ({c['chars']:,} chars, {c['bytes']:,} UTF-8 bytes, "
        f"{c['eojeols']:,} eojeol, {c['morphemes']:,} Kiwi morphemes) and their English originals. "
        "premium = Korean tokens / English tokens (total over the pairs). byte-frag = share of tokens "
        "that are not whole characters. NFD× = tokens of the NFD text / tokens of the text.",
        "",
        "| tokenizer | vocab | premium × | bytes/token | chars/token | tok/eojeol | tok/morpheme | byte-frag "
        "| round-trip | NFD× | USD / 1M chars* | source |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in sorted(fl["tokenizers"], key=lambda r: r["premium"]):
        cost = "–" if r["cost_per_m_chars"] is None else f"{r['cost_per_m_chars']:.3f}"
        lines.append(
            f"| {r['name']} | {r['vocab_size']:,} | {r['premium']:.2f} | {r['bytes_per_token']:.2f} | "
            f"{r['chars_per_token']:.2f} | {r['fertility_eojeol']:.2f} | {r['fertility_morpheme']:.2f} | "
            f"{r['byte_fallback_share']:.1%} | {r['roundtrip_exact']:.0%} | {r['nfd_penalty']:.2f} | {cost} | "
            f"{r['source']} |"
        )
    lines += [
        "",
        f"\\* illustrative list prices of {fl['prices']['date']} (built-in table), input tokens.",
        "",
    ]
    if payload["flores"]["skipped"]:
        lines += ["Skipped (not obtainable on this machine): " + "; ".join(payload["flores"]["skipped"]), ""]
    lines += ["Chart: `bench/results/tokens_flores.png`; CSV: `bench/results/tokens_flores.csv`.", ""]
    tr = payload.get("training")
    if tr:
        s = tr["training_set"]
        lines += [
            "## 2. Korean tokenizers trained by hanstack (vocab 64k) vs o200k_base",
            f"Training set: {s['nsmc_items']:,} NSMC reviews + {s['kolaw_items']:,} kolaw lines + "
            f"{s['kobill_items']:,} kobill lines + {s['autorag_items']:,} AutoRAG passages = {s['chars']:,} chars "
            f"({s['dropped_equal_to_flores']} items equal to a FLORES sentence dropped). All byte-level, NFC.",
            "",
            "| variant | FLORES tokens | vs o200k | target ≤ 0.67 | in-domain held-out vs o200k | train s |",
            "|---|---:|---:|---|---:|---:|",
        ]
        for name, v in tr["variants"].items():
            row = next(r for r in v["flores"]["rows"] if r["tokenizer"].startswith("hanstack-"))
            ind = next(r for r in v["in_domain_all"]["rows"] if r["tokenizer"].startswith("hanstack-"))
            verdict = (
                "met" if v["meets_target"] else f"short by {(v['flores_vs_o200k'] - TARGET) * 100:.1f} points"
            )
            lines.append(
                f"| {name} | {row['tokens']:,} | {v['flores_vs_o200k']:.3f} ({relative(v['flores_vs_o200k'])}) "
                f"| {verdict} | {ind['vs_baseline']:.3f} ({relative(ind['vs_baseline'])}) | {v['train_seconds']} |"
            )
        best = min(tr["variants"].items(), key=lambda kv: kv[1]["flores_vs_o200k"])
        lines += [
            "",
            f"In-domain held-out detail for {best[0]} (tokens; ratio to o200k):",
            "",
            "| held-out set | chars | "
            + " | ".join(r["tokenizer"] for r in best[1]["in_domain"][0]["rows"])
            + " |",
            "|---|---:|" + "---:|" * len(best[1]["in_domain"][0]["rows"]),
        ]
        for comp in [*best[1]["in_domain"], best[1]["flores"]]:
            cells = [f"{r['tokens']:,} ({r['vs_baseline']:.2f})" for r in comp["rows"]]
            lines.append(f"| {comp['name']} | {comp['chars']:,} | " + " | ".join(cells) + " |")
        lines.append("")
    sp = payload["speed"]
    lines += [
        "## 3. Speed of `tokens stats` on 1 M Korean characters",
        f"{sp['chars']:,} chars of NSMC reviews ({sp['items']:,} items), fast presets {', '.join(sp['tokenizers'])}: "
        f"**{sp['stats_seconds']} s** for all of them (target ≤ 10 s: {'met' if sp['meets_target'] else 'NOT met'}); "
        f"loading them {sp['load_seconds']} s; Kiwi morpheme count (optional, cached per corpus) "
        f"{sp['kiwi_morpheme_seconds']} s for {sp['morphemes']:,} morphemes.",
        "",
        "Per tokenizer (s): " + ", ".join(f"{k} {v}" for k, v in sp["per_tokenizer_seconds"].items()),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip-train", action="store_true", help="FLORES table and speed only")
    parser.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        help=f"training variants, comma-separated, from: {', '.join(VARIANTS)}",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path(".hanstack/bench-tokenizers"),
        help="where the trained tokenizer.json files go (not committed)",
    )
    args = parser.parse_args()
    ko, en = flores()
    payload: dict[str, Any] = {}
    print("FLORES table ...", flush=True)
    payload["flores"] = flores_table(ko, en)
    print("speed ...", flush=True)
    payload["speed"] = speed()
    if not args.skip_train:
        payload["training"] = train_variants(
            tuple(v.strip() for v in args.variants.split(",") if v.strip()), ko, args.out_dir
        )
    command = (
        "python bench/tokens.py"
        + (" --skip-train" if args.skip_train else "")
        + (
            f" --variants {args.variants}"
            if args.variants != ",".join(DEFAULT_VARIANTS) and not args.skip_train
            else ""
        )
    )
    out = write_results("tokens", command, payload, markdown(payload), PACKAGES)
    print(out.read_text(encoding="utf-8"))
    print(json.dumps({"flores_png": str(RESULTS / "tokens_flores.png")}))


if __name__ == "__main__":
    main()
