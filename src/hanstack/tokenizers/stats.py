"""What a tokenizer costs on Korean text: the numbers behind ``hanstack tokens stats``.

Per tokenizer, over a corpus of items (sentences, one per line):

* ``tokens_per_sentence``, ``chars_per_token`` (all code points, spaces included),
  ``bytes_per_token`` (UTF-8 bytes: the cross-lingual measure);
* ``fertility_eojeol``: tokens per eojeol (space-separated word); ``fertility_morpheme``: tokens per
  Kiwi morpheme (optional; Kiwi dominates the run time, so the morpheme count is cached on disk per
  corpus);
* ``premium``: Korean tokens / English tokens on parallel text (total over the sentence pairs, the
  FLORES-200 method of Petrov et al. 2023);
* ``byte_fallback_share``: share of tokens that are not whole UTF-8 characters: SentencePiece
  ``<0xNN>`` byte-fallback pieces and byte-level BPE fragments of a character (a Hangul syllable is
  three bytes);
* ``roundtrip_exact``: share of items with ``decode(encode(x)) == x``;
* ``nfd_penalty``: tokens of the NFD-decomposed text / tokens of the text (1.0 = immune);
* money and context: cost per million characters from a :class:`PriceTable`, and how many
  characters fit in 8k/32k/128k tokens.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from hanstack.errors import InvalidInputError
from hanstack.tokenizers.base import BaseTokenizer, Tokenizer
from hanstack.tokenizers.prices import PriceTable

log = logging.getLogger(__name__)

CONTEXTS = {"8k": 8_192, "32k": 32_768, "128k": 131_072}


@dataclass(frozen=True)
class CorpusInfo:
    name: str
    sentences: int
    chars: int
    bytes: int
    eojeols: int
    morphemes: int | None = None
    parallel_sentences: int | None = None


@dataclass(frozen=True)
class TokenizerStats:
    name: str
    vocab_size: int
    source: str
    tokens: int
    tokens_per_sentence: float
    chars_per_token: float
    bytes_per_token: float
    fertility_eojeol: float
    fertility_morpheme: float | None
    premium: float | None
    english_tokens: int | None
    byte_fallback_share: float
    roundtrip_exact: float
    nfd_penalty: float
    price_per_mtok: float | None
    cost_per_m_chars: float | None
    chars_in_context: dict[str, int]
    seconds: float


@dataclass
class StatsReport:
    corpus: CorpusInfo
    rows: list[TokenizerStats]
    prices_date: str = ""
    prices_source: str = ""
    currency: str = "USD"
    timings: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# corpus-level counts (independent of the tokenizer)


def count_eojeols(texts: Sequence[str]) -> int:
    return sum(len(t.split()) for t in texts)


def _corpus_key(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for t in texts:
        digest.update(t.encode("utf-8", errors="surrogatepass"))
        digest.update(b"\n")
    return digest.hexdigest()[:32]


def count_morphemes(texts: Sequence[str], *, cache_dir: Path | None = None) -> int:
    """Kiwi morphemes in ``texts`` (batched over Kiwi's worker threads), cached per corpus content."""
    cache_file = cache_dir / f"morphemes-{_corpus_key(texts)}.json" if cache_dir else None
    if cache_file is not None and cache_file.is_file():
        try:
            return int(json.loads(cache_file.read_text())["morphemes"])
        except (OSError, ValueError, KeyError):
            log.warning("ignoring unreadable morpheme cache %s", cache_file)
    from hanstack.korean.analyzer import get_kiwi

    kiwi = get_kiwi().kiwi
    total = sum(len(tokens) for tokens in kiwi.tokenize(list(texts)))
    if cache_file is not None:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            cache_file.write_text(json.dumps({"morphemes": total, "sentences": len(texts)}))
        except OSError as exc:
            log.warning("cannot write morpheme cache %s: %s", cache_file, exc.strerror)
    return total


def describe_corpus(
    texts: Sequence[str],
    *,
    name: str = "",
    morphemes: bool = True,
    cache_dir: Path | None = None,
    parallel: int | None = None,
) -> CorpusInfo:
    return CorpusInfo(
        name=name,
        sentences=len(texts),
        chars=sum(len(t) for t in texts),
        bytes=sum(len(t.encode("utf-8", errors="surrogatepass")) for t in texts),
        eojeols=count_eojeols(texts),
        morphemes=count_morphemes(texts, cache_dir=cache_dir) if morphemes else None,
        parallel_sentences=parallel,
    )


# ---------------------------------------------------------------------------------------------
# per-tokenizer measures


def _encode_flat(tok: Tokenizer, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    fast = getattr(tok, "encode_flat", None)
    return fast(texts) if fast is not None else BaseTokenizer.encode_flat(tok, texts)  # type: ignore[arg-type]


def _is_fragment(piece: bytes) -> bool:
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@dataclass(frozen=True)
class _Pieces:
    """The distinct ids of an encoded corpus with their bytes: everything per-token is computed once
    per vocabulary entry, then spread over the corpus with ``inverse``."""

    pieces: list[bytes]
    inverse: np.ndarray

    @classmethod
    def of(cls, tok: Tokenizer, ids: np.ndarray) -> _Pieces:
        unique, inverse = np.unique(ids, return_inverse=True)
        return cls([tok.token_bytes(int(i)) for i in unique.tolist()], inverse.reshape(-1))

    def fragment_share(self) -> float:
        if self.inverse.size == 0:
            return 0.0
        fragment = np.fromiter((_is_fragment(p) for p in self.pieces), dtype=bool, count=len(self.pieces))
        return float(fragment[self.inverse].sum()) / int(self.inverse.size)

    def item_bytes(self, offsets: np.ndarray) -> tuple[bytes, np.ndarray]:
        """All decoded bytes, and the decoded byte length of each item."""
        lengths = np.fromiter((len(p) for p in self.pieces), dtype=np.int64, count=len(self.pieces))
        ends = np.concatenate([[0], np.cumsum(lengths[self.inverse])])
        joined = b"".join([self.pieces[j] for j in self.inverse.tolist()])
        return joined, ends[offsets[1:]] - ends[offsets[:-1]]


def _roundtrip_exact(
    tok: Tokenizer, texts: Sequence[str], ids: np.ndarray, offsets: np.ndarray, pieces: _Pieces
) -> int:
    """How many items decode back to exactly themselves.

    For concatenative tokenizers one comparison of the joined bytes (plus every item's byte length)
    settles it for the whole corpus; anything else, or any mismatch, is decoded item by item.
    """
    if getattr(tok, "concatenative", False):
        encoded = [t.encode("utf-8", errors="surrogatepass") for t in texts]
        joined, lengths = pieces.item_bytes(offsets)
        if joined == b"".join(encoded) and np.array_equal(lengths, [len(e) for e in encoded]):
            return len(texts)
    bounds = offsets.tolist()
    flat = ids.tolist()
    batch = [flat[bounds[i] : bounds[i + 1]] for i in range(len(texts))]
    decode_batch = getattr(tok, "decode_batch", None)
    decoded = decode_batch(batch) if decode_batch is not None else [tok.decode(b) for b in batch]
    return sum(1 for d, t in zip(decoded, texts, strict=True) if d == t)


def measure(
    tok: Tokenizer,
    texts: Sequence[str],
    corpus: CorpusInfo,
    *,
    english: Sequence[str] | None = None,
    prices: PriceTable | None = None,
) -> TokenizerStats:
    start = time.perf_counter()
    ids, offsets = _encode_flat(tok, list(texts))
    tokens = int(ids.size)
    pieces = _Pieces.of(tok, ids)
    exact = _roundtrip_exact(tok, texts, ids, offsets, pieces)
    nfd = [unicodedata.normalize("NFD", t) for t in texts]
    nfd_tokens = sum(tok.count_batch(nfd))
    english_tokens = sum(tok.count_batch(list(english))) if english is not None else None
    price = prices.price(tok.name) if prices is not None else None
    per = max(tokens, 1)
    chars_per_token = corpus.chars / per
    return TokenizerStats(
        name=tok.name,
        vocab_size=tok.vocab_size,
        source=tok.source,
        tokens=tokens,
        tokens_per_sentence=tokens / max(corpus.sentences, 1),
        chars_per_token=chars_per_token,
        bytes_per_token=corpus.bytes / per,
        fertility_eojeol=tokens / max(corpus.eojeols, 1),
        fertility_morpheme=tokens / corpus.morphemes if corpus.morphemes else None,
        premium=tokens / english_tokens if english_tokens else None,
        english_tokens=english_tokens,
        byte_fallback_share=pieces.fragment_share(),
        roundtrip_exact=exact / max(len(texts), 1),
        nfd_penalty=nfd_tokens / per,
        price_per_mtok=price,
        cost_per_m_chars=price * tokens / corpus.chars if price is not None and corpus.chars else None,
        chars_in_context={k: int(v * chars_per_token) for k, v in CONTEXTS.items()},
        seconds=time.perf_counter() - start,
    )


def compute_stats(
    texts: Sequence[str],
    tokenizers: Sequence[Tokenizer],
    *,
    english: Sequence[str] | None = None,
    prices: PriceTable | None = None,
    morphemes: bool = True,
    cache_dir: Path | None = None,
    name: str = "",
) -> StatsReport:
    """Every measure for every tokenizer on one corpus (``english``: the parallel English lines)."""
    if not texts:
        raise InvalidInputError("the corpus is empty")
    if english is not None and len(english) != len(texts):
        raise InvalidInputError(
            f"the parallel English text has {len(english)} lines but the Korean corpus has {len(texts)}",
            hint="give sentence-aligned files (one sentence a line, same order), e.g. FLORES-200",
        )
    t0 = time.perf_counter()
    corpus = describe_corpus(
        texts, name=name, morphemes=False, parallel=len(english) if english is not None else None
    )
    t1 = time.perf_counter()
    if morphemes:
        corpus = replace(corpus, morphemes=count_morphemes(texts, cache_dir=cache_dir))
    t2 = time.perf_counter()
    rows = [measure(tok, texts, corpus, english=english, prices=prices) for tok in tokenizers]
    t3 = time.perf_counter()
    return StatsReport(
        corpus=corpus,
        rows=rows,
        prices_date=prices.date if prices else "",
        prices_source=prices.source if prices else "",
        currency=prices.currency if prices else "USD",
        timings={"corpus_s": t1 - t0, "morphemes_s": t2 - t1, "tokenizers_s": t3 - t2},
    )
