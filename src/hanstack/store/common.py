"""What both Qdrant stores share: index metadata, and the upsert path (validate → embed in batches
→ sparse vectors → payload → engine), so the engines only translate calls."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from hanstack.embed.base import Embedder
from hanstack.errors import StoreError
from hanstack.ingest.models import Chunk
from hanstack.store.base import (
    StoredChunk,
    StoreQuery,
    StoreResult,
    chunk_payload,
    document_vector,
    embedding_text,
    point_id,
    validate_chunks,
)
from hanstack.store.sparse import Bm25Params, SparseEncoder, SparseVec, average_bigrams, average_length

log = logging.getLogger(__name__)

INDEX_FORMAT = 5
"""5: sparse vectors also hold the text's character bigrams (4: morpheme, exact and field terms
only); since 4, integer point ids (3: UUIDs); since 3, Qdrant Edge stores a chunk's terms as one
text-indexed string (2: a keyword list)."""
DEFAULT_BIGRAM_AVGDL = 100.0
"""Bigrams per chunk assumed until the first batch with text fixes the index's own average."""
EMBED_BATCH = 32
WRITE_BATCH = 256
"""Points per engine write: larger writes amortise the engine's per-call work (WAL, index
updates: ~30% cheaper per point at 256 than at 32); embedding still runs 32 at a time."""

Progress = Callable[[int, int], None]


@dataclass
class IndexMeta:
    """Facts an index was built with; vectors and weights are only comparable under them."""

    embedder: str
    dim: int
    k1: float
    b: float
    avgdl: float | None = None
    bigram_avgdl: float | None = None
    format: int = INDEX_FORMAT
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexMeta:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def check(self, embedder: Embedder, where: str) -> None:
        if self.format != INDEX_FORMAT:
            raise StoreError(
                f"index at {where} has format {self.format}, this hanstack reads format {INDEX_FORMAT}",
                hint="rebuild it from the registry: hanstack docs reindex (re-embeds every chunk)",
            )
        if self.embedder != embedder.name or self.dim != embedder.dim:
            raise StoreError(
                f"index at {where} was built with embedder {self.embedder} ({self.dim} dims), "
                f"but retrieval.embedder is {embedder.name} ({embedder.dim} dims)",
                hint="set retrieval.embedder back, or delete the index and re-run ingestion to rebuild it",
            )


def new_meta(embedder: Embedder, params: Bm25Params) -> IndexMeta:
    return IndexMeta(
        embedder=embedder.name,
        dim=embedder.dim,
        k1=params.k1,
        b=params.b,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


class QdrantStoreBase(ABC):
    """The engine-independent half of a store. Subclasses talk to one Qdrant engine."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        field_terms: Callable[[str], Sequence[str]] | None = None,
        bm25: Bm25Params | None = None,
        progress: Progress | None = None,
    ) -> None:
        self._embedder = embedder
        self._bm25_default = bm25 or Bm25Params()
        self._field_terms = field_terms
        self._encoder: SparseEncoder | None = None
        self._meta: IndexMeta | None = None
        self.progress = progress

    # --- engine operations ------------------------------------------------------------------------
    @abstractmethod
    def _load_meta(self) -> IndexMeta | None: ...

    @abstractmethod
    def _save_meta(self, meta: IndexMeta) -> None: ...

    @abstractmethod
    def _write(
        self, ids: list[int], dense: np.ndarray, sparse: list[SparseVec], payloads: list[dict[str, Any]]
    ) -> None: ...

    @abstractmethod
    def _delete(self, ids: list[int]) -> None: ...

    @abstractmethod
    def indexed_chunk_ids(self) -> set[str]: ...

    @abstractmethod
    def query(self, query: StoreQuery) -> StoreResult: ...

    @abstractmethod
    def fetch(self, keys: Sequence[str]) -> dict[str, StoredChunk]: ...

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def flush(self) -> None: ...

    def optimize(self) -> None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> QdrantStoreBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- shared ----------------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        return self._embedder

    @property
    def meta(self) -> IndexMeta | None:
        return self._meta

    @property
    def encoder(self) -> SparseEncoder:
        if self._encoder is None:
            meta, default = self._meta, self._bm25_default
            avgdl = meta.avgdl if meta and meta.avgdl else default.avgdl
            bigram_avgdl = (
                meta.bigram_avgdl
                if meta and meta.bigram_avgdl
                else default.bigram_avgdl or DEFAULT_BIGRAM_AVGDL
            )
            params = Bm25Params(
                k1=meta.k1 if meta else default.k1,
                b=meta.b if meta else default.b,
                avgdl=avgdl,
                bigram_avgdl=bigram_avgdl,
            )
            self._encoder = SparseEncoder(params=params, field_terms=self._field_terms)
        return self._encoder

    def _fix_avgdl(self, chunks: Sequence[Chunk]) -> None:
        """The first batch with terms fixes avgdl (with text: bigram_avgdl) for the life of the index."""
        if self._meta is not None and (self._meta.avgdl is None or self._meta.bigram_avgdl is None):
            self._meta = self._load_meta() or self._meta  # another handle may have fixed it
            self._encoder = None
        meta = self._meta
        if meta is None:
            return
        changed = False
        if meta.avgdl is None and (avg := average_length(c.terms for c in chunks)) is not None:
            meta.avgdl, changed = avg, True
        if meta.bigram_avgdl is None and (avg := average_bigrams(c.text for c in chunks)) is not None:
            meta.bigram_avgdl, changed = avg, True
        if changed:
            self._save_meta(meta)
            self._encoder = None

    def upsert_chunks(self, chunks: Sequence[Chunk]) -> None:
        """Embed chunks :data:`EMBED_BATCH` at a time and write them :data:`WRITE_BATCH` at a time;
        each write is durable on its own, so an interrupted upsert resumes with the chunks
        :meth:`indexed_chunk_ids` lacks (at most one write's embeddings are redone)."""
        if not chunks:
            return
        validate_chunks(chunks)
        self._fix_avgdl(chunks)
        encoder = self.encoder
        total = len(chunks)
        started = time.perf_counter()
        for start in range(0, total, WRITE_BATCH):
            batch = chunks[start : start + WRITE_BATCH]
            parts = []
            for i in range(0, len(batch), EMBED_BATCH):
                part = batch[i : i + EMBED_BATCH]
                vectors = self._embedder.embed_passages([embedding_text(c) for c in part])
                if vectors.shape != (len(part), self._embedder.dim):
                    raise StoreError(
                        f"embedder {self._embedder.name} returned shape {vectors.shape} for {len(part)} chunks"
                    )
                parts.append(vectors)
                if self.progress is not None and start + i + len(part) < total:
                    self.progress(start + i + len(part), total)
            dense = np.vstack(parts)
            sparse = [document_vector(encoder, c) for c in batch]
            self._write(
                [point_id(c.chunk_id) for c in batch], dense, sparse, [chunk_payload(c) for c in batch]
            )
            if self.progress is not None:
                self.progress(start + len(batch), total)
        log.info(
            "indexed chunks", extra={"chunks": total, "seconds": round(time.perf_counter() - started, 3)}
        )

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        if chunk_ids:
            self._delete([point_id(c) for c in chunk_ids])
