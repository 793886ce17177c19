"""Ingestion benchmark (issue 2).

1. Analyzer throughput on 50,000 NSMC reviews: Kiwi one thread, Kiwi on all cores (list input),
   MeCab (python-mecab-ko). Target: Kiwi on both cores >= 180,000 chars/s.
2. End-to-end ingestion (registry, no dense index) of the bundled kolaw + kobill corpus and of
   20,000 NSMC reviews as one JSONL file: documents/s, chunks/s, peak RSS, and the share of time
   spent outside morphological analysis (target <= 30%). Each run is a fresh subprocess so the
   peak memory is its own.

Run: .venv/bin/python bench/ingest.py [--reviews 50000] [--jsonl 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, nsmc_reviews, write_results

DEMO = REPO / "src" / "hanstack" / "data" / "demo"


def analyzer_throughput(texts: list[str]) -> dict[str, dict[str, float]]:
    from hanstack.korean.analyzer import KiwiAnalyzer, MecabAnalyzer

    chars = sum(len(t) for t in texts)
    out: dict[str, dict[str, float]] = {}
    runs = {
        "kiwi_1_thread": lambda: KiwiAnalyzer(workers=1),
        "kiwi_all_cores": lambda: KiwiAnalyzer(workers=0),
        "mecab": lambda: MecabAnalyzer(),
    }
    for name, make in runs.items():
        analyzer = make()
        analyzer.analyze_batch(texts[:200])  # warm up
        start = time.perf_counter()
        result = analyzer.analyze_batch(texts)
        seconds = time.perf_counter() - start
        assert len(result) == len(texts)
        out[name] = {"seconds": round(seconds, 3), "chars_per_s": round(chars / seconds)}
        print(f"{name:16s} {chars / seconds:>10,.0f} chars/s", flush=True)
    return out


CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from hanstack.config import load_settings
from hanstack.ingest.pipeline import IngestOptions, Ingestor
from hanstack.ingest.registry import Registry
ws, target = sys.argv[1], sys.argv[2]
s = load_settings(ws)
with Registry(s.db_path) as reg:
    ing = Ingestor(s, reg)
    ing.analyzer; ing.count_tokens  # model loading is not ingestion
    start = time.perf_counter()
    report = ing.ingest([Path(target)], IngestOptions(tenant="bench"))
    seconds = time.perf_counter() - start
    stats = reg.stats()
print(json.dumps({
    "seconds": seconds, "analyzer_seconds": report.analyzer_seconds,
    "documents": report.documents_new, "chunks": report.chunks_written, "failed": len(report.failed),
    "tokens": stats["tokens"], "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def end_to_end(name: str, target: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as ws:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, ws, str(target)], check=True, capture_output=True, text=True
        )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["documents_per_s"] = r["documents"] / r["seconds"]
    r["chunks_per_s"] = r["chunks"] / r["seconds"]
    r["share_outside_analyzer"] = 1 - r["analyzer_seconds"] / r["seconds"]
    print(
        f"{name:10s} {r['documents']} docs {r['chunks']} chunks in {r['seconds']:.1f}s; "
        f"outside analyzer {r['share_outside_analyzer']:.0%}; peak {r['peak_rss_mb']:.0f} MB",
        flush=True,
    )
    return r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reviews", type=int, default=50_000)
    ap.add_argument("--jsonl", type=int, default=20_000)
    ap.add_argument(
        "--e2e-only",
        action="store_true",
        help="rerun only the end-to-end part; analyzer figures are kept from the last results file (labelled)",
    )
    args = ap.parse_args()
    load_start = os.getloadavg()
    reused = ""
    if args.e2e_only:
        previous = json.loads((RESULTS / "ingest.json").read_text(encoding="utf-8"))
        throughput = previous["analyzer_throughput"]
        reused = f"Analyzer figures reused from the run of {previous['machine']['date']}."
    else:
        texts = [r["review"] for r in nsmc_reviews(args.reviews)]
        print(f"analyzer throughput on {len(texts)} NSMC reviews ({sum(map(len, texts)):,} chars)")
        throughput = analyzer_throughput(texts)

    with tempfile.TemporaryDirectory() as tmp:
        jsonl = Path(tmp) / "nsmc.jsonl"
        with jsonl.open("w", encoding="utf-8") as fh:
            for row in nsmc_reviews(args.jsonl):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        e2e = {
            "kolaw+kobill": end_to_end("legal", DEMO),
            f"nsmc_{args.jsonl}_jsonl": end_to_end("nsmc", jsonl),
        }

    load_end = os.getloadavg()
    k2 = throughput["kiwi_all_cores"]["chars_per_s"]
    md = [
        f"Load average at start {load_start[0]:.1f}, at end {load_end[0]:.1f} on {os.cpu_count()} cores "
        "(other jobs shared the machine: absolute rates are depressed by that, ratios less so).",
        "",
        "## Analyzer throughput (NSMC reviews)",
        "",
        "| analyzer | chars/s | seconds |",
        "|---|---:|---:|",
    ]
    md += [f"| {k} | {v['chars_per_s']:,.0f} | {v['seconds']} |" for k, v in throughput.items()]
    md += [
        "",
        f"Kiwi on all cores vs one thread: {k2 / throughput['kiwi_1_thread']['chars_per_s']:.2f}x; "
        f"target >= 180,000 chars/s: **{'met' if k2 >= 180_000 else 'not met'}** ({k2:,.0f}).",
        "",
    ]
    md += [
        "## End-to-end ingestion (registry + chunks, no dense index)",
        "",
        "| corpus | documents | chunks | seconds | docs/s | chunks/s | outside analyzer | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k, r in e2e.items():
        md.append(
            f"| {k} | {r['documents']} | {r['chunks']} | {r['seconds']:.1f} | {r['documents_per_s']:.1f} | "
            f"{r['chunks_per_s']:.1f} | {r['share_outside_analyzer']:.0%} | {r['peak_rss_mb']:.0f} |"
        )
    md += ["", "Target: share of time outside the analyzer <= 30%.", "", reused]
    write_results(
        "ingest",
        "python bench/ingest.py " + " ".join(sys.argv[1:]),
        {"analyzer_throughput": throughput, "end_to_end": e2e},
        "\n".join(md),
        packages=("kiwipiepy", "python-mecab-ko"),
    )


if __name__ == "__main__":
    main()
