"""Undo the evasion tricks before matching: what the detector sees is the *meaning*, not the glyphs.

- NFKC folds full-width letters (ｉｇｎｏｒｅ) and compatibility forms; format characters (zero-width
  space/joiner, soft hyphen, bidi marks) are removed;
- Hangul compatibility jamo typed one by one (ㅇㅣㅈㅓㄴ ㅈㅣㅅㅣ) are recomposed into syllables (이전 지시);
- the *compact* form drops whitespace and punctuation, so spaced-out words (무 시 해, i g n o r e)
  match the same rules;
- leetspeak digits in Latin words (1gn0re) are mapped back;
- encoded payloads (base64, hex, \\x/\\u escapes, %XX, ROT13) are decoded and scanned again.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import unquote

# Compatibility jamo -> (choseong index, jungseong index, jongseong index)
_CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_JONG = [
    "",
    "ㄱ",
    "ㄲ",
    "ㄳ",
    "ㄴ",
    "ㄵ",
    "ㄶ",
    "ㄷ",
    "ㄹ",
    "ㄺ",
    "ㄻ",
    "ㄼ",
    "ㄽ",
    "ㄾ",
    "ㄿ",
    "ㅀ",
    "ㅁ",
    "ㅂ",
    "ㅄ",
    "ㅅ",
    "ㅆ",
    "ㅇ",
    "ㅈ",
    "ㅊ",
    "ㅋ",
    "ㅌ",
    "ㅍ",
    "ㅎ",
]
_CHO_IDX = {c: i for i, c in enumerate(_CHO)}
_JUNG_IDX = {c: i for i, c in enumerate(_JUNG)}
_JONG_IDX = {c: i for i, c in enumerate(_JONG) if c}
_JAMO_RUN = re.compile(r"[\u3131-\u318e](?:[\s\u3131-\u318e]*[\u3131-\u318e])?")
_FORMAT_CHARS = re.compile(
    r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufe00-\ufe0f]"
)
_NON_CONTENT = re.compile(r"[\s\W_]+", re.UNICODE)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_LEET_WORD = re.compile(r"\b(?=[a-z0-9@$!]*[a-z])(?=[a-z0-9@$!]*[0-9@$!])[a-z0-9@$!]{3,}\b")
_B64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_B64URL = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{16,}(?![A-Za-z0-9_-])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[\s:]?){8,}(?![0-9A-Fa-f])")
_ESCAPES = re.compile(r"(?:\\x[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|%[0-9A-Fa-f]{2}|&#x?[0-9A-Fa-f]+;){4,}")


def compose_jamo(text: str) -> str:
    """Recompose runs of compatibility jamo (ㅇㅣㅈㅓㄴ → 이전); spaces inside a run are dropped."""
    if not any("\u3131" <= ch <= "\u318e" for ch in text):
        return text
    return _JAMO_RUN.sub(lambda m: _compose_run(re.sub(r"\s+", "", m.group(0))), text)


def _compose_run(run: str) -> str:
    out: list[str] = []
    i, n = 0, len(run)
    while i < n:
        ch = run[i]
        if ch in _CHO_IDX and i + 1 < n and run[i + 1] in _JUNG_IDX:
            cho, jung = _CHO_IDX[ch], _JUNG_IDX[run[i + 1]]
            i += 2
            jong = 0
            # a final consonant, unless it starts the next syllable (followed by a vowel)
            if i < n and run[i] in _JONG_IDX and not (i + 1 < n and run[i + 1] in _JUNG_IDX):
                jong = _JONG_IDX[run[i]]
                i += 1
            out.append(chr(0xAC00 + (cho * 21 + jung) * 28 + jong))
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def normalize(text: str) -> str:
    """NFKC, no format characters, jamo recomposed, lower-case, runs of whitespace collapsed."""
    out = _FORMAT_CHARS.sub("", text)
    out = compose_jamo(out)  # before NFKC, which would turn compatibility jamo into conjoining ones
    out = unicodedata.normalize("NFKC", out)
    return " ".join(out.lower().split())


def compact(normalized: str) -> str:
    """Letters and digits only (spaced-out and punctuated words join up)."""
    return _NON_CONTENT.sub("", normalized)


def deleet(normalized: str) -> str:
    return _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), normalized)


def _printable(s: str) -> bool:
    if not s or len(s) < 4:
        return False
    good = sum(ch.isprintable() or ch in "\n\t" for ch in s)
    return good / len(s) > 0.95 and any(ch.isalpha() for ch in s)


def decode_payloads(text: str) -> list[tuple[str, str]]:
    """``(encoding, decoded)`` for every encoded run in ``text`` that decodes to readable text."""
    found: list[tuple[str, str]] = []
    for rx, name in ((_B64, "base64"), (_B64URL, "base64url")):
        for m in rx.finditer(text):
            raw = m.group(0)
            try:
                data = (base64.urlsafe_b64decode if name == "base64url" else base64.b64decode)(
                    raw + "=" * (-len(raw) % 4)
                )
                decoded = data.decode("utf-8")
            except (binascii.Error, ValueError, UnicodeDecodeError):
                continue
            if _printable(decoded):
                found.append((name, decoded))
    for m in _HEX.finditer(text):
        try:
            decoded = bytes.fromhex(re.sub(r"[\s:]", "", m.group(0))).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        if _printable(decoded):
            found.append(("hex", decoded))
    for m in _ESCAPES.finditer(text):
        s = m.group(0)
        try:
            if "%" in s:
                decoded = unquote(s)
            elif "&#" in s:
                import html

                decoded = html.unescape(s)
            else:
                decoded = codecs.decode(s, "unicode_escape")
                if "\\x" in s:
                    decoded = decoded.encode("latin-1").decode("utf-8")
        except (UnicodeDecodeError, UnicodeEncodeError, ValueError):
            continue
        if _printable(decoded):
            found.append(("escapes", decoded))
    return found


def rot13(text: str) -> str:
    return codecs.encode(text, "rot13")


@dataclass
class Views:
    """The forms of one input that rules and the classifier look at."""

    normalized: str
    compact: str
    variants: list[tuple[str, str]] = field(default_factory=list)  # (how, compact text)
    decoded: list[tuple[str, str]] = field(default_factory=list)  # (encoding, decoded raw text)


def views(text: str) -> Views:
    norm = normalize(text)
    v = Views(norm, compact(norm))
    leet = deleet(norm)
    if leet != norm:
        v.variants.append(("leetspeak", compact(leet)))
    if sum(ch.isascii() and ch.isalpha() for ch in norm) >= 12:
        v.variants.append(("rot13", compact(rot13(norm))))
    v.decoded = decode_payloads(text)
    return v
