"""JSON Lines: one record per line, a text field plus metadata.

:func:`iter_jsonl_records` streams ``(line number, text, metadata)`` so a caller can make one
document per record (20,000 reviews are 20,000 documents); :func:`load_jsonl` makes the whole
file one document with one ``record`` block per line and the records' metadata, aligned with the
blocks, in ``metadata["records"]``. A malformed line fails the file with its line number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hanstack.errors import CorruptFileError
from hanstack.ingest.loaders.base import LoaderOptions
from hanstack.ingest.loaders.limits import MB, LoaderLimits, check_file_size
from hanstack.ingest.models import Block, LoadedDocument

TEXT_FIELDS = ("text", "content", "body", "review")
MAX_LINE_BYTES = 64 * MB


def iter_jsonl_records(
    path: Path,
    *,
    text_field: str | None = None,
    limits: LoaderLimits | None = None,
) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Yield ``(lineno, text, metadata)`` for each non-blank line (line numbers are 1-based).

    ``text_field`` names the field with the text; by default the first of ``text``, ``content``,
    ``body``, ``review`` a record has. Every other field is metadata. A line that is not a JSON
    object, or lacks a string text field, raises :class:`CorruptFileError` naming the line.
    """
    if limits is not None:
        check_file_size(path, limits)
    with path.open("rb") as fh:
        for lineno, raw in enumerate(iter(lambda: fh.readline(MAX_LINE_BYTES + 1), b""), start=1):
            if len(raw) > MAX_LINE_BYTES:
                raise CorruptFileError(f"{path}:{lineno}: line is longer than {MAX_LINE_BYTES // MB} MiB")
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            yield (lineno, *_record(path, lineno, raw, text_field))


def _record(path: Path, lineno: int, raw: bytes, text_field: str | None) -> tuple[str, dict[str, Any]]:
    where = f"{path}:{lineno}"
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CorruptFileError(
            f"{where}: line {lineno} is not UTF-8 ({exc.reason} at byte {exc.start})",
            hint="JSON Lines files must be UTF-8; convert with iconv -f cp949 -t utf-8",
        ) from exc
    except json.JSONDecodeError as exc:
        raise CorruptFileError(
            f"{where}: line {lineno} is not valid JSON ({exc.msg} at column {exc.colno})",
            hint="fix or remove that line",
        ) from exc
    if not isinstance(record, dict):
        raise CorruptFileError(f"{where}: line {lineno} is a JSON {type(record).__name__}, not an object")
    field = text_field or next((name for name in TEXT_FIELDS if name in record), None)
    if field is None or field not in record:
        wanted = repr(text_field) if text_field else "one of " + ", ".join(TEXT_FIELDS)
        raise CorruptFileError(
            f"{where}: line {lineno} has no text field ({wanted}); it has {', '.join(sorted(record)) or 'no fields'}",
            hint="name the text field explicitly (jsonl text field option)",
        )
    text = record.pop(field)
    if not isinstance(text, str):
        raise CorruptFileError(
            f"{where}: line {lineno}: field {field!r} is a {type(text).__name__}, not a string"
        )
    return text, record


def load_jsonl(path: Path, limits: LoaderLimits, options: LoaderOptions) -> LoadedDocument:
    blocks: list[Block] = []
    records: list[dict[str, Any]] = []
    for lineno, text, metadata in iter_jsonl_records(path, text_field=options.text_field):
        if not text.strip():
            continue
        blocks.append(Block(text.strip(), kind="record"))
        records.append({"lineno": lineno, **metadata})
    return LoadedDocument(
        blocks=blocks,
        title=None,
        metadata={"format": "jsonl", "records": records},
        encoding="utf-8",
    )
