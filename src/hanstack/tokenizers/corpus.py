"""Reading a text corpus for token statistics and training: one sentence (or document) per item.

* ``.txt`` (and any other text file): one item per non-empty line (FLORES-200 layout);
* ``.jsonl``: one item per line, from the first field present of ``text``, ``review``, ``passage``,
  ``contents`` (or the field named by ``field``);
* either of them gzip-compressed (``.txt.gz``, ``.jsonl.gz``);
* a folder: every such file under it, in sorted order;
* ``-``: standard input, one item per line.

Bytes are decoded with :func:`hanstack.korean.normalize.decode_bytes` (UTF-8, UTF-16, CP949/EUC-KR).
The text is not normalised here: the statistics measure text as it is (and report the NFD penalty
separately), and training normalises on its own.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from hanstack.errors import InvalidInputError, NotFoundError
from hanstack.korean.normalize import decode_bytes

TEXT_FIELDS = ("text", "review", "passage", "contents", "document", "sentence")
CORPUS_SUFFIXES = (".txt", ".jsonl")


def _kind(path: Path) -> str:
    """``.txt``/``.jsonl`` (``.gz`` stripped); other suffixes read as text."""
    name = path.name.lower().removesuffix(".gz")
    return ".jsonl" if name.endswith(".jsonl") else ".txt"


def _is_corpus_file(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return path.is_file() and name.endswith(CORPUS_SUFFIXES)


def corpus_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if _is_corpus_file(p))
        if not files:
            raise InvalidInputError(f"{path} has no .txt or .jsonl files (plain or .gz)")
        return files
    if not path.exists():
        raise NotFoundError(f"corpus {path} does not exist")
    return [path]


def _jsonl_items(text: str, source: Path, field: str | None) -> Iterator[str]:
    fields = (field,) if field else TEXT_FIELDS
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{source}:{lineno}: not a JSON line ({exc.msg})") from exc
        value = next(
            (record[f] for f in fields if isinstance(record, dict) and isinstance(record.get(f), str)), None
        )
        if value is None:
            raise InvalidInputError(
                f"{source}:{lineno}: no text field (looked for {', '.join(fields)})",
                hint="name the field with --field",
            )
        if value.strip():
            yield value


def iter_items(path: Path | str, *, field: str | None = None) -> Iterator[str]:
    """The corpus items (sentences or documents) of a file, a folder, or ``-`` (stdin)."""
    if str(path) == "-":
        for line in sys.stdin.read().splitlines():
            if line.strip():
                yield line
        return
    for file in corpus_files(Path(path)):
        try:
            data = file.read_bytes()
            if file.name.lower().endswith(".gz"):
                data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InvalidInputError(f"cannot read {file}: {exc}") from exc
        text = decode_bytes(data, source=str(file)).text
        if _kind(file) == ".jsonl":
            yield from _jsonl_items(text, file, field)
        else:
            yield from (line for line in text.splitlines() if line.strip())


def read_items(path: Path | str, *, field: str | None = None, max_chars: int | None = None) -> list[str]:
    """All items, stopping once ``max_chars`` characters are collected (whole items only)."""
    items: list[str] = []
    total = 0
    for item in iter_items(path, field=field):
        if max_chars is not None and total >= max_chars:
            break
        items.append(item)
        total += len(item)
    if not items:
        raise InvalidInputError(f"corpus {path} holds no text")
    return items


def read_text(source: Path | str) -> str:
    """A whole text file (any encoding :func:`decode_bytes` knows), or standard input for ``-``."""
    if str(source) == "-":
        return sys.stdin.read()
    path = Path(source)
    if not path.is_file():
        raise NotFoundError(f"{path} does not exist or is not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from exc
    return decode_bytes(data, source=str(path)).text
