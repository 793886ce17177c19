"""Test helpers shared by the store, retrieval and eval tests: a fast deterministic embedder,
chunk factories and store factories for both implementations."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from hanstack.ingest.models import Chunk, Provenance, Trust, chunk_id_for


class HashEmbedder:
    """Character-bigram hashing into 64 dims: deterministic, instant, similar texts are close."""

    dim = 64

    def __init__(self, name: str = "test-hash") -> None:
        self._name = name
        self.calls = 0

    @property
    def name(self) -> str:
        return self._name

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        s = "".join(text.split())
        for a, b in zip(s, s[1:] or s, strict=False):
            h = int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0
        v[0] += 1e-3
        return v / np.linalg.norm(v)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return np.vstack([self._vec(t) for t in texts]) if texts else np.empty((0, self.dim), np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_passages(texts)


def make_chunk(
    text: str,
    *,
    doc: str = "doc",
    ordinal: int = 0,
    tenant: str = "t1",
    acl: Sequence[str] = ("public",),
    terms: Sequence[str] | None = None,
    title: str | None = None,
    section: Sequence[str] = (),
    page: int | None = None,
    tokenize: Callable[[str], list[str]] | None = None,
) -> Chunk:
    prov = Provenance(
        doc_id=doc,
        source=f"/data/{doc}.txt",
        content_sha256="0" * 64,
        title=title,
        section_path=tuple(section),
        page_start=page,
        page_end=page,
        char_start=0,
        char_end=len(text),
        ingested_at="2026-01-01T00:00:00+00:00",
        version=1,
        tenant=tenant,
        acl=tuple(acl),
        trust=Trust.TRUSTED,
    )
    if terms is None:
        terms = tokenize(text) if tokenize else text.split()
    return Chunk(chunk_id_for(f"{tenant}/{doc}", 1, ordinal), ordinal, text, prov, len(text), tuple(terms))


def edge_store(path: Path, embedder=None, **kw):
    from hanstack.store.edge import EdgeStore

    return EdgeStore(path, embedder or HashEmbedder(), **kw)


def edge_engine_store(path: Path, embedder=None, **kw):
    """Qdrant Edge with the engine's own sparse search instead of the in-memory BM25 mirror."""
    from hanstack.store.edge import EdgeStore

    return EdgeStore(path, embedder or HashEmbedder(), sparse_scorer="engine", **kw)


def qdrant_local_store(path: Path, embedder=None, **kw):
    from hanstack.store.qdrant import QdrantStore

    return QdrantStore.connect(f"path:{path}", embedder or HashEmbedder(), **kw)


STORE_FACTORIES = {"edge": edge_store, "edge-engine": edge_engine_store, "qdrant-local": qdrant_local_store}
