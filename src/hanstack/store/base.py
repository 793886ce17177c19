"""The Store protocol: what retrieval needs from a search engine, on top of ingestion's ChunkIndex.

A store keeps, per chunk, a dense vector (from its embedder), a sparse BM25 vector (from
:class:`~hanstack.store.sparse.SparseEncoder`) and a payload (text, provenance, tenant, ACL).
It answers one kind of question, :class:`StoreQuery`: the sparse and/or dense candidates inside an
:class:`AccessScope`. The scope is a filter *inside* the engine query (tenant equality and ACL
group overlap, on indexed payload fields): a chunk outside it is never scored, never counted,
never returned. Fusion happens above, in :mod:`hanstack.retrieve`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from hanstack.embed.base import Embedder
from hanstack.errors import InvalidInputError
from hanstack.ingest.models import Chunk, Provenance, Trust
from hanstack.store.sparse import SparseEncoder, SparseVec

DENSE = "dense"
SPARSE = "bm25"


@dataclass(frozen=True, slots=True)
class AccessScope:
    """Who is asking: one tenant and the ACL groups they belong to.

    A chunk is visible when its tenant equals ``tenant`` and its ACL shares at least one group
    with ``groups``. No groups means nothing is visible.
    """

    tenant: str
    groups: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.tenant:
            raise InvalidInputError("a search needs a tenant", hint="pass tenant=... (the CLI uses --tenant)")
        if isinstance(self.groups, str):
            raise InvalidInputError("groups must be a list of group names, not one string")


@dataclass(frozen=True, slots=True)
class StoreQuery:
    scope: AccessScope
    limit: int
    sparse: SparseVec | None = None
    dense: np.ndarray | None = None
    required_terms: tuple[str, ...] = ()
    """Body terms every candidate must contain (keyword index on ``terms``): quoted phrases."""
    doc_ids: tuple[str, ...] | None = None
    """Restrict to these documents (e.g. a follow-up question about one file)."""
    exact_dense: bool = False
    """Brute-force dense search instead of HNSW (for measuring ANN recall)."""
    hnsw_ef: int | None = None
    rescore: SparseVec | None = None
    """A second sparse query (the character bigrams) scored only on the sparse and dense
    candidates, with the same IDF over the scope: a third signal at a fraction of a third search."""


class Candidate(NamedTuple):
    """One ranked candidate: the engine's point key, its score and its document.

    A named tuple, not a frozen dataclass: a query builds ~200 of them, and a frozen dataclass
    costs ~2.3 µs each to construct here (one ``object.__setattr__`` per field) against ~0.3 µs,
    which was ~0.4 ms of a ~6 ms hybrid query at 100k chunks."""

    key: str
    score: float
    doc_id: str


@dataclass(slots=True)
class StoreResult:
    sparse: list[Candidate] = field(default_factory=list)
    dense: list[Candidate] = field(default_factory=list)
    rescored: dict[str, float] = field(default_factory=dict)
    """``StoreQuery.rescore``'s score of each candidate that matches it (candidates that share no
    term with it are absent)."""

    def candidate_keys(self) -> list[str]:
        """Every candidate once, sparse first (what :attr:`StoreQuery.rescore` is scored on)."""
        return list(dict.fromkeys([c.key for c in self.sparse] + [c.key for c in self.dense]))


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk as the store returns it (``terms``: its distinct content morphemes, in order)."""

    chunk_id: str
    text: str
    provenance: Provenance
    terms: tuple[str, ...]
    ordinal: int
    token_count: int


@runtime_checkable
class Store(Protocol):
    """ChunkIndex (what ingestion writes through) plus search (what retrieval reads through)."""

    @property
    def embedder(self) -> Embedder: ...

    @property
    def encoder(self) -> SparseEncoder: ...

    def upsert_chunks(self, chunks: Sequence[Chunk]) -> None: ...

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None: ...

    def indexed_chunk_ids(self) -> set[str]: ...

    def flush(self) -> None: ...

    def query(self, query: StoreQuery) -> StoreResult: ...

    def fetch(self, keys: Sequence[str]) -> dict[str, StoredChunk]:
        """Payloads of candidates (keys from :meth:`query`); unknown keys are left out."""
        ...

    def count(self) -> int: ...

    def optimize(self) -> None:
        """Build indexes after a bulk load (HNSW); a no-op where the engine does it itself."""
        ...

    def close(self) -> None: ...


# --- helpers shared by the implementations ---------------------------------------------------------
_HEX32 = re.compile(r"[0-9a-f]{32}")
_ID_NAMESPACE = uuid.UUID("6f1c1c0e-6d1b-4a55-9b4e-68616e737461")


def point_id(chunk_id: str) -> int:
    """Qdrant point id of a chunk: the first 63 bits of its 128-bit hex id (of a UUID5 for any
    other id), as an unsigned integer.

    Integers, not UUIDs: the engine hands every result's id to Python, and a ``uuid.UUID`` costs
    ~3 µs to build and ~2 µs to print here against ~0.3 µs for an int, i.e. ~0.5 ms of a hybrid
    query that returns 100+ ids. 63 bits keep collisions negligible (about N²/2⁶⁴: 5·10⁻⁶ at ten
    million chunks) and stay inside a signed 64-bit integer for any client."""
    if _HEX32.fullmatch(chunk_id):
        return int(chunk_id[:16], 16) >> 1
    return uuid.uuid5(_ID_NAMESPACE, chunk_id).int >> 65


def point_ids(keys: Sequence[str]) -> list[int]:
    """Point ids back from the string keys :meth:`Store.query` hands out; a key that is not one
    of ours (not a decimal integer) is dropped, as an unknown key is."""
    return [int(k) for k in keys if k.isdigit()]


def chunk_payload(chunk: Chunk) -> dict[str, Any]:
    """Filterable fields as payload keys (with keyword indexes), everything else as one JSON string:
    each payload key costs a conversion into the engine (19 keys made upserts ~4x slower than 5),
    and nothing filters on text, pages or char spans."""
    p = chunk.provenance
    meta = {
        "chunk_id": chunk.chunk_id,
        "text": chunk.text,
        "ordinal": chunk.ordinal,
        "token_count": chunk.token_count,
        "source": p.source,
        "content_sha256": p.content_sha256,
        "title": p.title,
        "section_path": list(p.section_path),
        "page_start": p.page_start,
        "page_end": p.page_end,
        "char_start": p.char_start,
        "char_end": p.char_end,
        "ingested_at": p.ingested_at,
        "version": p.version,
        "trust": p.trust.value,
    }
    return {
        "doc_id": p.doc_id,
        "tenant": p.tenant,
        "acl": list(p.acl),
        "terms": list(dict.fromkeys(chunk.terms)),
        "meta": json.dumps(meta, ensure_ascii=False, separators=(",", ":")),
    }


def payload_chunk_id(payload: dict[str, Any]) -> str:
    return str(json.loads(payload["meta"])["chunk_id"])


def stored_chunk(payload: dict[str, Any]) -> StoredChunk:
    meta = json.loads(payload["meta"])
    prov = Provenance(
        doc_id=payload["doc_id"],
        source=meta["source"],
        content_sha256=meta["content_sha256"],
        title=meta.get("title"),
        section_path=tuple(meta.get("section_path") or ()),
        page_start=meta.get("page_start"),
        page_end=meta.get("page_end"),
        char_start=meta["char_start"],
        char_end=meta["char_end"],
        ingested_at=meta["ingested_at"],
        version=meta["version"],
        tenant=payload["tenant"],
        acl=tuple(payload.get("acl") or ()),
        trust=Trust(meta.get("trust", Trust.UNTRUSTED.value)),
    )
    return StoredChunk(
        chunk_id=meta["chunk_id"],
        text=meta["text"],
        provenance=prov,
        terms=payload_terms(payload.get("terms")),
        ordinal=meta.get("ordinal", 0),
        token_count=meta.get("token_count", 0),
    )


def terms_text(terms: Sequence[str]) -> str:
    """Terms as one whitespace-separated string (a term's own inner whitespace becomes ``_``)."""
    return " ".join("_".join(t.split()) for t in terms)


def payload_terms(value: Any) -> tuple[str, ...]:
    """A payload's ``terms``: a keyword list (Qdrant server) or one joined string (Qdrant Edge)."""
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    return tuple(value)


def embedding_text(chunk: Chunk) -> str:
    """What the dense vector sees: the section path (context a chunk alone lacks) and the text."""
    section = chunk.provenance.section
    return f"{section}\n{chunk.text}" if section else chunk.text


def document_vector(encoder: SparseEncoder, chunk: Chunk) -> SparseVec:
    p = chunk.provenance
    return encoder.document(chunk.terms, chunk.text, title=p.title, section=p.section or None)


def validate_chunks(chunks: Sequence[Chunk]) -> None:
    """Refuse chunks that could never be found or could leak: no tenant, no ACL."""
    for c in chunks:
        if not c.provenance.tenant:
            raise InvalidInputError(
                f"chunk {c.chunk_id} has no tenant", hint="every chunk needs provenance.tenant"
            )
        if not c.provenance.acl:
            raise InvalidInputError(
                f"chunk {c.chunk_id} has an empty ACL", hint="give it at least one group (ingest.default_acl)"
            )
