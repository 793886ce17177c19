"""HWP 5 binary documents: an OLE compound file (olefile) of raw-deflate record streams.

``FileHeader`` flags tell whether streams are compressed and whether the document is password-
encrypted, a distribution document (배포용 문서, body kept encrypted in ``ViewText``) or DRM-protected;
those fail with :class:`EncryptedFileError`. ``BodyText/Section{N}`` streams are read in numeric
order. Each is a sequence of records (32-bit header: tag 10 bits, level 10 bits, size 12 bits, size
0xFFF meaning "next 4 bytes"); ``HWPTAG_PARA_TEXT`` (67) holds a paragraph's UTF-16LE text in which
code units 0-31 are controls: 0, 10, 13 and 24-31 take one unit, all others are inline or extended
controls that take eight units (the control and its 14 bytes of parameters) and are skipped -
decoding them as text is what prints garbage such as 捤獥汤捯 ("dsed", "colc" ...).

Tables (a ``tbl `` control, its cells' ``LIST_HEADER`` giving the row) become one block per row;
page headers and footers are skipped; a paragraph whose paragraph shape (``DocInfo``'s
``PARA_SHAPE``) is an outline level (개요) becomes a heading.
"""

from __future__ import annotations

import re
import struct
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hanstack.errors import CorruptFileError, EncryptedFileError, UnsupportedFormatError
from hanstack.ingest.loaders.base import LoaderOptions, clean_title, first_heading, need, split_paragraphs
from hanstack.ingest.loaders.limits import OLE_MAGIC, InflateBudget, LoaderLimits
from hanstack.ingest.models import Block, LoadedDocument

SIGNATURE = b"HWP Document File"
TAG_BEGIN = 16
TAG_PARA_SHAPE = TAG_BEGIN + 9
TAG_PARA_HEADER = TAG_BEGIN + 50
TAG_PARA_TEXT = TAG_BEGIN + 51
TAG_CTRL_HEADER = TAG_BEGIN + 55
TAG_LIST_HEADER = TAG_BEGIN + 56

FLAG_COMPRESSED = 1 << 0
_ENCRYPTION_FLAGS = {
    1 << 1: "password-encrypted",
    1 << 2: "a distribution document (배포용 문서) whose body is encrypted",
    1 << 4: "DRM-protected",
    1 << 8: "encrypted with a certificate",
    1 << 10: "DRM-protected (certified)",
}
_SKIP_CONTROLS = frozenset({b"head", b"foot"})
_SECTION = re.compile(r"^Section(\d+)$")
_ONE_UNIT_TEXT = {10: "\n", 24: "-", 30: "\u00a0", 31: " "}


def load_hwp(path: Path, limits: LoaderLimits, options: LoaderOptions) -> LoadedDocument:
    try:
        import olefile
    except ImportError as exc:
        raise need("olefile", "Reading HWP files") from exc

    with path.open("rb") as fh:
        head = fh.read(64)
    if not head.startswith(OLE_MAGIC):
        if head.startswith(SIGNATURE):
            raise UnsupportedFormatError(
                f"{path}: is an HWP 3.0 (or older) document; only HWP 5 is supported",
                hint="open it in Hancom Office and save it as HWP 5 (.hwp) or HWPX",
            )
        raise CorruptFileError(f"{path}: is not an HWP 5 document (no OLE compound-file header)")
    try:
        ole = olefile.OleFileIO(str(path))
    except (OSError, ValueError, IndexError, struct.error, EOFError) as exc:
        raise CorruptFileError(
            f"{path}: the HWP's OLE container is damaged or truncated ({exc})",
            hint="re-export or re-download the file",
        ) from exc
    try:
        return _HwpFile(path, ole, InflateBudget(path, limits)).load()
    finally:
        ole.close()


@dataclass
class _HwpFile:
    path: Path
    ole: Any
    budget: InflateBudget
    compressed: bool = True

    def stream(self, name: str) -> bytes:
        return bytes(self.ole.openstream(name).read())

    def records(self, name: str) -> Iterator[tuple[int, int, bytes]]:
        data = self.stream(name)
        if self.compressed:
            data = self.budget.inflate(data, name=name)
        return iter_records(data, f"{self.path}: stream {name!r}")

    def load(self) -> LoadedDocument:
        header = self._file_header()
        sections = sorted(
            (int(m.group(1)), "/".join(entry))
            for entry in self.ole.listdir()
            if len(entry) == 2 and entry[0] == "BodyText" and (m := _SECTION.match(entry[1]))
        )
        metadata: dict[str, Any] = {"format": "hwp", "hwp_version": header, "sections": len(sections)}
        if not sections:
            return self._preview_only(metadata)
        outline = self._outline_levels()
        reader = _BodyReader(outline)
        for _, name in sections:
            reader.read(self.records(name))
        blocks = reader.finish()
        return LoadedDocument(
            blocks=blocks, title=self._summary_title() or first_heading(blocks), metadata=metadata
        )

    def _file_header(self) -> str:
        if not self.ole.exists("FileHeader"):
            raise CorruptFileError(
                f"{self.path}: an OLE file without an HWP FileHeader stream (not an HWP document)"
            )
        data = self.stream("FileHeader")
        if len(data) < 40 or not data.startswith(SIGNATURE):
            raise CorruptFileError(f"{self.path}: the HWP FileHeader has no HWP signature")
        version = struct.unpack_from("<I", data, 32)[0]
        flags = struct.unpack_from("<I", data, 36)[0]
        for bit, what in _ENCRYPTION_FLAGS.items():
            if flags & bit:
                raise EncryptedFileError(
                    f"{self.path}: the HWP document is {what}",
                    hint="save an unprotected copy in Hancom Office and ingest that",
                )
        self.compressed = bool(flags & FLAG_COMPRESSED)
        major = version >> 24
        if major != 5:
            raise UnsupportedFormatError(
                f"{self.path}: HWP format version {major} is not supported (only 5.x)"
            )
        return ".".join(str((version >> s) & 0xFF) for s in (24, 16, 8, 0))

    def _outline_levels(self) -> dict[int, int]:
        """Paragraph shape id → heading level for shapes whose paragraph head is an outline (개요)."""
        if not self.ole.exists("DocInfo"):
            return {}
        levels: dict[int, int] = {}
        shape_id = 0
        for tag, _, payload in self.records("DocInfo"):
            if tag != TAG_PARA_SHAPE:
                continue
            if len(payload) >= 4:
                attr = struct.unpack_from("<I", payload, 0)[0]
                if (attr >> 23) & 0x3 == 1:
                    levels[shape_id] = ((attr >> 25) & 0x7) + 1
            shape_id += 1
        return levels

    def _summary_title(self) -> str | None:
        name = "\x05HwpSummaryInformation"
        if not self.ole.exists(name):
            return None
        return clean_title(property_set_string(self.stream(name), pid=2))

    def _preview_only(self, metadata: dict[str, Any]) -> LoadedDocument:
        """No BodyText at all: fall back to the (truncated) PrvText preview, and say so."""
        if not self.ole.exists("PrvText"):
            raise CorruptFileError(f"{self.path}: the HWP has no BodyText sections and no text preview")
        text = self.stream("PrvText").decode("utf-16-le", "replace")
        metadata["text_source"] = "PrvText (truncated preview: BodyText missing)"
        return LoadedDocument(blocks=[Block(p) for p in split_paragraphs(text)], metadata=metadata)


def iter_records(data: bytes, where: str) -> Iterator[tuple[int, int, bytes]]:
    """(tag, level, payload) of each record in an HWP record stream."""
    pos = 0
    end = len(data)
    while pos < end:
        if pos + 4 > end:
            raise CorruptFileError(f"{where}: a record header is cut off at byte {pos}")
        header = struct.unpack_from("<I", data, pos)[0]
        pos += 4
        tag, level, size = header & 0x3FF, (header >> 10) & 0x3FF, header >> 20
        if size == 0xFFF:
            if pos + 4 > end:
                raise CorruptFileError(f"{where}: a record size is cut off at byte {pos}")
            size = struct.unpack_from("<I", data, pos)[0]
            pos += 4
        if pos + size > end:
            raise CorruptFileError(f"{where}: a record of {size} bytes runs past the end of the stream")
        yield tag, level, data[pos : pos + size]
        pos += size


def para_text(payload: bytes) -> str:
    """Decode a PARA_TEXT record, skipping the 8-unit inline and extended controls."""
    units = array("H")
    units.frombytes(payload[: len(payload) & ~1])
    if sys.byteorder == "big":
        units.byteswap()
    out: list[str] = []
    start = i = 0
    n = len(units)
    while i < n:
        unit = units[i]
        if unit >= 32:
            i += 1
            continue
        if start < i:
            out.append(payload[start * 2 : i * 2].decode("utf-16-le", "replace"))
        if unit in (0, 10, 13) or unit >= 24:
            out.append(_ONE_UNIT_TEXT.get(unit, ""))
            i += 1
        else:
            if unit == 9:
                out.append("\t")
            i += 8
        start = i
    if start < n:
        out.append(payload[start * 2 : n * 2].decode("utf-16-le", "replace"))
    return "".join(out)


@dataclass
class _Table:
    level: int
    rows: dict[int, list[list[str]]] = field(default_factory=dict)
    cell: list[str] | None = None

    def start_cell(self, row: int) -> None:
        self.cell = []
        self.rows.setdefault(row, []).append(self.cell)

    def add(self, text: str) -> None:
        if self.cell is None:
            self.start_cell(0)
        assert self.cell is not None
        self.cell.append(text)

    def blocks(self) -> list[Block]:
        cells = [cell for row in self.rows.values() for cell in row]
        if len(cells) == 1:
            # a one-cell table is a frame around text (a boxed title or note), not tabular data
            return [Block(text) for text in cells[0]]
        out = []
        for row in self.rows.values():
            line = " | ".join(" ".join(cell) for cell in row if cell)
            if line:
                out.append(Block(line, kind="table_row"))
        return out


@dataclass
class _BodyReader:
    outline: dict[int, int]
    blocks: list[Block] = field(default_factory=list)
    tables: list[_Table] = field(default_factory=list)
    skip_below: int | None = None
    shape: int = 0

    def read(self, records: Iterator[tuple[int, int, bytes]]) -> None:
        for tag, level, payload in records:
            if self.skip_below is not None:
                if level > self.skip_below:
                    continue
                self.skip_below = None
            while self.tables and level <= self.tables[-1].level:
                self._close_table()
            if tag == TAG_CTRL_HEADER:
                ctrl = payload[:4][::-1]
                if ctrl in _SKIP_CONTROLS:
                    self.skip_below = level
                elif ctrl == b"tbl ":
                    self.tables.append(_Table(level))
            elif tag == TAG_LIST_HEADER and self.tables and level == self.tables[-1].level + 1:
                row = struct.unpack_from("<H", payload, 10)[0] if len(payload) >= 12 else 0
                self.tables[-1].start_cell(row)
            elif tag == TAG_PARA_HEADER and len(payload) >= 10:
                self.shape = struct.unpack_from("<H", payload, 8)[0]
            elif tag == TAG_PARA_TEXT:
                self._text(para_text(payload).strip())

    def _text(self, text: str) -> None:
        if not text:
            return
        if self.tables:
            self.tables[-1].add(text)
            return
        level = self.outline.get(self.shape, 0)
        self.blocks.append(Block(text, heading_level=level, kind="heading" if level else "paragraph"))

    def _close_table(self) -> None:
        table = self.tables.pop()
        rows = table.blocks()
        if self.tables:
            for block in rows:
                self.tables[-1].add(block.text)
        else:
            self.blocks.extend(rows)

    def finish(self) -> list[Block]:
        while self.tables:
            self._close_table()
        return self.blocks


_VT_LPSTR = 0x1E
_VT_LPWSTR = 0x1F


def property_set_string(data: bytes, *, pid: int) -> str | None:
    """One string property of an OLE property set stream (``\\x05...SummaryInformation``).

    Hancom writes VT_LPWSTR values (UTF-16LE), which olefile 0.47 misreads, hence this reader.
    """
    try:
        if len(data) < 48:
            return None
        section = struct.unpack_from("<I", data, 44)[0]
        count = struct.unpack_from("<I", data, section + 4)[0]
        for i in range(min(count, 256)):
            prop_id, offset = struct.unpack_from("<II", data, section + 8 + 8 * i)
            if prop_id != pid:
                continue
            at = section + offset
            vtype, length = struct.unpack_from("<II", data, at)
            if vtype == _VT_LPWSTR:
                return data[at + 8 : at + 8 + 2 * length].decode("utf-16-le").split("\x00", 1)[0]
            if vtype == _VT_LPSTR:
                return data[at + 8 : at + 8 + length].split(b"\x00", 1)[0].decode("cp949", "replace")
            return None
    except (struct.error, UnicodeDecodeError):
        return None
    return None
