"""Korean legal/administrative structure: 편/장/절/관/조/항/호/목 markers.

Korean statutes, bills, regulations and many internal policies share one numbering scheme:
``제1편`` > ``제1장`` > ``제1절`` > ``제1관`` > ``제1조(목적)`` > ``①`` (항) > ``1.`` (호) > ``가.`` (목).
Chunking on these boundaries and keeping the path (``제2장 국민의 권리와 의무 > 제10조``) is what makes
a citation point at the right article. Pure functions only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum


class Level(IntEnum):
    """Depth of a structural unit; smaller is higher. Markdown/HTML headings use 1-6."""

    PYEON = 10  # 편
    JANG = 11  # 장
    JEOL = 12  # 절
    GWAN = 13  # 관
    JO = 14  # 조 (article): always starts a new chunk
    HANG = 15  # 항 ①
    HO = 16  # 호 1.
    MOK = 17  # 목 가.


_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_UNIT_LEVEL = {"편": Level.PYEON, "장": Level.JANG, "절": Level.JEOL, "관": Level.GWAN, "조": Level.JO}

# 제10조, 제10조의2, 제 10 조(목적) ... at the start of a line.
_UNIT = re.compile(r"^\s*(제\s*\d+\s*([편장절관조])(?:\s*의\s*\d+)?)(\s*\([^)\n]{1,40}\))?")
# 부칙 (supplementary provisions) restarts article numbering: a top-level division of its own.
# Exports decorate it (``펼침 부칙 <헌법 제10호, 1987.10.29.> 부칙보기``, ``부      칙``).
_BUCHIK = re.compile(r"^\s*(?:펼침\s+)?부\s*칙(?:\s*<[^>\n]{0,60}>)?(?:\s*부칙보기)?\s*$")
_HANG = re.compile(rf"^\s*([{_CIRCLED}])")
_HO = re.compile(r"^\s*(\d{1,2})\.\s+(?=\S)")
_MOK = re.compile(r"^\s*([가나다라마바사아자차카타파하])\.\s+(?=\S)")

# Where a block should be cut so that each marker starts its own segment.
SEGMENT_START = re.compile(
    rf"(?m)^(?=[ \t]*(?:제\s*\d+\s*[편장절관조](?![가-힣])|[{_CIRCLED}]|(?:펼침\s+)?부\s*칙\s*(?:<|$)))"
)


@dataclass(frozen=True, slots=True)
class Marker:
    level: Level
    label: str
    """How the unit is named in a section path: ``제10조``, ``제10조(목적)``, ``②``, ``1.``."""
    heading_text: str
    """The marker line up to the end of the title (``제1장 총강``), used for 편/장/절/관 headings."""


def detect_marker(segment: str) -> Marker | None:
    """The structural marker a segment starts with, if any.

    ``제1장 총강`` → JANG; ``제10조(목적) ...`` → JO; ``① ...`` → HANG. A 조 inside running text
    (``제10조에 따라``) is not a marker: only a 조 that opens the line counts, and it must not be
    followed directly by a particle.
    """
    first_line = segment.strip().split("\n", 1)[0]
    if _BUCHIK.match(first_line):
        return Marker(Level.PYEON, "부칙", "부칙")
    m = _UNIT.match(segment)
    if m:
        unit = m.group(1)
        rest = segment[m.end(1) :]
        if rest[:1] and rest[:1] not in " \t\n(①②③④⑤⑥⑦⑧⑨⑩" and not rest.startswith("의"):
            return None  # 제10조에, 제3장은 ... : a reference, not a heading
        label = re.sub(r"\s+", "", unit) + (m.group(3).strip() if m.group(3) else "")
        level = _UNIT_LEVEL[m.group(2)]
        return Marker(level, label, first_line.strip())
    m = _HANG.match(segment)
    if m:
        return Marker(Level.HANG, m.group(1), m.group(1))
    m = _HO.match(segment)
    if m:
        return Marker(Level.HO, f"{m.group(1)}.", f"{m.group(1)}.")
    m = _MOK.match(segment)
    if m:
        return Marker(Level.MOK, f"{m.group(1)}.", f"{m.group(1)}.")
    return None


def is_heading_only(segment: str, marker: Marker) -> bool:
    """``제1장 총강`` on its own line is a heading, not content; ``제1조 ① 대한민국은...`` is content."""
    if marker.level >= Level.JO:
        return False
    text = segment.strip()
    return len(text) <= 60 and "\n" not in text and not text.endswith(("다.", "다", "요.", "."))


def split_segments(text: str) -> list[tuple[int, str]]:
    """Cut a block before every line that opens with a 편/장/절/관/조/항 marker.

    Returns ``(offset, segment)`` pairs covering ``text`` exactly, so offsets stay valid.
    """
    starts = sorted({0, *(m.start() for m in SEGMENT_START.finditer(text))})
    out: list[tuple[int, str]] = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        piece = text[start:end]
        if piece.strip():
            out.append((start, piece))
    return out
