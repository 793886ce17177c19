"""Ingestion: files → loaders → normalised text + structure → chunks with provenance → registry → index.

What makes it safe to run again and again:
- *Incremental*: an unchanged file (same size and mtime, or same sha256) under the same chunking
  settings does nothing; a changed file is re-chunked and replaces its old version atomically.
- *Failures stay local*: a corrupt, encrypted, over-size or unsupported file is reported with its
  reason and the rest of the run goes on.
- *Resumable*: documents are committed in small batches; the search index is a derived view fed
  from chunks flagged ``indexed = 0`` and tombstones of old chunk ids, so after ``kill -9`` the
  next run finishes the index work and re-does only the uncommitted documents, with no duplicates.

Morphological analysis dominates the cost, so every document of a batch is analysed in one
multi-threaded Kiwi call, which yields sentences and their morphemes at once (no second pass).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hanstack.config import Settings
from hanstack.errors import HanstackError, IngestError, UnsupportedFormatError
from hanstack.ingest.chunker import AssembledDocument, ChunkingOptions, assemble, build_chunks
from hanstack.ingest.models import Block, Chunk, ChunkIndex, Provenance, Trust, chunk_id_for, doc_id_for
from hanstack.ingest.registry import DocumentRecord, Registry
from hanstack.korean.analyzer import KiwiAnalyzer, get_kiwi

log = logging.getLogger(__name__)

CHUNKER_VERSION = "1"
BATCH_CHARS = 400_000
"""Documents are analysed and committed in batches of about this many characters."""


@dataclass(frozen=True, slots=True)
class IngestOptions:
    tenant: str = "default"
    acl: tuple[str, ...] = ("public",)
    trust: Trust = Trust.UNTRUSTED
    jsonl_mode: str = "records"
    """``records``: each JSONL line is its own document; ``document``: the file is one document."""
    jsonl_text_field: str | None = None


@dataclass(slots=True)
class FileFailure:
    source: str
    error: str
    message: str
    hint: str | None = None


@dataclass(slots=True)
class IngestReport:
    files: int = 0
    documents_new: int = 0
    documents_updated: int = 0
    documents_unchanged: int = 0
    documents_removed: int = 0
    chunks_written: int = 0
    chunks_indexed: int = 0
    failed: list[FileFailure] = field(default_factory=list)
    seconds: float = 0.0
    analyzer_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(slots=True)
class _Pending:
    """A document loaded and waiting for analysis in the current batch."""

    source: str
    path: Path | None
    tenant: str
    loaded_blocks: list[Block]
    title: str | None
    metadata: dict[str, Any]
    encoding: str | None
    fmt: str
    sha: str
    size: int
    mtime_ns: int | None
    existing: DocumentRecord | None
    assembled: AssembledDocument | None = None


Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)`` with stage ``files`` or ``index``."""


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


class Ingestor:
    """Runs ingestion for one workspace. Build it once; ``ingest`` and ``sync`` may be called often."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        *,
        index: ChunkIndex | None = None,
        analyzer: KiwiAnalyzer | None = None,
        count_tokens: Callable[[str], int] | None = None,
        progress: Progress = _no_progress,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.index = index
        self._analyzer = analyzer
        self._count_tokens = count_tokens
        self.progress = progress
        cfg = settings.ingest
        self.chunking = ChunkingOptions(budget_tokens=cfg.chunk_tokens, overlap_tokens=cfg.overlap_tokens)

    # --- lazily built heavy parts ----------------------------------------------------------------
    @property
    def analyzer(self) -> KiwiAnalyzer:
        if self._analyzer is None:
            k = self.settings.korean
            self._analyzer = get_kiwi(workers=k.workers, user_dictionary=k.user_dictionary)
        return self._analyzer

    @property
    def count_tokens(self) -> Callable[[str], int]:
        if self._count_tokens is None:
            from hanstack.tokenizers import get_tokenizer

            self._count_tokens = get_tokenizer(self.settings.ingest.tokenizer).count
        return self._count_tokens

    def fingerprint(self, options: IngestOptions) -> str:
        """Everything besides the bytes that decides the chunks and their access labels."""
        cfg = self.settings.ingest
        parts = [
            CHUNKER_VERSION,
            str(cfg.chunk_tokens),
            str(cfg.overlap_tokens),
            cfg.tokenizer,
            self.settings.korean.analyzer,
            str(self.settings.korean.user_dictionary or ""),
            options.tenant,
            ",".join(sorted(options.acl)),
            options.trust.value,
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]

    # --- entry points -----------------------------------------------------------------------------
    def ingest(self, paths: Sequence[Path], options: IngestOptions) -> IngestReport:
        report = IngestReport()
        started = time.perf_counter()
        self.sync_index(report)
        files = list(discover(paths, report))
        report.files = len(files)
        self._ingest_files(files, options, report)
        self.sync_index(report)
        report.seconds = time.perf_counter() - started
        return report

    def sync(self, folder: Path, options: IngestOptions) -> IngestReport:
        """Make the registry mirror ``folder``: ingest new and changed files, remove vanished ones."""
        if not folder.is_dir():
            raise IngestError(f"{folder} is not a folder", hint="hanstack sync takes a directory")
        report = self.ingest([folder], options)
        started = time.perf_counter()
        prefix = str(folder.resolve()) + os.sep
        for record in self.registry.list(tenant=options.tenant, source_prefix=prefix):
            file_part = record.source.split("#", 1)[0]
            if not Path(file_part).exists():
                self.registry.delete_document(record.doc_id)
                report.documents_removed += 1
        self.sync_index(report)
        report.seconds += time.perf_counter() - started
        return report

    def remove(self, doc_id: str) -> None:
        self.registry.delete_document(doc_id)
        self.sync_index(IngestReport())

    def sync_index(self, report: IngestReport) -> None:
        """Bring the index in step with the registry (also the crash-recovery path)."""
        if self.index is None:
            return
        tombstones = self.registry.tombstones()
        if tombstones:
            self.index.delete_chunks(tombstones)
            self.index.flush()
            self.registry.clear_tombstones(tombstones)
        total = self.registry.count_unindexed()
        done = 0
        while True:
            batch = self.registry.unindexed_chunks(limit=256)
            if not batch:
                break
            self.index.upsert_chunks(batch)
            self.index.flush()
            self.registry.mark_indexed(c.chunk_id for c in batch)
            done += len(batch)
            report.chunks_indexed += len(batch)
            self.progress("index", done, total)

    # --- internals --------------------------------------------------------------------------------
    def _ingest_files(self, files: list[Path], options: IngestOptions, report: IngestReport) -> None:
        from hanstack.ingest.loaders import LoaderLimits

        cfg = self.settings.ingest
        limits = LoaderLimits(
            max_file_bytes=int(cfg.max_file_mb * 1024 * 1024),
            max_uncompressed_bytes=int(cfg.max_uncompressed_mb * 1024 * 1024),
            max_compression_ratio=cfg.max_compression_ratio,
        )
        fingerprint = self.fingerprint(options)
        batch: list[_Pending] = []
        batch_chars = 0
        for n, path in enumerate(files, 1):
            try:
                for pending in self._prepare(path, options, limits, fingerprint, report):
                    batch.append(pending)
                    batch_chars += sum(len(b.text) for b in pending.loaded_blocks)
                    if batch_chars >= BATCH_CHARS:
                        self._commit_batch(batch, options, fingerprint, report)
                        batch, batch_chars = [], 0
            except HanstackError as exc:
                report.failed.append(FileFailure(str(path), exc.code, exc.message, exc.hint))
                log.warning("ingest failed", extra={"source": str(path), "error": exc.code})
            except OSError as exc:
                report.failed.append(
                    FileFailure(str(path), "os_error", f"cannot read {path}: {exc.strerror}")
                )
            self.progress("files", n, len(files))
        self._commit_batch(batch, options, fingerprint, report)

    def _prepare(
        self, path: Path, options: IngestOptions, limits: Any, fingerprint: str, report: IngestReport
    ) -> Iterator[_Pending]:
        from hanstack.ingest.loaders import load_document

        stat = path.stat()
        fmt = path.suffix.lower().lstrip(".")
        if fmt == "jsonl" and options.jsonl_mode == "records":
            yield from self._prepare_jsonl(path, options, limits, fingerprint, report)
            return
        source = str(path.resolve())
        existing = self.registry.find(options.tenant, source)
        if (
            existing is not None
            and existing.fingerprint == fingerprint
            and existing.size_bytes == stat.st_size
            and existing.mtime_ns == stat.st_mtime_ns
        ):
            report.documents_unchanged += 1
            return
        _check_size(path, stat.st_size, limits.max_file_bytes)
        sha = _sha256_file(path)
        if existing is not None and existing.content_sha256 == sha and existing.fingerprint == fingerprint:
            self.registry.touch(existing.doc_id, stat.st_mtime_ns)
            report.documents_unchanged += 1
            return
        loaded = load_document(path, limits)
        yield _Pending(
            source=source,
            path=path,
            tenant=options.tenant,
            loaded_blocks=loaded.blocks,
            title=loaded.title,
            metadata=loaded.metadata,
            encoding=loaded.encoding,
            fmt=fmt,
            sha=sha,
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            existing=existing,
        )

    def _prepare_jsonl(
        self, path: Path, options: IngestOptions, limits: Any, fingerprint: str, report: IngestReport
    ) -> Iterator[_Pending]:
        from hanstack.ingest.loaders import iter_jsonl_records

        stat = path.stat()
        _check_size(path, stat.st_size, limits.max_file_bytes)
        base = str(path.resolve())
        known = {r.source: r for r in self.registry.list(tenant=options.tenant, source_prefix=base + "#")}
        seen: set[str] = set()
        for lineno, text, metadata in iter_jsonl_records(path, text_field=options.jsonl_text_field):
            record_id = metadata.get("id") or metadata.get("doc_id") or f"L{lineno}"
            source = f"{base}#{record_id}"
            seen.add(source)
            sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
            existing = known.get(source)
            if (
                existing is not None
                and existing.content_sha256 == sha
                and existing.fingerprint == fingerprint
            ):
                report.documents_unchanged += 1
                continue
            title = metadata.get("title")
            yield _Pending(
                source=source,
                path=None,
                tenant=options.tenant,
                loaded_blocks=[Block(text, kind="record")],
                title=str(title) if title else None,
                metadata=metadata,
                encoding="utf-8",
                fmt="jsonl",
                sha=sha,
                size=len(text.encode("utf-8")),
                mtime_ns=None,
                existing=existing,
            )
        for source, record in known.items():
            if source not in seen:
                self.registry.delete_document(record.doc_id)
                report.documents_removed += 1

    def _commit_batch(
        self, batch: list[_Pending], options: IngestOptions, fingerprint: str, report: IngestReport
    ) -> None:
        if not batch:
            return
        for pending in batch:
            pending.assembled = assemble(pending.loaded_blocks)
        seg_texts = [
            p.assembled.text[s.start : s.end] for p in batch if p.assembled for s in p.assembled.segments
        ]
        started = time.perf_counter()
        sentences = self.analyzer.split_sentences_batch(seg_texts)
        report.analyzer_seconds += time.perf_counter() - started
        cursor = 0
        now = datetime.now(UTC).isoformat(timespec="seconds")
        writes: list[tuple[DocumentRecord, str, list[Chunk]]] = []
        for pending in batch:
            assert pending.assembled is not None
            n = len(pending.assembled.segments)
            spans = build_chunks(
                pending.assembled, sentences[cursor : cursor + n], self.count_tokens, self.chunking
            )
            cursor += n
            writes.append(self._prepare_write(pending, spans, options, fingerprint, now))
        # One transaction for the batch: each document is still all-old or all-new to a reader.
        self.registry.replace_documents(writes)
        for pending, (_, _, chunks) in zip(batch, writes, strict=True):
            report.chunks_written += len(chunks)
            if pending.existing is None:
                report.documents_new += 1
            else:
                report.documents_updated += 1
        self.sync_index(report)

    def _prepare_write(
        self,
        pending: _Pending,
        spans: Sequence[Any],
        options: IngestOptions,
        fingerprint: str,
        now: str,
    ) -> tuple[DocumentRecord, str, list[Chunk]]:
        assert pending.assembled is not None
        doc_id = doc_id_for(options.tenant, pending.source)
        version = (pending.existing.version + 1) if pending.existing else 1
        title = pending.title or _title_from(pending)
        record = DocumentRecord(
            doc_id=doc_id,
            tenant=options.tenant,
            source=pending.source,
            title=title,
            content_sha256=pending.sha,
            fingerprint=fingerprint,
            version=version,
            ingested_at=now,
            acl=tuple(options.acl),
            trust=options.trust,
            format=pending.fmt,
            encoding=pending.encoding,
            size_bytes=pending.size,
            mtime_ns=pending.mtime_ns,
            metadata=_jsonable(pending.metadata),
        )
        text = pending.assembled.text
        chunks = [
            Chunk(
                chunk_id=chunk_id_for(doc_id, version, i),
                ordinal=i,
                text=text[s.start : s.end],
                provenance=Provenance(
                    doc_id=doc_id,
                    source=pending.source,
                    content_sha256=pending.sha,
                    title=title,
                    section_path=s.section_path,
                    page_start=s.page_start,
                    page_end=s.page_end,
                    char_start=s.start,
                    char_end=s.end,
                    ingested_at=now,
                    version=version,
                    tenant=options.tenant,
                    acl=tuple(options.acl),
                    trust=options.trust,
                ),
                token_count=s.token_count,
                terms=s.terms,
            )
            for i, s in enumerate(spans)
        ]
        return record, text, chunks


def discover(paths: Iterable[Path], report: IngestReport | None = None) -> Iterator[Path]:
    """Files under ``paths`` in a stable order; hidden files and folders are skipped.

    An unsupported file named explicitly is a failure; inside a folder it is reported too, so the
    user learns what was not ingested.
    """
    from hanstack.ingest.loaders import supported_suffixes

    suffixes = set(supported_suffixes())
    for root in paths:
        if not root.exists():
            if report is not None:
                report.failed.append(FileFailure(str(root), "not_found", f"{root} does not exist"))
            continue
        candidates = (
            [root]
            if root.is_file()
            else sorted(
                p
                for p in root.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
            )
        )
        for path in candidates:
            if path.suffix.lower() in suffixes:
                yield path
            elif report is not None:
                err = UnsupportedFormatError(
                    f"{path.name}: unsupported file type {path.suffix or '(none)'!r}",
                    hint=f"supported: {', '.join(sorted(suffixes))}",
                )
                report.failed.append(FileFailure(str(path), err.code, err.message, err.hint))


def _check_size(path: Path, size: int, limit: int) -> None:
    """Refuse an over-size file before hashing or parsing it (the loaders check again as they read)."""
    if size > limit:
        from hanstack.errors import FileTooLargeError

        raise FileTooLargeError(
            f"{path}: {size / 1e6:.1f} MB is over the limit of {limit / 1e6:.1f} MB",
            hint="raise ingest.max_file_mb in hanstack.toml if this file is expected",
        )


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _title_from(pending: _Pending) -> str | None:
    """No title in the file's metadata: its first short line (대한민국헌법), else the file name."""
    text = pending.assembled.text if pending.assembled else ""
    first = text.lstrip().split("\n", 1)[0].strip()
    if 0 < len(first) <= 80:
        return first
    return pending.path.stem if pending.path is not None else None


def _jsonable(metadata: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(metadata, ensure_ascii=False, default=str))
