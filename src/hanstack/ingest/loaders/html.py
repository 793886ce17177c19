"""HTML with selectolax's lexbor parser: headings, paragraphs, list items and table rows.

Script, style, navigation and other non-content elements are dropped. Text is collected in
document order; a block-level element ends the running paragraph, ``<br>`` is a line break, and
inline markup (``누<b>리</b>``) joins without inserting spaces, which would split Korean words.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

from hanstack.ingest.loaders.base import LoaderOptions, clean_title, first_heading, need
from hanstack.ingest.loaders.limits import LoaderLimits, read_file_capped
from hanstack.ingest.loaders.text import decode_or_corrupt
from hanstack.ingest.models import Block, LoadedDocument
from hanstack.korean.normalize import Decoded

_DROP = frozenset(
    {
        "script",
        "style",
        "nav",
        "noscript",
        "template",
        "svg",
        "math",
        "iframe",
        "object",
        "embed",
        "head",
        "button",
        "select",
        "input",
        "textarea",
        "canvas",
        "audio",
        "video",
    }
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCK = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "aside",
        "blockquote",
        "pre",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "figure",
        "figcaption",
        "form",
        "fieldset",
        "legend",
        "address",
        "hr",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "caption",
        "body",
        "html",
        "center",
        "details",
        "summary",
        "hgroup",
        "menu",
    }
)
_CELLS = frozenset({"td", "th"})
_SPACE = re.compile(r"[ \t\n\r\f]+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# WHATWG: the "euc-kr" label and its aliases mean windows-949 (CP949), a superset.
_KOREAN_LABELS = {
    "euc-kr",
    "euckr",
    "ks_c_5601-1987",
    "ks_c_5601",
    "ksc5601",
    "korean",
    "cp949",
    "windows-949",
    "uhc",
}


def decode_html(data: bytes, source: str) -> Decoded:
    """A declared ``<meta charset>`` wins when the bytes honour it; otherwise sniff like a text file."""
    if not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        declared = _META_CHARSET.search(data[:4096])
        if declared:
            label = declared.group(1).decode("ascii", "replace").lower()
            encoding = "cp949" if label in _KOREAN_LABELS else label
            try:
                return Decoded(data.decode(encoding), "euc-kr/cp949" if encoding == "cp949" else encoding)
            except (LookupError, UnicodeDecodeError):
                pass
    return decode_or_corrupt(data, source)


def load_html(path: Path, limits: LoaderLimits, options: LoaderOptions) -> LoadedDocument:
    try:
        from selectolax.lexbor import LexborHTMLParser
    except ImportError as exc:
        raise need("selectolax", "Reading HTML files") from exc
    decoded = decode_html(read_file_capped(path, limits), str(path))
    tree = LexborHTMLParser(decoded.text)
    title_node = tree.css_first("title")
    title = clean_title(_SPACE.sub(" ", title_node.text(deep=True))) if title_node is not None else None
    root = tree.body if tree.body is not None else tree.root
    blocks = _HtmlBlocks().collect(root) if root is not None else []
    return LoadedDocument(
        blocks=blocks,
        title=title or first_heading(blocks),
        metadata={"format": "html"},
        encoding=decoded.encoding,
    )


def _hidden(node: Any) -> bool:
    attrs = node.attributes
    return "hidden" in attrs or attrs.get("aria-hidden") == "true"


def inline_text(node: Any) -> str:
    """The visible text under ``node`` on one line (cells, headings)."""
    parts: list[str] = []
    _gather(node, parts)
    return _SPACE.sub(" ", "".join(parts)).strip()


def _gather(node: Any, parts: list[str]) -> None:
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            parts.append(child.text(deep=False))
        elif tag.startswith("-") or tag in _DROP or _hidden(child):
            continue
        elif tag == "br" or tag in _BLOCK or tag in _CELLS or tag == "li":
            parts.append(" ")
            _gather(child, parts)
            parts.append(" ")
        else:
            _gather(child, parts)


class _HtmlBlocks:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.parts: list[str] = []
        self.kinds: list[str] = ["paragraph"]
        self.pre = 0

    def collect(self, root: Any) -> list[Block]:
        self._walk(root)
        self._flush()
        return self.blocks

    def _flush(self) -> None:
        raw = "".join(self.parts)
        self.parts = []
        text = raw.strip("\n") if self.pre else "\n".join(line.strip() for line in raw.split("\n")).strip()
        if text.strip():
            self.blocks.append(Block(text, kind=self.kinds[-1]))

    def _walk(self, node: Any) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                text = child.text(deep=False)
                self.parts.append(text if self.pre else _SPACE.sub(" ", text))
            elif tag.startswith("-") or tag in _DROP or _hidden(child):
                continue
            elif tag == "br":
                self.parts.append("\n")
            elif tag in _HEADINGS:
                self._flush()
                text = inline_text(child)
                if text:
                    self.blocks.append(Block(text, heading_level=_HEADINGS[tag], kind="heading"))
            elif tag == "tr":
                self._flush()
                cells = [inline_text(c) for c in child.iter() if c.tag in _CELLS]
                row = " | ".join(c for c in cells if c)
                if row:
                    self.blocks.append(Block(row, kind="table_row"))
            elif tag == "li":
                self._nested(child, "list_item")
            elif tag == "pre":
                self.pre += 1
                self._nested(child, "code")
                self.pre -= 1
            elif tag in _BLOCK:
                self._nested(child, self.kinds[-1] if tag in ("ul", "ol", "table", "tbody") else "paragraph")
            else:
                self._walk(child)

    def _nested(self, node: Any, kind: str) -> None:
        self._flush()
        self.kinds.append(kind)
        self._walk(node)
        self._flush()
        self.kinds.pop()
