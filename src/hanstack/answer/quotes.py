"""The sentences a model may quote: constrained decoding makes every quote a real source sentence.

Small models paraphrase, truncate or splice what they are asked to copy; a quote that does not occur
in the source fails the support check and the claim is lost even when it was right. When the backend
decodes under a JSON schema, the ``quote`` field can instead be an enum of the shown sources'
sentences, so the grammar lets the model copy only text that is really there, byte for byte. The
claim itself stays free text and still goes through the support check against the chosen sentence.

Sentences come from Kiwi's splitter (morphology-based: it closes sentences at final endings, which
OCR'd PDF text without punctuation needs), merged when very short and cut when longer than a quote
may be.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from hanstack.answer.sources import Passage

MIN_QUOTE_CHARS = 12
"""Shorter sentences (headings, list numbers) are merged with the next one."""


_CONTROL = re.compile(r"\s*[\x00-\x1f\x7f]+\s*")


def _pieces(text: str, max_chars: int) -> list[str]:
    """``text`` cut at line breaks (a grammar's string literals must not hold control characters) and
    at whitespace into pieces of at most ``max_chars`` characters."""
    lines = [line for line in _CONTROL.split(text) if line.strip()]
    if len(lines) > 1:
        return [p for line in lines for p in _pieces(line, max_chars)]
    out: list[str] = []
    rest = text.strip()
    while len(rest) > max_chars:
        cut = rest.rfind(" ", max_chars // 2, max_chars)
        cut = cut if cut > 0 else max_chars
        out.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        out.append(rest)
    return out


def passage_sentences(text: str, analyzer: Any, *, max_chars: int) -> list[str]:
    """Quotable sentences of ``text`` (each a substring of it), in order."""
    split = getattr(analyzer, "split_sentences", None)
    if split is None:
        from hanstack.korean.analyzer import get_kiwi

        split = get_kiwi().split_sentences
    sentences: list[str] = []
    begin: int | None = None  # start of a run of sentences too short to quote on their own
    for s in split(text):
        begin = s.start if begin is None else begin
        piece = text[begin : s.end].strip()
        if len(piece) < MIN_QUOTE_CHARS:
            continue
        begin = None
        sentences.extend(_pieces(piece, max_chars))
    if begin is not None:
        sentences.extend(_pieces(text[begin:], max_chars))
    return [s for s in sentences if s and s in text]


def quote_choices(
    labelled: Sequence[tuple[str, Passage]], analyzer: Any, *, max_chars: int, limit: int = 120
) -> list[str]:
    """The distinct sentences of the shown sources, in source order (at most ``limit``)."""
    seen: dict[str, None] = {}
    for _, passage in labelled:
        for s in passage_sentences(passage.text, analyzer, max_chars=max_chars):
            seen.setdefault(s, None)
            if len(seen) >= limit:
                return list(seen)
    return list(seen)
