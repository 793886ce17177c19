"""Plain text and Markdown in any encoding Korean files come in (UTF-8, UTF-16, CP949/EUC-KR).

Plain text becomes blank-line separated paragraphs; legal structure (제1조, ①) inside them is left
to the chunker. Markdown keeps ATX (``#``) and setext headings, list items, table rows (``|``)
and fenced code; YAML front matter is dropped and its ``title:`` used as the title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from hanstack.errors import CorruptFileError, DecodeError
from hanstack.ingest.loaders.base import LoaderOptions, first_heading, paragraph_blocks, split_paragraphs
from hanstack.ingest.loaders.limits import LoaderLimits, read_file_capped
from hanstack.ingest.models import Block, LoadedDocument
from hanstack.korean.normalize import Decoded, decode_bytes


def decode_or_corrupt(data: bytes, source: str) -> Decoded:
    """:func:`decode_bytes`, with an undecodable file reported as a corrupt one."""
    try:
        return decode_bytes(data, source=source)
    except DecodeError as exc:
        raise CorruptFileError(exc.message, hint=exc.hint) from exc


def decode_file(path: Path, limits: LoaderLimits) -> Decoded:
    return decode_or_corrupt(read_file_capped(path, limits), str(path))


def load_text(path: Path, limits: LoaderLimits, options: LoaderOptions) -> LoadedDocument:
    decoded = decode_file(path, limits)
    blocks = paragraph_blocks(split_paragraphs(decoded.text))
    return LoadedDocument(blocks=blocks, title=None, metadata={"format": "text"}, encoding=decoded.encoding)


def load_markdown(path: Path, limits: LoaderLimits, options: LoaderOptions) -> LoadedDocument:
    decoded = decode_file(path, limits)
    body, front_title = _strip_front_matter(decoded.text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks = parse_markdown(body)
    return LoadedDocument(
        blocks=blocks,
        title=front_title or first_heading(blocks),
        metadata={"format": "markdown"},
        encoding=decoded.encoding,
    )


_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FRONT_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.M)
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_THEMATIC = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+")
_TABLE_DELIM = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def _strip_front_matter(text: str) -> tuple[str, str | None]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, None
    title = _FRONT_TITLE.search(match.group(1))
    value = title.group(1).strip().strip("\"'") if title else None
    return text[match.end() :], value or None


def _inline(text: str) -> str:
    """Links and images keep their visible text; the URL is noise for retrieval."""
    return _LINK.sub(r"\1", _IMAGE.sub(r"\1", text))


@dataclass
class _MarkdownBlocks:
    blocks: list[Block] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    kind: str = "paragraph"

    def flush(self) -> None:
        text = "\n".join(self.lines).strip()
        if text:
            self.blocks.append(Block(text if self.kind == "code" else _inline(text), kind=self.kind))
        self.lines = []
        self.kind = "paragraph"

    def add(self, block: Block) -> None:
        self.flush()
        if block.text:
            self.blocks.append(block)


def parse_markdown(text: str) -> list[Block]:
    out = _MarkdownBlocks()
    fence: str | None = None
    for line in text.split("\n"):
        if fence is not None:
            if line.strip().startswith(fence):
                out.flush()
                fence = None
            else:
                out.lines.append(line)
            continue
        if m := _FENCE.match(line):
            out.flush()
            fence = m.group(1)
            out.kind = "code"
            continue
        if not line.strip():
            out.flush()
            continue
        if m := _ATX.match(line):
            out.add(Block(_inline((m.group(2) or "").strip()), heading_level=len(m.group(1)), kind="heading"))
            continue
        if (m := _SETEXT.match(line)) and out.lines and out.kind == "paragraph":
            heading = " ".join(s.strip() for s in out.lines)
            out.lines = []
            out.add(Block(_inline(heading), heading_level=1 if m.group(1)[0] == "=" else 2, kind="heading"))
            continue
        if _THEMATIC.match(line):
            out.flush()
            continue
        if line.lstrip().startswith("|"):
            if not _TABLE_DELIM.match(line):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                out.add(Block(_inline(" | ".join(c for c in cells if c)), kind="table_row"))
            continue
        if _LIST_ITEM.match(line):
            out.flush()
            out.kind = "list_item"
            out.lines.append(_LIST_ITEM.sub("", line, count=1))
            continue
        out.lines.append(line.strip())
    out.flush()
    return out.blocks
