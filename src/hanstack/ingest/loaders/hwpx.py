"""HWPX (Hancom OWPML: a zip of XML parts) with zipfile and ElementTree.

Sections are read in the order of ``Contents/content.hpf``'s spine (falling back to the numeric
order of ``Contents/section*.xml``). Each top-level ``hp:p`` paragraph yields its text runs
(``hp:t``); tables inside it yield one block per row; text boxes and notes yield their
paragraphs. A paragraph whose paragraph shape (``hh:paraPr``) has an outline heading
(``<hh:heading type="OUTLINE" level="N"/>``, the 개요 styles) becomes a heading of level N+1.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hanstack.errors import CorruptFileError, EncryptedFileError
from hanstack.ingest.loaders.base import LoaderOptions, clean_title, first_heading
from hanstack.ingest.loaders.limits import LoaderLimits, SafeZip, reject_ole_container
from hanstack.ingest.models import Block, LoadedDocument

HP = "{http://www.hancom.co.kr/hwpml/2011/paragraph}"
HH = "{http://www.hancom.co.kr/hwpml/2011/head}"
OPF = "{http://www.idpf.org/2007/opf/}"
_SECTION = re.compile(r"^Contents/section(\d+)\.xml$")
# Controls whose text is page furniture rather than content.
_SKIP_CONTROLS = frozenset({f"{HP}header", f"{HP}footer", f"{HP}pageNum", f"{HP}fieldBegin"})
_INLINE = {
    f"{HP}lineBreak": "\n",
    f"{HP}tab": "\t",
    f"{HP}nbSpace": "\u00a0",
    f"{HP}fwSpace": " ",
    f"{HP}hyphen": "-",
}


def load_hwpx(path: Path, limits: LoaderLimits, options: LoaderOptions) -> LoadedDocument:
    with path.open("rb") as fh:
        reject_ole_container(path, fh.read(8), "HWPX")
    with SafeZip(path, limits, kind="HWPX") as archive:
        _reject_encrypted(path, archive)
        package = _optional_part(path, archive, "Contents/content.hpf")
        sections = _section_order(archive, package)
        if not sections:
            raise CorruptFileError(
                f"{path}: the HWPX has no Contents/section*.xml part", hint="is it really HWPX?"
            )
        headings = _outline_levels(path, archive)
        reader = _SectionReader(headings)
        for name in sections:
            reader.read(_parse(path, name, archive.read(name)))
        title = _title(package)
    return LoadedDocument(
        blocks=reader.blocks,
        title=title or first_heading(reader.blocks),
        metadata={"format": "hwpx", "sections": len(sections)},
    )


def _parse(path: Path, name: str, data: bytes) -> ET.Element:
    # Expat does not fetch external entities; refuse entity declarations outright (billion laughs).
    if b"<!ENTITY" in data:
        raise CorruptFileError(f"{path}: the HWPX part {name!r} declares XML entities, which HWPX never does")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise CorruptFileError(
            f"{path}: the HWPX part {name!r} is not well-formed XML ({exc})",
            hint="open and re-save it in Hancom Office",
        ) from exc


def _reject_encrypted(path: Path, archive: SafeZip) -> None:
    """A password-protected HWPX lists ``encryption-data`` for its parts in META-INF/manifest.xml."""
    manifest = _optional_part(path, archive, "META-INF/manifest.xml")
    if manifest is not None and any(el.tag.rsplit("}", 1)[-1] == "encryption-data" for el in manifest.iter()):
        raise EncryptedFileError(
            f"{path}: the HWPX is password-protected (META-INF/manifest.xml lists encrypted parts)",
            hint="save an unprotected copy in Hancom Office and ingest that",
        )


def _optional_part(path: Path, archive: SafeZip, name: str) -> ET.Element | None:
    return _parse(path, name, archive.read(name)) if archive.has(name) else None


def _section_order(archive: SafeZip, package: ET.Element | None) -> list[str]:
    present = {name for name in archive.names() if _SECTION.match(name)}
    ordered: list[str] = []
    if package is not None:
        hrefs = {item.get("id"): item.get("href", "") for item in package.iter(f"{OPF}item")}
        for ref in package.iter(f"{OPF}itemref"):
            href = hrefs.get(ref.get("idref"), "")
            name = href if href.startswith("Contents/") else f"Contents/{href}"
            if name in present and name not in ordered:
                ordered.append(name)
    rest = sorted(present - set(ordered), key=lambda n: int(_SECTION.match(n).group(1)))  # type: ignore[union-attr]
    return ordered + rest


def _outline_levels(path: Path, archive: SafeZip) -> dict[str, int]:
    """paraPr id → heading level (1-based) for paragraph shapes with an outline heading."""
    header = _optional_part(path, archive, "Contents/header.xml")
    if header is None:
        return {}
    levels: dict[str, int] = {}
    for para_pr in header.iter(f"{HH}paraPr"):
        heading = para_pr.find(f"{HH}heading")
        if heading is not None and heading.get("type") == "OUTLINE":
            level = heading.get("level", "0")
            levels[para_pr.get("id", "")] = (int(level) if level.isdigit() else 0) + 1
    return levels


def _title(package: ET.Element | None) -> str | None:
    node = package.find(f"{OPF}metadata/{OPF}title") if package is not None else None
    return clean_title(node.text) if node is not None else None


@dataclass
class _SectionReader:
    headings: dict[str, int]
    blocks: list[Block] = field(default_factory=list)

    def read(self, section: ET.Element) -> None:
        for paragraph in section.findall(f"{HP}p"):
            self._paragraph(paragraph)

    def _paragraph(self, paragraph: ET.Element) -> None:
        text = paragraph_text(paragraph).strip()
        if text:
            level = self.headings.get(paragraph.get("paraPrIDRef", ""), 0)
            self.blocks.append(Block(text, heading_level=level, kind="heading" if level else "paragraph"))
        for run in paragraph.findall(f"{HP}run"):
            for child in run:
                if child.tag == f"{HP}tbl":
                    self.blocks.extend(_table_rows(child))
                elif child.tag != f"{HP}t":
                    for nested in _sublist_paragraphs(child):
                        self._paragraph(nested)


def paragraph_text(paragraph: ET.Element) -> str:
    """The paragraph's own text: its runs' ``hp:t``, not the text of tables or boxes inside it."""
    parts: list[str] = []
    for run in paragraph.findall(f"{HP}run"):
        for t in run.findall(f"{HP}t"):
            parts.append(t.text or "")
            for inline in t:
                parts.append(_INLINE.get(inline.tag, ""))
                parts.append(inline.tail or "")
    return "".join(parts)


def _sublist_paragraphs(control: ET.Element) -> Iterator[ET.Element]:
    """Paragraphs of text boxes, footnotes and other sub-lists, page headers/footers excluded."""
    if control.tag in _SKIP_CONTROLS:
        return
    for child in control:
        if child.tag in _SKIP_CONTROLS:
            continue
        if child.tag == f"{HP}subList":
            yield from child.findall(f"{HP}p")
        elif child.tag != f"{HP}tbl":
            yield from _sublist_paragraphs(child)


def _cell_parts(cell: ET.Element) -> list[str]:
    """A table cell's paragraphs, with the rows of any table nested in it."""
    parts: list[str] = []
    for sub in cell.findall(f"{HP}subList"):
        for paragraph in sub.findall(f"{HP}p"):
            text = paragraph_text(paragraph).strip()
            if text:
                parts.append(text)
            for run in paragraph.findall(f"{HP}run"):
                for table in run.findall(f"{HP}tbl"):
                    parts.extend(block.text for block in _table_rows(table))
    return parts


def _table_rows(table: ET.Element) -> list[Block]:
    rows = [[_cell_parts(tc) for tc in tr.findall(f"{HP}tc")] for tr in table.findall(f"{HP}tr")]
    if len(rows) == 1 and len(rows[0]) == 1:
        # a one-cell table is a frame around text (a boxed title or note), not tabular data
        return [Block(text) for text in rows[0][0]]
    blocks = []
    for row in rows:
        line = " | ".join(" ".join(parts) for parts in row if parts)
        if line:
            blocks.append(Block(line, kind="table_row"))
    return blocks
