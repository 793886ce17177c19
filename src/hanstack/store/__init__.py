"""Search stores behind one protocol: embedded Qdrant Edge (default) and Qdrant server/cluster.

``open_store(settings)`` is the entry point ingestion and retrieval share::

    store = open_store(settings)            # Store: ChunkIndex (upsert/delete/flush) + query/fetch
    store.upsert_chunks(chunks)             # embeds (batched), BM25-encodes and indexes
    store.flush()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hanstack.store.base import AccessScope, Candidate, Store, StoredChunk, StoreQuery, StoreResult, point_id
from hanstack.store.common import IndexMeta, Progress
from hanstack.store.sparse import Bm25Params, FieldBoosts, SparseEncoder, SparseVec, exact_terms

if TYPE_CHECKING:
    from hanstack.config import Settings
    from hanstack.embed.base import Embedder

__all__ = [
    "AccessScope",
    "Bm25Params",
    "Candidate",
    "FieldBoosts",
    "IndexMeta",
    "SparseEncoder",
    "SparseVec",
    "Store",
    "StoreQuery",
    "StoreResult",
    "StoredChunk",
    "drop_index",
    "exact_terms",
    "open_store",
    "point_id",
]


def _field_terms(settings: Settings) -> Callable[[str], Sequence[str]]:
    """Title/section strings are analysed with the workspace's analyzer, lazily (only when present)."""

    def analyse(text: str) -> Sequence[str]:
        from hanstack.korean.analyzer import get_analyzer

        k = settings.korean
        return get_analyzer(k.analyzer, workers=k.workers, user_dictionary=k.user_dictionary).search_terms(
            text
        )

    return analyse


def _qdrant_endpoint(settings: Settings) -> tuple[str, str | None]:
    """The Qdrant URL and API key of ``retrieval.store = "qdrant"``; a missing URL is a config error."""
    from hanstack.errors import ConfigError

    r = settings.retrieval
    if not r.qdrant_url:
        raise ConfigError(
            "retrieval.store is 'qdrant' but retrieval.qdrant_url is not set",
            hint="set it to http://host:6333 (or path:/dir for qdrant-client local mode)",
        )
    return r.qdrant_url, r.qdrant_api_key.get_secret_value() if r.qdrant_api_key else None


def open_store(
    settings: Settings, *, embedder: Embedder | None = None, progress: Progress | None = None
) -> Store:
    """The store ``settings.retrieval.store`` names: ``edge`` in ``settings.index_dir``, or ``qdrant``
    at ``retrieval.qdrant_url`` (``http(s)://...``, ``path:/dir`` or ``:memory:`` for local mode)."""
    from hanstack.embed.registry import build_embedder
    from hanstack.errors import ConfigError

    r = settings.retrieval
    emb = embedder or build_embedder(settings)
    common = {
        "field_terms": _field_terms(settings),
        "bm25": Bm25Params(k1=r.bm25_k1, b=r.bm25_b),
        "hnsw_m": r.hnsw_m,
        "hnsw_ef_construct": r.hnsw_ef_construct,
        "hnsw_ef": r.hnsw_ef,
        "progress": progress,
    }
    if r.store == "edge":
        from hanstack.store.edge import EdgeStore

        settings.ensure_home()
        return EdgeStore(
            settings.index_dir,
            emb,
            sparse_scorer=r.sparse_scorer,
            search_threads=r.search_threads,
            **common,  # type: ignore[arg-type]
        )
    if r.store == "qdrant":
        from hanstack.store.qdrant import QdrantStore

        url, key = _qdrant_endpoint(settings)
        return QdrantStore.connect(
            url,
            emb,
            api_key=key,
            collection=r.collection,
            shard_number=r.shard_number,
            replication_factor=r.replication_factor,
            **common,  # type: ignore[arg-type]
        )
    raise ConfigError(f"unknown retrieval.store {r.store!r}", hint="choose edge or qdrant")


def drop_index(settings: Settings) -> str:
    """Delete the workspace's search index (the Qdrant Edge folder, or the Qdrant collection) so
    that it can be rebuilt from the registry: after an upgrade changed the index format, or when
    the index is damaged. Returns what was deleted. Nothing else (registry, files) is touched."""
    import shutil

    from hanstack.errors import ConfigError, StoreError

    r = settings.retrieval
    if r.store == "edge":
        path = settings.index_dir
        if path.exists():
            try:
                shutil.rmtree(path)
            except OSError as exc:
                raise StoreError(f"cannot delete the index folder {path}: {exc.strerror}") from exc
        return str(path)
    if r.store == "qdrant":
        from hanstack.store.qdrant import drop_collection

        url, key = _qdrant_endpoint(settings)
        drop_collection(url, r.collection, api_key=key)
        return f"{url} collection {r.collection}"
    raise ConfigError(f"unknown retrieval.store {r.store!r}", hint="choose edge or qdrant")
