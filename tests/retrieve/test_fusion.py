"""The fusion functions against plain reference implementations of the same formulas."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from hanstack.retrieve.fusion import normalise, rrf, weighted


def reference_rrf(lists, k, weights):
    keys = {key for lst in lists for key, _ in lst}
    out = {}
    for key in keys:
        total = 0.0
        for w, lst in zip(weights, lists, strict=True):
            ranks = [i + 1 for i, (kk, _) in enumerate(lst) if kk == key]
            if ranks and w:
                total += w / (k + ranks[0])
        out[key] = total
    return out


def reference_weighted(lists, weights):
    out = {}
    for w, lst in zip(weights, lists, strict=True):
        if not lst:
            continue
        scores = [s for _, s in lst]
        lo, hi = min(scores), max(scores)
        for key, s in lst:
            n = 1.0 if hi == lo else (s - lo) / (hi - lo)
            out[key] = out.get(key, 0.0) + w * n
    for lst in lists:
        for key, _ in lst:
            out.setdefault(key, 0.0)
    return out


def ranked_lists():
    keys = st.sampled_from([f"k{i}" for i in range(12)])
    one = st.lists(
        st.tuples(keys, st.floats(-5, 50, allow_nan=False)), max_size=10, unique_by=lambda t: t[0]
    ).map(lambda lst: sorted(lst, key=lambda t: -t[1]))
    return st.tuples(one, one)


def check(fused, ref):
    assert {k for k, _ in fused} == set(ref)
    for key, score in fused:
        assert math.isclose(score, ref[key], rel_tol=1e-9, abs_tol=1e-12)
    scores = [s for _, s in fused]
    assert scores == sorted(scores, reverse=True)


@given(ranked_lists(), st.integers(1, 100), st.floats(0, 3), st.floats(0, 3))
def test_rrf_matches_reference(lists, k, w1, w2):
    check(rrf(list(lists), k=k, weights=[w1, w2]), reference_rrf(lists, k, [w1, w2]) | {})


@given(ranked_lists(), st.floats(0, 3), st.floats(0, 3))
def test_weighted_matches_reference(lists, w1, w2):
    check(weighted(list(lists), weights=[w1, w2]), reference_weighted(lists, [w1, w2]))


def test_rrf_textbook_example():
    fused = dict(rrf([[("a", 9), ("b", 8)], [("b", 0.9), ("c", 0.8)]], k=60))
    assert math.isclose(fused["b"], 1 / 62 + 1 / 61)
    assert math.isclose(fused["a"], 1 / 61)
    assert math.isclose(fused["c"], 1 / 62)


def test_weighted_uses_magnitudes_rrf_does_not():
    sparse = [("a", 30.0), ("b", 3.0), ("c", 2.9)]
    dense = [("b", 0.80), ("a", 0.79), ("c", 0.10)]
    assert weighted([sparse, dense], weights=[0.5, 0.5])[0][0] == "a"
    assert rrf([sparse, dense], k=60)[0][0] in {"a", "b"}


def test_normalisations():
    assert normalise([2.0, 1.0, 0.0]) == [1.0, 0.5, 0.0]
    assert normalise([3.0, 3.0]) == [1.0, 1.0]
    assert normalise([4.0, 2.0], "max") == [1.0, 0.5]
    d = normalise([1.0, 2.0, 3.0], "dbsf")
    assert all(0 <= x <= 1 for x in d) and d[2] > d[1] > d[0]
    assert normalise([]) == []


def test_document_level_fusion_credits_both_signals_of_a_document():
    """Doc A's best keyword chunk (a1) and best vector chunk (a2) differ; doc B's one chunk is a
    close second on both. Chunk-level fusion ranks B first (a1 and a2 each have one signal);
    fusing each document's best scores ranks A first."""
    from hanstack.retrieve.fusion import best_per_document

    sparse = [("a1", 10.0), ("b1", 9.5)]
    dense = [("a2", 0.90), ("b1", 0.88)]
    doc_of = {"a1": "A", "a2": "A", "b1": "B"}
    chunk_level = weighted([sparse, dense], weights=[0.5, 0.5], norm="max")
    assert chunk_level[0][0] == "b1"
    doc_level = weighted(
        [best_per_document(sparse, doc_of), best_per_document(dense, doc_of)], weights=[0.5, 0.5], norm="max"
    )
    assert [d for d, _ in doc_level] == ["A", "B"]
    assert best_per_document([("x", 1.0), ("y", 3.0), ("z", 2.0)], {"x": "D", "y": "D"}) == [
        ("D", 3.0),
        ("z", 2.0),
    ]
