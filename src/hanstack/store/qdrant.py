"""Scale-out: a Qdrant server or cluster through ``qdrant-client``.

Sharding and replication are the cluster's job; hanstack only creates the collection with
``retrieval.shard_number`` and ``retrieval.replication_factor`` and the same vectors, payload indexes
and filters as the embedded store. The index metadata lives in the collection's metadata.

Tests run this class against ``qdrant-client``'s local mode (``QdrantClient(path=...)`` or
``":memory:"``), which implements the same API in Python (and ignores payload indexes).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hanstack.embed.base import Embedder
from hanstack.errors import MissingDependencyError, StoreError
from hanstack.store.base import (
    DENSE,
    SPARSE,
    Candidate,
    StoredChunk,
    StoreQuery,
    StoreResult,
    payload_chunk_id,
    point_ids,
    stored_chunk,
)
from hanstack.store.common import IndexMeta, Progress, QdrantStoreBase, new_meta
from hanstack.store.sparse import Bm25Params, SparseVec

log = logging.getLogger(__name__)

META_KEY = "hanstack_index"


def _client_module() -> Any:
    try:
        import qdrant_client
    except ImportError as exc:
        raise MissingDependencyError("qdrant-client", "retrieval", "The Qdrant server store") from exc
    return qdrant_client


class QdrantStore(QdrantStoreBase):
    """One collection on a Qdrant server/cluster (or qdrant-client local mode)."""

    def __init__(
        self,
        client: Any,
        embedder: Embedder,
        *,
        collection: str = "hanstack_chunks",
        shard_number: int = 1,
        replication_factor: int = 1,
        field_terms: Callable[[str], Sequence[str]] | None = None,
        bm25: Bm25Params | None = None,
        hnsw_m: int = 16,
        hnsw_ef_construct: int = 256,
        hnsw_ef: int = 128,
        progress: Progress | None = None,
    ) -> None:
        super().__init__(embedder, field_terms=field_terms, bm25=bm25, progress=progress)
        from qdrant_client import models

        self._m = models
        self._client = client
        self.collection = collection
        self._hnsw_ef = hnsw_ef
        try:
            exists = client.collection_exists(collection)
            if exists:
                self._meta = self._load_meta()
                if self._meta is None:
                    raise StoreError(
                        f"collection {collection!r} exists but was not made by hanstack",
                        hint="choose another retrieval.collection",
                    )
                self._meta.check(embedder, f"collection {collection}")
            else:
                self._create(shard_number, replication_factor, hnsw_m, hnsw_ef_construct)
        except StoreError:
            raise
        except Exception as exc:  # qdrant-client raises transport- and server-specific errors
            raise StoreError(
                f"cannot open Qdrant collection {collection!r}: {exc}",
                hint="check retrieval.qdrant_url and retrieval.qdrant_api_key",
            ) from exc

    @classmethod
    def connect(
        cls, url: str, embedder: Embedder, *, api_key: str | None = None, **kwargs: Any
    ) -> QdrantStore:
        """A store on a server (``http://host:6333``), a local-mode folder (``path:/dir``) or ``:memory:``."""
        return cls(cls._client_for(url, api_key), embedder, **kwargs)

    @staticmethod
    def _client_for(url: str, api_key: str | None) -> Any:
        qc = _client_module()
        if url == ":memory:":
            return qc.QdrantClient(location=":memory:")
        if url.startswith("path:"):
            return qc.QdrantClient(path=url[len("path:") :])
        return qc.QdrantClient(url=url, api_key=api_key, timeout=30)

    def _create(self, shard_number: int, replication_factor: int, m: int, ef_construct: int) -> None:
        mm = self._m
        meta = new_meta(self._embedder, self._bm25_default)
        self._client.create_collection(
            self.collection,
            vectors_config={
                DENSE: mm.VectorParams(
                    size=self._embedder.dim,
                    distance=mm.Distance.COSINE,
                    hnsw_config=mm.HnswConfigDiff(m=m, ef_construct=ef_construct, payload_m=m),
                )
            },
            sparse_vectors_config={SPARSE: mm.SparseVectorParams(modifier=mm.Modifier.IDF)},
            shard_number=shard_number,
            replication_factor=replication_factor,
            metadata={META_KEY: meta.to_dict()},
        )
        with warnings.catch_warnings():  # local mode warns that it ignores payload indexes
            warnings.simplefilter("ignore", UserWarning)
            self._client.create_payload_index(
                self.collection,
                "tenant",
                mm.KeywordIndexParams(type=mm.KeywordIndexType.KEYWORD, is_tenant=True),
            )
            for name in ("acl", "doc_id", "terms"):
                self._client.create_payload_index(self.collection, name, mm.PayloadSchemaType.KEYWORD)
        self._meta = meta

    def _load_meta(self) -> IndexMeta | None:
        info = self._client.get_collection(self.collection)
        data = (getattr(info.config, "metadata", None) or {}).get(META_KEY)
        return IndexMeta.from_dict(data) if data else None

    def _save_meta(self, meta: IndexMeta) -> None:
        self._client.update_collection(self.collection, metadata={META_KEY: meta.to_dict()})

    # --- writes -------------------------------------------------------------------------------------
    def _write(
        self, ids: list[int], dense: np.ndarray, sparse: list[SparseVec], payloads: list[dict[str, Any]]
    ) -> None:
        mm = self._m
        points = []
        for pid, vec, sp, payload in zip(ids, dense.tolist(), sparse, payloads, strict=True):
            vectors: dict[str, Any] = {DENSE: vec}
            if len(sp):
                vectors[SPARSE] = mm.SparseVector(indices=sp.indices, values=sp.values)
            points.append(mm.PointStruct(id=pid, vector=vectors, payload=payload))
        self._client.upsert(self.collection, points=points, wait=True)

    def _delete(self, ids: list[int]) -> None:
        self._client.delete(
            self.collection, points_selector=self._m.PointIdsList(points=list(ids)), wait=True
        )

    def flush(self) -> None:
        return None  # writes are acknowledged with wait=True

    def close(self) -> None:
        self._client.close()

    # --- reads --------------------------------------------------------------------------------------
    def indexed_chunk_ids(self) -> set[str]:
        out: set[str] = set()
        offset = None
        while True:
            records, offset = self._client.scroll(
                self.collection, limit=10_000, offset=offset, with_payload=["meta"], with_vectors=False
            )
            out.update(payload_chunk_id(r.payload) for r in records if r.payload)
            if offset is None:
                return out

    def count(self) -> int:
        return int(self._client.count(self.collection, exact=True).count)

    def _filter(self, query: StoreQuery) -> Any:
        mm = self._m
        must: list[Any] = [
            mm.FieldCondition(key="tenant", match=mm.MatchValue(value=query.scope.tenant)),
            mm.FieldCondition(key="acl", match=mm.MatchAny(any=list(query.scope.groups))),
        ]
        must += [mm.FieldCondition(key="terms", match=mm.MatchValue(value=t)) for t in query.required_terms]
        if query.doc_ids is not None:
            must.append(mm.FieldCondition(key="doc_id", match=mm.MatchAny(any=list(query.doc_ids))))
        return mm.Filter(must=must)

    def query(self, query: StoreQuery) -> StoreResult:
        mm = self._m
        if not query.scope.groups or query.doc_ids == ():
            return StoreResult()
        flt = self._filter(query)
        requests: list[tuple[str, Any]] = []
        if query.sparse is not None and len(query.sparse):
            vec = mm.SparseVector(indices=query.sparse.indices, values=query.sparse.values)
            # IDF over what the asker may see: another tenant's documents must not move the scores
            idf = mm.SearchParams(idf=mm.IdfCorpusParams(corpus=flt))
            requests.append(
                (
                    "sparse",
                    mm.QueryRequest(
                        query=vec,
                        using=SPARSE,
                        filter=flt,
                        params=idf,
                        limit=query.limit,
                        with_payload=["doc_id"],
                    ),
                )
            )
        if query.dense is not None:
            params = mm.SearchParams(hnsw_ef=query.hnsw_ef or self._hnsw_ef, exact=query.exact_dense)
            requests.append(
                (
                    "dense",
                    mm.QueryRequest(
                        query=np.asarray(query.dense, dtype=np.float32).tolist(),
                        using=DENSE,
                        filter=flt,
                        params=params,
                        limit=query.limit,
                        with_payload=["doc_id"],
                    ),
                )
            )
        if not requests:
            return StoreResult()
        with warnings.catch_warnings():  # local mode: "search_params has no effect" (exact search)
            warnings.simplefilter("ignore", UserWarning)
            answers = self._client.query_batch_points(self.collection, requests=[r for _, r in requests])
        result = StoreResult()
        for (kind, _), answer in zip(requests, answers, strict=True):
            hits = [
                Candidate(str(p.id), float(p.score), (p.payload or {}).get("doc_id", ""))
                for p in answer.points
            ]
            setattr(result, kind, hits)
        if query.rescore is not None and len(query.rescore):
            result.rescored = self._rescore(query.rescore, flt, result.candidate_keys())
        return result

    def _rescore(self, vec: SparseVec, flt: Any, keys: list[str]) -> dict[str, float]:
        """The rescoring query's scores on the candidates: the same sparse search, restricted to
        their ids (the access filter stays, and the IDF is still over the whole scope)."""
        ids = point_ids(keys)
        if not ids:
            return {}
        mm = self._m
        restricted = mm.Filter(must=[*flt.must, mm.HasIdCondition(has_id=ids)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            answer = self._client.query_points(
                self.collection,
                query=mm.SparseVector(indices=vec.indices, values=vec.values),
                using=SPARSE,
                query_filter=restricted,
                search_params=mm.SearchParams(idf=mm.IdfCorpusParams(corpus=flt)),
                limit=len(ids),
                with_payload=False,
            )
        return {str(p.id): float(p.score) for p in answer.points if p.score > 0}

    def fetch(self, keys: Sequence[str]) -> dict[str, StoredChunk]:
        if not keys:
            return {}
        records = self._client.retrieve(
            self.collection, ids=point_ids(keys), with_payload=True, with_vectors=False
        )
        return {str(r.id): stored_chunk(r.payload) for r in records if r.payload}


def drop_collection(url: str, collection: str, *, api_key: str | None = None) -> None:
    """Delete a collection (to rebuild it from the registry); a missing one is not an error."""
    client = QdrantStore._client_for(url, api_key)
    try:
        if client.collection_exists(collection):
            client.delete_collection(collection)
    finally:
        client.close()
