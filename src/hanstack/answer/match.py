"""Korean-aware fuzzy location of a quoted span inside a passage.

A model quoting a Korean passage rarely copies it byte for byte: it drops or adds spaces between
eojeol (띄어쓰기 is loose), changes quotation marks and middle dots, writes ``1`` for ``①`` or
decomposes a syllable. Matching therefore happens on a *key*: the text in NFC, each character
NFKC-folded and lower-cased, keeping only letters and digits (Hangul syllables included) — spaces
and punctuation carry no evidence. Every key character remembers the index of the character it
came from, so a match in key space maps back to an exact ``[start, end)`` span of the original
passage, which is what a citation shows.

The search is exact substring first; otherwise the best window of the quote's length, anchored on
the matching blocks of :class:`difflib.SequenceMatcher` (the "partial ratio" of fuzzy-matching
libraries, in the standard library).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class TextKey:
    """The matching key of a text and, for each key character, its index in the text."""

    key: str
    index: tuple[int, ...]

    def span(self, key_start: int, key_end: int) -> tuple[int, int]:
        """Original ``[start, end)`` covering key characters ``[key_start, key_end)``."""
        if key_end <= key_start:
            return (0, 0)
        return (self.index[key_start], self.index[key_end - 1] + 1)


@lru_cache(maxsize=4096)
def _fold(ch: str) -> str:
    folded = unicodedata.normalize("NFKC", ch).lower()
    return "".join(c for c in folded if c.isalnum())


def text_key(text: str) -> TextKey:
    """Build the matching key of ``text`` (see the module docstring).

    ``text`` is NFC-normalised first, so indexes refer to ``unicodedata.normalize("NFC", text)``;
    for already-normalised passages (every stored chunk) that is ``text`` itself.
    """
    text = unicodedata.normalize("NFC", text)
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold(ch)
        for c in folded:
            chars.append(c)
            index.append(i)
    return TextKey("".join(chars), tuple(index))


@dataclass(frozen=True, slots=True)
class QuoteMatch:
    """Where a quote sits in a passage: similarity in [0, 1] and the original character span."""

    score: float
    start: int
    end: int

    @property
    def exact(self) -> bool:
        return self.score >= 1.0


NO_MATCH = QuoteMatch(0.0, 0, 0)


def locate_quote(quote: str, passage: str | TextKey) -> QuoteMatch:
    """Find ``quote`` in ``passage``; ``score`` 1.0 is an exact key match.

    A quote with no letters or digits matches nothing (score 0): an empty quote is no evidence.
    """
    q = text_key(quote).key
    pkey = passage if isinstance(passage, TextKey) else text_key(passage)
    p = pkey.key
    if not q or not p:
        return NO_MATCH
    pos = p.find(q)
    if pos >= 0:
        start, end = pkey.span(pos, pos + len(q))
        return QuoteMatch(1.0, start, end)
    if len(q) >= len(p):
        ratio = SequenceMatcher(None, q, p, autojunk=False).ratio()
        start, end = pkey.span(0, len(p))
        return QuoteMatch(ratio, start, end)
    return _best_window(q, pkey)


def _best_window(q: str, pkey: TextKey) -> QuoteMatch:
    p = pkey.key
    n = len(q)
    matcher = SequenceMatcher(None, q, p, autojunk=False)
    best = (0.0, 0, 0)
    seen: set[int] = set()
    for block in matcher.get_matching_blocks():
        if block.size == 0:
            continue
        start = min(max(0, block.b - block.a), len(p) - n)
        if start in seen:
            continue
        seen.add(start)
        window = p[start : start + n]
        ratio = SequenceMatcher(None, q, window, autojunk=False).ratio()
        if ratio > best[0]:
            best = (ratio, start, start + n)
            if ratio >= 0.999:
                break
    score, ks, ke = best
    if score <= 0.0:
        return NO_MATCH
    start, end = pkey.span(ks, ke)
    return QuoteMatch(score, start, end)


_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|\n+")


def sentence_cuts(text: str) -> list[int]:
    """Sorted offsets where a sentence or line of ``text`` may start, with 0 and ``len(text)``:
    the unit of prompt trimming, evidence windows and citation anchoring (punctuation and line
    breaks only — cheap, and exact on the offsets)."""
    return sorted({0, len(text), *(m.end() for m in _SENTENCE_END.finditer(text))})
