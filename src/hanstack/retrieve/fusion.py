"""Fusing ranked lists: reciprocal-rank fusion and a normalised weighted sum.

Both take ranked ``(key, score)`` lists (best first) and return one ranked list. Plain reference
implementations of the same formulas live in the tests, which check these agree with them.

- RRF: ``Σ_i w_i / (k + rank_i)`` (rank from 1; a list a key is absent from adds nothing).
  Robust, ignores score magnitudes, which is also its weakness: a BM25 list whose first hit is
  far ahead counts the same as a flat one.
- weighted: ``Σ_i w_i · norm_i(score)`` with each list's scores normalised over its candidates
  (``minmax`` to [0, 1], ``max`` dividing by the best, or ``dbsf``: mean ± 3σ to [0, 1], as
  Qdrant's distribution-based fusion). A key absent from a list gets 0 there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Literal

Ranked = Sequence[tuple[str, float]]
Norm = Literal["minmax", "max", "dbsf"]


def rrf(
    lists: Sequence[Ranked], *, k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    w = _weights(lists, weights)
    fused: dict[str, float] = {}
    for weight, ranked in zip(w, lists, strict=True):
        for rank, (key, _) in enumerate(ranked, 1):
            fused[key] = fused.get(key, 0.0) + weight / (k + rank)
    return _sorted(fused)


def normalise(scores: Sequence[float], norm: Norm = "minmax") -> list[float]:
    if not scores:
        return []
    if norm == "minmax":
        lo, hi = min(scores), max(scores)
        span = hi - lo
        return [1.0 if span == 0 else (s - lo) / span for s in scores]
    if norm == "max":
        hi = max(scores)
        return [s / hi if hi > 0 else 0.0 for s in scores]
    if norm == "dbsf":
        mean = sum(scores) / len(scores)
        sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
        if sd == 0:
            return [1.0 for _ in scores]
        lo, hi = mean - 3 * sd, mean + 3 * sd
        return [min(1.0, max(0.0, (s - lo) / (hi - lo))) for s in scores]
    raise ValueError(f"unknown normalisation {norm!r}")


def weighted(
    lists: Sequence[Ranked], *, weights: Sequence[float] | None = None, norm: Norm = "minmax"
) -> list[tuple[str, float]]:
    w = _weights(lists, weights)
    fused: dict[str, float] = {}
    for weight, ranked in zip(w, lists, strict=True):
        if not ranked:
            continue
        normed = normalise([s for _, s in ranked], norm)
        for (key, _), s in zip(ranked, normed, strict=True):
            fused[key] = fused.get(key, 0.0) + weight * s
    return _sorted(fused)


def best_per_document(ranked: Ranked, doc_of: Mapping[str, str]) -> list[tuple[str, float]]:
    """Each document's best score in a ranked list of chunks, as ``(doc, score)``, best first.

    Fusing these per-document lists instead of chunk lists lets a document whose best keyword
    chunk and best semantic chunk differ collect both signals (chunk-level fusion credits each
    chunk with one of them only)."""
    best: dict[str, float] = {}
    for key, score in ranked:
        doc = doc_of.get(key) or key
        if doc not in best or score > best[doc]:
            best[doc] = score
    return _sorted(best)


def ranked(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    """Scores by key as a ranked list: best first, ties by key."""
    return _sorted(dict(scores))


def _weights(lists: Sequence[Ranked], weights: Sequence[float] | None) -> Sequence[float]:
    if weights is None:
        return [1.0] * len(lists)
    if len(weights) != len(lists):
        raise ValueError(f"{len(weights)} weights for {len(lists)} lists")
    return weights


def _sorted(fused: dict[str, float]) -> list[tuple[str, float]]:
    """Best score first, ties by key (deterministic): two C-keyed sorts, the second stable, cost
    less than one sort with a Python key function (~200 candidates per query)."""
    items = sorted(fused.items())
    items.sort(key=itemgetter(1), reverse=True)  # reverse=True keeps equal scores in key order
    return items
