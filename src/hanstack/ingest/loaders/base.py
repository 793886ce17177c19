"""What every loader shares: its signature, options, and small text helpers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hanstack.errors import MissingDependencyError
from hanstack.ingest.loaders.limits import LoaderLimits
from hanstack.ingest.models import Block, LoadedDocument


@dataclass(frozen=True, slots=True)
class LoaderOptions:
    """Per-call options a format may use; the others ignore them.

    ``text_field``: the JSONL field holding the text (default: the first of ``text``, ``content``,
    ``body``, ``review`` that a record has).
    """

    text_field: str | None = None


class Loader(Protocol):
    def __call__(self, path: Path, limits: LoaderLimits, options: LoaderOptions) -> LoadedDocument: ...


_BLANK_LINES = re.compile(r"\n[ \t\u3000]*\n")


def split_paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, stripped, empty ones dropped (line breaks inside are kept)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [p.strip() for p in _BLANK_LINES.split(text) if p.strip()]


def paragraph_blocks(paragraphs: Iterable[str], *, page: int | None = None) -> list[Block]:
    return [Block(p, page=page) for p in paragraphs]


def first_heading(blocks: Iterable[Block]) -> str | None:
    for block in blocks:
        if block.heading_level > 0:
            return block.text
    return None


_PLACEHOLDER_TITLES = frozenset(
    {"untitled", "untitled document", "no title", "제목 없음", "제목없음", "무제"}
)
_PRINT_DRIVER_PREFIX = re.compile(r"^\s*Microsoft (?:Word|PowerPoint|Excel) - ", re.I)


def clean_title(value: object) -> str | None:
    """A metadata title worth keeping: a string with a letter in it, NULs and outer space removed.

    Producers fill title fields with junk: placeholders ("untitled" from reportlab, "제목 없음"),
    "2" or "-" in HWP summaries, "Microsoft Word - 보고서.docx" from print drivers. A placeholder,
    or a title without a single letter (Hangul or Latin), is treated as absent.
    """
    if not isinstance(value, str):
        return None
    value = _PRINT_DRIVER_PREFIX.sub("", value.replace("\x00", "")).strip()
    if value.lower() in _PLACEHOLDER_TITLES or not any(c.isalpha() for c in value):
        return None
    return value


def need(package: str, purpose: str) -> MissingDependencyError:
    """The error for a missing optional dependency of the ``ingest`` extra."""
    return MissingDependencyError(package, "ingest", purpose)
