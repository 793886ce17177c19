"""The fast bundled vocabularies: ``quicktok`` (o200k, cl100k, Llama 3, Qwen2/2.5/3) and ``toktok``
(Qwen3.5). Both are exact BPE implementations (counts identical to tiktoken and to the models'
own tokenizers) with the vocabularies inside the wheel, so they load offline in milliseconds and
encode a million Korean characters in well under a second.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

from hanstack.errors import MissingDependencyError, TokenizerError
from hanstack.tokenizers.base import BaseTokenizer


def _nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


class _BundledBpe(BaseTokenizer):
    """quicktok and toktok share tiktoken's surface (``encode_ordinary``, ``encode_batch`` returning a
    flat id buffer plus offsets, ``decode_single_token_bytes``); only loading differs."""

    _enc: Any
    concatenative = True

    def _prepare(self, text: str) -> str:
        return text

    def encode(self, text: str) -> list[int]:
        return list(self._enc.encode_ordinary(self._prepare(text)))

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._enc.decode(list(ids)))

    def count(self, text: str) -> int:
        return int(self._enc.count(self._prepare(text)))

    def encode_flat(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        flat, offsets = self._enc.encode_batch([self._prepare(t) for t in texts], 0, False)
        if isinstance(flat, bytes | bytearray | memoryview):  # toktok hands back raw buffers
            flat = np.frombuffer(flat, dtype=np.uint32)
            offsets = np.frombuffer(offsets, dtype=np.int64)
        return np.asarray(flat), np.asarray(offsets, dtype=np.int64)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        flat, offsets = self.encode_flat(texts)
        ids, bounds = flat.tolist(), offsets.tolist()
        return [ids[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        _flat, offsets = self.encode_flat(texts)
        return np.diff(offsets).tolist()

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        return list(self._enc.decode_batch([list(ids) for ids in batch]))

    def token_bytes(self, token_id: int) -> bytes:
        return bytes(self._enc.decode_single_token_bytes(int(token_id)))


class QuicktokTokenizer(_BundledBpe):
    """A ``quicktok`` encoding (``o200k_base``, ``cl100k_base``, ``llama3``, ``qwen3``)."""

    def __init__(self, encoding: str, *, name: str | None = None, vocab_size: int | None = None) -> None:
        try:
            import quicktok
        except ImportError as exc:
            raise MissingDependencyError("quicktok-v1", "tokenizers", f"The {encoding} tokenizer") from exc
        try:
            self._enc = quicktok.get_encoding(encoding)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise TokenizerError(f"quicktok has no encoding {encoding!r}: {exc}") from exc
        super().__init__(
            name=name or encoding,
            vocab_size=vocab_size or int(self._enc.n_vocab),
            source=f"quicktok {quicktok.__version__} bundled vocabulary '{encoding}'",
        )
        # quicktok applies Qwen's NFC normalisation itself for the qwen3 encoding
        self.normalizes_nfc = encoding.startswith("qwen")


class ToktokTokenizer(_BundledBpe):
    """A ``toktok`` encoding (``qwen3.5``: Qwen3.5's 248k vocabulary).

    Qwen's tokenizers NFC-normalise first; toktok's core does not, so this wrapper does.
    """

    normalizes_nfc = True

    def __init__(self, encoding: str, *, name: str | None = None, vocab_size: int | None = None) -> None:
        try:
            import toktok
        except ImportError as exc:
            raise MissingDependencyError("toktok-rs", "tokenizers", f"The {encoding} tokenizer") from exc
        try:
            # toktok's public API only counts; its documented private accessor gives encode/decode
            self._enc = toktok._encoding(encoding)
        except KeyError as exc:
            raise TokenizerError(f"toktok has no encoding {encoding!r}: {exc}") from exc
        super().__init__(
            name=name or encoding,
            vocab_size=vocab_size or int(self._enc.n_vocab),
            source=f"toktok {toktok.__version__} bundled vocabulary '{encoding}'",
        )

    def _prepare(self, text: str) -> str:
        return _nfc(text)


class Utf8ByteTokenizer(BaseTokenizer):
    """One token per UTF-8 byte (ByT5-style): the no-vocabulary baseline, three tokens a syllable."""

    concatenative = True

    def __init__(self, _arg: str = "", *, name: str | None = None) -> None:
        super().__init__(
            name=name or "utf8-bytes", vocab_size=256, source="built-in: UTF-8 bytes, no vocabulary"
        )

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8", errors="surrogatepass"))

    def decode(self, ids: Sequence[int]) -> str:
        return bytes(ids).decode("utf-8", errors="replace")

    def count(self, text: str) -> int:
        return len(text.encode("utf-8", errors="surrogatepass"))

    def token_bytes(self, token_id: int) -> bytes:
        return bytes([token_id])
