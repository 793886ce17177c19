"""UTF-8-safe incremental decoding of token byte pieces.

A byte-level BPE token can end in the middle of a character: a Hangul syllable is 3 bytes in
UTF-8 and models routinely split it over two or three tokens. Decoding each token on its own gives
U+FFFD or drops text. :class:`Utf8StreamDecoder` keeps the incomplete tail until the rest arrives,
so every emitted delta is whole characters; bytes that can never form a character (a model that
emits an invalid sequence, or a stream cut mid-character) are dropped, never replaced by U+FFFD.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator

REPLACEMENT = "\ufffd"


class Utf8StreamDecoder:
    """Feed byte pieces, get back whole characters only."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
        self.dropped_bytes = 0
        self._fed = 0
        self._out = 0

    def feed(self, piece: bytes) -> str:
        self._fed += len(piece)
        text = self._decoder.decode(piece, final=False)
        self._out += len(text.encode("utf-8"))
        return text

    @property
    def pending(self) -> bytes:
        """Bytes held back, waiting for the rest of their character."""
        return self._decoder.getstate()[0]

    def flush(self) -> str:
        """End of stream: an incomplete trailing sequence is dropped (counted in ``dropped_bytes``)."""
        text = self._decoder.decode(b"", final=True)
        self._out += len(text.encode("utf-8"))
        self.dropped_bytes = self._fed - self._out
        return text


def decode_pieces(pieces: Iterable[bytes]) -> Iterator[str]:
    """Non-empty text deltas for a sequence of token byte pieces."""
    dec = Utf8StreamDecoder()
    for piece in pieces:
        text = dec.feed(piece)
        if text:
            yield text
    tail = dec.flush()
    if tail:
        yield tail


class StopScanner:
    """Hold back text that could be the start of a stop string, so stops never leak into a stream.

    ``push`` returns what is safe to emit now; ``stopped`` turns true once a stop string appears
    (everything from it on is discarded).
    """

    def __init__(self, stops: Iterable[str]) -> None:
        self.stops = [s for s in stops if s]
        self._buf = ""
        self.stopped = False

    def push(self, text: str) -> str:
        if self.stopped:
            return ""
        self._buf += text
        if not self.stops:
            out, self._buf = self._buf, ""
            return out
        cut = min((i for i in (self._buf.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            out, self._buf = self._buf[:cut], ""
            return out
        hold = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self._buf)), 0, -1):
                if self._buf.endswith(s[:k]):
                    hold = max(hold, k)
                    break
        out = self._buf[: len(self._buf) - hold]
        self._buf = self._buf[len(self._buf) - hold :]
        return out

    def flush(self) -> str:
        out, self._buf = ("" if self.stopped else self._buf), ""
        return out
