"""The document registry: SQLite in the workspace, the source of truth for documents and chunks.

Why SQLite: one file, transactional, readers never block the writer in WAL mode, and a killed
process leaves either the old or the new state of a transaction, never half of each. Every
document change (insert, replace, delete) is one transaction, so a reader sees a document either
wholly at its old version or wholly at its new one. The search index is a derived view kept in
step through the ``indexed`` flag on each chunk (see :mod:`hanstack.ingest.pipeline`).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hanstack.errors import NotFoundError, StoreError
from hanstack.ingest.models import Chunk, Provenance, Trust

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT,
    content_sha256 TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    version INTEGER NOT NULL,
    ingested_at TEXT NOT NULL,
    acl TEXT NOT NULL,
    trust TEXT NOT NULL,
    format TEXT NOT NULL,
    encoding TEXT,
    size_bytes INTEGER NOT NULL,
    mtime_ns INTEGER,
    metadata TEXT NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (tenant, source)
);
CREATE INDEX IF NOT EXISTS documents_tenant ON documents (tenant);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents (doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    page_start INTEGER,
    page_end INTEGER,
    section_path TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    terms TEXT NOT NULL,
    indexed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id, ordinal);
CREATE INDEX IF NOT EXISTS chunks_unindexed ON chunks (indexed) WHERE indexed = 0;
-- Chunk ids whose index entries must still be removed (old versions, deleted documents).
CREATE TABLE IF NOT EXISTS index_tombstones (chunk_id TEXT PRIMARY KEY);
"""


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    doc_id: str
    tenant: str
    source: str
    title: str | None
    content_sha256: str
    fingerprint: str
    version: int
    ingested_at: str
    acl: tuple[str, ...]
    trust: Trust
    format: str
    encoding: str | None
    size_bytes: int
    mtime_ns: int | None
    metadata: dict[str, Any]
    chunk_count: int = 0


class Registry:
    """Documents and chunks of one workspace. Open one per process; it is not thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot open the document registry {path}: {exc}",
                hint="is it a hanstack workspace? move the file away to start afresh",
            ) from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of change: BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- reads --------------------------------------------------------------------------------
    def find(self, tenant: str, source: str) -> DocumentRecord | None:
        row = self._db.execute(
            f"SELECT {_DOC_COLUMNS} FROM documents d WHERE tenant = ? AND source = ?", (tenant, source)
        ).fetchone()
        return _doc(row) if row else None

    def get(self, doc_id: str, *, tenant: str | None = None) -> DocumentRecord:
        row = self._db.execute(
            f"SELECT {_DOC_COLUMNS} FROM documents d WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        if row is None or (tenant is not None and row[1] != tenant):
            raise NotFoundError(
                f"no document {doc_id!r}" + (f" in tenant {tenant!r}" if tenant else ""),
                hint="hanstack docs list shows the documents",
            )
        return _doc(row)

    def resolve_prefix(self, prefix: str, *, tenant: str | None = None) -> str:
        """A unique document id from a prefix of at least 6 characters (ids are long hex)."""
        rows = self._db.execute(
            "SELECT doc_id, tenant FROM documents WHERE doc_id LIKE ? LIMIT 3", (prefix + "%",)
        ).fetchall()
        rows = [r for r in rows if tenant is None or r[1] == tenant]
        if len(rows) == 1 and len(prefix) >= 6:
            return str(rows[0][0])
        if not rows:
            raise NotFoundError(
                f"no document id starts with {prefix!r}", hint="hanstack docs list shows the ids"
            )
        raise NotFoundError(f"{prefix!r} is ambiguous or too short", hint="give more characters of the id")

    def list(
        self, *, tenant: str | None = None, source_prefix: str | None = None
    ) -> builtins.list[DocumentRecord]:
        sql = f"SELECT {_DOC_COLUMNS} FROM documents d"
        where: builtins.list[str] = []
        args: builtins.list[str | int] = []
        if tenant is not None:
            where.append("tenant = ?")
            args.append(tenant)
        if source_prefix is not None:
            where.append("substr(source, 1, ?) = ?")
            args += [len(source_prefix), source_prefix]
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY tenant, source"
        return [_doc(r) for r in self._db.execute(sql, args)]

    def document_text(self, doc_id: str) -> str:
        row = self._db.execute("SELECT text FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no document {doc_id!r}")
        return str(row[0])

    def chunks(self, doc_id: str) -> builtins.list[Chunk]:
        doc = self.get(doc_id)
        return [
            _chunk(doc, r)
            for r in self._db.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE doc_id = ? ORDER BY ordinal", (doc_id,)
            )
        ]

    def chunk(self, chunk_id: str) -> Chunk:
        row = self._db.execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE chunk_id = ?", (chunk_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(
                f"no chunk {chunk_id!r}", hint="chunk ids change when a document is re-ingested"
            )
        return _chunk(self.get(row[1]), row)

    def chunks_by_id(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """Current chunks among ``chunk_ids`` (stale ids of replaced versions are simply absent)."""
        out: dict[str, Chunk] = {}
        docs: dict[str, DocumentRecord] = {}
        for i in range(0, len(chunk_ids), 500):
            part = list(chunk_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            for row in self._db.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE chunk_id IN ({marks})", part
            ):
                doc = docs.get(row[1]) or docs.setdefault(row[1], self.get(row[1]))
                out[row[0]] = _chunk(doc, row)
        return out

    def unindexed_chunks(self, limit: int = 1000) -> builtins.list[Chunk]:
        rows = self._db.execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE indexed = 0 ORDER BY doc_id, ordinal LIMIT ?",
            (limit,),
        ).fetchall()
        docs: dict[str, DocumentRecord] = {}
        out = []
        for row in rows:
            doc = docs.get(row[1]) or docs.setdefault(row[1], self.get(row[1]))
            out.append(_chunk(doc, row))
        return out

    def count_unindexed(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM chunks WHERE indexed = 0").fetchone()[0])

    def current_chunk_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT chunk_id FROM chunks")}

    def tombstones(self) -> builtins.list[str]:
        return [r[0] for r in self._db.execute("SELECT chunk_id FROM index_tombstones")]

    def stats(self) -> dict[str, int]:
        docs = self._db.execute("SELECT count(*) FROM documents").fetchone()[0]
        chunks, tokens = self._db.execute(
            "SELECT count(*), coalesce(sum(token_count), 0) FROM chunks"
        ).fetchone()
        return {"documents": int(docs), "chunks": int(chunks), "tokens": int(tokens)}

    # --- writes -------------------------------------------------------------------------------
    def replace_document(
        self, record: DocumentRecord, text: str, chunks: Sequence[Chunk]
    ) -> builtins.list[str]:
        """Insert or atomically replace a document and all its chunks; returns the old chunk ids.

        The old chunk ids are recorded as index tombstones in the same transaction, so an index
        entry of an old version is removed even if the process dies right after the commit.
        """
        return self.replace_documents([(record, text, chunks)])

    def replace_documents(
        self, items: Sequence[tuple[DocumentRecord, str, Sequence[Chunk]]]
    ) -> builtins.list[str]:
        """:meth:`replace_document` for many documents in one transaction (one commit per batch:
        thousands of one-line records would otherwise pay a commit each)."""
        old: builtins.list[str] = []
        with self.transaction() as db:
            for record, text, chunks in items:
                old += self._replace(db, record, text, chunks)
        return old

    @staticmethod
    def _replace(
        db: sqlite3.Connection, record: DocumentRecord, text: str, chunks: Sequence[Chunk]
    ) -> builtins.list[str]:
        old_ids = [r[0] for r in db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (record.doc_id,))]
        db.executemany(
            "INSERT OR IGNORE INTO index_tombstones (chunk_id) VALUES (?)", [(i,) for i in old_ids]
        )
        db.execute("DELETE FROM chunks WHERE doc_id = ?", (record.doc_id,))
        db.execute(
            "INSERT OR REPLACE INTO documents (doc_id, tenant, source, title, content_sha256, fingerprint,"
            " version, ingested_at, acl, trust, format, encoding, size_bytes, mtime_ns, metadata, text)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.doc_id,
                record.tenant,
                record.source,
                record.title,
                record.content_sha256,
                record.fingerprint,
                record.version,
                record.ingested_at,
                json.dumps(list(record.acl)),
                record.trust.value,
                record.format,
                record.encoding,
                record.size_bytes,
                record.mtime_ns,
                json.dumps(record.metadata, ensure_ascii=False, default=str),
                text,
            ),
        )
        db.executemany(
            "INSERT INTO chunks (chunk_id, doc_id, ordinal, char_start, char_end, page_start, page_end,"
            " section_path, token_count, terms, indexed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            [
                (
                    c.chunk_id,
                    record.doc_id,
                    c.ordinal,
                    c.provenance.char_start,
                    c.provenance.char_end,
                    c.provenance.page_start,
                    c.provenance.page_end,
                    json.dumps(list(c.provenance.section_path), ensure_ascii=False),
                    c.token_count,
                    " ".join(c.terms),
                )
                for c in chunks
            ],
        )
        db.execute(
            "DELETE FROM index_tombstones WHERE chunk_id IN (SELECT chunk_id FROM chunks WHERE doc_id = ?)",
            (record.doc_id,),
        )
        return old_ids

    def touch(self, doc_id: str, mtime_ns: int | None) -> None:
        """Remember the file's mtime so the next run can skip hashing an unchanged file."""
        with self.transaction() as db:
            db.execute("UPDATE documents SET mtime_ns = ? WHERE doc_id = ?", (mtime_ns, doc_id))

    def delete_document(self, doc_id: str) -> builtins.list[str]:
        with self.transaction() as db:
            ids = [r[0] for r in db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))]
            db.executemany(
                "INSERT OR IGNORE INTO index_tombstones (chunk_id) VALUES (?)", [(i,) for i in ids]
            )
            db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
            deleted = db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,)).rowcount
        if not deleted:
            raise NotFoundError(f"no document {doc_id!r}")
        return ids

    def mark_indexed(self, chunk_ids: Iterable[str]) -> None:
        with self.transaction() as db:
            db.executemany("UPDATE chunks SET indexed = 1 WHERE chunk_id = ?", [(i,) for i in chunk_ids])

    def mark_all_unindexed(self) -> None:
        """After the index was wiped or rebuilt: every chunk must be pushed again."""
        with self.transaction() as db:
            db.execute("UPDATE chunks SET indexed = 0")

    def clear_tombstones(self, chunk_ids: Iterable[str]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM index_tombstones WHERE chunk_id = ?", [(i,) for i in chunk_ids])


_DOC_COLUMNS = (
    "d.doc_id, d.tenant, d.source, d.title, d.content_sha256, d.fingerprint, d.version, d.ingested_at, d.acl,"
    " d.trust, d.format, d.encoding, d.size_bytes, d.mtime_ns, d.metadata,"
    " (SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id)"
)
_CHUNK_COLUMNS = (
    "chunk_id, doc_id, ordinal, char_start, char_end, page_start, page_end, section_path, token_count, terms,"
    " substr((SELECT text FROM documents WHERE documents.doc_id = chunks.doc_id), char_start + 1,"
    " char_end - char_start)"
)


def _doc(row: Sequence[Any]) -> DocumentRecord:
    return DocumentRecord(
        doc_id=row[0],
        tenant=row[1],
        source=row[2],
        title=row[3],
        content_sha256=row[4],
        fingerprint=row[5],
        version=int(row[6]),
        ingested_at=row[7],
        acl=tuple(json.loads(row[8])),
        trust=Trust(row[9]),
        format=row[10],
        encoding=row[11],
        size_bytes=int(row[12]),
        mtime_ns=row[13],
        metadata=json.loads(row[14]),
        chunk_count=int(row[15]),
    )


def _chunk(doc: DocumentRecord, row: Sequence[Any]) -> Chunk:
    # A chunk's text is not stored twice: it is the span of the document text (SQLite's substr
    # counts characters, like Python's indices), so it matches the source exactly by construction.
    return Chunk(
        chunk_id=row[0],
        ordinal=int(row[2]),
        text=str(row[10]),
        provenance=Provenance(
            doc_id=doc.doc_id,
            source=doc.source,
            content_sha256=doc.content_sha256,
            title=doc.title,
            section_path=tuple(json.loads(row[7])),
            page_start=row[5],
            page_end=row[6],
            char_start=int(row[3]),
            char_end=int(row[4]),
            ingested_at=doc.ingested_at,
            version=doc.version,
            tenant=doc.tenant,
            acl=doc.acl,
            trust=doc.trust,
        ),
        token_count=int(row[8]),
        terms=tuple(row[9].split()) if row[9] else (),
    )
