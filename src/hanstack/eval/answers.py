"""Evaluation of grounded answers: ``hanstack eval answers`` and ``bench/answers.py``.

On a BEIR-like set with reference answers (default ``../shared/data/retrieval/autorag_ko``: 720
passages, 114 queries, each with one gold passage and a reference answer):

- **citations**: precision = share of cited passages that are the gold passage or contain at least
  as much of the reference answer's content morphemes as the gold passage does; recall = share of
  answerable queries whose answer cites the gold passage;
- **answer quality** against the reference: token F1 and ROUGE-L (LCS), both on Kiwi content
  morphemes (an abstention scores 0);
- **abstention**: an *unanswerable* set is every query again with its gold passage removed from the
  hits (the retriever is asked for extra hits and the gold document is dropped, which is removal
  from the index as far as the answer can tell); abstention rate there, false-abstention rate on the
  answerable set;
- **faithfulness**: share of drafted claims that pass the support check; share of final answers with
  any unsupported claim (re-verified independently: every final citation's quote must be the
  source's exact text at the cited span);
- **latency** p50/p95 per question, retrieval included.

The corpus is ingested as a user would (:func:`hanstack.eval.retrieval.chunk_corpus`), embedded once
(vectors cached on disk when ``cache_dir`` is given) and searched in a throw-away index.

Calibration of the two decision rules lives here too (:func:`calibrate_gate`,
:func:`calibrate_support`): both fit on one part of the data and report on another.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hanstack.errors import InvalidInputError, NotFoundError
from hanstack.eval.metrics import mean, percentile

if TYPE_CHECKING:
    from hanstack.answer.answerer import Answerer
    from hanstack.answer.schema import Answer, Claim
    from hanstack.config import Settings
    from hanstack.ingest.models import Chunk

log = logging.getLogger(__name__)


def default_data_dir() -> Path:
    base = os.environ.get("HANSTACK_SHARED_DATA")
    root = Path(base) if base else Path(__file__).resolve().parents[4] / "shared" / "data"
    return root / "retrieval" / "autorag_ko"


@dataclass(frozen=True, slots=True)
class QAItem:
    qid: str
    query: str
    gold: frozenset[str]
    reference: str


def load_items(data_dir: Path) -> tuple[list[Any], list[QAItem]]:
    """Corpus documents and queries with reference answers."""
    from hanstack.eval.retrieval import load_corpus

    corpus_path, queries_path = data_dir / "corpus.jsonl", data_dir / "queries.jsonl"
    for p in (corpus_path, queries_path):
        if not p.is_file():
            raise NotFoundError(f"{p} not found", hint="pass --data with corpus.jsonl and queries.jsonl")
    corpus = load_corpus(corpus_path)
    items = []
    with queries_path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise InvalidInputError(f"{queries_path}:{lineno}: not JSON: {exc}") from exc
            ref = row.get("reference_answer") or row.get("answer")
            if not isinstance(ref, str) or not isinstance(row.get("query"), str):
                raise InvalidInputError(f"{queries_path}:{lineno}: needs 'query' and 'reference_answer'")
            items.append(
                QAItem(str(row["qid"]), row["query"], frozenset(map(str, row["relevant_doc_ids"])), ref)
            )
    return corpus, items


@dataclass(slots=True)
class EvalIndex:
    retriever: Any
    chunks: list[Chunk]
    internal_doc: dict[str, str]
    """corpus doc id → hanstack doc id (what hits carry)."""
    corpus_text: dict[str, str]
    embedder: Any


@contextmanager
def eval_index(
    settings: Settings, corpus: Sequence[Any], *, cache_dir: Path | None = None, embedder: Any = None
) -> Iterator[EvalIndex]:
    """The corpus ingested as a user would, in a throw-away index.

    With ``cache_dir``, chunks are cached there and vectors go through a
    :class:`~hanstack.embed.cache.CachingEmbedder` persisted there (unless ``embedder`` is given).
    """
    from hanstack.embed.cache import CachingEmbedder
    from hanstack.embed.registry import build_embedder
    from hanstack.eval.retrieval import eval_retriever

    if embedder is None:
        embedder = CachingEmbedder(
            build_embedder(settings), cache_dir / "e5_vectors.npz" if cache_dir else None
        )
    chunks = corpus_chunks(settings, corpus, cache_dir)
    internal = {c.provenance.source.rsplit("#", 1)[-1]: c.provenance.doc_id for c in chunks}
    try:
        with eval_retriever(chunks, embedder=embedder, settings=settings) as retriever:
            _save(embedder)
            yield EvalIndex(retriever, chunks, internal, {d.doc_id: d.text for d in corpus}, embedder)
    finally:
        _save(embedder)


def _save(embedder: Any) -> None:
    if hasattr(embedder, "save"):
        embedder.save()


def corpus_chunks(settings: Settings, corpus: Sequence[Any], cache_dir: Path | None = None) -> list[Chunk]:
    """The corpus chunked by the ingestion pipeline (each row a document); cached in ``cache_dir``."""
    import tempfile

    from hanstack.config import load_settings
    from hanstack.eval.retrieval import chunk_corpus

    chunks = _cached_chunks(settings, corpus, cache_dir)
    if chunks is None:
        with tempfile.TemporaryDirectory(prefix="hanstack-answers-ws-") as ws:
            chunk_settings = load_settings(Path(ws), ingest=settings.ingest.model_dump())
            chunks = chunk_corpus(corpus, chunk_settings)
        _save_chunks(settings, corpus, cache_dir, chunks)
    return chunks


def _chunks_path(settings: Settings, corpus: Sequence[Any], cache_dir: Path | None) -> Path | None:
    if cache_dir is None:
        return None
    h = hashlib.sha256(settings.ingest.model_dump_json().encode())
    for d in corpus:
        h.update(d.doc_id.encode() + b"\x1f" + d.text.encode() + b"\x1e")
    return cache_dir / f"chunks-{h.hexdigest()[:16]}.pickle"


def _cached_chunks(settings: Settings, corpus: Sequence[Any], cache_dir: Path | None) -> list[Chunk] | None:
    """Chunks of an earlier run with the same corpus and ingest settings (our own cache file)."""
    import pickle

    path = _chunks_path(settings, corpus, cache_dir)
    if path is None or not path.is_file():
        return None
    with path.open("rb") as fh:
        return list(pickle.load(fh))


def _save_chunks(
    settings: Settings, corpus: Sequence[Any], cache_dir: Path | None, chunks: list[Chunk]
) -> None:
    import pickle

    path = _chunks_path(settings, corpus, cache_dir)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            pickle.dump(chunks, fh)


# --- text metrics ---------------------------------------------------------------------------------------
def token_f1(pred: Sequence[str], ref: Sequence[str]) -> float:
    if not pred or not ref:
        return 0.0
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    p, r = common / len(pred), common / len(ref)
    return 2 * p * r / (p + r)


def rouge_l(pred: Sequence[str], ref: Sequence[str]) -> float:
    """ROUGE-L F1 (LCS-based) over token sequences."""
    if not pred or not ref:
        return 0.0
    prev = [0] * (len(ref) + 1)
    for a in pred:
        cur = [0]
        for j, b in enumerate(ref, 1):
            cur.append(prev[j - 1] + 1 if a == b else max(prev[j], cur[j - 1]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    p, r = lcs / len(pred), lcs / len(ref)
    return 2 * p * r / (p + r)


def coverage_of(ref_terms: Sequence[str], text_terms: set[str]) -> float:
    wanted = set(ref_terms)
    return len(wanted & text_terms) / len(wanted) if wanted else 0.0


# --- running ------------------------------------------------------------------------------------------
def subset(items: Sequence[QAItem], limit: int | None, seed: int) -> list[QAItem]:
    if limit is None or limit >= len(items):
        return list(items)
    rng = random.Random(seed)
    return sorted(rng.sample(list(items), limit), key=lambda it: it.qid)


def holdout_split(items: Sequence[QAItem], seed: int = 2026) -> tuple[set[str], set[str]]:
    """(fit qids, report qids): a fixed random half for calibration, the other half held out."""
    qids = sorted(it.qid for it in items)
    rng = random.Random(seed)
    rng.shuffle(qids)
    half = len(qids) // 2
    return set(qids[:half]), set(qids[half:])


def answer_row(answer: Answer, item: QAItem, condition: str, idx: EvalIndex, analyzer: Any) -> dict[str, Any]:
    """Per-question metrics of one answer."""
    ref_terms = analyzer.search_terms(item.reference)
    pred_text = " ".join(c.text for c in answer.claims)
    pred_terms = analyzer.search_terms(pred_text) if pred_text else []
    by_chunk = {c.chunk_id: c for c in idx.chunks}
    gold_cov = max(
        (
            coverage_of(ref_terms, set(analyzer.search_terms(idx.corpus_text[g])))
            for g in item.gold
            if g in idx.corpus_text
        ),
        default=0.0,
    )
    cited = answer.cited_chunk_ids
    correct = []
    for cid in cited:
        chunk = by_chunk.get(cid)
        if chunk is None:
            correct.append(False)
            continue
        corpus_id = chunk.provenance.source.rsplit("#", 1)[-1]
        correct.append(corpus_id in item.gold or coverage_of(ref_terms, set(chunk.terms)) >= gold_cov > 0)
    cites_gold = any(
        by_chunk[c].provenance.source.rsplit("#", 1)[-1] in item.gold for c in cited if c in by_chunk
    )
    sources = {s.id: s for s in answer.sources}
    verbatim_ok = all(
        sources.get(c.source_id) is not None
        and sources[c.source_id].text[c.chunk_start : c.chunk_end] == c.quote
        and claim.supported
        for claim in answer.claims
        for c in claim.citations
    )
    return {
        "qid": item.qid,
        "condition": condition,
        "abstained": answer.abstained,
        "abstain_reason": answer.abstain_reason,
        "mode": answer.mode,
        "model": answer.model.name,
        "attempts": answer.model.attempts,
        "escalated": answer.model.escalated,
        "cited": len(cited),
        "cited_correct": sum(correct),
        "cites_gold": cites_gold,
        "f1": token_f1(pred_terms, ref_terms) if not answer.abstained else 0.0,
        "rouge_l": rouge_l(pred_terms, ref_terms) if not answer.abstained else 0.0,
        "claims_final": len(answer.claims),
        "claims_removed": len(answer.removed_claims),
        "removed_reasons": [c.reason for c in answer.removed_claims],
        "unsupported_final": not verbatim_ok,
        "latency_s": answer.timings.total_s,
        "prompt_tokens": answer.tokens.prompt_tokens,
        "completion_tokens": answer.tokens.completion_tokens,
        "answer": answer.text if not answer.abstained else None,
        # what was kept and removed, with the cited text: enough to read a run's claims afterwards
        "claims": [_claim_record(c) for c in answer.claims],
        "removed": [_claim_record(c) for c in answer.removed_claims],
    }


def _claim_record(claim: Claim) -> dict[str, Any]:
    """A claim as a result row keeps it: text, verdict features and what it cites."""
    return {
        "text": claim.text,
        "reason": claim.reason,
        "overlap": claim.support.term_overlap,
        "similarity": claim.support.similarity,
        "citations": [
            {
                "source_id": c.source_id,
                "quote": c.quote,
                "quote_as_given": c.quote_as_given,
                "reattributed": c.reattributed,
                "reanchored": c.reanchored,
            }
            for c in claim.citations
        ],
    }


def run_model(
    answerer: Answerer,
    idx: EvalIndex,
    items: Sequence[QAItem],
    model: str,
    *,
    k: int,
    unanswerable: bool = True,
    progress: Callable[[str], None] | None = None,
    done: Mapping[tuple[str, str], dict[str, Any]] | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Rows of :func:`answer_row` per item and condition.

    ``done`` holds rows of an earlier, interrupted run by (qid, condition); they are reused instead
    of asking again, so a run of several hours on a CPU can be stopped and resumed. ``on_row`` sees
    each newly computed row (the caller persists it)."""
    from hanstack.eval.retrieval import EVAL_GROUPS, EVAL_TENANT

    rows = []
    conditions = ("answerable", "unanswerable") if unanswerable else ("answerable",)
    for n, item in enumerate(items, 1):
        for condition in conditions:
            if done is not None and (item.qid, condition) in done:
                rows.append(done[(item.qid, condition)])
                continue
            exclude = (
                [idx.internal_doc[g] for g in item.gold if g in idx.internal_doc]
                if condition == "unanswerable"
                else []
            )
            answer = answerer.ask(
                item.query,
                tenant=EVAL_TENANT,
                groups=list(EVAL_GROUPS),
                model=model,
                k=k,
                exclude_doc_ids=exclude,
            )
            row = answer_row(answer, item, condition, idx, answerer.analyzer)
            rows.append(row)
            if on_row is not None:
                on_row(row)
        if progress is not None:
            progress(f"{model}: {n}/{len(items)}")
    return rows


def summarise(rows: Sequence[dict[str, Any]], *, qids: set[str] | None = None) -> dict[str, Any]:
    rows = [r for r in rows if qids is None or r["qid"] in qids]
    ans = [r for r in rows if r["condition"] == "answerable"]
    una = [r for r in rows if r["condition"] == "unanswerable"]
    answered = [r for r in ans if not r["abstained"]]
    cited = sum(r["cited"] for r in answered)
    drafted = sum(r["claims_final"] + r["claims_removed"] for r in rows)
    attempted = [r for r in rows if r["claims_final"] + r["claims_removed"] > 0]
    lat = [r["latency_s"] for r in rows]
    return {
        "n": len(ans),
        "n_unanswerable": len(una),
        "cit_precision": (sum(r["cited_correct"] for r in answered) / cited) if cited else None,
        "cit_recall": mean([1.0 if r["cites_gold"] else 0.0 for r in ans]) if ans else None,
        "f1": mean([r["f1"] for r in ans]) if ans else None,
        "rougeL": mean([r["rouge_l"] for r in ans]) if ans else None,
        "f1_answered": mean([r["f1"] for r in answered]) if answered else None,
        "abstain_unans": mean([1.0 if r["abstained"] else 0.0 for r in una]) if una else None,
        "false_abstain": mean([1.0 if r["abstained"] else 0.0 for r in ans]) if ans else None,
        "claims_supported": (sum(r["claims_final"] for r in rows) / drafted) if drafted else None,
        "drafts_with_unsupported": mean([1.0 if r["claims_removed"] else 0.0 for r in attempted])
        if attempted
        else None,
        "unsupported_final": mean([1.0 if r["unsupported_final"] else 0.0 for r in rows]) if rows else None,
        "escalated": sum(1 for r in rows if r["escalated"]),
        "p50_s": percentile(lat, 50) if lat else None,
        "p95_s": percentile(lat, 95) if lat else None,
        "prompt_tokens_mean": mean([r["prompt_tokens"] for r in rows]) if rows else None,
        "completion_tokens_mean": mean([r["completion_tokens"] for r in rows]) if rows else None,
    }


def evaluate_answers(
    settings: Settings,
    data_dir: Path,
    *,
    models: Sequence[str] = ("extractive",),
    limit: int | None = None,
    limits: dict[str, int] | None = None,
    seed: int = 7,
    k: int = 5,
    unanswerable: bool = True,
    cache_dir: Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run every model on (a seeded subset of) the set; ``limits`` overrides ``limit`` per model."""
    from hanstack.answer.answerer import Answerer

    corpus, items = load_items(data_dir)
    _, report_qids = holdout_split(items)
    report: dict[str, Any] = {
        "data": str(data_dir),
        "k": k,
        "seed": seed,
        "models": {},
        "summary": {},
        "summary_held_out": {},
    }
    t0 = time.perf_counter()
    with eval_index(settings, corpus, cache_dir=cache_dir) as idx:
        answerer = Answerer(settings, retriever=idx.retriever, embedder=idx.embedder, k=k)
        for model in models:
            chosen = subset(items, (limits or {}).get(model, limit), seed)
            started = time.perf_counter()
            say = (lambda msg: log.warning(msg)) if progress else None
            rows = run_model(answerer, idx, chosen, model, k=k, unanswerable=unanswerable, progress=say)
            _save(idx.embedder)
            report["models"][model] = {
                "queries": [it.qid for it in chosen],
                "rows": rows,
                "seconds": round(time.perf_counter() - started, 1),
            }
            report["summary"][model] = summarise(rows)
            report["summary_held_out"][model] = summarise(rows, qids=report_qids)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# --- calibration ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class LinearRule:
    """``score = w·features``; decision ``score ≥ threshold``; fitted by grid search on direction and cut."""

    weights: tuple[float, ...]
    threshold: float
    fit: dict[str, float] = field(default_factory=dict)


def fit_linear_rule(
    groups_pos: Sequence[np.ndarray],
    groups_neg: Sequence[np.ndarray],
    *,
    angles: int = 46,
    objective: Callable[[float, float], float] | None = None,
) -> LinearRule:
    """Fit a 2-feature rule ``cos(θ)·f0 + sin(θ)·f1 ≥ t`` (each group's score = max over its rows).

    ``groups_pos``/``groups_neg``: per example, an array of candidate feature rows (n, 2); an example
    is accepted when any of its rows passes (max). ``objective(tpr, fpr)`` is maximised (default:
    Youden's J = tpr − fpr).
    """
    objective = objective or (lambda tpr, fpr: tpr - fpr)
    best: tuple[float, float, float, float, float] | None = None
    for a in range(angles):
        theta = (math.pi / 2) * a / (angles - 1)
        w = np.array([math.cos(theta), math.sin(theta)])
        pos = np.array([float(np.max(g @ w)) if len(g) else -1e9 for g in groups_pos])
        neg = np.array([float(np.max(g @ w)) if len(g) else -1e9 for g in groups_neg])
        for t in np.unique(np.concatenate([pos, neg])):
            tpr = float(np.mean(pos >= t))
            fpr = float(np.mean(neg >= t))
            val = objective(tpr, fpr)
            if best is None or val > best[0]:
                best = (val, theta, float(t), tpr, fpr)
    assert best is not None
    val, theta, t, tpr, fpr = best
    return LinearRule((math.cos(theta), math.sin(theta)), t, {"objective": val, "tpr": tpr, "fpr": fpr})


def rule_rates(
    rule: LinearRule, groups_pos: Sequence[np.ndarray], groups_neg: Sequence[np.ndarray]
) -> dict[str, float]:
    w = np.array(rule.weights)
    pos = np.array([float(np.max(g @ w)) if len(g) else -1e9 for g in groups_pos])
    neg = np.array([float(np.max(g @ w)) if len(g) else -1e9 for g in groups_neg])
    tpr = float(np.mean(pos >= rule.threshold)) if len(pos) else 0.0
    fpr = float(np.mean(neg >= rule.threshold)) if len(neg) else 0.0
    return {"tpr": tpr, "fpr": fpr, "n_pos": len(pos), "n_neg": len(neg)}


def as_logistic(rule: LinearRule, scale: float = 40.0) -> dict[str, float]:
    """The rule as the logistic parameters of GateThresholds/SupportThresholds (p ≥ 0.5 ⇔ rule)."""
    return {
        "w0": round(scale * rule.weights[0], 4),
        "w1": round(scale * rule.weights[1], 4),
        "bias": round(-scale * rule.threshold, 4),
    }


def gate_features(
    idx: EvalIndex, items: Sequence[QAItem], analyzer: Any, *, k: int
) -> dict[str, dict[str, np.ndarray]]:
    """Per query: (coverage, dense) of each of the top-k hits, with and without the gold passage."""
    from hanstack.answer.gate import coverage
    from hanstack.answer.sources import Passage
    from hanstack.eval.retrieval import EVAL_GROUPS, EVAL_TENANT

    out: dict[str, dict[str, np.ndarray]] = {}
    for item in items:
        q_terms = list(dict.fromkeys(analyzer.search_terms(item.query)))
        gold_internal = {idx.internal_doc[g] for g in item.gold if g in idx.internal_doc}
        hits = idx.retriever.search(item.query, tenant=EVAL_TENANT, groups=list(EVAL_GROUPS), k=k + 8)
        feats = {}
        for condition in ("answerable", "unanswerable"):
            chosen = [h for h in hits if condition == "answerable" or h.doc_id not in gold_internal][:k]
            rows = []
            for h in chosen:
                p = Passage.from_hit(h)
                rows.append([coverage(q_terms, p), float(h.scores.get("dense", 0.0))])
            feats[condition] = np.array(rows, dtype=np.float64).reshape(-1, 2)
        out[item.qid] = feats
    return out


def calibrate_gate(
    idx: EvalIndex, items: Sequence[QAItem], analyzer: Any, *, k: int = 5, max_false_abstain: float = 0.1
) -> dict[str, Any]:
    """Fit the answerability gate on the fit half, report it on the held-out half."""
    fit_qids, report_qids = holdout_split(items)
    feats = gate_features(idx, items, analyzer, k=k)

    def groups(qids: set[str], cond: str) -> list[np.ndarray]:
        return [feats[q][cond] for q in sorted(qids)]

    # answerable queries should pass (tpr), gold-removed ones should not (fpr = 1 - abstention).
    # The gate is the first, cheap stage of a cascade: the model's own "answerable" verdict and the
    # support check can only add abstentions later, never undo a wrong one, so the gate is fitted
    # for the most abstention that keeps false abstention within budget on the fit half.
    rule = fit_linear_rule(
        groups(fit_qids, "answerable"),
        groups(fit_qids, "unanswerable"),
        objective=lambda tpr, fpr: (1 - fpr) + 1e-3 * tpr if 1 - tpr <= max_false_abstain else tpr - 2,
    )
    held = rule_rates(rule, groups(report_qids, "answerable"), groups(report_qids, "unanswerable"))
    fitted = rule_rates(rule, groups(fit_qids, "answerable"), groups(fit_qids, "unanswerable"))
    return {
        "rule": {"weights": rule.weights, "threshold": rule.threshold},
        "logistic": as_logistic(rule),
        "fit": {
            "queries": len(fit_qids),
            "false_abstain": 1 - fitted["tpr"],
            "abstain_unans": 1 - fitted["fpr"],
        },
        "held_out": {
            "queries": len(report_qids),
            "false_abstain": 1 - held["tpr"],
            "abstain_unans": 1 - held["fpr"],
        },
        "objective": f"most abstention with false abstention <= {max_false_abstain} on the fit half",
        "features": "coverage = share of the question's topic morphemes in the passage; dense = e5 cosine",
    }


def nli_pairs(path: Path) -> list[tuple[str, str, str]]:
    """(premise, hypothesis, label) from KLUE-NLI JSON or KorNLI TSV."""
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return [(d["premise"], d["hypothesis"], d["gold_label"]) for d in data]
    out = []
    with path.open(encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                out.append((parts[0], parts[1], parts[2]))
    return out


def support_features(
    checker: Any, pairs: Sequence[tuple[str, str, str]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features (n, 2) = overlap, similarity; hard-rule rejections (n,); labels (n,) entailment=1)."""
    from hanstack.answer.support import missing_numbers

    overlap = [checker.term_overlap(h, p) for p, h, _ in pairs]
    sims = checker.similarities([(h, p) for p, h, _ in pairs])
    hard = [bool(missing_numbers(h, p)) or checker.negation_mismatch(h, p) for p, h, _ in pairs]
    feats = np.array([[o, s if s is not None else 0.0] for o, s in zip(overlap, sims, strict=True)])
    labels = np.array([1 if lab == "entailment" else 0 for _, _, lab in pairs])
    return feats, np.array(hard), labels


def calibrate_support(
    checker: Any,
    fit_pairs: Sequence[tuple[str, str, str]],
    report_pairs: Sequence[tuple[str, str, str]],
    *,
    given_rule: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit the overlap/similarity rule on ``fit_pairs`` (label ``entailment`` vs every other label),
    report on ``report_pairs``; the hard rules (numbers, polarity) apply before the rule, as in the
    checker. With ``given_rule`` nothing is fitted: the rule is only measured."""
    f_fit, hard_fit, y_fit = support_features(checker, fit_pairs)
    f_rep, hard_rep, y_rep = support_features(checker, report_pairs)

    def split(f: np.ndarray, hard: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        rows = [f[i : i + 1] if not hard[i] else np.full((1, 2), -1e6) for i in range(len(y))]
        return [rows[i] for i in range(len(y)) if y[i] == 1], [rows[i] for i in range(len(y)) if y[i] == 0]

    pos, neg = split(f_fit, hard_fit, y_fit)
    if given_rule is None:
        rule = fit_linear_rule(pos, neg)
    else:  # evaluate a given rule (an outside check): no fitting
        rule = LinearRule(tuple(given_rule["weights"]), float(given_rule["threshold"]))
        rates = rule_rates(rule, pos, neg)
        rule.fit = {"tpr": rates["tpr"], "fpr": rates["fpr"]}
    rpos, rneg = split(f_rep, hard_rep, y_rep)
    held = rule_rates(rule, rpos, rneg)
    labels_rep = [lab for _, _, lab in report_pairs]
    w = np.array(rule.weights)
    accepted = [(not hard_rep[i]) and float(f_rep[i] @ w) >= rule.threshold for i in range(len(labels_rep))]
    by_label = {
        lab: mean([1.0 if a else 0.0 for a, lbl in zip(accepted, labels_rep, strict=True) if lbl == lab])
        for lab in sorted(set(labels_rep))
    }
    hard_by_label = {
        lab: mean([1.0 if h else 0.0 for h, lbl in zip(hard_rep, labels_rep, strict=True) if lbl == lab])
        for lab in sorted(set(labels_rep))
    }
    precision = (held["tpr"] * held["n_pos"]) / max(
        1e-9, held["tpr"] * held["n_pos"] + held["fpr"] * held["n_neg"]
    )
    return {
        "rule": {"weights": list(rule.weights), "threshold": rule.threshold},
        "logistic": as_logistic(rule),
        "fit": {"pairs": len(fit_pairs), **rule.fit},
        "held_out": {
            "pairs": len(report_pairs),
            **held,
            "precision": precision,
            "accepted_by_label": by_label,
            "hard_rule_rejections_by_label": hard_by_label,
        },
    }


def rag_support_pairs(
    corpus: Sequence[Any], items: Sequence[QAItem], analyzer: Any
) -> list[tuple[str, str, str, str]]:
    """(evidence, claim, label, qid) pairs from reference answers, closer to what the checker sees.

    Each sentence of a reference answer is a claim. Positive evidence: the window (best sentence ± 1)
    of the gold passage that shares most of the claim's content morphemes. Negative evidence: the same
    kind of window in the most similar *other* page of the same source document (same topic, other
    facts). Sentences with under 3 content morphemes, or whose gold window shares under a third of
    them (the reference says something the page does not), are skipped.
    """
    from hanstack.answer.support import evidence_window

    by_id = {d.doc_id: d.text for d in corpus}
    by_doc: dict[str, list[str]] = {}
    for d in corpus:
        by_doc.setdefault(d.doc_id.rsplit(" - ", 1)[0], []).append(d.doc_id)
    term_cache: dict[str, set[str]] = {}

    def terms(text: str) -> set[str]:
        if text not in term_cache:
            term_cache[text] = set(analyzer.search_terms(text))
        return term_cache[text]

    def best_window(claim_terms: set[str], text: str) -> tuple[float, str]:
        best = (0.0, "")
        for sent in analyzer.split_sentences(text):
            share = len(claim_terms & terms(sent.text)) / len(claim_terms)
            if share > best[0]:
                lo, hi = evidence_window(text, sent.start, sent.end, 1)
                best = (share, text[lo:hi])
        return best

    out: list[tuple[str, str, str, str]] = []
    for item in items:
        gold = next((g for g in item.gold if g in by_id), None)
        if gold is None:
            continue
        siblings = [d for d in by_doc.get(gold.rsplit(" - ", 1)[0], []) if d not in item.gold]
        for sent in analyzer.split_sentences(item.reference):
            claim = sent.text.strip()
            ct = terms(claim)
            if len(ct) < 3:
                continue
            share, pos = best_window(ct, by_id[gold])
            if share < 1 / 3:
                continue
            other = max(siblings, key=lambda d: len(ct & terms(by_id[d])), default=None)
            out.append((pos, claim, "entailment", item.qid))
            if other is not None:
                _, neg = best_window(ct, by_id[other])
                if neg:
                    out.append((neg, claim, "other_page", item.qid))
    return out
