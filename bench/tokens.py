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
import csv
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, SHARED, require, write_results
from hanstack.errors import HanstackError
from hanstack.tokenizers import FAST_PRESETS, get_tokenizer, list_presets, load_file
from hanstack.tokenizers.compare import Comparison, compare_on, relative
from hanstack.tokenizers.corpus import read_items
from hanstack.tokenizers.extend import extend_tiktoken
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
CACHE = Path(".hanstack/bench-cache")  # gitignored: morpheme counts per corpus
KIWI_SAMPLE_CHARS = 100_000
TARGET = 0.67  # ≤ 67% of o200k's tokens = at least 33% fewer
NSMC_TRAIN = 300_000  # reviews used by default (all 705k: ~2x the training time for < 1 point)
FORMAL_WEIGHT = 5  # legal text, AutoRAG passages (and KLUE/KorNLU) repeated: formal prose weighs more


@dataclass(frozen=True)
class Variant:
    corpus: str  # "brief" = NSMC + kolaw/kobill + AutoRAG; "brief+nlu" adds KLUE/KorNLU sentences
    config: TrainConfig
    nsmc: int | None = NSMC_TRAIN  # NSMC reviews to train on (None: all but the held-out ones)


COMPARE_NSMC = 50_000  # the split / morpheme-aware comparison runs on a smaller corpus: Kiwi is slow

VARIANTS: dict[str, Variant] = {
    "bpe-ws-64k-brief": Variant("brief", TrainConfig(vocab_size=64_000, split="whitespace")),
    "bpe-ws-64k-nlu": Variant("brief+nlu", TrainConfig(vocab_size=64_000, split="whitespace")),
    "small-bpe-ws-64k-nlu": Variant(
        "brief+nlu", TrainConfig(vocab_size=64_000, split="whitespace"), COMPARE_NSMC
    ),
    "small-bpe-ws-64k-nlu-morph": Variant(
        "brief+nlu", TrainConfig(vocab_size=64_000, split="whitespace", morpheme_aware=True), COMPARE_NSMC
    ),
    "small-bpe-gpt2-64k-nlu": Variant(
        "brief+nlu", TrainConfig(vocab_size=64_000, split="gpt2"), COMPARE_NSMC
    ),
    "bpe-ws-64k-brief-allnsmc": Variant(
        "brief", TrainConfig(vocab_size=64_000, split="whitespace"), nsmc=None
    ),
    "unigram-ws-64k-nlu": Variant(
        "brief+nlu", TrainConfig(vocab_size=64_000, model="unigram", split="whitespace")
    ),
}
DEFAULT_VARIANTS = (
    "bpe-ws-64k-brief",
    "bpe-ws-64k-nlu",
    "small-bpe-ws-64k-nlu",
    "small-bpe-ws-64k-nlu-morph",
    "small-bpe-gpt2-64k-nlu",
)


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
        cache_dir=CACHE,
        name="FLORES-200 devtest (kor_Hang)",
    )
    write_csv(report, RESULTS / "tokens_flores.csv")
    write_chart(report, RESULTS / "tokens_flores.png")
    return {"report": report_to_dict(report), "skipped": skipped}


# --- training data ------------------------------------------------------------------------------


def klue_ner_sentences(path: Path) -> list[str]:
    """KLUE-NER's character-per-line TSV back to sentences (blank line between sentences)."""
    sentences, chars = [], []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.startswith("##"):
            continue
        if line == "":
            if chars:
                sentences.append("".join(chars).strip())
            chars = []
            continue
        chars.append(line.split("\t", 1)[0])
    if chars:
        sentences.append("".join(chars).strip())
    return [s for s in sentences if s]


def nlu_sentences() -> list[str]:
    """Korean sentences of KLUE (NER/NLI/STS dev) and KorNLU (XNLI dev/test, KorSTS): news, wiki,
    reviews and translated prose, deduplicated."""
    root = require(SHARED / "nlu")
    out = klue_ner_sentences(root / "klue-ner-v1.1_dev.tsv")
    for row in json.loads((root / "klue-nli-v1.1_dev.json").read_text(encoding="utf-8")):
        out += [row["premise"], row["hypothesis"]]
    for row in json.loads((root / "klue-sts-v1.1_dev.json").read_text(encoding="utf-8")):
        out += [row["sentence1"], row["sentence2"]]
    for name in (
        "KorNLI_xnli.dev.ko.tsv",
        "KorNLI_xnli.test.ko.tsv",
        "KorSTS_sts-dev.tsv",
        "KorSTS_sts-test.tsv",
        "KorSTS_sts-train.tsv",
    ):
        with (root / "kornlu" / name).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                out += [row.get("sentence1") or "", row.get("sentence2") or ""]
    return list(dict.fromkeys(s.strip() for s in out if s and s.strip()))


@dataclass
class Corpora:
    nsmc: list[str]  # NSMC reviews not held out
    train: dict[str, list[str]]  # corpus name -> the other training items (FLORES sentences removed)
    held: dict[str, list[str]]
    sizes: dict[str, dict[str, int]]


def corpora(exclude: set[str]) -> Corpora:
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
    formal = kolaw + [t for b in bills[:-1] for t in read_items(b)] + [t for i, t in enumerate(rag) if i % 10]
    nlu = nlu_sentences()

    def clean(items: list[str]) -> list[str]:
        return [t for t in items if t.strip() not in exclude]

    parts = {"nsmc": clean(train_nsmc), "formal": clean(formal), "nlu": clean(nlu)}
    train = {
        "brief": parts["formal"] * FORMAL_WEIGHT,
        "brief+nlu": (parts["formal"] + parts["nlu"]) * FORMAL_WEIGHT,
    }
    sizes = {
        name: {"items": len(items), "chars": sum(len(t) for t in items)} for name, items in parts.items()
    }
    sizes["dropped_equal_to_flores"] = {
        "items": len(train_nsmc) + len(formal) + len(nlu) - sum(map(len, parts.values()))
    }
    return Corpora(nsmc=parts["nsmc"], train=train, held=held, sizes=sizes)


def comparison_dict(comp: Comparison) -> dict[str, Any]:
    return {
        "name": comp.name,
        "items": comp.items,
        "chars": comp.chars,
        "baseline": comp.baseline,
        "rows": [r.__dict__ for r in comp.rows],
    }


def train_variants(
    names: tuple[str, ...],
    ko_flores: list[str],
    out_dir: Path,
    results: dict[str, Any],
    save: Callable[[], None],
) -> None:
    """Train each variant, compare it, and ``save()`` after each (a long run leaves partial results)."""
    flores_all = set(ko_flores) | set(read_items(SHARED / "flores200" / "kor_Hang.dev"))
    data = corpora(flores_all)
    fast = [get_tokenizer(n) for n in FAST_PRESETS]
    results.update(
        {"parts": data.sizes, "nsmc_train": NSMC_TRAIN, "formal_weight": FORMAL_WEIGHT, "variants": {}}
    )
    for name in names:
        variant = VARIANTS[name]
        train = data.nsmc[: variant.nsmc] + data.train[variant.corpus]
        print(f"training {name} on {len(train):,} items ...", flush=True)
        res = train_tokenizer(train, out_dir / name / "tokenizer.json", variant.config)
        tok = load_file(res.path)
        tok.name = f"hanstack-{name}"
        on_flores = compare_on(ko_flores, [tok, *fast], name="FLORES-200 devtest (kor_Hang)")
        in_domain = [compare_on(texts, [tok, *fast], name=label) for label, texts in data.held.items()]
        in_domain_all = compare_on(
            [t for texts in data.held.values() for t in texts],
            [tok, *fast],
            name="in-domain held-out (all three)",
        )
        ratio = on_flores.row(tok.name).vs_baseline or 0.0
        results["variants"][name] = {
            "corpus": variant.corpus,
            "config": variant.config.__dict__,
            "train_items": len(train),
            "train_chars": sum(len(t) for t in train),
            "nsmc_reviews": len(data.nsmc[: variant.nsmc]),
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
        save()


def extension(tokenizer_json: Path, ko_flores: list[str], out_dir: Path) -> dict[str, Any]:
    """o200k_base + N Korean tokens from a trained tokenizer (original ids kept): the FLORES gain."""
    base = get_tokenizer("gpt-4o")
    base_tokens = sum(base.count_batch(ko_flores))
    rows = []
    for add in (8_000, 16_000, 32_000, 64_000):
        res = extend_tiktoken("o200k_base", tokenizer_json, out_dir / f"o200k_ko{add}.tiktoken", add=add)
        tokens = sum(load_file(res.path).count_batch(ko_flores))
        rows.append(
            {
                "add": add,
                "added": res.added,
                "vocab_size": res.vocab_size + 2,
                "tokens": tokens,
                "vs_o200k": tokens / base_tokens,
            }
        )
    return {"from": str(tokenizer_json), "o200k_tokens": base_tokens, "rows": rows}


# --- speed --------------------------------------------------------------------------------------


def speed(chars: int = 1_000_000) -> dict[str, Any]:
    texts = read_items(SHARED / "corpora" / "nsmc" / "nsmc_raw_reviews.jsonl.gz", max_chars=chars)
    names = list(FAST_PRESETS)
    t0 = time.perf_counter()
    toks = [get_tokenizer(n) for n in names]  # already loaded by the FLORES table in a full run
    load_s = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), time.process_time()
    report = compute_stats(texts, toks, morphemes=False)
    stats_s, stats_cpu = time.perf_counter() - t1, time.process_time() - c1
    from hanstack.tokenizers.stats import count_morphemes

    # Kiwi (kiwipiepy >= 0.22 ships only its neural 'cong' model) is far slower than the tokenizers:
    # time it on a sample and report the rate; the CLI caches the count per corpus
    sample = read_items(
        SHARED / "corpora" / "nsmc" / "nsmc_raw_reviews.jsonl.gz", max_chars=KIWI_SAMPLE_CHARS
    )
    from hanstack.korean.analyzer import get_kiwi

    t2 = time.perf_counter()
    get_kiwi().kiwi.tokenize("첫 호출은 모델을 준비한다.")  # load + first-call warm-up, timed apart
    kiwi_init_s = time.perf_counter() - t2
    t3 = time.perf_counter()
    morphemes = count_morphemes(sample)  # no cache: the real cost
    morph_s = time.perf_counter() - t3
    sample_chars = sum(len(t) for t in sample)
    return {
        "chars": sum(len(t) for t in texts),
        "items": len(texts),
        "tokenizers": names,
        "load_seconds": round(load_s, 2),
        "stats_seconds": round(stats_s, 2),
        "stats_cpu_seconds": round(stats_cpu, 2),
        "per_tokenizer_seconds": {r.name: round(r.seconds, 3) for r in report.rows},
        "load_average_1m": round(os.getloadavg()[0], 1),
        "kiwi_init_seconds": round(kiwi_init_s, 2),
        "kiwi_sample_chars": sample_chars,
        "kiwi_sample_seconds": round(morph_s, 2),
        "kiwi_sample_morphemes": morphemes,
        "kiwi_chars_per_second": round(sample_chars / morph_s) if morph_s else None,
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
    if payload.get("training_from"):
        origin = payload["training_from"]
        lines += [
            f"(Sections 2 and 2b are carried over from `{origin['command']}` run on {origin['date']}.)",
            "",
        ]
    if tr and tr.get("variants"):
        p = tr["parts"]
        lines += [
            "## 2. Korean tokenizers trained by hanstack (byte-level, NFC, vocab 64,000) vs o200k_base",
            f"Training parts (items equal to a FLORES dev/devtest sentence dropped: "
            f"{p['dropped_equal_to_flores']['items']}): NSMC reviews not held out {p['nsmc']['items']:,} "
            f"({p['nsmc']['chars']:,} chars; the first {tr['nsmc_train']:,} unless the variant says all); formal = kolaw + "
            f"kobill (all but the held-out bill) + AutoRAG (9 of 10 passages) {p['formal']['items']:,} "
            f"({p['formal']['chars']:,} chars); nlu = KLUE NER/NLI/STS dev + KorNLU XNLI/KorSTS sentences "
            f"{p['nlu']['items']:,} ({p['nlu']['chars']:,} chars). Corpus 'brief' = NSMC + formal×"
            f"{tr['formal_weight']}; 'brief+nlu' = NSMC + (formal + nlu)×{tr['formal_weight']} "
            "(repetition = weight: formal prose counts more than chat-style reviews).",
            "",
            "| variant | corpus | NSMC reviews | split | morpheme-aware | FLORES tokens | vs o200k "
            "| target (≥ 33% fewer) | in-domain held-out vs o200k | train s |",
            "|---|---|---:|---|---|---:|---:|---|---:|---:|",
        ]
        for name, v in tr["variants"].items():
            row = next(r for r in v["flores"]["rows"] if r["tokenizer"].startswith("hanstack-"))
            ind = next(r for r in v["in_domain_all"]["rows"] if r["tokenizer"].startswith("hanstack-"))
            verdict = (
                "**met**"
                if v["meets_target"]
                else (f"short by {(v['flores_vs_o200k'] - TARGET) * 100:.1f} points of o200k's count")
            )
            cfg = v["config"]
            lines.append(
                f"| {name} | {v['corpus']} | {v['nsmc_reviews']:,} | {cfg['split']} "
                f"| {'yes' if cfg['morpheme_aware'] else 'no'} "
                f"| {row['tokens']:,} | {v['flores_vs_o200k']:.3f} ({relative(v['flores_vs_o200k'])}) | {verdict} "
                f"| {ind['vs_baseline']:.3f} ({relative(ind['vs_baseline'])}) | {v['train_seconds']} |"
            )
        best = min(tr["variants"].items(), key=lambda kv: kv[1]["flores_vs_o200k"])
        header = [r["tokenizer"] for r in best[1]["flores"]["rows"]]
        lines += [
            "",
            f"Detail for {best[0]} (tokens, ratio to o200k):",
            "",
            "| text | chars | " + " | ".join(header) + " |",
            "|---|---:|" + "---:|" * len(header),
        ]
        for comp in [best[1]["flores"], *best[1]["in_domain"]]:
            cells = [f"{r['tokens']:,} ({r['vs_baseline']:.2f})" for r in comp["rows"]]
            lines.append(f"| {comp['name']} | {comp['chars']:,} | " + " | ".join(cells) + " |")
        lines.append("")
    ext = payload.get("extension")
    if ext:
        lines += [
            "## 2b. Optional: o200k_base extended with Korean tokens (original 200k ids unchanged)",
            f"New tokens = merges of `{Path(ext['from']).parent.name}` that o200k lacks, appended after its ranks. "
            f"FLORES devtest Korean, o200k alone: {ext['o200k_tokens']:,} tokens.",
            "",
            "| tokens added | vocabulary | FLORES tokens | vs o200k |",
            "|---:|---:|---:|---:|",
        ]
        for r in ext["rows"]:
            lines.append(
                f"| {r['added']:,} | {r['vocab_size']:,} | {r['tokens']:,} | {r['vs_o200k']:.3f} "
                f"({relative(r['vs_o200k'])}) |"
            )
        lines.append("")
    sp = payload["speed"]
    lines += [
        "## 3. Speed of `tokens stats` on 1 M Korean characters",
        f"{sp['chars']:,} chars of NSMC reviews ({sp['items']:,} items), fast presets {', '.join(sp['tokenizers'])}: "
        f"**{sp['stats_seconds']} s** for all of them (target ≤ 10 s: {'met' if sp['meets_target'] else 'NOT met'}); "
        f"loading them {sp['load_seconds']} s. Machine load average at the time: {sp['load_average_1m']} "
        f"on {os.cpu_count()} cores (a machine shared with other jobs); CPU time of the process "
        f"{sp.get('stats_cpu_seconds', '–')} s (all threads), the wall time an idle machine of this size would need at most.",
        "",
        f"Morpheme fertility needs Kiwi, measured apart on a {sp['kiwi_sample_chars']:,}-char sample: "
        f"{sp['kiwi_sample_seconds']} s ({sp['kiwi_chars_per_second']:,} chars/s, {sp['kiwi_sample_morphemes']:,} "
        f"morphemes) after {sp['kiwi_init_seconds']} s to load Kiwi. It is optional (`--no-morphemes`) and "
        "cached per corpus content, so a second run over the same corpus costs nothing.",
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
    variants = tuple(v.strip() for v in args.variants.split(",") if v.strip())
    command = "python bench/tokens.py" + (" --skip-train" if args.skip_train else "")
    if variants != DEFAULT_VARIANTS and not args.skip_train:
        command += f" --variants {args.variants}"
    payload: dict[str, Any] = {}
    previous = RESULTS / "tokens.json"
    if args.skip_train and previous.is_file():  # keep the last full run's training results, labelled
        old = json.loads(previous.read_text(encoding="utf-8"))
        for key in ("training", "extension"):
            if key in old:
                payload[key] = old[key]
        if "training" in old:
            payload["training_from"] = old.get("training_from") or {
                "command": old["command"],
                "date": old["machine"]["date"],
            }

    def save() -> Path:
        return write_results("tokens", command, payload, markdown(payload), PACKAGES)

    print("FLORES table ...", flush=True)
    payload["flores"] = flores_table(ko, en)
    print("speed ...", flush=True)
    payload["speed"] = speed()
    save()
    if not args.skip_train:
        payload["training"] = training = {}
        train_variants(variants, ko, args.out_dir, training, save)
        bpe = {k: v for k, v in training["variants"].items() if v["config"]["model"] == "bpe"}
        if bpe:
            best = min(bpe, key=lambda k: bpe[k]["flores_vs_o200k"])
            print(f"extending o200k_base with tokens of {best} ...", flush=True)
            payload["extension"] = extension(args.out_dir / best / "tokenizer.json", ko, args.out_dir)
    out = save()
    print(out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
