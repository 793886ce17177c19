"""Ranking metrics with binary relevance, shared by every evaluation (retrieval, answers' citations).

Each takes the ranked ids (best first) and the set of relevant ids of one query; average them over
queries yourself (or with :func:`mean`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence


def dcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    return sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in relevant)


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """DCG of the ranking over the DCG of a perfect one (all relevant first); 0 with none relevant."""
    if not relevant:
        return 0.0
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg_at_k(ranked, relevant, k) / ideal


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def mrr_at_k(ranked: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    for i, doc in enumerate(ranked[:k]):
        if doc in relevant:
            return 1.0 / (i + 1)
    return 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (``p`` in 0..100), as numpy's default."""
    if not values:
        return 0.0
    data = sorted(values)
    pos = (len(data) - 1) * p / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)
