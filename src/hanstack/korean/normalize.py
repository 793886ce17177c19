"""Normalisation and decoding of Korean text.

Decomposed Hangul (NFD: macOS file names, some PDF text layers) looks identical on screen but
multiplies token counts and defeats matching, so everything is NFC before anything else. Full-width
ASCII (Ａ１！) from Korean IMEs is folded to ASCII; the Hangul compatibility jamo and CJK symbols
are left alone (NFKC would rewrite ㈜ and ① that legal text relies on).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

from hanstack.errors import DecodeError

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20  # ideographic space
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_text(text: str, *, fold_fullwidth: bool = True, collapse_space: bool = True) -> str:
    """Return ``text`` in the one form every other module expects.

    NFC, CRLF to LF, zero-width characters and C0 controls removed, full-width ASCII folded,
    runs of spaces collapsed (newlines kept: they carry structure), at most one blank line.
    Idempotent: ``normalize_text(normalize_text(x)) == normalize_text(x)``.
    """
    out = unicodedata.normalize("NFC", text)
    out = out.replace("\r\n", "\n").replace("\r", "\n").translate(_ZERO_WIDTH)
    out = _CONTROL.sub("", out)
    if fold_fullwidth:
        out = out.translate(_FULLWIDTH)
    if collapse_space:
        out = _SPACES.sub(" ", out)
        out = _TRAILING_SPACE.sub("\n", out)
        out = _MANY_NEWLINES.sub("\n\n", out)
        out = "\n".join(line.lstrip(" ") if line.startswith(" ") else line for line in out.split("\n"))
    # NFC again: folding can never produce decomposed jamo, but removing controls between a
    # leading consonant and a vowel could.
    return unicodedata.normalize("NFC", out).strip()


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_bytes(data: bytes, *, source: str = "<bytes>") -> Decoded:
    """Decode a text file of unknown encoding: BOM, then UTF-8, then CP949 (a superset of EUC-KR).

    Order matters: valid UTF-8 is almost never valid CP949 by accident for Korean text, while CP949
    bytes are rarely valid UTF-8, so strict UTF-8 first and strict CP949 second is reliable for
    Korean. charset-normalizer is the last resort for anything else (Latin-1 files, UTF-16 without
    a BOM); its guess is accepted only when it decodes cleanly.
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data.decode(enc), enc.replace("-sig", ""))
            except UnicodeDecodeError as exc:
                raise DecodeError(
                    f"{source}: has a {enc} byte-order mark but is not valid {enc}: {exc}"
                ) from exc
    if b"\x00" in data[:4096] and _looks_utf16(data):
        for enc in ("utf-16-le", "utf-16-be"):
            try:
                return Decoded(data.decode(enc), enc)
            except UnicodeDecodeError:
                continue
    for enc in ("utf-8", "cp949"):
        try:
            return Decoded(data.decode(enc), "euc-kr/cp949" if enc == "cp949" else enc)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None and best.encoding:
        return Decoded(str(best), best.encoding)
    raise DecodeError(
        f"{source}: cannot tell the text encoding (not UTF-8, UTF-16 or CP949/EUC-KR)",
        hint="convert it to UTF-8, e.g. iconv -f <encoding> -t utf-8",
    )


def _looks_utf16(data: bytes) -> bool:
    sample = data[:4096]
    zeros_even = sum(1 for b in sample[0::2] if b == 0)
    zeros_odd = sum(1 for b in sample[1::2] if b == 0)
    half = max(1, len(sample) // 2)
    return max(zeros_even, zeros_odd) / half > 0.2
