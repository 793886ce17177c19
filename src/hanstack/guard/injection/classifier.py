"""A small character n-gram logistic regression (numpy only) over normalised compact text.

Features are the presence of character 2-, 3- and 4-grams of ``^`` + compact text + ``$`` that were
seen at least ``min_count`` times in training; weights are learnt by full-batch Adam with L2. The
model file is gzip JSON (n-grams and weights, pruned to the non-negligible ones) shipped with the
package, so inference needs no training data. :meth:`explain` names the n-grams that pushed the
score up, for the verdict's explanation.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hanstack.errors import GuardError

NGRAM_SIZES = (2, 3, 4)


def ngrams(compact_text: str, sizes: Sequence[int] = NGRAM_SIZES, limit: int = 4000) -> set[str]:
    s = "^" + compact_text[:limit] + "$"
    out: set[str] = set()
    for n in sizes:
        out.update(s[i : i + n] for i in range(len(s) - n + 1))
    return out


class NgramClassifier:
    def __init__(
        self,
        weights: dict[str, float],
        bias: float,
        sizes: Sequence[int] = NGRAM_SIZES,
        meta: dict[str, object] | None = None,
    ) -> None:
        self.weights = weights
        self.bias = bias
        self.sizes = tuple(sizes)
        self.meta = meta or {}

    def logit(self, compact_text: str) -> float:
        w = self.weights
        return self.bias + sum(w.get(g, 0.0) for g in ngrams(compact_text, self.sizes))

    def predict_proba(self, compact_text: str) -> float:
        z = self.logit(compact_text)
        return 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0

    @property
    def threshold(self) -> float:
        """The "suspicious" operating point (1% FPR on benign calibration text); 0.5 if none."""
        t = self.meta.get("threshold")
        return float(t) if isinstance(t, int | float) and 0 < t < 1 else 0.5

    def with_strict_threshold(self, threshold: float) -> NgramClassifier:
        """The same weights with another "attack on its own" point (for operating-point tables)."""
        meta = {**self.meta, "strict_threshold": max(threshold, self.threshold * 1.01)}
        return NgramClassifier(self.weights, self.bias, self.sizes, meta)

    @property
    def strict_threshold(self) -> float:
        """The "attack on its own" operating point (0.5% FPR on benign calibration text)."""
        t = self.meta.get("strict_threshold")
        return float(t) if isinstance(t, int | float) and self.threshold < t < 1 else max(self.threshold, 0.9)

    def score(self, compact_text: str) -> tuple[float, float]:
        """``(p, calibrated)``: the raw probability, and a score that is 0.4 at the suspicious point and
        0.5 (the default attack threshold) at the strict point, linear in between and beyond."""
        p = self.predict_proba(compact_text)
        t, ts = self.threshold, self.strict_threshold
        if p < t:
            calibrated = 0.4 * p / t
        elif p < ts:
            calibrated = 0.4 + 0.1 * (p - t) / (ts - t)
        else:
            calibrated = 0.5 + 0.5 * (p - ts) / (1 - ts)
        return p, calibrated

    def explain(self, compact_text: str, k: int = 4) -> list[tuple[str, float]]:
        w = self.weights
        contrib = sorted(((g, w[g]) for g in ngrams(compact_text, self.sizes) if g in w), key=lambda x: -x[1])
        return [(g.strip("^$"), round(v, 3)) for g, v in contrib[:k] if v > 0]

    # -- training -------------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[int],
        *,
        min_count: int = 2,
        l2: float = 1e-4,
        steps: int = 300,
        lr: float = 0.1,
        positive_weight: float | None = None,
        sizes: Sequence[int] = NGRAM_SIZES,
        prune: float = 0.02,
    ) -> NgramClassifier:
        """Fit on compact texts with 0/1 labels; ``positive_weight`` defaults to the class ratio."""
        if len(texts) != len(labels) or not texts:
            raise GuardError("classifier training needs as many labels as texts (and at least one)")
        weights, bias, meta = fit_logistic(
            [ngrams(t, sizes) for t in texts],
            labels,
            min_count=min_count,
            l2=l2,
            steps=steps,
            lr=lr,
            positive_weight=positive_weight,
            prune=prune,
        )
        return cls(weights, bias, sizes, meta)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        data = {
            "version": 1,
            "sizes": list(self.sizes),
            "bias": self.bias,
            "meta": self.meta,
            "weights": self.weights,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def load(cls, path: Path) -> NgramClassifier:
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                data = json.load(f)
            return cls(
                {str(k): float(v) for k, v in data["weights"].items()},
                float(data["bias"]),
                tuple(data.get("sizes", NGRAM_SIZES)),
                data.get("meta", {}),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GuardError(
                f"cannot load injection classifier {path}: {exc}",
                hint="retrain with: python -m hanstack.guard.injection.train",
            ) from exc


def fit_logistic(
    feature_sets: Sequence[set[str]],
    labels: Sequence[int],
    *,
    min_count: int = 2,
    l2: float = 1e-4,
    steps: int = 300,
    lr: float = 0.1,
    positive_weight: float | None = None,
    prune: float = 0.02,
) -> tuple[dict[str, float], float, dict[str, object]]:
    """Binary logistic regression over sets of string features (full-batch Adam, L2, numpy only).

    Returns ``(weights, bias, meta)``; features seen fewer than ``min_count`` times are dropped and
    weights below ``prune`` in absolute value are not kept.
    """
    counts: Counter[str] = Counter()
    for g in feature_sets:
        counts.update(g)
    vocab = {g: i for i, g in enumerate(g for g, c in counts.items() if c >= min_count)}
    rows = [np.fromiter((vocab[g] for g in gs if g in vocab), dtype=np.int64) for gs in feature_sets]
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    row_of = np.repeat(np.arange(len(rows)), lengths)
    y = np.asarray(labels, dtype=np.float64)
    pos = max(1.0, float(y.sum()))
    neg = max(1.0, float(len(y) - y.sum()))
    pw = positive_weight if positive_weight is not None else neg / pos
    sample_w = np.where(y > 0.5, pw, 1.0)
    sample_w /= sample_w.mean()
    w = np.zeros(len(vocab))
    b = 0.0
    m_w = np.zeros_like(w)
    v_w = np.zeros_like(w)
    m_b = v_b = 0.0
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    n = len(rows)
    for step in range(1, steps + 1):
        z = np.bincount(row_of, weights=w[indices], minlength=n) + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        err = (p - y) * sample_w / n
        g_w = np.bincount(indices, weights=err[row_of], minlength=len(w)) + l2 * w
        g_b = float(err.sum())
        m_w = beta1 * m_w + (1 - beta1) * g_w
        v_w = beta2 * v_w + (1 - beta2) * g_w * g_w
        m_b = beta1 * m_b + (1 - beta1) * g_b
        v_b = beta2 * v_b + (1 - beta2) * g_b * g_b
        c1, c2 = 1 - beta1**step, 1 - beta2**step
        w -= lr * (m_w / c1) / (np.sqrt(v_w / c2) + eps)
        b -= lr * (m_b / c1) / (math.sqrt(v_b / c2) + eps)
    inv = list(vocab)
    weights = {inv[i]: round(float(w[i]), 4) for i in np.flatnonzero(np.abs(w) >= prune)}
    return weights, round(b, 4), {"train_size": n, "positives": int(y.sum()), "vocab": len(vocab)}
