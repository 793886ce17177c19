"""The Tokenizer protocol every vocabulary sits behind, and a base class with the shared parts.

A tokenizer here is a *real* model vocabulary (tiktoken, Hugging Face ``tokenizer.json``,
SentencePiece, GGUF, Mistral tekken) or one hanstack trained. Callers only need ``count``; the
statistics in :mod:`hanstack.tokenizers.stats` also use ``encode``/``decode`` and ``token_bytes``
(to tell whole characters from raw byte pieces).

``encode`` treats special-token strings (``<|endoftext|>``) in the input as ordinary text: counting
user text must never turn a literal into a control token or raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Tokenizer(Protocol):
    """A model's tokenizer: encode, decode, count."""

    name: str
    """Registry name (``gpt-4o``) or the file it was loaded from."""
    vocab_size: int
    """Number of token ids the vocabulary defines (special tokens included)."""
    source: str
    """Where the vocabulary came from (package data, file path), in words."""

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def count(self, text: str) -> int: ...

    def count_batch(self, texts: Sequence[str]) -> list[int]: ...

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]: ...

    def token_bytes(self, token_id: int) -> bytes: ...


class BaseTokenizer:
    """Shared defaults: subclasses implement ``encode``/``decode`` and, where they can, faster batches
    and exact ``token_bytes``."""

    name: str
    vocab_size: int
    source: str
    normalizes_nfc: bool = False
    """True when the tokenizer NFC-normalises its input itself (Qwen), so NFD text costs nothing extra."""
    concatenative: bool = False
    """True when ``decode(ids)`` is exactly the UTF-8 decoding of the concatenated ``token_bytes``
    (byte-level BPE, tiktoken, tekken); lets statistics check round trips without decoding each item."""

    def __init__(self, *, name: str, vocab_size: int, source: str) -> None:
        self.name = name
        self.vocab_size = vocab_size
        self.source = source

    def encode(self, text: str) -> list[int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, ids: Sequence[int]) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.encode_batch(texts)]

    def encode_flat(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """All ids in one array plus ``len(texts) + 1`` offsets: item ``i`` is ``ids[off[i]:off[i+1]]``."""
        batch = self.encode_batch(texts)
        offsets = np.zeros(len(batch) + 1, dtype=np.int64)
        np.cumsum([len(ids) for ids in batch], out=offsets[1:])
        flat = np.fromiter((i for ids in batch for i in ids), dtype=np.int64, count=int(offsets[-1]))
        return flat, offsets

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        return [self.decode(ids) for ids in batch]

    def token_bytes(self, token_id: int) -> bytes:
        """The raw bytes of one token. The default goes through ``decode``, which cannot show a
        partial UTF-8 sequence (it comes back as U+FFFD); backends override it when they can."""
        return self.decode([token_id]).encode("utf-8", errors="surrogatepass")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, vocab_size={self.vocab_size})"
