"""Hybrid search: the one entry point the answer engine, the gateway and the CLI call.

::

    from hanstack.retrieve import Retriever
    retriever = Retriever(settings)                       # or Retriever(store=..., tokenize=...)
    hits = retriever.search("은행법 제8조 인가 요건", tenant="acme", groups=["legal"], k=5)
    for h in hits:
        print(h.score, h.provenance.source, h.provenance.pages, h.provenance.section, h.text)

``search(query, *, tenant, groups, k=None, mode="hybrid", fusion=None, group_by_doc=False,
doc_ids=None, query_vector=None) -> list[SearchHit]``

- ``mode``: ``"bm25"`` (sparse only), ``"dense"`` (vectors only) or ``"hybrid"`` (both, fused);
- ``fusion``: ``"weighted"`` (normalised weighted sum, default from settings) or ``"rrf"``;
- ``tenant`` and ``groups`` become a filter inside the engine query; nothing outside them is
  scored or returned. ``groups=[]`` sees nothing;
- ``group_by_doc=True`` returns one hit per document: its best chunk, ranked by that chunk;
- quoted phrases in the query are required; exact terms (제10조, numbers) are boosted;
- in hybrid mode a third list scores the query's character bigrams on the sparse and dense
  candidates (``bigram_weight``; 0 switches it off): it rescues the words Kiwi analyses
  differently in a question and in the text, at a fraction of the cost of a third search.

Each :class:`SearchHit` carries the chunk text, its full provenance, the scores by component
(``sparse``, ``dense``: raw engine scores; ``fused``) and the query terms it matched.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from hanstack.errors import InvalidInputError
from hanstack.ingest.models import Provenance
from hanstack.retrieve.fusion import Norm, best_per_document, ranked, rrf, weighted
from hanstack.retrieve.query import AnalyzedQuery, QueryAnalyzer, Tokenize, contains_phrases
from hanstack.store.base import AccessScope, Candidate, Store, StoredChunk, StoreQuery, StoreResult
from hanstack.store.sparse import EXACT_NS, FieldBoosts, article_refs, numbers

if TYPE_CHECKING:
    from hanstack.config import Settings

Mode = Literal["bm25", "dense", "hybrid"]
Fusion = Literal["weighted", "rrf"]
MODES: tuple[str, ...] = ("bm25", "dense", "hybrid")


@dataclass(frozen=True, slots=True)
class SearchHit:
    chunk_id: str
    doc_id: str
    score: float
    rank: int
    text: str
    provenance: Provenance
    scores: dict[str, float]
    """``sparse`` (BM25), ``dense`` (cosine): raw engine scores where the chunk was a candidate;
    ``bigram``: BM25 of the query's character bigrams where they matched; ``fused``: the ranking
    score (equal to ``score``)."""
    matched_terms: tuple[str, ...]
    """Query terms (and exact terms such as 제10조) found in this chunk."""
    terms: tuple[str, ...] = ()
    """The chunk's distinct content morphemes (its BM25 terms), for support checks downstream."""


@dataclass(slots=True)
class FusionConfig:
    fusion: Fusion = "weighted"
    sparse_weight: float = 0.4
    dense_weight: float = 0.6
    norm: Norm = "minmax"
    rrf_k: int = 60
    bigram_weight: float = 0.5
    """Weight of the character-bigram list (hybrid mode; 0: not computed)."""
    candidates: int = 50
    boosts: FieldBoosts = field(default_factory=FieldBoosts)
    doc_fusion: bool = True
    """With ``group_by_doc``: fuse each document's best sparse and best dense score (a document
    whose best keyword chunk and best semantic chunk differ gets both), not chunk scores."""

    @classmethod
    def from_settings(cls, settings: Settings) -> FusionConfig:
        r = settings.retrieval
        return cls(
            fusion=r.fusion,
            sparse_weight=r.sparse_weight,
            dense_weight=r.dense_weight,
            rrf_k=r.rrf_k,
            norm=r.fusion_norm,
            bigram_weight=r.bigram_weight,
            candidates=r.candidates,
            boosts=FieldBoosts(
                exact=r.exact_boost, article=r.article_boost, title=r.title_boost, section=r.section_boost
            ),
            doc_fusion=r.doc_fusion,
        )


@dataclass(slots=True)
class Timing:
    """Milliseconds spent on the last search, by stage."""

    analyse_ms: float = 0.0
    embed_ms: float = 0.0
    engine_ms: float = 0.0
    fetch_ms: float = 0.0
    total_ms: float = 0.0


class Retriever:
    """Query analysis + store candidates + fusion + hits. Build once per process and reuse."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: Store | None = None,
        tokenize: Tokenize | None = None,
        config: FusionConfig | None = None,
        default_k: int | None = None,
    ) -> None:
        if store is None:
            if settings is None:
                raise InvalidInputError("Retriever needs settings or a store")
            from hanstack.store import open_store

            store = open_store(settings)
        if tokenize is None:
            from hanstack.korean.analyzer import get_analyzer

            if settings is not None:
                k = settings.korean
                analyzer = get_analyzer(k.analyzer, workers=k.workers, user_dictionary=k.user_dictionary)
            else:
                analyzer = get_analyzer()
            tokenize = analyzer.search_terms
        self.store = store
        self.analyzer = QueryAnalyzer(tokenize)
        self.config = config or (
            FusionConfig.from_settings(settings) if settings is not None else FusionConfig()
        )
        self.default_k = default_k or (settings.retrieval.k if settings is not None else 10)
        self.last_timing = Timing()
        self._qcache: OrderedDict[str, np.ndarray] = OrderedDict()

    def close(self) -> None:
        self.store.close()

    # --- the API ----------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        tenant: str,
        groups: Sequence[str],
        k: int | None = None,
        mode: Mode = "hybrid",
        fusion: Fusion | None = None,
        group_by_doc: bool = False,
        doc_ids: Sequence[str] | None = None,
        query_vector: np.ndarray | None = None,
    ) -> list[SearchHit]:
        started = time.perf_counter()
        timing = Timing()
        k = self.default_k if k is None else k
        if k < 1:
            raise InvalidInputError(f"k must be at least 1, got {k}")
        if mode not in MODES:
            raise InvalidInputError(f"unknown search mode {mode!r}", hint="choose bm25, dense or hybrid")
        if not query or not query.strip():
            raise InvalidInputError("the query is empty", hint="type what you are looking for")
        scope = AccessScope(tenant, tuple(groups))
        cfg = self.config
        fusion = fusion or cfg.fusion

        analysed = self.analyzer.analyze(query)
        t = time.perf_counter()
        timing.analyse_ms = (t - started) * 1000
        sparse = rescore = None
        if mode in ("bm25", "hybrid"):
            sparse = self.store.encoder.query(analysed.terms, analysed.exact, cfg.boosts)
        if mode == "hybrid" and cfg.bigram_weight > 0:
            rescore = self.store.encoder.bigram_query(query)
        dense = None
        if mode in ("dense", "hybrid"):
            dense = query_vector if query_vector is not None else self._embed(query)
        t2 = time.perf_counter()
        timing.embed_ms = (t2 - t) * 1000

        limit = max(cfg.candidates, k * (4 if group_by_doc or analysed.phrases else 1))
        result = self.store.query(
            StoreQuery(
                scope=scope,
                limit=limit,
                sparse=sparse,
                dense=dense,
                required_terms=analysed.phrase_terms,
                doc_ids=tuple(doc_ids) if doc_ids is not None else None,
                rescore=rescore,
            )
        )
        t3 = time.perf_counter()
        timing.engine_ms = (t3 - t2) * 1000

        bigrams = ranked(result.rescored) if rescore is not None else None
        order = self._fuse(result.sparse, result.dense, bigrams, mode, fusion)
        doc_of = {c.key: c.doc_id or c.key for c in (*result.sparse, *result.dense)}
        if group_by_doc and mode == "hybrid" and cfg.doc_fusion:
            order = self._fuse_docs(result.sparse, result.dense, bigrams, fusion, order, doc_of)
        if mode == "hybrid":
            # 0 after fusion: the weakest dense candidate and no keyword match, no evidence at all
            order = [(key, score) for key, score in order if score > 0]
        if group_by_doc:
            order = _best_per_doc(order, doc_of)
        hits = self._materialise(order, k, analysed, result)
        t4 = time.perf_counter()
        timing.fetch_ms = (t4 - t3) * 1000
        timing.total_ms = (t4 - started) * 1000
        self.last_timing = timing
        return hits

    # --- internals --------------------------------------------------------------------------------
    def _embed(self, query: str) -> np.ndarray:
        cached = self._qcache.get(query)
        if cached is not None:
            self._qcache.move_to_end(query)
            return cached
        vec = self.store.embedder.embed_queries([query])[0]
        self._qcache[query] = vec
        if len(self._qcache) > 256:
            self._qcache.popitem(last=False)
        return vec

    def _fuse(
        self,
        sparse: list[Candidate],
        dense: list[Candidate],
        bigrams: list[tuple[str, float]] | None,
        mode: Mode,
        fusion: Fusion,
    ) -> list[tuple[str, float]]:
        if mode == "bm25":
            return [(c.key, c.score) for c in sparse]
        if mode == "dense":
            return [(c.key, c.score) for c in dense]
        cfg = self.config
        lists = [[(c.key, c.score) for c in sparse], [(c.key, c.score) for c in dense]]
        weights = [cfg.sparse_weight, cfg.dense_weight]
        if bigrams is not None:
            lists.append(bigrams)
            weights.append(cfg.bigram_weight)
        if fusion == "rrf":
            return rrf(lists, k=cfg.rrf_k, weights=weights)
        return weighted(lists, weights=weights, norm=cfg.norm)

    def _fuse_docs(
        self,
        sparse: list[Candidate],
        dense: list[Candidate],
        bigrams: list[tuple[str, float]] | None,
        fusion: Fusion,
        chunk_ranked: list[tuple[str, float]],
        doc_of: dict[str, str],
    ) -> list[tuple[str, float]]:
        """Documents ranked by fusing their best sparse, dense (and bigram) chunk scores, each
        shown by its chunk with the best chunk-level fused score (the passage that matches best
        overall)."""
        lists = [
            best_per_document([(c.key, c.score) for c in sparse], doc_of),
            best_per_document([(c.key, c.score) for c in dense], doc_of),
        ]
        cfg = self.config
        weights = [cfg.sparse_weight, cfg.dense_weight]
        if bigrams is not None:
            lists.append(best_per_document(bigrams, doc_of))
            weights.append(cfg.bigram_weight)
        if fusion == "rrf":
            docs = rrf(lists, k=cfg.rrf_k, weights=weights)
        else:
            docs = weighted(lists, weights=weights, norm=cfg.norm)
        shown: dict[str, str] = {}
        for key, _ in chunk_ranked:
            shown.setdefault(doc_of.get(key, key), key)
        return [(shown[doc], score) for doc, score in docs if doc in shown]

    def _materialise(
        self,
        ranked: list[tuple[str, float]],
        k: int,
        analysed: AnalyzedQuery,
        result: StoreResult,
    ) -> list[SearchHit]:
        component = {
            "sparse": {c.key: c.score for c in result.sparse},
            "dense": {c.key: c.score for c in result.dense},
            "bigram": result.rescored,
        }
        wanted = list(dict.fromkeys(analysed.terms))
        exact = {e[len(EXACT_NS) :] for e in analysed.exact}
        hits: list[SearchHit] = []
        page = k if not analysed.phrases else max(2 * k, 20)
        for start in range(0, len(ranked), page):
            window = ranked[start : start + page]
            chunks = self.store.fetch([key for key, _ in window])
            for key, score in window:
                chunk = chunks.get(key)
                if chunk is None or not contains_phrases(chunk.text, analysed.phrases):
                    continue
                hits.append(_hit(chunk, key, score, len(hits) + 1, component, wanted, exact))
                if len(hits) == k:
                    return hits
        return hits


def _best_per_doc(ranked: list[tuple[str, float]], doc_of: dict[str, str]) -> list[tuple[str, float]]:
    seen: set[str] = set()
    out = []
    for key, score in ranked:
        doc = doc_of.get(key, key)
        if doc in seen:
            continue
        seen.add(doc)
        out.append((key, score))
    return out


def _hit(
    chunk: StoredChunk,
    key: str,
    score: float,
    rank: int,
    component: dict[str, dict[str, float]],
    wanted: list[str],
    exact: set[str],
) -> SearchHit:
    scores = {"fused": score}
    for name, by_key in component.items():
        if key in by_key:
            scores[name] = by_key[key]
    chunk_terms = set(chunk.terms)
    matched = [t for t in wanted if t in chunk_terms]
    if exact:
        present = set(article_refs(chunk.text)) | {"#" + n for n in numbers(chunk.text)}
        matched += [e if not e.startswith("#") else e[1:] for e in sorted(exact) if e in present]
    return SearchHit(
        chunk_id=chunk.chunk_id,
        doc_id=chunk.provenance.doc_id,
        score=score,
        rank=rank,
        text=chunk.text,
        provenance=chunk.provenance,
        scores=scores,
        matched_terms=tuple(dict.fromkeys(matched)),
        terms=chunk.terms,
    )
