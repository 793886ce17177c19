"""Answerability: do the retrieved passages address the question at all?

Before any model runs, the best retrieved passage must look like an answer to the question: a
logistic score over two signals the retriever already computed —

- ``coverage``: share of the question's topic morphemes (its content morphemes less interrogatives,
  request verbs and light words: :func:`hanstack.korean.question.topic_terms`) that the passage
  contains (:attr:`SearchHit.matched_terms` and the chunk's terms), and
- ``dense``: e5 cosine similarity of question and passage (:attr:`SearchHit.scores` ``["dense"]``) —

must reach the calibrated threshold. Otherwise the answer abstains without calling a model (cheap,
and a small model shown unrelated passages tends to answer anyway). Weights and threshold were fitted
on half of the AutoRAG queries (answerable: gold passage indexed; unanswerable: gold removed) and are
reported on the other half (``hanstack.eval.answers.calibrate_gate``; ``notes/answers.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from hanstack.answer.sources import Passage
from hanstack.korean.question import topic_terms


@dataclass(frozen=True, slots=True)
class GateThresholds:
    # fitted by bench/answers.py (step gate) on half of AutoRAG-ko for the most abstention with false
    # abstention <= 0.1 on that half: bench/results/answers_gate_calibration.md
    w_coverage: float = 36.5418
    w_dense: float = 16.2695
    bias: float = -36.4361
    threshold: float = 0.5
    min_coverage_no_dense: float = 0.5
    """Fallback rule when no dense score is available (no embedder): coverage alone."""

    def probability(self, coverage: float, dense: float | None) -> float:
        if dense is None:
            return 1.0 if coverage >= self.min_coverage_no_dense else 0.0
        z = self.w_coverage * coverage + self.w_dense * dense + self.bias
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


@dataclass(frozen=True, slots=True)
class GateSignals:
    coverage: float
    dense: float | None
    probability: float
    best_chunk_id: str | None

    @property
    def as_dict(self) -> dict[str, float | str | None]:
        return {
            "coverage": self.coverage,
            "dense": self.dense,
            "probability": self.probability,
            "best_chunk_id": self.best_chunk_id,
        }


def coverage(question_terms: Sequence[str], passage: Passage) -> float:
    wanted = set(topic_terms(question_terms))
    if not wanted:
        return 0.0
    have = set(passage.extras.get("matched_terms") or ()) | set(passage.terms)
    return len(wanted & have) / len(wanted)


def assess(
    question_terms: Sequence[str], passages: Sequence[Passage], thresholds: GateThresholds
) -> GateSignals:
    """The best passage's signals (by gate probability)."""
    best = GateSignals(0.0, None, 0.0, None)
    for p in passages:
        cov = coverage(question_terms, p)
        dense = p.extras.get("dense")
        prob = thresholds.probability(cov, dense)
        if best.best_chunk_id is None or prob > best.probability:
            best = GateSignals(
                round(cov, 4), None if dense is None else round(float(dense), 4), prob, p.chunk_id
            )
    return best
