"""The data that flows out of ingestion: loaded documents, chunks and their provenance.

A chunk's ``char_start``/``char_end`` index the *normalised* document text (``LoadedDocument.text``
after :func:`hanstack.korean.normalize_text`), which the registry stores, so a citation can always
be resolved back to the exact passage (``docs show``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class Trust(StrEnum):
    """How far a chunk's text may be believed and followed.

    ``trusted``: curated corpus; ``untrusted``: default for ingested user content;
    ``suspicious``: an injection detector flagged instructions inside it (kept as data only).
    """

    TRUSTED = "trusted"
    UNTRUSTED = "untrusted"
    SUSPICIOUS = "suspicious"


@dataclass(frozen=True, slots=True)
class Block:
    """A structural unit a loader found: a paragraph, heading, table row or page's text.

    ``heading_level`` > 0 marks a heading (Markdown #, HTML h1-h6, a styled DOCX heading), which
    becomes part of the section path. ``page`` is 1-based where the format has pages.
    """

    text: str
    page: int | None = None
    heading_level: int = 0
    kind: str = "paragraph"


@dataclass(slots=True)
class LoadedDocument:
    """What a loader returns: structure-preserving blocks plus metadata."""

    blocks: list[Block]
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    encoding: str | None = None


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a chunk comes from: enough to cite it and to enforce access to it."""

    doc_id: str
    source: str
    content_sha256: str
    title: str | None
    section_path: tuple[str, ...]
    page_start: int | None
    page_end: int | None
    char_start: int
    char_end: int
    ingested_at: str
    version: int
    tenant: str
    acl: tuple[str, ...]
    trust: Trust = Trust.UNTRUSTED

    @property
    def section(self) -> str:
        return " > ".join(self.section_path)

    @property
    def pages(self) -> str | None:
        if self.page_start is None:
            return None
        if self.page_end is None or self.page_end == self.page_start:
            return str(self.page_start)
        return f"{self.page_start}-{self.page_end}"


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable passage.

    ``terms`` are the analyzer's content morphemes (BM25 terms) computed once at ingestion;
    ``token_count`` is measured with the serving model's tokenizer.
    """

    chunk_id: str
    ordinal: int
    text: str
    provenance: Provenance
    token_count: int
    terms: tuple[str, ...] = ()

    @property
    def doc_id(self) -> str:
        return self.provenance.doc_id


def chunk_id_for(doc_id: str, version: int, ordinal: int) -> str:
    """Stable, version-scoped id: a new version never reuses an old chunk's id."""
    return hashlib.sha256(f"{doc_id}\x1f{version}\x1f{ordinal}".encode()).hexdigest()[:32]


def doc_id_for(tenant: str, source: str) -> str:
    """A document is identified by where it came from within a tenant."""
    return hashlib.sha256(f"{tenant}\x1f{source}".encode()).hexdigest()[:24]


@runtime_checkable
class ChunkIndex(Protocol):
    """What ingestion needs from a search index (the retrieval store implements it).

    The SQLite registry is the source of truth; an index is a derived view that ingestion keeps in
    step: new chunks are added before the registry flips to the new version, old ones removed
    after it, so a reader never sees a document half old and half new.
    """

    def upsert_chunks(self, chunks: Sequence[Chunk]) -> None: ...

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None: ...

    def indexed_chunk_ids(self) -> set[str]: ...

    def flush(self) -> None: ...
