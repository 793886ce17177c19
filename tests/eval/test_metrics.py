from __future__ import annotations

import math

from hanstack.eval.metrics import mean, mrr_at_k, ndcg_at_k, percentile, recall_at_k


def test_ndcg():
    assert ndcg_at_k(["a", "b"], {"a"}, 10) == 1.0
    assert math.isclose(ndcg_at_k(["x", "a"], {"a"}, 10), 1 / math.log2(3))
    assert ndcg_at_k(["x"] * 10 + ["a"], {"a"}, 10) == 0.0
    # two relevant, one found at rank 1: DCG 1 over IDCG 1 + 1/log2(3)
    assert math.isclose(ndcg_at_k(["a", "x"], {"a", "b"}, 10), 1 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(["a"], set(), 10) == 0.0


def test_recall_mrr():
    assert recall_at_k(["a", "b", "c"], {"c", "d"}, 2) == 0.0
    assert recall_at_k(["a", "b", "c"], {"c", "d"}, 3) == 0.5
    assert mrr_at_k(["x", "y", "a"], {"a"}, 10) == 1 / 3
    assert mrr_at_k(["x"], {"a"}, 10) == 0.0


def test_mean_percentile():
    assert mean([]) == 0.0 and mean([1, 2]) == 1.5
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 95) == 5
    assert percentile(list(range(101)), 95) == 95
