"""Chunks and queries as sparse BM25 vectors (the "do expensive work at index time" lesson).

A document's sparse vector holds, for each distinct term, its BM25 term-frequency part
``tf·(k1+1) / (tf + k1·(1 - b + b·len/avgdl))``; the engine multiplies by the query weight and by
the IDF it keeps itself (Qdrant's ``Modifier.Idf``), so a query is one sparse dot product and the
IDF follows inserts and deletes without re-indexing.

Terms live in namespaces of one vector space (hashed to 32-bit indices):

- body terms: the Kiwi content morphemes ingestion computed (``Chunk.terms``);
- exact terms: article references (``제10조``, ``제8조의2``, ``제2항``) and numbers with their commas
  removed (``9,000`` → ``#9000``), found by a regular expression over the chunk text, so that a
  query naming 제10조 outranks chunks that merely contain 10 and 조;
- field terms: title and section-path morphemes (``title:``/``section:``), weighted per query,
  which is how per-field boosts work without a second index;
- character bigrams of the chunk text (``bigram:``), with their own length normalisation. The
  morpheme query never names them; the retriever scores them on its candidates only
  (:meth:`SparseEncoder.bigram_query`), which catches what the analyser splits differently in the
  query and the text (compounds, spacing, OCR'd words, names Kiwi does not know).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

TITLE_NS = "title\x1f"
SECTION_NS = "section\x1f"
EXACT_NS = "\x1f"
BIGRAM_NS = "bigram\x1f"

_ARTICLE_RE = re.compile(r"제\s?(\d+)\s?(편|장|절|관|조|항|호|목)(?:\s?의\s?(\d+))?")
_NUMBER_RE = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\d.,])\d+(?:\.\d+)?")


def article_refs(text: str) -> list[str]:
    """``제 10 조의 2`` → ``제10조의2``: references to articles, clauses, chapters ..."""
    out = []
    for m in _ARTICLE_RE.finditer(text):
        ref = f"제{int(m.group(1))}{m.group(2)}"
        if m.group(3):
            ref += f"의{int(m.group(3))}"
        out.append(ref)
    return out


def numbers(text: str) -> list[str]:
    """Numbers with thousands separators removed: ``1,000억`` → ``1000``; ``3.5%`` → ``3.5``."""
    return [m.group(0).replace(",", "") for m in _NUMBER_RE.finditer(text)]


def exact_terms(text: str) -> list[str]:
    """The terms a query must match literally (namespaced), found in raw text."""
    return [EXACT_NS + t for t in article_refs(text)] + [EXACT_NS + "#" + n for n in numbers(text)]


def char_bigrams(text: str) -> list[str]:
    """Overlapping character bigrams inside each whitespace token, lower-cased (a one-character
    token stays a unigram): ``"은행법 제8조"`` → ``은행, 행법, 제8, 8조``. Bigrams do not cross
    spaces, so a query spaced differently from the text still shares every in-word bigram."""
    out: list[str] = []
    for tok in text.lower().split():
        if len(tok) == 1:
            out.append(tok)
        else:
            out.extend(tok[i : i + 2] for i in range(len(tok) - 1))
    return out


def term_index(term: str) -> int:
    """Stable 32-bit index of a term (blake2b; the same on every machine and Python version)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")


@dataclass(frozen=True, slots=True)
class SparseVec:
    indices: list[int]
    values: list[float]

    def __len__(self) -> int:
        return len(self.indices)


@dataclass(frozen=True, slots=True)
class Bm25Params:
    k1: float = 0.5
    """0.5 (not the textbook 1.2): saturates term frequency sooner, better on short chunks (AutoRAG-ko CV)."""
    b: float = 0.75
    avgdl: float = 100.0
    """Average body length in terms, fixed when the index is created (stored weights depend on it)."""
    bigram_avgdl: float | None = None
    """Average number of character bigrams per chunk, fixed like ``avgdl``; ``None``: no bigram
    terms are indexed (an encoder outside a store, or a test of the morpheme terms alone)."""


@dataclass(frozen=True, slots=True)
class FieldBoosts:
    """Query-time weights of the term namespaces (0 switches a field off)."""

    body: float = 1.0
    exact: float = 1.0
    """Numbers matched literally (``#1000``)."""
    article: float | None = None
    """Article references (``제10조``); ``None``: the same as ``exact``."""
    title: float = 0.0
    section: float = 0.0


@dataclass
class SparseEncoder:
    """Turns chunk terms into document vectors and query terms into query vectors.

    ``field_terms`` analyses short field strings (titles, section paths) into terms; it is called
    once per distinct string and cached. Leave it ``None`` to index no field terms.
    """

    params: Bm25Params = field(default_factory=Bm25Params)
    field_terms: Callable[[str], Sequence[str]] | None = None
    _index_cache: dict[str, int] = field(default_factory=dict, repr=False)
    _field_cache: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def index_of(self, term: str) -> int:
        idx = self._index_cache.get(term)
        if idx is None:
            if len(self._index_cache) > 2_000_000:
                self._index_cache.clear()
            idx = self._index_cache[term] = term_index(term)
        return idx

    def _field(self, value: str | None) -> tuple[str, ...]:
        if not value or self.field_terms is None:
            return ()
        cached = self._field_cache.get(value)
        if cached is None:
            if len(self._field_cache) > 100_000:
                self._field_cache.clear()
            cached = self._field_cache[value] = tuple(dict.fromkeys(self.field_terms(value)))
        return cached

    def document(
        self, terms: Sequence[str], text: str = "", *, title: str | None = None, section: str | None = None
    ) -> SparseVec:
        """BM25 document vector of one chunk (body, exact, title and section terms)."""
        p = self.params
        weights: dict[int, float] = {}
        counts = Counter(terms)
        if counts:
            norm = p.k1 * (1.0 - p.b + p.b * len(terms) / p.avgdl)
            for term, tf in counts.items():
                weights[self.index_of(term)] = tf * (p.k1 + 1.0) / (tf + norm)
        for term, tf in Counter(exact_terms(text)).items():
            weights[self.index_of(term)] = tf * (p.k1 + 1.0) / (tf + p.k1)
        for ns, value in ((TITLE_NS, title), (SECTION_NS, section)):
            for term in self._field(value):
                weights[self.index_of(ns + term)] = 1.0
        if p.bigram_avgdl is not None:
            bigrams = Counter(char_bigrams(text))
            norm = p.k1 * (1.0 - p.b + p.b * bigrams.total() / p.bigram_avgdl)
            for bigram, tf in bigrams.items():
                weights[self.index_of(BIGRAM_NS + bigram)] = tf * (p.k1 + 1.0) / (tf + norm)
        return SparseVec(list(weights), list(weights.values()))

    def bigram_query(self, text: str) -> SparseVec:
        """The query's distinct character bigrams, weight 1 each (scored against the ``bigram:``
        terms of candidate chunks)."""
        indices = [self.index_of(BIGRAM_NS + b) for b in dict.fromkeys(char_bigrams(text))]
        return SparseVec(indices, [1.0] * len(indices))

    def query(
        self, terms: Iterable[str], exact: Iterable[str] = (), boosts: FieldBoosts | None = None
    ) -> SparseVec:
        """Query vector: each distinct term once per namespace, weighted by the field boosts.

        ``exact`` holds namespaced exact terms (from :func:`exact_terms`).
        """
        b = boosts or FieldBoosts()
        weights: dict[int, float] = {}

        def add(term: str, w: float) -> None:
            if w > 0:
                idx = self.index_of(term)
                weights[idx] = weights.get(idx, 0.0) + w

        distinct = list(dict.fromkeys(terms))
        for term in distinct:
            add(term, b.body)
            add(TITLE_NS + term, b.title)
            add(SECTION_NS + term, b.section)
        article = b.exact if b.article is None else b.article
        for term in dict.fromkeys(exact):
            add(term, b.exact if term.startswith(EXACT_NS + "#") else article)
        return SparseVec(list(weights), list(weights.values()))


def average_length(term_lists: Iterable[Sequence[str]]) -> float | None:
    lengths = [len(t) for t in term_lists if t]
    return sum(lengths) / len(lengths) if lengths else None


def average_bigrams(texts: Iterable[str]) -> float | None:
    """Average number of character bigrams of the texts that have any (``bigram_avgdl``)."""
    return average_length(char_bigrams(t) for t in texts)
