"""Query analysis: search terms, quoted phrases, article references and numbers.

``"예비 인가" 절차 제10조 2025년`` becomes

- terms: the content morphemes of the whole query (``예비, 인가, 절차, 10, 조, 2025, 년``), the
  same analysis ingestion applied to chunks, so query and chunk terms meet;
- phrases: ``예비 인가``, required: a chunk must contain every content morpheme of the phrase
  (an indexed filter in the engine) and the phrase itself, spaces ignored (``예비인가`` matches);
- exact terms: ``제10조``, ``#10``, ``#2025``: matched literally, article references weighted by
  ``article_boost`` (so 제10조 ranks above a chunk that only has 10 and 조 somewhere) and bare numbers
  by ``exact_boost``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hanstack.store.sparse import article_refs, exact_terms, numbers

# Only double quotes are the phrase operator (as in web search). Single quotes mark emphasis or
# abbreviated years in Korean writing ('23년, '보험소비자 특약'), and 「」『』 titles of laws and
# books: treating those as required phrases would drop good answers.
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”")
_SPACES = re.compile(r"\s+")

Tokenize = Callable[[str], Sequence[str]]


@dataclass(frozen=True, slots=True)
class AnalyzedQuery:
    text: str
    terms: tuple[str, ...]
    phrases: tuple[str, ...] = ()
    phrase_terms: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.terms or self.exact or self.phrases)


def quoted_phrases(text: str) -> list[str]:
    out = []
    for m in _QUOTED.finditer(text):
        phrase = next(g for g in m.groups() if g is not None).strip()
        if phrase:
            out.append(phrase)
    return out


def squash(text: str) -> str:
    """Whitespace removed: how phrases are compared (Korean spacing varies: 예비 인가 / 예비인가)."""
    return _SPACES.sub("", text)


def contains_phrases(text: str, phrases: Sequence[str]) -> bool:
    if not phrases:
        return True
    body = squash(text).lower()
    return all(squash(p).lower() in body for p in phrases)


class QueryAnalyzer:
    """Turns a query string into :class:`AnalyzedQuery` with the analyzer that made chunk terms."""

    def __init__(self, tokenize: Tokenize) -> None:
        self._tokenize = tokenize

    def analyze(self, text: str) -> AnalyzedQuery:
        phrases = quoted_phrases(text)
        terms = tuple(self._tokenize(text))
        phrase_terms: list[str] = []
        for p in phrases:
            phrase_terms.extend(self._tokenize(p))
        return AnalyzedQuery(
            text=text,
            terms=terms,
            phrases=tuple(phrases),
            phrase_terms=tuple(dict.fromkeys(phrase_terms)),
            exact=tuple(dict.fromkeys(exact_terms(text))),
            references=tuple(dict.fromkeys(article_refs(text))),
            numbers=tuple(dict.fromkeys(numbers(text))),
        )
