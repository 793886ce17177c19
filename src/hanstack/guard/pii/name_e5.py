"""e5 token-state features for the person-name CRF (``names="crf-e5"``).

Why a probe and not the raw 384-d states in the CRF: crfsuite learns one weight per (feature,
label), so dense floats give it a linear view of the states per label and nothing more, and it
trains slowly on them. A small *probe* is trained first on the token states (token label = the KLUE
type and B/I of the characters it covers), and the CRF gets its probabilities, bucketed, for the
token under the character and its neighbours. (Optionally also the id of the nearest of k cluster
centres of the state, a Brown-cluster-like word class: alone it helped, next to the probe it added
nothing, so it is off.) The shipped probe is a one-hidden-layer MLP (256 ReLU units) over the states
of layer 7 of 12: the middle layers carry far more token-level entity information than the final
one, which e5 tunes for pooled sentence embeddings (token-level log loss on the inner validation
split: layer 7 0.214, layer 12 0.349), and the encoder can stop after layer 7. On the inner split of
the training half the e5 features lifted exact-span F1 from 0.760 to 0.825 with a logistic probe
over layer 12, and to 0.848 with the MLP over layer 7 (notes/guard.md has the tables).

The probe is *cross-fitted* during CRF training: each training sentence gets probabilities from a
probe that never saw it (5 folds), as an unseen sentence at tagging time does; otherwise the CRF
would learn to trust the probe far more than it deserves.

Everything here is numpy; the probe and centres ship as one small ``.npz``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from hanstack.guard.pii.e5_states import TokenStates

PROBE_RESOURCE = "person_name_e5_probe.npz"
TYPES = ("PS", "LC", "OG", "DT", "TI", "QT")  # KLUE-NER types; class 1 + 2t = B-type, 2 + 2t = I-type


def default_probe_path() -> Path:
    return Path(str(resources.files("hanstack") / "data" / "guard" / PROBE_RESOURCE))


def token_classes(
    text: str, ents: Sequence[tuple[str, int, int]], spans: Sequence[tuple[int, int]]
) -> np.ndarray:
    """Probe target per token: 0 outside entities, ``1 + 2t`` when the token starts type ``t``,
    ``2 + 2t`` when it continues one (a token that covers part of an entity takes its type)."""
    lab = [""] * len(text)
    for typ, a, b in ents:
        if typ not in TYPES:
            continue
        for p in range(a, b):
            lab[p] = ("B-" if p == a else "I-") + typ
    out = np.zeros(len(spans), np.int64)
    for k, (a, b) in enumerate(spans):
        inside = [x for x in lab[a:b] if x]
        if inside:
            t = TYPES.index(inside[0][2:])
            out[k] = 1 + 2 * t + (0 if lab[a].startswith("B-") else 1)
    return out


def with_neighbours(x: np.ndarray) -> np.ndarray:
    """``[n, d]`` → ``[n, 3d]``: each token's state next to its left and right neighbours' (zeros at
    the edges), so the linear probe sees a little context of its own."""
    z = np.zeros((1, x.shape[1]), x.dtype)
    return np.concatenate([x, np.concatenate([z, x[:-1]]), np.concatenate([x[1:], z])], axis=1)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_logistic(
    x: np.ndarray, y: np.ndarray, k: int, *, l2: float = 1e-3, iters: int = 300, lr: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression, full-batch Adam (deterministic: zero start, no sampling)."""
    n, d = x.shape
    w = np.zeros((d, k), np.float32)
    b = np.zeros(k, np.float32)
    onehot = np.eye(k, dtype=np.float32)[y]
    params = [w, b]
    mom = [np.zeros_like(w), np.zeros_like(b)]
    var = [np.zeros_like(w), np.zeros_like(b)]
    for t in range(1, iters + 1):
        g = (_softmax(x @ w + b) - onehot) / n
        _adam_step(params, (x.T @ g + l2 * w, g.sum(axis=0)), mom, var, t, lr)
    return w, b


def _adam_step(
    params: list[np.ndarray],
    grads: Sequence[np.ndarray],
    mom: list[np.ndarray],
    var: list[np.ndarray],
    t: int,
    lr: float,
) -> None:
    """One Adam update (β 0.9 / 0.999, ε 1e-8) of ``params`` in place, step ``t`` from 1."""
    for j, gr in enumerate(grads):
        mom[j] = 0.9 * mom[j] + 0.1 * gr
        var[j] = 0.999 * var[j] + 0.001 * gr * gr
        params[j] -= lr * (mom[j] / (1 - 0.9**t)) / (np.sqrt(var[j] / (1 - 0.999**t)) + 1e-8)


def kmeans(x: np.ndarray, k: int, *, iters: int = 15, seed: int = 0) -> np.ndarray:
    """Spherical k-means centres ``[k, d]`` (unit vectors) of the rows of ``x``."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    c = x[rng.choice(len(x), k, replace=False)].copy()
    for _ in range(iters):
        a = np.argmax(x @ c.T, axis=1)
        for j in range(k):
            m = x[a == j]
            if len(m):
                s = m.mean(axis=0)
                c[j] = s / (np.linalg.norm(s) + 1e-9)
    return c


def fit_mlp(
    x: np.ndarray,
    y: np.ndarray,
    k: int,
    *,
    hidden: int = 256,
    epochs: int = 15,
    lr: float = 1e-3,
    wd: float = 1e-4,
    batch: int = 256,
    drop: float = 0.1,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One-hidden-layer ReLU network (softmax output): minibatch Adam, dropout on the hidden units,
    L2 weight decay. Deterministic for a given ``seed``. Returns ``(w1, b1, w2, b2)``."""
    rng = np.random.default_rng(seed)
    n, d = x.shape
    params = [
        (rng.standard_normal((d, hidden)) * np.sqrt(2 / d)).astype(np.float32),
        np.zeros(hidden, np.float32),
        (rng.standard_normal((hidden, k)) * np.sqrt(1 / hidden)).astype(np.float32),
        np.zeros(k, np.float32),
    ]
    mom = [np.zeros_like(p) for p in params]
    var = [np.zeros_like(p) for p in params]
    onehot = np.eye(k, dtype=np.float32)[y]
    t = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for s in range(0, n, batch):
            idx = order[s : s + batch]
            w1, b1, w2, b2 = params
            xb = x[idx]
            h = xb @ w1 + b1
            mask = (h > 0).astype(np.float32)
            if drop:
                mask *= (rng.random(h.shape) >= drop).astype(np.float32) / (1 - drop)
            hr = h * mask
            g = (_softmax(hr @ w2 + b2) - onehot[idx]) / len(idx)
            gh = (g @ w2.T) * mask
            grads = (xb.T @ gh + wd * w1, gh.sum(axis=0), hr.T @ g + wd * w2, g.sum(axis=0))
            t += 1
            _adam_step(params, grads, mom, var, t, lr)
    w1, b1, w2, b2 = params
    return w1, b1, w2, b2


_NO_LAYER = np.zeros((0, 0), np.float32)


@dataclass(frozen=True)
class E5Probe:
    """Standardisation, probe weights and cluster centres: states → per-token features.

    ``layers``: the encoder layers whose states the probe reads, side by side (``(12,)``, the final
    layer, for a probe saved before layers were recorded). ``w1``/``b1``: a hidden ReLU layer before
    the softmax ``w``/``b`` (an MLP probe); empty for a logistic probe."""

    mean: np.ndarray
    scale: np.ndarray
    w: np.ndarray
    b: np.ndarray
    centres: tuple[np.ndarray, ...]
    layers: tuple[int, ...] = (12,)
    w1: np.ndarray = field(default_factory=lambda: _NO_LAYER)
    b1: np.ndarray = field(default_factory=lambda: _NO_LAYER)

    def probs(self, states: np.ndarray) -> np.ndarray:
        if len(states) == 0:
            return np.zeros((0, self.w.shape[1]), np.float32)
        # a probe fitted with neighbours has 3x the state width in its standardisation vectors
        x = states if self.mean.shape[0] == states.shape[1] else with_neighbours(states)
        z = (x - self.mean) / self.scale
        if self.w1.size:
            z = np.maximum(z @ self.w1 + self.b1, 0.0)
        return _softmax(z @ self.w + self.b)

    def clusters(self, states: np.ndarray) -> list[np.ndarray]:
        if len(states) == 0:
            return [np.zeros(0, np.int64) for _ in self.centres]
        u = states / np.linalg.norm(states, axis=1, keepdims=True)
        return [np.argmax(u @ c.T, axis=1) for c in self.centres]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"mean": self.mean, "scale": self.scale, "w": self.w, "b": self.b}
        arrays |= {f"centres{j}": c.astype(np.float16) for j, c in enumerate(self.centres)}
        arrays["layers"] = np.asarray(self.layers, np.int64)
        if self.w1.size:
            arrays |= {"w1": self.w1, "b1": self.b1}
        with path.open("wb") as f:
            np.savez_compressed(f, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: Path) -> E5Probe:
        with np.load(path) as z:
            n = sum(k.startswith("centres") for k in z.files)
            cs = tuple(z[f"centres{j}"].astype(np.float32) for j in range(n))
            layers = tuple(int(v) for v in z["layers"]) if "layers" in z.files else (12,)
            hidden = (z["w1"], z["b1"]) if "w1" in z.files else (_NO_LAYER, _NO_LAYER)
            return cls(z["mean"], z["scale"], z["w"], z["b"], cs, layers, *hidden)


def fit_probe(
    states: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    *,
    clusters: Sequence[int] = (),
    l2: float = 1e-3,
    neighbours: bool = False,
    layers: tuple[int, ...] = (12,),
    hidden: int = 0,
    epochs: int = 15,
) -> E5Probe:
    """Probe over the given sentences' token states (``labels`` from :func:`token_classes`).
    ``neighbours``: the probe also reads the states left and right of each token (3x the cost; the
    CRF sees the neighbours' probabilities anyway). ``layers``: which encoder layers ``states``
    hold side by side (recorded in the probe so tagging computes the same). ``hidden`` > 0: an MLP
    probe with that many hidden units (:func:`fit_mlp`, ``epochs`` passes) instead of logistic."""
    x = np.concatenate([with_neighbours(s) if neighbours else s for s in states])
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    y = np.concatenate(labels)
    k = 1 + 2 * len(TYPES)
    centres = tuple(kmeans(np.concatenate(list(states)), c) for c in clusters)
    if hidden:
        w1, b1, w, b = fit_mlp(z, y, k, hidden=hidden, epochs=epochs)
        return E5Probe(mean, scale, w, b, centres, layers, w1, b1)
    w, b = fit_logistic(z, y, k, l2=l2)
    return E5Probe(mean, scale, w, b, centres, layers)


def _bucket(p: float) -> str:
    return str(min(9, int(p * 10)))


def e5_char_features(
    n: int, ts: TokenStates, probs: np.ndarray, clusters: Sequence[np.ndarray]
) -> list[list[str]]:
    """Extra CRF features for each of ``n`` characters from the e5 token covering it: whether the
    character starts the token, bucketed probe probabilities of the token and its neighbours (the
    person classes always, other types only when ≥ 0.1) and the cluster ids of the three tokens."""
    cover = [-1] * n
    for k, (a, b) in enumerate(ts.spans):
        for p in range(a, min(b, n)):
            if cover[p] < 0:
                cover[p] = k
    nt = len(ts.spans)
    ntypes = probs.shape[1] // 2 if nt else 0
    out: list[list[str]] = []
    for p in range(n):
        k = cover[p]
        if k < 0:
            out.append(["e5none"])
            continue
        f = ["e5start" if ts.spans[k][0] == p else "e5cont"]
        for d in (-1, 0, 1):
            kk = k + d
            if not 0 <= kk < nt:
                continue
            row = probs[kk]
            for t in range(ntypes):
                pb, pi = float(row[1 + 2 * t]), float(row[2 + 2 * t])
                if t == 0 or pb + pi >= 0.1:
                    f.append(f"pB{t}{d:+d}={_bucket(pb)}")
                    f.append(f"pI{t}{d:+d}={_bucket(pi)}")
            for j, ids in enumerate(clusters):
                f.append(f"km{j}{d:+d}={ids[kk]}")
        out.append(f)
    return out


def encode_all(
    texts: Sequence[str], encoder: object, *, progress: bool = False, layers: tuple[int, ...] = ()
) -> list[TokenStates]:
    """Token states of every text (the slow part of training: ~0.1-0.3 s a sentence on one core);
    ``layers`` as in :meth:`~hanstack.guard.pii.e5_states.E5Encoder.encode`."""
    import sys
    import time

    out = []
    t0 = time.perf_counter()
    for j, text in enumerate(texts):
        out.append(encoder.encode(text, layers))  # type: ignore[attr-defined]
        if progress and j % 500 == 499:
            print(f"  e5 states {j + 1}/{len(texts)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return out


def cross_fitted_probs_and_features(
    sentences: Sequence[tuple[str, list[tuple[str, int, int]]]],
    states: Sequence[TokenStates],
    *,
    folds: int = 5,
    clusters: Sequence[int] = (),
    layers: tuple[int, ...] = (7,),
    hidden: int = 256,
    epochs: int = 15,
    cache: Path | None = None,
) -> tuple[list[list[list[str]]], list[np.ndarray], E5Probe]:
    """e5 CRF features for training sentences from probes that never saw them, the probe
    probabilities behind them (per token, what the span rescorer of
    :mod:`hanstack.guard.pii.name_span` reads), and the final probe (all sentences) that tagging
    uses. Cluster centres (none by default: on the inner split they added nothing next to the
    probe, F1 0.823 with vs 0.825 without) are unsupervised and shared by all folds.
    ``cache``: a directory where each fitted probe (the final one and one per fold) is saved and
    reused by a rerun with the same settings, so a slow fit (an MLP on a loaded machine) can run in
    pieces."""
    labels = [token_classes(text, ents, ts.spans) for (text, ents), ts in zip(sentences, states, strict=True)]
    x = [ts.states for ts in states]
    tag = "L" + "-".join(map(str, layers)) + f"_h{hidden}_e{epochs}_n{len(x)}_f{folds}"

    def fitted(name: str, idx: Sequence[int], centres: Sequence[int]) -> E5Probe:
        path = cache / f"probe_{tag}_{name}.npz" if cache is not None else None
        if path is not None and path.exists():
            return E5Probe.load(path)
        probe = fit_probe(
            [x[j] for j in idx],
            [labels[j] for j in idx],
            clusters=centres,
            layers=layers,
            hidden=hidden,
            epochs=epochs,
        )
        if path is not None:
            probe.save(path)
        return probe

    final = fitted("final", range(len(x)), clusters)
    feats: list[list[list[str]]] = [[] for _ in sentences]
    probs: list[np.ndarray] = [np.zeros((0, 0), np.float32) for _ in sentences]
    for k in range(folds):
        part = fitted(f"fold{k}", [j for j in range(len(x)) if j % folds != k], ())
        probe = E5Probe(part.mean, part.scale, part.w, part.b, final.centres, layers, part.w1, part.b1)
        for j in range(k, len(x), folds):
            ts = states[j]
            probs[j] = probe.probs(ts.states)
            feats[j] = e5_char_features(len(sentences[j][0]), ts, probs[j], probe.clusters(ts.states))
    return feats, probs, final


def cross_fitted_features(
    sentences: Sequence[tuple[str, list[tuple[str, int, int]]]],
    states: Sequence[TokenStates],
    **kwargs: Any,
) -> tuple[list[list[list[str]]], E5Probe]:
    """:func:`cross_fitted_probs_and_features` without the probabilities."""
    feats, _, final = cross_fitted_probs_and_features(sentences, states, **kwargs)
    return feats, final
