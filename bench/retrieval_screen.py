"""Screening retrieval-quality ideas on AutoRAG-ko with a numpy replica of hanstack's pipeline.

Not a benchmark of hanstack itself: a fast stand-in (same chunks, same Kiwi terms, same cached e5
vectors, BM25 as the store computes it, per-document best-chunk fusion as ``Retriever._fuse_docs``)
to test ideas with honest 5-fold cross-validation before anyone implements them in src/.

    python bench/retrieval_screen.py            # all ideas -> bench/results/retrieval_screen.json
    python bench/retrieval_screen.py --verify   # replica check only (in-sample 0.951 for RRF 0.7/0.3)

Inputs: bench/.cache/autorag_chunks_<key>.pkl (hanstack's chunks, Kiwi terms) and
bench/.cache/autorag_e5.npz (e5-small vectors of the chunks and queries, keyed as CachingEmbedder
keys them); nothing is embedded here. Query and title terms are analysed with Kiwi once and cached
under /tmp/screen3/.

Cross-validation is bench/retrieval.py's: queries shuffled with random.Random(13), fold = i % 5,
each fold scored with the setting best on the other four (first on ties). ``cv_seeds`` repeats it
over 20 other shuffles to show how much the figure depends on the split.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import pickle
import platform
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CACHE = REPO / "bench" / ".cache"
AUTORAG = SHARED / "data" / "retrieval" / "autorag_ko"
TMP = Path("/tmp/screen3")
RESULTS = REPO / "bench" / "results"
CANDIDATES = 100  # Retriever: max(candidates=100, k=20 * 4)
RRF_K = 60


def log(*args: Any) -> None:
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


# --- inputs -----------------------------------------------------------------------------------------
def load_chunks() -> list[Any]:
    corpus = (AUTORAG / "corpus.jsonl").read_bytes()
    key = hashlib.sha256(corpus).hexdigest()[:12]
    import hanstack.ingest.chunker as chunker
    import hanstack.ingest.structure as structure

    code = b"".join(Path(m.__file__).read_bytes() for m in (chunker, structure))  # type: ignore[arg-type]
    path = CACHE / f"autorag_chunks_{key}-{hashlib.sha256(code).hexdigest()[:10]}.pkl"
    if not path.exists():
        sys.exit(f"{path} missing: run `python bench/retrieval.py --only quality` once to chunk AutoRAG")
    return pickle.loads(path.read_bytes())


def _vec_key(kind: str, text: str) -> str:
    return hashlib.sha256(f"e5-small\x1f{kind}\x1f{text}".encode()).hexdigest()[:32]


def kiwi_terms(texts: Sequence[str], name: str) -> list[list[str]]:
    """Kiwi content morphemes (hanstack's kiwi-content tokenizer), cached in /tmp/screen3."""
    TMP.mkdir(parents=True, exist_ok=True)
    path = TMP / f"terms_{name}.json"
    digest = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()
    if path.exists():
        data = json.loads(path.read_text())
        if data["digest"] == digest:
            return data["terms"]
    from hanstack.eval.retrieval import tokenizer

    terms = tokenizer("kiwi-content")(list(texts))
    path.write_text(json.dumps({"digest": digest, "terms": terms}, ensure_ascii=False))
    return terms


def char_bigrams(text: str) -> list[str]:
    """Character bigrams inside each whitespace token (a one-character token stays a unigram)."""
    out: list[str] = []
    for tok in text.lower().split():
        if len(tok) == 1:
            out.append(tok)
        out.extend(tok[i : i + 2] for i in range(len(tok) - 1))
    return out


def squashed_bigrams(text: str) -> list[str]:
    """Character bigrams of the text with whitespace removed (spacing-insensitive; crosses words)."""
    t = "".join(text.lower().split())
    return [t[i : i + 2] for i in range(len(t) - 1)] or ([t] if t else [])


def term_pairs(terms: Sequence[str]) -> list[str]:
    """Adjacent content-morpheme pairs (a phrase-proximity signal as BM25 terms)."""
    return [f"{a}\x1f{b}" for a, b in itertools.pairwise(terms)]


@dataclass
class Data:
    chunks: list[Any]
    doc_hash: np.ndarray  # per chunk: hanstack doc_id (tie-breaks as hanstack does)
    doc_of: np.ndarray  # per chunk: document index
    docs: list[str]  # corpus doc ids (what relevance is judged on)
    doc_key: list[str]  # hanstack doc ids per document index
    page_no: np.ndarray  # per document: page number in its PDF
    pdf_of: np.ndarray  # per document: PDF index
    queries: list[Any]
    qterms: list[list[str]]
    qvec: np.ndarray
    cvec: np.ndarray
    title_terms: list[list[str]]
    section_terms: list[list[str]]


def load() -> Data:
    from hanstack.eval.retrieval import load_queries
    from hanstack.store.base import embedding_text

    chunks = load_chunks()
    queries = load_queries(AUTORAG / "queries.jsonl")
    with np.load(CACHE / "autorag_e5.npz") as npz:
        vecs = {k: npz[k] for k in npz.files}
    missing_c = [c for c in chunks if _vec_key("p", embedding_text(c)) not in vecs]
    missing_q = [q.query for q in queries if _vec_key("q", q.query) not in vecs]
    if missing_c or missing_q:
        sys.exit(
            f"cached vectors missing: {len(missing_c)} chunks, {len(missing_q)} queries (not re-embedding)"
        )
    cvec = np.vstack([vecs[_vec_key("p", embedding_text(c))] for c in chunks]).astype(np.float32)
    qvec = np.vstack([vecs[_vec_key("q", q.query)] for q in queries]).astype(np.float32)
    cvec /= np.linalg.norm(cvec, axis=1, keepdims=True)
    qvec /= np.linalg.norm(qvec, axis=1, keepdims=True)
    docs: list[str] = []
    doc_key: list[str] = []
    index: dict[str, int] = {}
    doc_of = []
    for c in chunks:
        d = c.provenance.source.rsplit("#", 1)[-1]
        if d not in index:
            index[d] = len(docs)
            docs.append(d)
            doc_key.append(c.provenance.doc_id)
        doc_of.append(index[d])
    pdfs: dict[str, int] = {}
    pdf_of, page_no = [], []
    for d in docs:
        pdf, _, page = d.rpartition(" - ")
        pdf_of.append(pdfs.setdefault(pdf, len(pdfs)))
        page_no.append(int(page) if page.isdigit() else -1)
    qterms = kiwi_terms([q.query for q in queries], "queries")
    titles = sorted({c.provenance.title or "" for c in chunks} | {c.provenance.section or "" for c in chunks})
    tt = dict(zip(titles, kiwi_terms(titles, "fields"), strict=True))
    return Data(
        chunks=chunks,
        doc_hash=np.array([c.provenance.doc_id for c in chunks]),
        doc_of=np.array(doc_of),
        docs=docs,
        doc_key=doc_key,
        page_no=np.array(page_no),
        pdf_of=np.array(pdf_of),
        queries=queries,
        qterms=qterms,
        qvec=qvec,
        cvec=cvec,
        title_terms=[list(dict.fromkeys(tt[c.provenance.title or ""])) for c in chunks],
        section_terms=[list(dict.fromkeys(tt[c.provenance.section or ""])) for c in chunks],
    )


# --- BM25 as the store computes it ------------------------------------------------------------------
@dataclass
class Bm25:
    """Per term: rows and stored tf parts ``tf(k1+1)/(tf + k1(1-b+b·len/avgdl))``; the IDF
    ``ln(1 + (N-n+0.5)/(n+0.5))`` at query time over N points with a sparse vector (as the mirror)."""

    postings: dict[str, tuple[np.ndarray, np.ndarray]]
    n_points: int
    n_rows: int

    @classmethod
    def build(
        cls,
        docs: Sequence[Sequence[str]],
        k1: float,
        b: float = 0.75,
        *,
        flat: Sequence[Sequence[str]] = (),
        n_points: int | None = None,
    ) -> Bm25:
        lengths = [len(t) for t in docs if t]
        avgdl = sum(lengths) / len(lengths)
        rows: dict[str, list[int]] = defaultdict(list)
        vals: dict[str, list[float]] = defaultdict(list)
        for i, terms in enumerate(docs):
            if not terms:
                continue
            norm = k1 * (1.0 - b + b * len(terms) / avgdl)
            for t, tf in Counter(terms).items():
                rows[t].append(i)
                vals[t].append(tf * (k1 + 1.0) / (tf + norm))
        for i, terms in enumerate(flat):  # field terms: weight 1.0 (title/section namespaces)
            for t in terms:
                rows[t].append(i)
                vals[t].append(1.0)
        postings = {
            t: (np.array(r, dtype=np.int64), np.array(vals[t], dtype=np.float32)) for t, r in rows.items()
        }
        return cls(postings, n_points if n_points is not None else len(lengths), len(docs))

    def scores(self, terms: Sequence[str], weights: Sequence[float] | None = None) -> np.ndarray:
        out = np.zeros(self.n_rows, dtype=np.float32)
        touched = np.zeros(self.n_rows, dtype=bool)
        for j, t in enumerate(terms):
            w = 1.0 if weights is None else weights[j]
            p = self.postings.get(t)
            if p is None or w <= 0:
                continue
            df = len(p[0])
            idf = math.log(1.0 + (self.n_points - df + 0.5) / (df + 0.5))
            out[p[0]] += p[1] * np.float32(w * idf)
            touched[p[0]] = True
        out[~touched] = -np.inf
        return out

    def idf(self, term: str) -> float:
        p = self.postings.get(term)
        df = 0 if p is None else len(p[0])
        return math.log(1.0 + (self.n_points - df + 0.5) / (df + 0.5))


def top_candidates(scores: np.ndarray, limit: int = CANDIDATES) -> np.ndarray:
    """Row indices of the best ``limit`` finite scores, best first, ties by row (as the mirror)."""
    finite = np.flatnonzero(np.isfinite(scores))
    if len(finite) > limit:
        finite = finite[np.argpartition(-scores[finite], limit - 1)[:limit]]
    return finite[np.lexsort((finite, -scores[finite]))]


# --- per-query document features ---------------------------------------------------------------------
@dataclass
class QueryDocs:
    """Candidate documents of one query and their features (NaN where a signal did not retrieve it)."""

    docs: np.ndarray  # document indices
    tiebreak: np.ndarray  # hanstack doc_id strings (fusion ties sort by key)
    relevant: np.ndarray  # bool
    n_relevant: int
    f: dict[str, np.ndarray] = field(default_factory=dict)


def per_doc_topn(
    rows: np.ndarray, scores: np.ndarray, doc_of: np.ndarray, n_docs: int, n: int = 2
) -> np.ndarray:
    """[n_docs, n]: each document's best n candidate chunk scores (NaN if fewer)."""
    out = np.full((n_docs, n), np.nan)
    for r in rows:  # rows best first
        d = doc_of[r]
        slot = np.flatnonzero(np.isnan(out[d]))
        if len(slot):
            out[d, slot[0]] = scores[r]
    return out


def build_features(data: Data, k1: float) -> list[QueryDocs]:
    """Everything the fusion variants need, for every query, at one BM25 k1."""
    chunks = data.chunks
    n_docs = len(data.docs)
    body = [list(c.terms) for c in chunks]
    # hanstack's sparse vector: body terms + exact terms + title:/section: terms; a point "has a
    # sparse vector" when any of them is present (all chunks here: every page has a title)
    fields = [
        [f"title\x1f{t}" for t in tt] + [f"section\x1f{t}" for t in st]
        for tt, st in zip(data.title_terms, data.section_terms, strict=True)
    ]
    n_points = sum(1 for b, f in zip(body, fields, strict=True) if b or f)
    kiwi = Bm25.build(body, k1, flat=fields, n_points=n_points)
    bigram = Bm25.build([char_bigrams(c.text) for c in chunks], k1)
    pairs = Bm25.build([term_pairs(c.terms) for c in chunks], k1)
    squashed = Bm25.build([squashed_bigrams(c.text) for c in chunks], k1)
    doc_terms: list[set[str]] = [set() for _ in range(n_docs)]
    for c, d in zip(chunks, data.doc_of, strict=True):
        doc_terms[d].update(c.terms)
    out = []
    dense_all = data.cvec @ data.qvec.T
    for qi, q in enumerate(data.queries):
        distinct = list(dict.fromkeys(data.qterms[qi]))
        signals: dict[str, np.ndarray] = {}
        sp = kiwi.scores(distinct)
        signals["sparse"] = sp
        signals["dense"] = dense_all[:, qi].astype(np.float32)
        signals["bigram"] = bigram.scores(list(dict.fromkeys(char_bigrams(q.query))))
        signals["pairs"] = pairs.scores(list(dict.fromkeys(term_pairs(data.qterms[qi]))))
        signals["squashed"] = squashed.scores(list(dict.fromkeys(squashed_bigrams(q.query))))
        signals["title"] = kiwi.scores([f"title\x1f{t}" for t in distinct])
        tops = {}
        pool: set[int] = set()
        for name in ("sparse", "dense", "bigram", "pairs", "squashed"):
            rows = top_candidates(signals[name])
            tops[name] = per_doc_topn(rows, signals[name], data.doc_of, n_docs)
            if name in ("sparse", "dense"):
                pool.update(int(d) for d in data.doc_of[rows])
        extra = {
            name: {int(d) for d in np.flatnonzero(~np.isnan(tops[name][:, 0]))}
            for name in ("bigram", "pairs", "squashed")
        }
        all_docs = np.array(sorted(pool.union(*extra.values())))
        qd = QueryDocs(
            docs=all_docs,
            tiebreak=np.array([data.doc_key[d] for d in all_docs]),
            relevant=np.array([data.docs[d] in q.relevant for d in all_docs]),
            n_relevant=len(q.relevant),
        )
        qd.f["in_base"] = np.array([d in pool for d in all_docs])
        for name in ("bigram", "pairs", "squashed"):
            qd.f[f"in_{name}"] = np.array([d in extra[name] for d in all_docs])
        for name, t in tops.items():
            qd.f[f"{name}1"] = t[all_docs, 0]
            qd.f[f"{name}2"] = t[all_docs, 1]
        # title: each document's title score (same on all its chunks), only as a bonus feature
        title = np.full(n_docs, 0.0)
        finite = np.isfinite(signals["title"])
        np.maximum.at(title, data.doc_of[finite], signals["title"][finite])
        qd.f["title"] = title[all_docs]
        # IDF-weighted coverage of the query's distinct terms by the document (all its chunks)
        idf = np.array([kiwi.idf(t) for t in distinct])
        total = idf.sum() or 1.0
        qd.f["coverage"] = np.array(
            [
                sum(w for t, w in zip(distinct, idf, strict=True) if t in doc_terms[d]) / total
                for d in all_docs
            ]
        )
        out.append(qd)
    return out


# --- fusion variants ---------------------------------------------------------------------------------
def rank_of(values: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """1-based rank among finite values (best first, ties by key), NaN where absent."""
    ok = np.flatnonzero(~np.isnan(values))
    order = ok[np.lexsort((tiebreak[ok], -values[ok]))]
    ranks = np.full(len(values), np.nan)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def norm(values: np.ndarray, how: str) -> np.ndarray:
    ok = ~np.isnan(values)
    out = np.zeros(len(values))
    if not ok.any():
        return out
    v = values[ok]
    if how == "max":
        hi = v.max()
        out[ok] = v / hi if hi > 0 else 0.0
    elif how == "minmax":
        lo, hi = v.min(), v.max()
        out[ok] = 1.0 if hi == lo else (v - lo) / (hi - lo)
    elif how == "z":  # z-score over the candidates, absent = the list's minimum z
        sd = v.std()
        z = np.zeros_like(v) if sd == 0 else (v - v.mean()) / sd
        out[ok] = z
        out[~ok] = z.min()
    elif how == "dbsf":
        mu, sd = v.mean(), v.std()
        out[ok] = 1.0 if sd == 0 else np.clip((v - (mu - 3 * sd)) / (6 * sd), 0, 1)
    else:
        raise ValueError(how)
    return out


def signal(qd: QueryDocs, name: str, second: float = 0.0) -> np.ndarray:
    """A document's score in one list: best chunk, plus ``second`` × its second-best chunk."""
    s1 = qd.f[f"{name}1"]
    if second:
        s2 = np.nan_to_num(qd.f[f"{name}2"], nan=0.0)
        return s1 + second * s2
    return s1


def fuse(qd: QueryDocs, s: dict[str, Any]) -> np.ndarray:
    """Fused score per candidate document (-inf for documents this setting does not retrieve)."""
    lists = [("sparse", s["w"]), ("dense", 1.0 - s["w"])]
    for extra in ("bigram", "pairs", "squashed"):
        if s.get(extra, 0):
            lists.append((extra, s[extra]))
    second = s.get("second", 0.0)
    method = s["fusion"]
    fused = np.zeros(len(qd.docs))
    present = np.zeros(len(qd.docs), dtype=bool)
    for name, w in lists:
        v = signal(qd, name, second)
        present |= ~np.isnan(v)
        if method == "rrf":
            r = rank_of(v, qd.tiebreak)
            fused += np.where(np.isnan(r), 0.0, w / (s.get("k", RRF_K) + np.nan_to_num(r, nan=1.0)))
        elif method == "borda":  # CombSUM of ranks: 1 - (rank-1)/100, absent 0
            r = rank_of(v, qd.tiebreak)
            fused += np.where(np.isnan(r), 0.0, w * (1 - (np.nan_to_num(r, nan=1.0) - 1) / CANDIDATES))
        else:
            fused += w * norm(v, method)
    if s.get("coverage", 0):
        scale = 1.0 / (RRF_K + 1) if method == "rrf" else 1.0
        fused += s["coverage"] * scale * qd.f["coverage"]
    if s.get("title", 0):
        t = qd.f["title"]
        scale = 1.0 / (RRF_K + 1) if method == "rrf" else 1.0
        fused += s["title"] * scale * (t / t.max() if t.max() > 0 else t)
    fused[~present] = -np.inf
    if method in ("max", "minmax", "dbsf"):
        fused[fused <= 0] = -np.inf  # Retriever drops hybrid scores of 0 (no evidence at all)
    return fused


def metrics(qd: QueryDocs, fused: np.ndarray) -> tuple[float, float]:
    ok = np.flatnonzero(np.isfinite(fused))
    order = ok[np.lexsort((qd.tiebreak[ok], -fused[ok]))][:10]
    rel = qd.relevant[order]
    dcg = float(np.sum(rel / np.log2(np.arange(2, len(order) + 2))))
    ideal = float(np.sum(1.0 / np.log2(np.arange(2, min(qd.n_relevant, 10) + 2))))
    return dcg / ideal, float(rel.sum()) / qd.n_relevant


def table(
    feats: dict[float, list[QueryDocs]], settings: list[dict[str, Any]]
) -> tuple[np.ndarray, np.ndarray]:
    nd = np.zeros((len(settings), len(next(iter(feats.values())))))
    rc = np.zeros_like(nd)
    for i, s in enumerate(settings):
        for j, qd in enumerate(feats[s["k1"]]):
            nd[i, j], rc[i, j] = metrics(qd, fuse(qd, s))
    return nd, rc


def folds_of(n: int, seed: int = 13, folds: int = 5) -> np.ndarray:
    rng = random.Random(seed)
    order = list(range(n))
    rng.shuffle(order)
    fold = np.zeros(n, dtype=int)
    for i, q in enumerate(order):
        fold[q] = i % folds
    return fold


def cross_validate(
    nd: np.ndarray, rc: np.ndarray, seed: int = 13, folds: int = 5, fold: np.ndarray | None = None
) -> dict[str, Any]:
    n = nd.shape[1]
    if fold is None:
        fold = folds_of(n, seed, folds)
    folds = int(fold.max()) + 1
    oof_n, oof_r, chosen = np.zeros(n), np.zeros(n), []
    for f in range(folds):
        train, test = fold != f, fold == f
        best = int(np.argmax(nd[:, train].mean(axis=1)))
        chosen.append(best)
        oof_n[test], oof_r[test] = nd[best, test], rc[best, test]
    return {"ndcg": float(oof_n.mean()), "recall": float(oof_r.mean()), "chosen": chosen, "oof": oof_n}


# --- the ideas ----------------------------------------------------------------------------------------
K1S = (0.5, 0.8, 1.2)


def base_grid(k1s: Sequence[float] = K1S) -> list[dict[str, Any]]:
    """bench/retrieval.py's document-level slice: weighted max/minmax w 0.2-0.7, RRF 0.3/0.5/0.7."""
    out = []
    for k1 in k1s:
        for w in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            for how in ("max", "minmax"):
                out.append({"k1": k1, "fusion": how, "w": w})
        for w in (0.3, 0.5, 0.7):
            out.append({"k1": k1, "fusion": "rrf", "w": w})
    return out


def crossed(bases: Sequence[dict[str, Any]], **axes: Sequence[float]) -> list[dict[str, Any]]:
    """Every base setting with every combination of the extra parameters (bases outermost, then
    the axes in the order given): the CV grid of an idea on top of a fusion grid."""
    out = [dict(b) for b in bases]
    for name, values in axes.items():
        out = [{**s, name: v} for s in out for v in values]
    return out


def ideas() -> dict[str, tuple[list[dict[str, Any]], dict[str, Any]]]:
    """Each idea: its CV grid and its a-priori setting (fixed before looking at any result)."""
    rrf07 = {"k1": 0.5, "fusion": "rrf", "w": 0.7}
    minmax06 = {"k1": 0.5, "fusion": "minmax", "w": 0.6}
    rrf = [{**rrf07, "w": w} for w in (0.6, 0.7)]
    weighted = [{"k1": 0.5, "fusion": how, "w": w} for how in ("max", "minmax") for w in (0.5, 0.6, 0.7)]
    g: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {}
    g["baseline: doc-level base grid (all k1)"] = (base_grid(), rrf07)
    g["baseline: RRF only, k1 0.5, w 0.6/0.7"] = (rrf, rrf07)
    # 1. char-bigram BM25 as a third list
    g["1 char-bigram BM25, 3-way RRF"] = (
        crossed(
            [{**rrf07, "k1": k1, "w": w} for k1 in (0.5, 0.8) for w in (0.6, 0.7)],
            bigram=(0.0, 0.2, 0.3, 0.5, 0.7),
        ),
        {**rrf07, "bigram": 0.3},
    )
    g["1 char-bigram BM25, 3-way weighted minmax/max"] = (
        crossed(weighted, bigram=(0.0, 0.2, 0.3, 0.5)),
        {**minmax06, "bigram": 0.3},
    )
    g["1' spacing-insensitive char bigrams (squashed text), 3-way weighted (sensitivity)"] = (
        crossed(weighted, squashed=(0.0, 0.2, 0.3, 0.5)),
        {**minmax06, "squashed": 0.3},
    )
    # 2. document structure: second-best chunk, title field
    g["2a best + lambda x second-best chunk (RRF)"] = (
        crossed(rrf, second=(0.0, 0.02, 0.05, 0.1, 0.25, 1.0)),
        {**rrf07, "second": 0.25},
    )
    g["2a best + lambda x second-best chunk (weighted)"] = (
        crossed(weighted, second=(0.0, 0.02, 0.05, 0.1, 0.25, 1.0)),
        {**minmax06, "second": 0.25},
    )
    g["2b title-field bonus (RRF)"] = (
        crossed(rrf, title=(0.0, 0.005, 0.01, 0.02, 0.05, 0.25)),
        {**rrf07, "title": 0.25},
    )
    # 3. query side: coverage bonus; adjacent morpheme pairs as a third list
    g["3a IDF coverage bonus (RRF)"] = (
        crossed(rrf, coverage=(0.0, 0.05, 0.1, 0.25, 0.5, 1.0)),
        {**rrf07, "coverage": 0.25},
    )
    g["3a IDF coverage bonus (weighted)"] = (
        crossed(weighted, coverage=(0.0, 0.1, 0.25, 0.5)),
        {**minmax06, "coverage": 0.25},
    )
    g["3b morpheme-pair BM25, 3-way RRF"] = (
        crossed(rrf, pairs=(0.0, 0.1, 0.2, 0.3, 0.5)),
        {**rrf07, "pairs": 0.2},
    )
    # the idea on hanstack's whole document-level grid (more settings: more selection noise)
    g["1 char-bigram on the full base grid (all k1, weighted + RRF)"] = (
        crossed(base_grid(), bigram=(0.0, 0.2, 0.3, 0.5)),
        {**minmax06, "bigram": 0.3},
    )
    g["3a coverage on the full base grid"] = (
        crossed(base_grid(), coverage=(0.0, 0.1, 0.25, 0.5)),
        {**rrf07, "coverage": 0.25},
    )
    # combinations
    g["1+3a char-bigram + coverage (weighted)"] = (
        crossed(weighted, bigram=(0.0, 0.2, 0.3, 0.5), coverage=(0.0, 0.1, 0.25)),
        {**minmax06, "bigram": 0.3, "coverage": 0.1},
    )
    g["1+3a char-bigram + coverage (RRF)"] = (
        crossed(rrf, bigram=(0.0, 0.2, 0.3, 0.5), coverage=(0.0, 0.1, 0.25)),
        {**rrf07, "bigram": 0.3, "coverage": 0.25},
    )
    g["1+3b char-bigram + morpheme pairs (RRF)"] = (
        crossed(rrf, bigram=(0.0, 0.2, 0.3), pairs=(0.0, 0.1, 0.2, 0.3)),
        {**rrf07, "bigram": 0.3, "pairs": 0.2},
    )
    g["baseline: weighted max/minmax, k1 0.5, w 0.5-0.7"] = (weighted, minmax06)
    # 4. fewer-parameter fusions
    g["4a z-score fusion"] = (
        [{"k1": 0.5, "fusion": "z", "w": w} for w in (0.4, 0.5, 0.6, 0.7)],
        {"k1": 0.5, "fusion": "z", "w": 0.5},
    )
    g["4b CombSUM of ranks (Borda)"] = (
        [{"k1": 0.5, "fusion": "borda", "w": w} for w in (0.4, 0.5, 0.6, 0.7)],
        {"k1": 0.5, "fusion": "borda", "w": 0.5},
    )
    g["4c RRF k in {10, 30, 60}"] = (
        [{**rrf07, "w": w, "k": k} for w in (0.6, 0.7) for k in (10, 30, 60)],
        rrf07,
    )
    g["4d DBSF"] = (
        [{"k1": 0.5, "fusion": "dbsf", "w": w} for w in (0.4, 0.5, 0.6, 0.7)],
        {"k1": 0.5, "fusion": "dbsf", "w": 0.5},
    )
    return g


def describe(s: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in s.items())


def run(only: Callable[[str], bool] = lambda name: True) -> dict[str, Any]:
    started = time.perf_counter()
    data = load()
    log(f"{len(data.chunks)} chunks, {len(data.docs)} documents, {len(data.queries)} queries")
    feats = {k1: build_features(data, k1) for k1 in K1S}
    log(f"features built ({time.perf_counter() - started:.1f}s)")
    out: dict[str, Any] = {"ideas": {}, "single_signals_k1_0.5": {}}
    for name in ("sparse", "dense", "bigram", "squashed", "pairs"):
        vals = [metrics(qd, np.where(np.isnan(v := qd.f[f"{name}1"]), -np.inf, v)) for qd in feats[0.5]]
        nd1, rc1 = (float(np.mean(x)) for x in zip(*vals, strict=True))
        out["single_signals_k1_0.5"][name] = {"ndcg_10": nd1, "recall_10": rc1}
        log(f"{name} alone: nDCG@10 {nd1:.4f} R@10 {rc1:.3f}")
    ref_setting = {"k1": 0.5, "fusion": "rrf", "w": 0.7}
    ref = table(feats, [ref_setting])[0][0]
    rng = np.random.default_rng(7)
    boot = rng.integers(0, len(ref), size=(2000, len(ref)))
    union_nd, union_rc, union_settings = [], [], []
    for name, (grid, fixed) in ideas().items():
        if not only(name):
            continue
        grid = [dict(s) for s in grid]
        if fixed not in grid:
            grid.append(dict(fixed))
        nd, rc = table(feats, grid)
        union_nd.append(nd)
        union_rc.append(rc)
        union_settings += grid
        cv = cross_validate(nd, rc)
        seeds = [cross_validate(nd, rc, seed=s)["ndcg"] for s in range(20)]
        domains = sorted({q.qid.split("_", 1)[1] for q in data.queries})
        by_domain = np.array([domains.index(q.qid.split("_", 1)[1]) for q in data.queries])
        dcv = cross_validate(nd, rc, fold=by_domain)
        best = int(np.argmax(nd.mean(axis=1)))
        fi = grid.index(fixed)
        row = {
            "grid_size": len(grid),
            "cv_ndcg_10": cv["ndcg"],
            "cv_recall_10": cv["recall"],
            "cv_ndcg_10_20_seeds_mean": float(np.mean(seeds)),
            "cv_ndcg_10_20_seeds_min": float(np.min(seeds)),
            "cv_ndcg_10_20_seeds_max": float(np.max(seeds)),
            "fold_settings": [describe(grid[i]) for i in cv["chosen"]],
            "leave_one_domain_out_ndcg_10": dcv["ndcg"],
            "leave_one_domain_out_recall_10": dcv["recall"],
            "domain_settings": {d: describe(grid[i]) for d, i in zip(domains, dcv["chosen"], strict=True)},
            "in_sample_best": describe(grid[best]),
            "in_sample_best_ndcg_10": float(nd[best].mean()),
            "in_sample_best_recall_10": float(rc[best].mean()),
            "fixed_setting": describe(fixed),
            "fixed_ndcg_10": float(nd[fi].mean()),
            "fixed_recall_10": float(rc[fi].mean()),
        }
        diff = cv["oof"] - ref  # paired against the current default (RRF 0.7/0.3, k1 0.5), per query
        row["vs_default_better_worse"] = [int((diff > 1e-9).sum()), int((diff < -1e-9).sum())]
        row["vs_default_cv_gain_95ci"] = [
            float(x) for x in np.percentile(diff[boot].mean(axis=1), [2.5, 97.5])
        ]
        out["ideas"][name] = row
        log(
            f"{name}: CV {row['cv_ndcg_10']:.4f} (20 seeds {row['cv_ndcg_10_20_seeds_mean']:.4f}"
            f" [{row['cv_ndcg_10_20_seeds_min']:.4f}-{row['cv_ndcg_10_20_seeds_max']:.4f}])"
            f" R@10 {row['cv_recall_10']:.3f} | in-sample {row['in_sample_best_ndcg_10']:.4f}"
            f" ({row['in_sample_best']}) | fixed {row['fixed_ndcg_10']:.4f} R@10 {row['fixed_recall_10']:.3f}"
            f" | vs default +/- {row['vs_default_better_worse']} | by-domain {dcv['ndcg']:.4f}"
        )
    # the whole screen as one procedure: idea and setting both chosen on the training folds
    nd, rc = np.vstack(union_nd), np.vstack(union_rc)
    cv = cross_validate(nd, rc)
    seeds = [cross_validate(nd, rc, seed=s)["ndcg"] for s in range(20)]
    out["whole_screen_cv"] = {
        "settings": len(union_settings),
        "cv_ndcg_10": cv["ndcg"],
        "cv_recall_10": cv["recall"],
        "cv_ndcg_10_20_seeds_mean": float(np.mean(seeds)),
        "cv_ndcg_10_20_seeds_min": float(np.min(seeds)),
        "cv_ndcg_10_20_seeds_max": float(np.max(seeds)),
        "fold_settings": [describe(union_settings[i]) for i in cv["chosen"]],
    }
    log("whole screen as one procedure:", out["whole_screen_cv"])
    out["elapsed_s"] = time.perf_counter() - started
    return out


def ranking(qd: QueryDocs, fused: np.ndarray) -> np.ndarray:
    ok = np.flatnonzero(np.isfinite(fused))
    return qd.docs[ok[np.lexsort((qd.tiebreak[ok], -fused[ok]))]]


def analyse() -> dict[str, Any]:
    """Where the a-priori settings differ from the default, query by query, and what the misses are
    (relevant page not first: is the first page from the same PDF?)."""
    data = load()
    feats = build_features(data, 0.5)
    named = {
        "default RRF 0.7/0.3": {"k1": 0.5, "fusion": "rrf", "w": 0.7},
        "bigram minmax 0.6/0.4 + 0.3": {"k1": 0.5, "fusion": "minmax", "w": 0.6, "bigram": 0.3},
        "bigram RRF 0.7/0.3 + 0.3": {"k1": 0.5, "fusion": "rrf", "w": 0.7, "bigram": 0.3},
        "bigram 0.3 + coverage 0.25, RRF": {
            "k1": 0.5,
            "fusion": "rrf",
            "w": 0.7,
            "bigram": 0.3,
            "coverage": 0.25,
        },
    }
    out: dict[str, Any] = {}
    first: dict[str, list[int]] = {}
    for name, s in named.items():
        ranks, misses, same_pdf, adjacent = [], 0, 0, 0
        for qd, q in zip(feats, data.queries, strict=True):
            order = ranking(qd, fuse(qd, s))
            rel = [i for i, d in enumerate(order) if data.docs[d] in q.relevant]
            ranks.append(rel[0] + 1 if rel else 999)
            if ranks[-1] > 1:
                misses += 1
                top = order[0]
                gold = [i for i, d in enumerate(data.docs) if d in q.relevant]
                if any(data.pdf_of[top] == data.pdf_of[g] for g in gold):
                    same_pdf += 1
                    if any(abs(data.page_no[top] - data.page_no[g]) == 1 for g in gold):
                        adjacent += 1
        first[name] = ranks
        out[name] = {
            "first_relevant_not_at_1": misses,
            "of_which_same_pdf": same_pdf,
            "of_which_adjacent_page": adjacent,
        }
        log(name, out[name])
    base = first["default RRF 0.7/0.3"]
    for name, ranks in first.items():
        changed = [
            {"qid": data.queries[i].qid, "default_rank": base[i], "rank": r}
            for i, r in enumerate(ranks)
            if r != base[i]
        ]
        out[name]["changed_vs_default"] = changed
        log(name, "changed:", [(c["qid"], c["default_rank"], c["rank"]) for c in changed])
    return out


def cost() -> dict[str, Any]:
    """Size and per-query time of char-bigram vs Kiwi BM25 postings: AutoRAG, and the 100k NSMC
    reviews bench/retrieval.py --only speed indexes (cached Kiwi terms), 500 reviews as queries."""
    sys.path.insert(0, str(REPO / "bench"))
    from _common import nsmc_reviews  # type: ignore[import-not-found]

    out: dict[str, Any] = {}
    data = load()
    corpora = {
        "autorag (its 114 queries)": (
            [list(c.terms) for c in data.chunks],
            [c.text for c in data.chunks],
            data.qterms,
            [q.query for q in data.queries],
        )
    }
    rows = [r["review"] for r in nsmc_reviews(100_000)]
    nsmc_terms = pickle.loads((CACHE / "nsmc_terms_100000.pkl").read_bytes())[:100_000]
    probes = random.Random(3).sample(range(len(rows)), 500)
    corpora["nsmc 100k reviews (500 reviews as queries)"] = (
        nsmc_terms,
        rows,
        [nsmc_terms[i] for i in probes],
        [rows[i] for i in probes],
    )
    for name, (terms, texts, qterms, qtexts) in corpora.items():
        res = {}
        for kind, docs, queries in (
            ("kiwi", terms, [list(dict.fromkeys(t)) for t in qterms]),
            (
                "char_bigram",
                [char_bigrams(t) for t in texts],
                [list(dict.fromkeys(char_bigrams(t))) for t in qtexts],
            ),
        ):
            idx = Bm25.build(docs, 0.5)
            postings = sum(len(r) for r, _ in idx.postings.values())
            touched, times = [], []
            for _ in range(3):  # best of three passes per query
                for j, q in enumerate(queries):
                    t0 = time.perf_counter()
                    top_candidates(idx.scores(q))
                    dt = (time.perf_counter() - t0) * 1000
                    if len(times) <= j:
                        times.append(dt)
                        touched.append(sum(len(idx.postings[t][0]) for t in q if t in idx.postings))
                    times[j] = min(times[j], dt)
            res[kind] = {
                "postings": postings,
                "postings_per_chunk": postings / len(docs),
                "vocabulary": len(idx.postings),
                "query_terms_mean": float(np.mean([len(q) for q in queries])),
                "postings_touched_per_query_p50": float(np.median(touched)),
                "numpy_score_top100_ms_p50": float(np.median(times)),
            }
            log(name, kind, res[kind])
        out[name] = res
    return out


def verify() -> dict[str, Any]:
    """Replica check: RRF 0.7/0.3, k1 0.5, doc-level, exact boost 0 (hanstack in-sample 0.951)."""
    data = load()
    res = {}
    for k1 in K1S:
        feats = build_features(data, k1)
        for s in ({"k1": k1, "fusion": "rrf", "w": 0.7}, {"k1": k1, "fusion": "max", "w": 0.5}):
            nd, rc = table({k1: feats}, [s])
            res[describe(s)] = {"ndcg_10": float(nd.mean()), "recall_10": float(rc.mean())}
            log(describe(s), round(float(nd.mean()), 4), "R@10", round(float(rc.mean()), 4))
        # BM25 alone and dense alone (doc = best chunk among the 100 candidates)
        for name in ("sparse", "dense"):
            vals = []
            for qd in feats:
                v = qd.f[f"{name}1"]
                vals.append(metrics(qd, np.where(np.isnan(v), -np.inf, v))[0])
            res[f"{name} alone k1={k1}"] = float(np.mean(vals))
            log(f"{name} alone k1={k1}", round(float(np.mean(vals)), 4))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--verify", action="store_true", help="replica check only")
    ap.add_argument("--only", default="", help="run ideas whose name contains this")
    ap.add_argument(
        "--analyse", action="store_true", help="per-query changes and misses of a-priori settings"
    )
    ap.add_argument("--cost", action="store_true", help="postings and query time, char bigrams vs Kiwi")
    args = ap.parse_args()
    for flag, fn in (("analyse", analyse), ("cost", cost)):
        if getattr(args, flag):
            RESULTS.mkdir(parents=True, exist_ok=True)
            (RESULTS / f"retrieval_screen_{flag}.json").write_text(
                json.dumps(fn(), indent=1, ensure_ascii=False)
            )
            return
    if args.verify:
        print(json.dumps(verify(), indent=1))
        return
    res = run(lambda name: args.only in name)
    res["verify"] = None
    res["machine"] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "node": platform.machine(),
    }
    res["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = f"_{args.only.split()[0]}" if args.only else ""
    (RESULTS / f"retrieval_screen{suffix}.json").write_text(json.dumps(res, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
