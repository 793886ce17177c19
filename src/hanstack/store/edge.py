"""The embedded default: Qdrant Edge (Qdrant's Rust engine in-process), persisted in the workspace.

Layout under ``index_dir``: ``edge/`` (the shard: WAL, segments, HNSW, payload indexes) and
``hanstack-index.json`` (:class:`IndexMeta`). One process writes a shard at a time; readers in the
same process share the store object.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hanstack.embed.base import Embedder
from hanstack.errors import MissingDependencyError, StoreError
from hanstack.store.base import (
    DENSE,
    SPARSE,
    AccessScope,
    Candidate,
    StoredChunk,
    StoreQuery,
    StoreResult,
    payload_chunk_id,
    point_ids,
    stored_chunk,
    terms_text,
)
from hanstack.store.bm25_mirror import Bm25Mirror, MirrorRow
from hanstack.store.common import IndexMeta, Progress, QdrantStoreBase, new_meta
from hanstack.store.sparse import Bm25Params, SparseVec

log = logging.getLogger(__name__)

META_FILE = "hanstack-index.json"
OPTIMIZE_EVERY = 20_000
"""Points written or deleted since the last optimisation that make :meth:`EdgeStore.flush` run one
(Qdrant Edge has no background optimiser: HNSW is built when we ask)."""
SHARD_DIR = "edge"
SPARSE_SCORERS = ("memory", "engine")
"""``memory``: BM25 candidates from :class:`~hanstack.store.bm25_mirror.Bm25Mirror` (same scores;
the store query about half as long at 100k chunks); ``engine``: Qdrant Edge's own sparse search."""
REBUILD_DEAD_SHARE = 0.5
"""Share of deleted/replaced rows in the mirror above which it is rebuilt from the shard."""
TERMS_FIELD = "terms"
"""A chunk's distinct body terms, stored as ONE space-joined string with a whitespace text index
(``MatchText`` requires every token): handing the engine a list of N strings costs N Python→Rust
conversions (~25-50 µs each here), which made a keyword list the largest part of an upsert."""


def _edge() -> Any:
    try:
        import qdrant_edge
    except ImportError as exc:
        raise MissingDependencyError(
            "qdrant-edge-py", "retrieval", "The embedded index (Qdrant Edge)"
        ) from exc
    return qdrant_edge


class _SharedShard:
    """An open shard and what must be shared with it: the BM25 mirror, which every EdgeStore on
    the shard reads and every write through any of them updates."""

    def __init__(self, shard: Any) -> None:
        self.shard = shard
        self.lock = threading.Lock()
        self.mirror: Bm25Mirror | None = None

    def drop_stale_mirror(self) -> None:
        """After a write (hold :attr:`lock`): replaced and deleted rows stay in the mirror as dead
        postings; past :data:`REBUILD_DEAD_SHARE` of them it is rebuilt from the shard instead."""
        if self.mirror is not None and self.mirror.dead_share > REBUILD_DEAD_SHARE:
            self.mirror = None  # rebuilt on the next query


class _OpenShards:
    """One open shard per folder per process, shared by every EdgeStore on it (reference-counted).

    Qdrant Edge locks its write-ahead log: a second ``EdgeShard.load`` of the same folder fails
    with ``WouldBlock``, in this process or another. Sharing the shard lets the CLI, the answer
    engine and the gateway each open "the workspace index" without knowing about each other.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[Path, list[Any]] = {}  # folder -> [_SharedShard, reference count]

    def acquire(self, path: Path, opener: Callable[[], Any]) -> _SharedShard:
        key = path.resolve()
        with self._lock:
            entry = self._open.get(key)
            if entry is None:
                entry = self._open[key] = [_SharedShard(_open_shard(path, opener)), 0]
            entry[1] += 1
            return entry[0]  # type: ignore[no-any-return]

    def release(self, path: Path) -> None:
        key = path.resolve()
        with self._lock:
            entry = self._open.get(key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] <= 0:
                del self._open[key]
                entry[0].shard.close()


def _open_shard(path: Path, opener: Callable[[], Any]) -> Any:
    try:
        return opener()
    except StoreError:
        raise
    except Exception as exc:  # the Rust engine raises plain Exception; translate at this boundary
        if "WouldBlock" in str(exc):
            raise StoreError(
                f"the index at {path} is open in another process (a running `hanstack serve`?)",
                hint="stop that process, or send documents through it (POST /v1/documents)",
            ) from exc
        raise StoreError(
            f"cannot open the index at {path}: {exc}",
            hint="if it is damaged, delete the folder and re-run ingestion to rebuild it",
        ) from exc


_SHARDS = _OpenShards()


def _mirror_from_shard(q: Any, shard: Any) -> tuple[Bm25Mirror, int]:
    """Every point's access fields and BM25 vector, scrolled page by page into columns (no
    per-point Python objects kept: ~3.5 s and ~185 MB for 100k chunks)."""
    mirror = Bm25Mirror()
    points = 0
    offset = None
    while True:
        records, offset = shard.scroll(
            q.ScrollRequest(
                offset=offset, limit=10_000, with_payload=["doc_id", "tenant", "acl"], with_vector=[SPARSE]
            )
        )
        keys, docs, tenants, acls, lengths = [], [], [], [], []
        indices: list[int] = []
        values: list[float] = []
        for r in records:
            p = r.payload or {}
            keys.append(str(r.id))
            docs.append(p.get("doc_id", ""))
            tenants.append(p.get("tenant", ""))
            acls.append(p.get("acl") or ())
            vec = (r.vector or {}).get(SPARSE)  # absent for chunks without terms
            lengths.append(len(vec.indices) if vec is not None else 0)
            if vec is not None:
                indices.extend(vec.indices)
                values.extend(vec.values)
        mirror.add_columns(
            keys,
            docs,
            tenants,
            acls,
            np.asarray(lengths, dtype=np.int64),
            np.asarray(indices, dtype=np.int64),
            np.asarray(values, dtype=np.float32),
        )
        points += len(records)
        if offset is None:
            break
    mirror.compact()
    return mirror, points


class EdgeStore(QdrantStoreBase):
    """A Qdrant Edge shard in ``path``; created on first open."""

    def __init__(
        self,
        path: Path,
        embedder: Embedder,
        *,
        field_terms: Callable[[str], Sequence[str]] | None = None,
        bm25: Bm25Params | None = None,
        hnsw_m: int = 16,
        hnsw_ef_construct: int = 256,
        hnsw_ef: int = 128,
        sparse_scorer: str = "memory",
        search_threads: int = 1,
        indexing_threshold_kb: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        super().__init__(embedder, field_terms=field_terms, bm25=bm25, progress=progress)
        self._q = _edge()
        self._indexing_threshold_kb = indexing_threshold_kb
        self.path = Path(path)
        self._hnsw_ef = hnsw_ef
        if sparse_scorer not in SPARSE_SCORERS:
            raise StoreError(f"unknown sparse scorer {sparse_scorer!r}", hint="choose memory or engine")
        self._sparse_in_memory = sparse_scorer == "memory"
        if search_threads < 0:
            raise StoreError(f"search_threads must be 0 or more, got {search_threads}")
        self._search_threads = search_threads or (os.cpu_count() or 1)
        self._pending = 0
        self._scope_filters: dict[AccessScope, Any] = {}
        self._shard_path = self.path / SHARD_DIR
        self._meta_path = self.path / META_FILE
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create index folder {self.path}: {exc.strerror}") from exc
        self._meta = self._load_meta()
        if self._meta is not None and self._shard_path.exists():
            self._meta.check(embedder, str(self.path))
            self._shared = _SHARDS.acquire(
                self._shard_path, lambda: self._q.EdgeShard.load(str(self._shard_path), self._load_config())
            )
        else:
            self._shared = _SHARDS.acquire(self._shard_path, lambda: self._create(hnsw_m, hnsw_ef_construct))
        self._shard = self._shared.shard

    def _load_config(self) -> Any:
        """What opening an existing shard may change: only the search pool. Qdrant Edge requires a
        vector section in any config; the sparse one is the same in every hanstack index, and the
        dense one is inherited from the shard when omitted."""
        q = self._q
        return q.EdgeConfig(
            sparse_vectors={SPARSE: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)},
            max_search_threads=self._search_threads,
        )

    def _create(self, m: int, ef_construct: int) -> Any:
        q = self._q
        if self._shard_path.exists() and any(self._shard_path.iterdir()):
            raise StoreError(
                f"{self._shard_path} holds an index without {META_FILE}",
                hint="delete the folder and re-run ingestion to rebuild it",
            )
        config = q.EdgeConfig(
            vectors={
                DENSE: q.EdgeVectorParams(
                    size=self._embedder.dim,
                    distance=q.Distance.Cosine,
                    hnsw_config=q.HnswIndexConfig(m=m, ef_construct=ef_construct, full_scan_threshold=10_000),
                )
            },
            sparse_vectors={SPARSE: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)},
            max_search_threads=self._search_threads,
            # below the threshold a segment is searched exactly; None keeps Qdrant's default (~10 MB)
            optimizers=q.EdgeOptimizersConfig(indexing_threshold=self._indexing_threshold_kb)
            if self._indexing_threshold_kb is not None
            else None,
        )
        shard = q.EdgeShard.create(str(self._shard_path), config)
        # Filterable HNSW: Qdrant adds graph links per value of every indexed field. Worth it for
        # tenant and ACL (in every query's filter); for doc_id (100k values) and the terms text
        # index (a link set per frequent term) it multiplied the HNSW build time and buys nothing.
        shard.update(q.UpdateOperation.create_field_index("tenant", q.KeywordIndexParams(is_tenant=True)))
        shard.update(q.UpdateOperation.create_field_index("acl", q.KeywordIndexParams()))
        shard.update(q.UpdateOperation.create_field_index("doc_id", q.KeywordIndexParams(enable_hnsw=False)))
        shard.update(
            q.UpdateOperation.create_field_index(
                TERMS_FIELD,
                q.TextIndexParams(tokenizer=q.TokenizerType.Whitespace, lowercase=False, enable_hnsw=False),
            )
        )
        meta = new_meta(self._embedder, self._bm25_default)
        self._save_meta(meta)
        self._meta = meta
        return shard

    # --- metadata ---------------------------------------------------------------------------------
    def _load_meta(self) -> IndexMeta | None:
        if not self._meta_path.exists():
            return None
        try:
            return IndexMeta.from_dict(json.loads(self._meta_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise StoreError(
                f"cannot read {self._meta_path}: {exc}", hint="delete the index folder to rebuild"
            ) from exc

    def _save_meta(self, meta: IndexMeta) -> None:
        tmp = self._meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta.to_dict(), indent=2), encoding="utf-8")
        os.replace(tmp, self._meta_path)

    # --- writes -------------------------------------------------------------------------------------
    def _write(
        self, ids: list[int], dense: np.ndarray, sparse: list[SparseVec], payloads: list[dict[str, Any]]
    ) -> None:
        q = self._q
        points = []
        for pid, vec, sp, payload in zip(ids, dense.tolist(), sparse, payloads, strict=True):
            vectors: dict[str, Any] = {DENSE: vec}
            if len(sp):
                vectors[SPARSE] = q.SparseVector(sp.indices, sp.values)
            payload[TERMS_FIELD] = terms_text(payload[TERMS_FIELD])
            points.append(q.Point(pid, vectors, payload))
        shared = self._shared
        with shared.lock:  # the engine and the mirror change together, for every store on the shard
            self._shard.update(q.UpdateOperation.upsert_points(points))
            if shared.mirror is not None:
                shared.mirror.add(
                    [
                        MirrorRow(str(pid), p["doc_id"], p["tenant"], tuple(p["acl"]), sp)
                        for pid, p, sp in zip(ids, payloads, sparse, strict=True)
                    ]
                )
                shared.drop_stale_mirror()  # re-ingesting a document replaces its chunks
        self._pending += len(points)

    def _delete(self, ids: list[int]) -> None:
        shared = self._shared
        with shared.lock:
            self._shard.update(self._q.UpdateOperation.delete_points(ids))
            if shared.mirror is not None:
                shared.mirror.remove([str(i) for i in ids])
                shared.drop_stale_mirror()
        self._pending += len(ids)

    def flush(self) -> None:
        """Make writes durable; after :data:`OPTIMIZE_EVERY` changes, also build indexes."""
        self._shard.flush()
        if self._pending >= OPTIMIZE_EVERY:
            self.optimize()

    def optimize(self) -> None:
        """Build HNSW for grown segments, merge small ones, vacuum deletions (blocking; a no-op
        below Qdrant's indexing threshold, so cheap to call after every ingestion run)."""
        started = time.perf_counter()
        changed = self._shard.optimize()
        self._pending = 0
        if changed:
            log.info("optimised index", extra={"seconds": round(time.perf_counter() - started, 3)})

    def close(self) -> None:
        shard, self._shard = getattr(self, "_shard", None), None
        if shard is not None:
            _SHARDS.release(self._shard_path)

    # --- reads --------------------------------------------------------------------------------------
    def indexed_chunk_ids(self) -> set[str]:
        q = self._q
        out: set[str] = set()
        offset = None
        while True:
            records, offset = self._shard.scroll(
                q.ScrollRequest(offset=offset, limit=10_000, with_payload=["meta"])
            )
            out.update(payload_chunk_id(r.payload) for r in records if r.payload)
            if offset is None:
                return out

    def count(self) -> int:
        return int(self._shard.count(self._q.CountRequest(exact=True)))

    def _filter(self, query: StoreQuery) -> Any:
        q = self._q
        plain = not query.required_terms and query.doc_ids is None
        if plain and (cached := self._scope_filters.get(query.scope)) is not None:
            return cached
        must: list[Any] = [
            q.FieldCondition(key="tenant", match=q.MatchValue(query.scope.tenant)),
            q.FieldCondition(key="acl", match=q.MatchAny(list(query.scope.groups))),
        ]
        if plain:  # the common case: one filter per asker, built once (~40 µs of engine objects)
            if len(self._scope_filters) >= 256:
                self._scope_filters.pop(next(iter(self._scope_filters)))
            flt = self._scope_filters[query.scope] = q.Filter(must=must)
            return flt
        if query.required_terms:
            must.append(
                q.FieldCondition(key=TERMS_FIELD, match=q.MatchText(terms_text(query.required_terms)))
            )
        if query.doc_ids is not None:
            must.append(q.FieldCondition(key="doc_id", match=q.MatchAny(list(query.doc_ids))))
        return q.Filter(must=must)

    def _bm25_mirror(self) -> Bm25Mirror:
        """The shard's mirror, built from the shard on first use (one scroll over all points)."""
        shared = self._shared
        with shared.lock:
            if shared.mirror is None:
                started = time.perf_counter()
                mirror, points = _mirror_from_shard(self._q, self._shard)
                shared.mirror = mirror
                log.info(
                    "built the BM25 mirror",
                    extra={"points": points, "seconds": round(time.perf_counter() - started, 3)},
                )
            return shared.mirror

    def query(self, query: StoreQuery) -> StoreResult:
        q = self._q
        if not query.scope.groups or query.doc_ids == ():
            return StoreResult()
        flt = self._filter(query)
        has_sparse = query.sparse is not None and len(query.sparse) > 0
        has_rescore = query.rescore is not None and len(query.rescore) > 0
        # The mirror answers plain keyword queries; phrase and document restrictions (rare) change
        # the IDF corpus to the restricted set, which the engine computes itself.
        mirror = (
            self._bm25_mirror()
            if self._sparse_in_memory
            and (has_sparse or has_rescore)
            and not query.required_terms
            and query.doc_ids is None
            else None
        )
        requests: list[tuple[str, Any]] = []
        if has_sparse and mirror is None:
            assert query.sparse is not None
            vec = q.SparseVector(query.sparse.indices, query.sparse.values)
            # IDF over what the asker may see: another tenant's documents must not move the scores
            idf = q.SearchParams(idf=q.IdfParams(corpus=flt))
            requests.append(
                (
                    "sparse",
                    q.QueryRequest(
                        limit=query.limit,
                        query=q.Query.Nearest(vec, using=SPARSE),
                        filter=flt,
                        params=idf,
                        with_payload=["doc_id"],
                    ),
                )
            )
        if query.dense is not None:
            params = q.SearchParams(hnsw_ef=query.hnsw_ef or self._hnsw_ef, exact=query.exact_dense)
            requests.append(
                (
                    "dense",
                    q.QueryRequest(
                        limit=query.limit,
                        query=q.Query.Nearest(
                            np.asarray(query.dense, dtype=np.float32).tolist(), using=DENSE
                        ),
                        filter=flt,
                        params=params,
                        # the mirror knows every point's document: skip the payload read
                        with_payload=["doc_id"] if mirror is None else False,
                    ),
                )
            )
        result = StoreResult()
        # Sequential on purpose: running the dense search in a worker thread beside the BM25
        # scoring measured slower (3.2 → 4.8 ms p50 at 100k: both sides need the GIL to build
        # Python objects, and the hand-off costs more than the overlap saves).
        if mirror is not None and has_sparse:
            assert query.sparse is not None
            result.sparse = mirror.search(query.sparse, query.scope, query.limit)
        if requests:
            answers = self._shard.query_batch(q.QueryBatchRequest([r for _, r in requests]))
            for (kind, _), points in zip(requests, answers, strict=True):
                keys = [str(p.id) for p in points]  # integer point ids: see base.point_id
                scores = [float(p.score) for p in points]
                docs = (
                    mirror.doc_ids(keys)
                    if mirror is not None
                    else [(p.payload or {}).get("doc_id", "") for p in points]
                )
                setattr(result, kind, list(map(Candidate, keys, scores, docs)))
        if has_rescore:
            assert query.rescore is not None
            keys = result.candidate_keys()
            if mirror is not None:
                result.rescored = mirror.score_keys(query.rescore, query.scope, keys)
            else:
                result.rescored = self._rescore(query.rescore, flt, keys)
        return result

    def _rescore(self, vec: SparseVec, flt: Any, keys: list[str]) -> dict[str, float]:
        """The engine's scores of the rescoring query on the candidates only (their ids added to the
        access filter; the IDF stays over the whole scope)."""
        ids = point_ids(keys)
        if not ids:
            return {}
        q = self._q
        points = self._shard.query(
            q.QueryRequest(
                limit=len(ids),
                query=q.Query.Nearest(q.SparseVector(vec.indices, vec.values), using=SPARSE),
                filter=q.Filter(must=[*flt.must, q.HasIdCondition(set(ids))]),
                params=q.SearchParams(idf=q.IdfParams(corpus=flt)),
                with_payload=False,
            )
        )
        return {str(p.id): float(p.score) for p in points if p.score > 0}

    def fetch(self, keys: Sequence[str]) -> dict[str, StoredChunk]:
        if not keys:
            return {}
        records = self._shard.retrieve(point_ids(keys), with_payload=True, with_vector=False)
        return {str(r.id): stored_chunk(r.payload) for r in records if r.payload}
