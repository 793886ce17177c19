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

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hanstack.errors import InvalidInputError
from hanstack.guard.pii import types as T
from hanstack.guard.pii.address import find_address
from hanstack.guard.pii.names import NameMode, find_person_kiwi, find_person_rules, trigger_windows
from hanstack.guard.pii.recognizers import RECOGNIZERS
from hanstack.guard.pii.types import Candidate, PiiEntity

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}

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
    label words, ``kiwi`` rules + Kiwi over the whole text — most recall, ~30x slower).
    ``context_window``: characters before (and half as many after) a span searched for context words.
    ``extra_context``: more context words per type (e.g. in-house labels).
    """

    types: tuple[str, ...] = T.ALL_TYPES
    threshold: float = 0.5
    names: NameMode = "auto"
    context_window: int = 30
    extra_context: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.types) - set(T.ALL_TYPES))
        if unknown:
            raise InvalidInputError(
                f"unknown PII entity type(s): {', '.join(unknown)}",
                hint=f"known types: {', '.join(T.ALL_TYPES)}",
            )
        if not 0.0 <= self.threshold <= 1.0:
            raise InvalidInputError(f"PII threshold {self.threshold} is outside [0, 1]")
        if self.names not in ("off", "rules", "auto", "kiwi"):
            raise InvalidInputError(f"unknown names mode {self.names!r}", hint="use off, rules, auto or kiwi")


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
        work = text.translate(_FULLWIDTH)
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
        for recognizer in RECOGNIZERS.values():
            raw.extend(c for c in recognizer(text) if c.type in self._types)
        if T.ADDRESS in self._types:
            raw.extend(find_address(text))
        if T.PERSON in self._types and self.config.names != "off":
            raw.extend(self._person_candidates(text))
        if not raw:
            return raw
        suppress = [(m.start(), m.end(), m.group(0)) for m in _SUPPRESS.finditer(text)]
        suppress += [(m.start(), m.end(), "reference number") for m in _REFERENCE.finditer(text)]
        lower = text.lower()
        out = []
        for c in raw:
            hit = next(
                (
                    s
                    for s in suppress
                    if (s[0] <= c.start and c.end <= s[1])
                    or (s[0] < c.end and c.start < s[1] and c.type not in (T.ADDRESS, T.PERSON))
                ),
                None,
            )
            if hit is not None and c.type not in (T.EMAIL, T.API_KEY):
                continue
            self._apply_context(c, lower)
            out.append(c)
        return out

    # -- steps ------------------------------------------------------------------------------------
    def _person_candidates(self, text: str) -> list[Candidate]:
        found = find_person_rules(text)
        mode = self.config.names
        if mode == "kiwi":
            found += find_person_kiwi(text, self._get_kiwi())
        elif mode == "auto":
            windows = trigger_windows(text)
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
    kept: list[Candidate] = []
    for c in ordered:
        if all(c.end <= k.start or k.end <= c.start for k in kept):
            kept.append(c)
    kept.sort(key=lambda c: c.start)
    return kept
