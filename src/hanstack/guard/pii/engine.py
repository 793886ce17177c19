"""The PII engine: run the recognizers, score with context, suppress, resolve overlaps.

``PiiEngine(PiiConfig(...)).scan(text)`` returns :class:`PiiEntity` objects with offsets into the
text as given (nothing is rewritten before matching except full-width ASCII, folded one code point
for one so offsets stay valid). The steps, each visible in an entity's ``reasons``:

1. recognizers propose candidates with a base score (pattern, checksum, card brand ...);
2. context words in a window before/after raise the score, negative words (주문번호, 모델명, 버전 ...)
   lower it;
3. candidates inside dates (2024-01-02, 2024년 1월 2일), amounts (1,234,567원, 5만원, ₩1000), article
   numbers (제10조 제2항) or reference numbers (주문번호 … , ISBN …) are dropped;
4. overlapping candidates resolve to the best one (highest score, then the longest span);
5. what scores at least ``threshold`` is reported.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from hanstack.errors import InvalidInputError
from hanstack.guard.pii import types as T
from hanstack.guard.pii.address import find_address
from hanstack.guard.pii.names import (
    NAME_HINT,
    NameMode,
    find_person_crf,
    find_person_kiwi,
    find_person_rules,
    trigger_windows,
)
from hanstack.guard.pii.recognizers import RECOGNIZERS
from hanstack.guard.pii.types import Candidate, PiiEntity

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_HAS_FULLWIDTH = re.compile("[\uff01-\uff5e]")

_SUPPRESS = re.compile(
    r"(?:(?<!\d)(?:19|20)\d{2}\s?[-./년]\s?(?:0?[1-9]|1[0-2])\s?[-./월]\s?(?:0?[1-9]|[12]\d|3[01])(?!\d)\s?일?)"  # dates 2024-01-02, 2024.1.2, 2024년 1월 2일
    r"|(?:(?<!\d)\d{1,2}\s?월\s?\d{1,2}\s?일)"
    r"|(?:[₩$€]\s?\d[\d,]*(?:\.\d+)?)"  # ₩1,000
    r"|(?:\d[\d,]*(?:\.\d+)?\s?(?:원|만\s?원|천\s?원|억\s?원|조\s?원|만|억|달러|엔|위안|유로|KRW|USD|won|dollars?)(?![가-힣]))"
    r"|(?:제\s?\d+\s?(?:조|항|호|장|절|편|관)(?:의\s?\d+)?)"  # 제10조, 제2항, 제3조의2
    r"|(?:\d+(?:\.\d+)?\s?%)"
)
_REFERENCE = re.compile(
    r"(?:주문\s?번호|송장\s?번호|운송장(?:\s?번호)?|접수\s?번호|일련\s?번호|시리얼(?:\s?번호)?|사건\s?번호|참조\s?번호|"
    r"ISBN|ISSN|S/?N|order\s?(?:no\.?|number|#)|tracking|invoice)\s*[:：#]?\s*[A-Za-z0-9-]+",
    re.IGNORECASE,
)


@dataclass
class PiiConfig:
    """What to look for and how sure to be.

    ``types``: entity types to report (default: all). ``threshold``: minimum score. ``names``: how
    person names are found (``off``, ``rules`` regex only, ``auto`` rules + Kiwi around titles and
    label words, ``kiwi`` rules + Kiwi candidates scored by a logistic model over the whole text,
    ``crf`` rules + a character CRF over Kiwi morphemes on the whole text — the most accurate,
    and as slow as Kiwi: see notes/guard.md for measured figures; ``crf-e5`` the same CRF that also
    reads multilingual-e5-small token states, its spans rescored, without the surname+title rule —
    more accurate again, and slower again: batch use only).
    ``context_window``: characters before (and half as many after) a span searched for context words.
    ``extra_context``: more context words per type (e.g. in-house labels).
    ``names_model_dir``: with ``names="crf"`` or ``"crf-e5"``, a directory of person-name model files
    to read instead of the shipped ones (``python -m hanstack.guard.pii.name_crf --out DIR/<file>``
    writes one; see :func:`~hanstack.guard.pii.name_crf.load_name_tagger`).
    """

    types: tuple[str, ...] = T.ALL_TYPES
    threshold: float = 0.5
    names: NameMode = "auto"
    context_window: int = 30
    extra_context: dict[str, tuple[str, ...]] = field(default_factory=dict)
    zoned: bool = True
    """Run each regex only in windows where it can match (fast). ``False`` runs every recognizer over
    the whole text: the plain reference the tests compare the fast path against."""
    names_model_dir: Path | str | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.types) - set(T.ALL_TYPES))
        if unknown:
            raise InvalidInputError(
                f"unknown PII entity type(s): {', '.join(unknown)}",
                hint=f"known types: {', '.join(T.ALL_TYPES)}",
            )
        if not 0.0 <= self.threshold <= 1.0:
            raise InvalidInputError(f"PII threshold {self.threshold} is outside [0, 1]")
        if self.names not in ("off", "rules", "auto", "kiwi", "crf", "crf-e5"):
            raise InvalidInputError(
                f"unknown names mode {self.names!r}", hint="use off, rules, auto, kiwi, crf or crf-e5"
            )
        if self.names_model_dir is not None and self.names not in ("crf", "crf-e5"):
            raise InvalidInputError(
                f"names_model_dir is read by names='crf' or 'crf-e5' only, not {self.names!r}"
            )


class PiiEngine:
    """Scan Korean (and mixed) text for personal data. Thread-safe after construction."""

    def __init__(self, config: PiiConfig | None = None, *, kiwi: Any = None) -> None:
        self.config = config or PiiConfig()
        self._types = frozenset(self.config.types)
        self._kiwi = kiwi

    def _get_kiwi(self) -> Any:
        if self._kiwi is None:
            from hanstack.korean.analyzer import get_kiwi

            self._kiwi = get_kiwi(workers=1).kiwi
        return self._kiwi

    # -- public ---------------------------------------------------------------------------------
    def scan(self, text: str) -> list[PiiEntity]:
        """Entities in ``text`` sorted by start offset."""
        if not isinstance(text, str):
            raise InvalidInputError(f"PII scan needs a str, got {type(text).__name__}")
        if not text:
            return []
        work = text.translate(_FULLWIDTH) if _HAS_FULLWIDTH.search(text) else text
        candidates = self.candidates(work)
        resolved = resolve_overlaps(c for c in candidates if c.score >= self.config.threshold)
        return [
            PiiEntity(
                c.type, c.start, c.end, text[c.start : c.end], round(min(c.score, 1.0), 4), tuple(c.reasons)
            )
            for c in resolved
        ]

    def candidates(self, text: str) -> list[Candidate]:
        """Every scored candidate, including those under the threshold (for explanations and tuning)."""
        raw: list[Candidate] = []
        # The regexes only run where they can match: windows around long digit runs (identifiers),
        # dotted quads and colon groups (IP), digit-Hangul-digit (plates), 로/길/동/리 + number
        # (addresses), '@' (e-mail) and titles/label words (names). Korean prose between them is
        # skipped, which is what makes the scan fast; tests check that zoning finds what a full pass finds.
        zones = _zones if self.config.zoned else _whole_text
        long_numbers = zones(text, _LONG_NUMBER, 16, 12)
        for name, recognizer in RECOGNIZERS.items():
            if name in _ZONED_ELSEWHERE:
                continue
            raw.extend(c for c in _in_zones(recognizer, text, long_numbers) if c.type in self._types)
        for typ, hint, before, after in _HINTED:
            if typ in self._types:
                raw.extend(_in_zones(RECOGNIZERS[typ], text, zones(text, hint, before, after)))
        if T.API_KEY in self._types and any(p in text for p in _API_KEY_HINTS):
            raw.extend(RECOGNIZERS[T.API_KEY](text))
        if T.ADDRESS in self._types:
            raw.extend(_in_zones(find_address, text, zones(text, _ADDRESS_HINT, 48, 40)))
        if T.PERSON in self._types and self.config.names != "off":
            raw.extend(self._person_candidates(text))
        if not raw:
            return raw
        near = _merge(sorted((max(0, c.start - 32), min(len(text), c.end + 32)) for c in raw))
        suppress = [(m.start() + a, m.end() + a) for a, b in near for m in _SUPPRESS.finditer(text[a:b])]
        suppress += [(m.start() + a, m.end() + a) for a, b in near for m in _REFERENCE.finditer(text[a:b])]
        suppress.sort()
        starts = [a for a, _ in suppress]
        longest = max((b - a for a, b in suppress), default=0)
        lower = text.lower()
        out = []
        for c in raw:
            if c.type not in (T.EMAIL, T.API_KEY) and _suppressed(c, suppress, starts, longest):
                continue
            self._apply_context(c, lower)
            out.append(c)
        return out

    # -- steps ------------------------------------------------------------------------------------
    def _person_candidates(self, text: str) -> list[Candidate]:
        zones = _zones if self.config.zoned else _whole_text
        mode = self.config.names
        # crf-e5's rescored CRF reads titles itself: beside it the surname+title rule only added
        # false positives (유치원 원장, 차기 회장) on the inner KLUE split (notes/guard.md)
        rules = partial(find_person_rules, titled=mode != "crf-e5")
        found = _in_zones(rules, text, zones(text, NAME_HINT, 12, 14))
        if mode in ("crf", "crf-e5"):
            found += find_person_crf(
                text, self._get_kiwi(), e5=mode == "crf-e5", model_dir=self.config.names_model_dir
            )
        elif mode == "kiwi":
            found += find_person_kiwi(text, self._get_kiwi())
        elif mode == "auto":
            windows = trigger_windows(text, {c.end for c in found})
            if windows:
                found += find_person_kiwi(text, self._get_kiwi(), windows)
        return found

    def _apply_context(self, c: Candidate, lower: str) -> None:
        w = self.config.context_window
        before = lower[max(0, c.start - w) : c.start]
        after = lower[c.end : c.end + w // 2 + 5]
        window = before + " " + after
        words = c.context_words + self.config.extra_context.get(c.type, ())
        hit = next((word for word in words if _contains(window, word)), None)
        if hit is not None and c.context_boost:
            c.score += c.context_boost
            c.reasons.append(f"context word '{hit}'")
        near = before[-15:] + " " + after[:10]
        neg = next((word for word in c.negative_words if _contains(near, word)), None)
        if neg is not None and hit is None:
            c.score -= c.negative_penalty
            c.reasons.append(f"negative context '{neg}'")
        c.score = max(0.0, min(1.0, c.score))


_DIGIT_RUN = re.compile(r"\d+")
_LONG_NUMBER = re.compile(r"\d(?:[ \-.()+/]{0,3}\d){6,}")  # 7+ digits with separators
_API_KEY_HINTS = ("sk-", "AKIA", "ghp_", "github_pat_", "xox", "AIza", "hf_")
_ADDRESS_HINT = re.compile(r"[로길동리가번]\s?\d")
_HINTED: tuple[tuple[str, re.Pattern[str], int, int], ...] = (
    (T.EMAIL, re.compile("@"), 64, 255),
    (T.IP_ADDRESS, re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d"), 4, 4),
    (T.IP_ADDRESS, re.compile(r":[0-9A-Fa-f]{0,4}:"), 40, 40),
    (T.VEHICLE_PLATE, re.compile(r"\d{2,3}\s?[가-힣]\s?\d{4}"), 8, 4),
    (T.PASSPORT, re.compile(r"[MSRODmsrod]\d{3}"), 2, 12),
)
_ZONED_ELSEWHERE = frozenset({T.EMAIL, T.API_KEY, T.IP_ADDRESS, T.VEHICLE_PLATE, T.PASSPORT})


def _zones(
    text: str, rx: re.Pattern[str], before: int, after: int, *, min_digits: int = 0
) -> list[tuple[int, int]]:
    """Merged windows ``[match.start - before, match.end + after)`` around every match of ``rx``.

    Windows are widened to whitespace and merged when they touch, so a lookbehind/lookahead at a
    window edge never sees a cut number or word. ``min_digits`` skips matches with fewer digits.
    """
    n = len(text)
    out: list[tuple[int, int]] = []
    for m in rx.finditer(text):
        if min_digits and sum(ch.isdigit() for ch in m.group(0)) < min_digits:
            continue
        a, b = max(0, m.start() - before), min(n, m.end() + after)
        while a > 0 and not text[a - 1].isspace():
            a -= 1
        while b < n and not text[b].isspace():
            b += 1
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _whole_text(
    text: str, rx: re.Pattern[str], before: int, after: int, *, min_digits: int = 0
) -> list[tuple[int, int]]:
    return [(0, len(text))]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _in_zones(fn: Any, text: str, zones: list[tuple[int, int]]) -> list[Candidate]:
    if len(zones) == 1 and zones[0] == (0, len(text)):
        return list(fn(text))
    out: list[Candidate] = []
    for a, b in zones:
        for c in fn(text[a:b]):
            c.start += a
            c.end += a
            out.append(c)
    return out


def _suppressed(c: Candidate, spans: list[tuple[int, int]], starts: list[int], longest: int) -> bool:
    """Inside a date/amount/article/reference span (or, for identifiers, overlapping one)."""
    lo = bisect.bisect_left(starts, c.start - longest)
    hi = bisect.bisect_left(starts, c.end)
    loose = c.type in (T.ADDRESS, T.PERSON)
    for a, b in spans[lo:hi]:
        if (a <= c.start and c.end <= b) or (not loose and a < c.end and c.start < b):
            return True
    return False


@lru_cache(maxsize=1024)
def _ascii_word(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z])" + re.escape(word) + r"(?![a-z])")


def _contains(window: str, word: str) -> bool:
    """Substring match for Korean words; whole-word match for ASCII ones (``ip`` is not in ``ship``)."""
    if word not in window:
        return False
    if word.isascii():
        return _ascii_word(word).search(window) is not None
    return True


def resolve_overlaps(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Keep the best of any overlapping spans: highest score, then longest; sorted by start."""
    ordered = sorted(candidates, key=lambda c: (-c.score, -(c.end - c.start), c.start))
    starts: list[int] = []  # kept spans, sorted by start; they never overlap each other
    ends: list[int] = []
    kept: list[Candidate] = []
    for c in ordered:
        i = bisect.bisect_left(starts, c.end)  # kept spans starting before c ends: indices < i
        if i > 0 and ends[i - 1] > c.start:
            continue
        starts.insert(i, c.start)
        ends.insert(i, c.end)
        kept.append(c)
    kept.sort(key=lambda c: c.start)
    return kept
