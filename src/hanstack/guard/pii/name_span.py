"""Span rescorer for the ``crf-e5`` person-name CRF: recover near misses and drop weak spans.

The CRF's Viterbi path gives one labelling per sentence; its span score (mean marginal) says little
about *boundaries* (``장쯔`` for ``장쯔이``, ``최다니엘 정소민`` as one span) and nothing about the
names the path just missed. So the tagger takes more candidates than the Viterbi spans:

- every Viterbi span, and its parts when it holds spaces (``최다니엘`` and ``정소민``);
- every run that starts where P(B-PS) ≥ 0.02 (or a P(I-PS) ≥ 0.02 run starts) and goes on while
  P(I-PS) ≥ 0.02, at each possible end (≤ 14 characters),
- since issue 6's fourth pass, spans from outside the CRF (:func:`extra_candidates`): Kiwi NNP
  tokens and runs of them, and runs of e5 tokens the probe calls a person (mostly foreign names
  the CRF gave almost no mass),

and a logistic model scores each from ~48 features: the CRF marginals over and around the span
(an approximate log probability of exactly this span, P(B) at its start, P(I) just after it, the
mass of the other KLUE types inside it), the e5 probe's person probabilities of the tokens it
covers and of the token after it, its length and character classes, a surname first, whether it
starts/ends on Kiwi token boundaries and how much of it Kiwi tags NNP, a title or a particle
after it, the seen-name and NSMC lexicon hits, and how it compares with the candidates overlapping
it, and which source proposed it. Spans are then taken greedily by score without overlaps.

The rescorer is *cross-fitted*: its training rows come from five CRFs, each trained on four fifths
of the training half and tagging the fifth it never saw, so it learns how far to trust the CRF on
unseen text (the shipped CRF, trained on all of it, is used at tagging time). On the inner split of
the training half (notes/guard.md) it moved exact-span P / R from 0.875 / 0.824 to 0.879 / 0.838
(third pass, CRF candidates only, raw threshold 0.3); the fourth pass (the extra candidates, raw
threshold 0.25) gives 0.868 / 0.848 there.

The score it reports is calibrated so that the engine threshold 0.5 is the operating point chosen
on that split (raw probability 0.25: the lowest raw threshold whose inner precision has a one-sided
95% lower bound ≥ 0.85, the target's precision; the rule is in notes/guard.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

RESCORER_RESOURCE = "person_name_span_lr.json"
_EPS = 1e-4
_MIN_P = 0.02  # candidate runs: P(B-PS) / P(I-PS) at least this (inner split: 0.05 kept 7 fewer gold spans)
_MAX_LEN = 14
_PROBE_P = 0.2  # extra candidates: runs of e5 tokens with probe P(B-PS) / P(I-PS) at least this
SOURCES = ("crf", "nnp", "probe")  # candidate sources of the shipped rescorer (notes/guard.md)
THRESHOLD = 0.25  # raw operating point (the rule in notes/guard.md, fixed on the inner split)


def default_rescorer_path() -> Path:
    return Path(str(resources.files("hanstack") / "data" / "guard" / RESCORER_RESOURCE))


@dataclass(frozen=True)
class SpanContext:
    """What the rescorer reads about one text: the CRF's Viterbi labels and PS marginals per
    character (columns B-PS, I-PS, O), Kiwi's tokens, the e5 tokens' spans and probe
    probabilities, and the two name lexicons."""

    text: str
    toks: Sequence[Any]
    labels: Sequence[str]
    marginals: np.ndarray
    token_spans: Sequence[tuple[int, int]]
    token_probs: np.ndarray
    known: Mapping[str, int]
    lexicon: Mapping[str, int]


def crf_marginals(tagger: Any, n: int) -> np.ndarray:
    """``[n, 3]`` marginals of B-PS, I-PS and O from a crfsuite tagger that has just tagged ``n``
    characters (a label the model never saw has probability 0)."""
    known = set(tagger.labels())
    cols = [lab if lab in known else None for lab in ("B-PS", "I-PS", "O")]
    out = np.zeros((n, 3), np.float64)
    for p in range(n):
        for j, lab in enumerate(cols):
            if lab is not None:
                out[p, j] = tagger.marginal(lab, p)
    return out


def candidates(ctx: SpanContext) -> tuple[list[tuple[int, int]], set[tuple[int, int]]]:
    """Candidate spans (sorted) and the Viterbi spans among them."""
    from hanstack.guard.pii.name_crf import spans_from_labels

    vit = set(spans_from_labels(ctx.labels))
    pb, pi = ctx.marginals[:, 0], ctx.marginals[:, 1]
    n = len(ctx.labels)
    out = set(vit)
    for p in range(n):
        run_start = pi[p] >= _MIN_P and (p == 0 or pb[p - 1] + pi[p - 1] < _MIN_P)
        if pb[p] >= _MIN_P or run_start:
            q = p + 1
            out.add((p, q))
            while q < n and pi[q] >= _MIN_P and q - p < _MAX_LEN:
                q += 1
                out.add((p, q))
    for a, b in vit:
        if " " in ctx.text[a:b]:
            pos = a
            for part in ctx.text[a:b].split(" "):
                if part:
                    out.add((pos, pos + len(part)))
                pos += len(part) + 1
    return sorted(out), vit


def extra_candidates(ctx: SpanContext, sources: Sequence[str]) -> dict[tuple[int, int], set[str]]:
    """Candidates from outside the CRF's marginals, with the source(s) that proposed each:

    - ``nnp``: every Kiwi NNP token, and every run of NNP tokens that touch or are one space apart
      (``레제프 타이이프 에르도안``);
    - ``probe``: every run of e5 tokens that starts where the probe's P(B-PS) ≥ 0.2 (or a
      P(I-PS) ≥ 0.2 run starts) and goes on while P(I-PS) ≥ 0.2, at each possible end.

    Spaces at either end are trimmed; spans longer than 14 characters are left out. On the inner
    split they lifted the gold spans among the candidates from 975 to 1,025 of 1,071 (foreign
    names the CRF gave almost no mass, notes/guard.md)."""
    text, n = ctx.text, len(ctx.text)
    out: dict[tuple[int, int], set[str]] = {}

    def add(s: int, e: int, src: str) -> None:
        while s < e and text[s] == " ":
            s += 1
        while e > s and text[e - 1] == " ":
            e -= 1
        if 0 <= s < e <= n and e - s <= _MAX_LEN:
            out.setdefault((s, e), set()).add(src)

    if "nnp" in sources:
        nnp = [t for t in ctx.toks if t.tag == "NNP"]
        for k, t in enumerate(nnp):
            s, e = t.start, t.start + t.len
            add(s, e, "nnp")
            for u in nnp[k + 1 :]:
                if u.start - e > 1 or (u.start - e == 1 and text[e] != " "):
                    break
                e = u.start + u.len
                add(s, e, "nnp")
    if "probe" in sources:
        spans, pr = ctx.token_spans, ctx.token_probs
        m = len(spans)
        for k in range(m):
            run_start = pr[k, 2] >= _PROBE_P and (k == 0 or pr[k - 1, 1] + pr[k - 1, 2] < _PROBE_P)
            if pr[k, 1] >= _PROBE_P or run_start:
                q = k
                add(spans[k][0], spans[q][1], "probe")
                while q + 1 < m and pr[q + 1, 2] >= _PROBE_P:
                    q += 1
                    add(spans[k][0], spans[q][1], "probe")
    return out


def all_candidates(
    ctx: SpanContext, sources: Sequence[str] = ("crf",)
) -> tuple[list[tuple[int, int]], set[tuple[int, int]], dict[tuple[int, int], set[str]] | None]:
    """The CRF's candidates (:func:`candidates`) and, when ``sources`` names more than ``crf``,
    those of :func:`extra_candidates`; the third value maps each candidate to its sources (None
    for a CRF-only rescorer, whose features then leave the sources out)."""
    cands, vit = candidates(ctx)
    extra = [s for s in sources if s != "crf"]
    if not extra:
        return cands, vit, None
    origin: dict[tuple[int, int], set[str]] = {c: {"crf"} for c in cands}
    for c, src in extra_candidates(ctx, extra).items():
        origin.setdefault(c, set()).update(src)
    return sorted(origin), vit, origin


def _hangul(ch: str) -> bool:
    return "가" <= ch <= "힣"


def _span_logp(pb: np.ndarray, pi: np.ndarray, s: int, e: int) -> float:
    """Approximate log P(exactly this span): B at the start, I inside, no I right after."""
    lp = math.log(pb[s] + _EPS) + sum(math.log(pi[p] + _EPS) for p in range(s + 1, e))
    if e < len(pb):
        lp += math.log(1 - pi[e] + _EPS)
    return lp


def span_features(
    ctx: SpanContext,
    cands: Sequence[tuple[int, int]],
    vit: set[tuple[int, int]],
    origin: Mapping[tuple[int, int], set[str]] | None = None,
    sources: Sequence[str] = ("crf",),
) -> list[dict[str, float]]:
    """One feature dict per candidate (see the module docstring); with ``origin`` (from
    :func:`all_candidates`) also ``src_<source>`` for each of ``sources`` (``crf``, ``nnp``,
    ``probe``): whether that source proposed the candidate."""
    from hanstack.guard.pii.name_crf import _lexicons

    single, compound, titles, _, _ = _lexicons()
    text, n = ctx.text, len(ctx.text)
    pb, pi, po = ctx.marginals[:, 0], ctx.marginals[:, 1], ctx.marginals[:, 2]
    inside = pb + pi
    # mean marginal of the Viterbi labels over each Viterbi span (the CRF's own span score)
    vitscore = {
        (a, b): float(np.mean([pb[p] if ctx.labels[p] == "B-PS" else pi[p] for p in range(a, b)]))
        for a, b in vit
    }
    lp_len = {(s, e): _span_logp(pb, pi, s, e) / (e - s) for s, e in cands}
    starts = {t.start for t in ctx.toks}
    ends = {t.start + t.len for t in ctx.toks}
    nnp = np.zeros(n)
    for t in ctx.toks:
        if t.tag == "NNP":
            nnp[t.start : t.start + t.len] = 1
    spans, probs = ctx.token_spans, ctx.token_probs
    short_titles = [t for t in titles if len(t) >= 2 or t in ("씨", "님")]
    out = []
    for s, e in cands:
        length = e - s
        seg = text[s:e]
        lp = _span_logp(pb, pi, s, e)
        f: dict[str, float] = {
            "lp": lp / 5,
            "lp_len": lp / length,
            "pb_s": float(pb[s]),
            "pi_min": float(pi[s + 1 : e].min()) if length > 1 else 1.0,
            "in_mean": float(inside[s:e].mean()),
            "in_min": float(inside[s:e].min()),
            "pi_after": float(pi[e]) if e < n else 0.0,
            "in_before": float(inside[s - 1]) if s > 0 else 0.0,
            "vit": float((s, e) in vit),
            "vit_ov": float(any(a < e and s < b and (a, b) != (s, e) for a, b in vit)),
            "vitscore": vitscore.get((s, e), 0.0),
            "oth": float((1.0 - inside[s:e] - po[s:e]).mean()),
        }
        for k in (1, 2, 3, 4):
            f[f"len{k}"] = float(length == k)
        f["len5+"] = float(length >= 5)
        allhang = all(_hangul(ch) for ch in seg)
        f["allhang"] = float(allhang)
        f["space"] = float(" " in seg)
        f["latin"] = float(any(ch.isascii() and ch.isalpha() for ch in seg))
        f["sur"] = float(seg[0] in single)
        f["sur2"] = float(seg[:2] in compound)
        f["sur_len3"] = float(seg[0] in single and length == 3 and allhang)
        nxt = text[e] if e < n else ""
        prv = text[s - 1] if s > 0 else ""
        f["nxt_space"] = float(nxt == " ")
        f["nxt_hang"] = float(_hangul(nxt)) if nxt else 0.0
        f["nxt_end"] = float(not nxt)
        f["prv_space"] = float(prv in ("", " "))
        f["prv_hang"] = float(_hangul(prv)) if prv else 0.0
        f["nxt_punct"] = float(bool(nxt) and not nxt.isalnum() and nxt != " ")
        f["prv_punct"] = float(bool(prv) and not prv.isalnum() and prv != " ")
        rest = text[e:].lstrip(" ")
        f["title_after"] = float(any(rest.startswith(t) for t in short_titles))
        f["known"] = float(seg in ctx.known)
        f["lex"] = float(seg in ctx.lexicon)
        f["kb"] = float(s in starts)
        f["ke"] = float(e in ends)
        f["nnp"] = float(nnp[s:e].mean())
        cov = [k for k, (a, b) in enumerate(spans) if a < e and s < b]
        if cov:
            f["pr_ps"] = float((probs[cov, 1] + probs[cov, 2]).mean())
            f["pr_b0"] = float(probs[cov[0], 1])
            nk = cov[-1] + 1
            f["pr_after_i"] = float(probs[nk, 2]) if nk < len(spans) else 0.0
            f["tokb"] = float(spans[cov[0]][0] == s)
        else:
            f["pr_ps"] = f["pr_b0"] = f["pr_after_i"] = f["tokb"] = 0.0
        rivals = [v for c, v in lp_len.items() if c[0] < e and s < c[1] and c != (s, e)]
        f["n_ov"] = min(len(rivals), 6) / 6
        f["rel_lp"] = lp_len[(s, e)] - max(rivals) if rivals else 2.0
        f["best_ov"] = float(not rivals or lp_len[(s, e)] >= max(rivals))
        after = next((t for t in ctx.toks if t.start >= e), None)
        f["nxt_J"] = float(after is not None and after.start == e and after.tag.startswith("J"))
        f["nxt_title_tok"] = float(after is not None and after.form in titles)
        if origin is not None:
            src = origin.get((s, e), set())
            for source in sources:
                f[f"src_{source}"] = float(source in src)
        out.append(f)
    return out


def greedy(cands: Sequence[tuple[int, int]], scores: Sequence[float]) -> list[tuple[int, int, float]]:
    """Non-overlapping spans, best score first (ties: the earlier, shorter candidate)."""
    taken: list[tuple[int, int, float]] = []
    for sc, (s, e) in sorted(zip(scores, cands, strict=True), key=lambda x: (-x[0], x[1])):
        if all(e <= a or b <= s for a, b, _ in taken):
            taken.append((s, e, float(sc)))
    return sorted(taken)


@dataclass(frozen=True)
class SpanRescorer:
    """Standardised logistic regression over :func:`span_features`; ``threshold`` is the raw
    probability that :meth:`probs` maps to 0.5 (the engine's threshold); ``sources`` the candidate
    sources it was fitted on (:func:`all_candidates`; a file without them means ``crf`` alone)."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float
    sources: tuple[str, ...] = ("crf",)

    def matrix(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        return np.array([[r[k] for k in self.names] for r in rows], np.float64).reshape(
            len(rows), len(self.names)
        )

    def raw(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        z = (self.matrix(rows) - self.mean) / self.scale @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def probs(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        t = self.threshold
        z = (self.matrix(rows) - self.mean) / self.scale @ self.weights + self.bias - math.log(t / (1 - t))
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def find(self, ctx: SpanContext) -> list[tuple[int, int, float]]:
        """Rescored person spans of ``ctx.text``: the greedy non-overlapping set (the engine's
        threshold then keeps those ≥ 0.5)."""
        cands, vit, origin = all_candidates(ctx, self.sources)
        if not cands:
            return []
        rows = span_features(ctx, cands, vit, origin, self.sources)
        return greedy(cands, self.probs(rows).tolist())

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "model": "logistic span rescorer for names='crf-e5' (hanstack.guard.pii.name_span)",
            "names": list(self.names),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "weights": [round(float(v), 6) for v in self.weights],
            "bias": round(float(self.bias), 6),
            "threshold": self.threshold,
            "sources": list(self.sources),
        }
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> SpanRescorer:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            tuple(doc["names"]),
            np.asarray(doc["mean"], np.float64),
            np.asarray(doc["scale"], np.float64),
            np.asarray(doc["weights"], np.float64),
            float(doc["bias"]),
            float(doc["threshold"]),
            tuple(doc.get("sources", ["crf"])),
        )


def fit_binary_logistic(
    x: np.ndarray, y: np.ndarray, *, l2: float = 1e-3, iters: int = 2000, lr: float = 0.1
) -> tuple[np.ndarray, float]:
    """Logistic regression, full-batch Adam from zero (deterministic)."""
    n, d = x.shape
    params = np.zeros(d + 1)
    mom = np.zeros(d + 1)
    var = np.zeros(d + 1)
    for t in range(1, iters + 1):
        p = 1.0 / (1.0 + np.exp(-(x @ params[:d] + params[d])))
        g = p - y
        grad = np.append(x.T @ g / n + l2 * params[:d], g.mean())
        mom = 0.9 * mom + 0.1 * grad
        var = 0.999 * var + 0.001 * grad * grad
        params -= lr * (mom / (1 - 0.9**t)) / (np.sqrt(var / (1 - 0.999**t)) + 1e-8)
    return params[:d].copy(), float(params[d])


def fit_rescorer(
    contexts: Sequence[SpanContext],
    gold: Sequence[set[tuple[int, int]]],
    *,
    threshold: float = THRESHOLD,
    l2: float = 1e-3,
    sources: Sequence[str] = SOURCES,
) -> SpanRescorer:
    """Fit on (cross-fitted) CRF outputs: a candidate is positive when it is exactly a gold span."""
    rows: list[dict[str, float]] = []
    ys: list[float] = []
    for ctx, g in zip(contexts, gold, strict=True):
        cands, vit, origin = all_candidates(ctx, sources)
        rows += span_features(ctx, cands, vit, origin, sources)
        ys += [float(c in g) for c in cands]
    names = tuple(sorted(rows[0]))
    x = np.array([[r[k] for k in names] for r in rows], np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    w, b = fit_binary_logistic((x - mean) / scale, np.asarray(ys), l2=l2)
    return SpanRescorer(names, mean, scale, w, b, threshold, tuple(sources))


def train_rescorer(
    sentences: Sequence[tuple[str, list[tuple[str, int, int]]]],
    kiwi: Any,
    extra: Sequence[Sequence[list[str]]],
    probs: Sequence[np.ndarray],
    token_spans: Sequence[Sequence[tuple[int, int]]],
    lexicon: Mapping[str, int],
    *,
    workdir: Path,
    folds: int = 5,
    c1: float = 0.05,
    c2: float = 0.01,
    max_iterations: int = 150,
    threshold: float = THRESHOLD,
    sources: Sequence[str] = SOURCES,
) -> SpanRescorer:
    """Cross-fitted rescorer: ``folds`` CRFs (the features of :func:`~hanstack.guard.pii.name_crf.train`,
    seen names jackknifed the same way, ``extra`` the cross-fitted e5 features), each trained
    without one fold and tagging it; the rescorer learns from those unseen-text outputs. Fold
    models are kept in ``workdir`` and reused by a rerun (training can run in pieces)."""
    import pycrfsuite

    from hanstack.guard.pii.name_crf import bio_labels, char_features
    from hanstack.guard.pii.name_lexicon import known_names

    fold_known = [known_names([s for j, s in enumerate(sentences) if j % folds != k]) for k in range(folds)]
    toks = [kiwi.tokenize(text) for text, _ in sentences]
    feats = [
        [
            a + list(b)
            for a, b in zip(
                char_features(text, toks[j], lexicon, fold_known[j % folds]), extra[j], strict=True
            )
        ]
        for j, (text, _) in enumerate(sentences)
    ]
    workdir.mkdir(parents=True, exist_ok=True)
    contexts: list[SpanContext] = []
    gold: list[set[tuple[int, int]]] = []
    for k in range(folds):
        model = workdir / f"span_fold{k}_of{folds}_n{len(sentences)}.crfsuite"
        if not model.exists():
            trainer = pycrfsuite.Trainer(verbose=False)
            for j, (text, ents) in enumerate(sentences):
                if j % folds != k:
                    trainer.append(feats[j], bio_labels(len(text), ents))
            trainer.set_params(
                {"c1": c1, "c2": c2, "max_iterations": max_iterations, "feature.possible_transitions": True}
            )
            tmp = model.with_suffix(".tmp")
            trainer.train(str(tmp))
            tmp.rename(model)
        tagger = pycrfsuite.Tagger()
        tagger.open(str(model))
        for j in range(k, len(sentences), folds):
            text, ents = sentences[j]
            labels = tagger.tag(feats[j])
            contexts.append(
                SpanContext(
                    text,
                    toks[j],
                    labels,
                    crf_marginals(tagger, len(text)),
                    token_spans[j],
                    probs[j],
                    fold_known[j % folds],
                    lexicon,
                )
            )
            gold.append({(a, b) for t, a, b in ents if t == "PS"})
        tagger.close()
    return fit_rescorer(contexts, gold, threshold=threshold, sources=sources)
