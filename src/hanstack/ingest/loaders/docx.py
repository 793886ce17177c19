"""DOCX with python-docx: paragraphs (heading styles and outline levels kept) and tables row by row.

Before python-docx sees the archive, every member is inflated once under :class:`SafeZip`'s caps,
so a zip bomb or a lying header is refused here rather than exhausting memory inside the library.
A password-protected DOCX is not a zip at all but an OLE container (encrypted OOXML).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from hanstack.errors import CorruptFileError
from hanstack.ingest.loaders.base import LoaderOptions, clean_title, first_heading, need
from hanstack.ingest.loaders.limits import LoaderLimits, SafeZip, reject_ole_container
from hanstack.ingest.models import Block, LoadedDocument

_HEADING_STYLE = re.compile(r"^(?:heading|제목)\s*([1-9])$", re.I)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def load_docx(path: Path, limits: LoaderLimits, options: LoaderOptions) -> LoadedDocument:
    try:
        import docx
        from docx.opc.exceptions import OpcError
    except ImportError as exc:
        raise need("python-docx", "Reading DOCX files") from exc
    from lxml.etree import LxmlError

    with path.open("rb") as fh:
        reject_ole_container(path, fh.read(8), "DOCX")
    with SafeZip(path, limits, kind="DOCX") as archive:
        if not archive.has("word/document.xml") and not archive.has("[Content_Types].xml"):
            raise CorruptFileError(f"{path}: is a zip archive but not a Word document (no word/document.xml)")
        archive.verify_all()
    try:
        document = docx.Document(str(path))
        blocks = _blocks(document)
        title = clean_title(document.core_properties.title)
    except (OpcError, KeyError, ValueError, zipfile.BadZipFile, LxmlError) as exc:
        raise CorruptFileError(
            f"{path}: the DOCX package is damaged ({type(exc).__name__}: {exc})",
            hint="open and re-save it in Word or LibreOffice",
        ) from exc
    return LoadedDocument(
        blocks=blocks,
        title=title or first_heading(blocks),
        metadata={"format": "docx"},
    )


def _blocks(document: Any) -> list[Block]:
    from docx.table import Table

    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(_table_rows(item))
            continue
        text = item.text.strip()
        if not text:
            continue
        level = heading_level(item)
        blocks.append(Block(text, heading_level=level, kind="heading" if level else "paragraph"))
    return blocks


def heading_level(paragraph: Any) -> int:
    """1-9 for a heading: a ``Heading N``/``Title`` style, else an explicit outline level."""
    style = paragraph.style
    while style is not None:
        name = (style.name or "").strip()
        if name.lower() == "title":
            return 1
        if match := _HEADING_STYLE.match(name):
            return int(match.group(1))
        level = _outline_level(style.element)
        if level:
            return level
        style = style.base_style
    return _outline_level(paragraph._p)


def _outline_level(element: Any) -> int:
    """``w:outlineLvl`` is 0-based, 9 means body text."""
    for node in element.iter(f"{_W}outlineLvl"):
        value = node.get(f"{_W}val")
        if value is not None and value.isdigit() and int(value) < 9:
            return int(value) + 1
    return 0


def _table_rows(table: Any) -> list[Block]:
    rows: list[Block] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            # a merged (gridSpan / vMerge) cell is returned once per grid column it covers
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            text = " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
            for nested in cell.tables:
                text = " ".join([text, *(r.text for r in _table_rows(nested))]).strip()
            if text:
                cells.append(text)
        if cells:
            rows.append(Block(" | ".join(cells), kind="table_row"))
    return rows
