"""What two questions must share, besides embedding similarity, to share a cached answer.

Embeddings put "환불이 되나요?" and "환불이 안 되나요?" next to each other (cosine > 0.95 with e5),
and "3일 이내" next to "5일 이내". A semantic cache that trusts similarity alone answers the
negated or re-numbered question with the other one's answer. :func:`question_signature` extracts
the parts that flip meaning — negation/polarity markers, numbers and named entities — and the
semantic cache requires them to be *equal* before it looks at similarity at all.

With an analyzer (Kiwi) negation comes from morphemes: 안/못 (MAG), 않/말 (VX), 없 (VA), 아니 (VCN),
plus 금지/불가/불가능 nouns; entities are proper nouns (NNP), foreign words (SL) and hanja (SH).
Without one, regular expressions over the surface text do the same job more coarsely.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

_NEG_FORMS_BY_TAG = {
    "MAG": {"안", "못", "아니", "전혀", "결코"},
    "VX": {"않", "못하", "말"},
    "VA": {"없"},
    "VCN": {"아니"},
    "NNG": {"금지", "불가", "불가능", "불허", "미만", "제외"},
    "XPN": {"비", "불", "미", "무"},
}
_NEG_RE = re.compile(
    r"(?:(?<![가-힣])(?:안|못)\s|않|없|아니|못하|말아|말고|말라|금지|불가|불허|미만|제외"
    r"|\bnot\b|\bno\b|\bnever\b|n't\b|\bcannot\b|\bwithout\b|\bexcept\b)",
    re.IGNORECASE,
)
_NUM_RE = re.compile(r"\d+(?:[.,]\d+)*")
_LATIN_RE = re.compile(r"[A-Za-z][A-Za-z0-9_\-]+")
_QUOTED_RE = re.compile(r"[\"'“”‘’「」『』]([^\"'“”‘’「」『』]{1,40})[\"'“”‘’「」『』]")
_KO_NUM_RE = re.compile(
    r"(?<![가-힣])(하나|둘|셋|넷|다섯|여섯|일곱|여덟|아홉|열|한|두|세|네)"
    r"(?=\s*(?:개|명|번|살|시간|시|장|권|대|마리|잔|병|가지|달|사람|곳|군데|통|건)|\s*$)"
)
_KO_NUMERALS = {
    "하나": "1",
    "한": "1",
    "둘": "2",
    "두": "2",
    "셋": "3",
    "세": "3",
    "넷": "4",
    "네": "4",
    "다섯": "5",
    "여섯": "6",
    "일곱": "7",
    "여덟": "8",
    "아홉": "9",
    "열": "10",
}


@dataclass(frozen=True, slots=True)
class QuestionSignature:
    negations: tuple[str, ...]
    numbers: tuple[str, ...]
    entities: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "negations": list(self.negations),
            "numbers": list(self.numbers),
            "entities": list(self.entities),
        }


def _norm_number(s: str) -> str:
    s = s.replace(",", "")
    return s.rstrip("0").rstrip(".") if "." in s else s.lstrip("0") or "0"


def question_signature(text: str, analyzer: Any | None = None) -> QuestionSignature:
    """Negation markers (with counts), numbers and entities of ``text``; see the module doc."""
    text = unicodedata.normalize("NFC", text)
    numbers = Counter(_norm_number(n) for n in _NUM_RE.findall(text))
    # Latin words count as entities when they look like names: an upper-case letter or a digit
    # (LG, GPT-4o, iPhone), so plain English function words do not fragment the cache.
    entities: set[str] = {m.casefold() for m in _LATIN_RE.findall(text) if not m.islower()} | {
        q.strip().casefold() for q in _QUOTED_RE.findall(text)
    }
    negations: Counter[str] = Counter()
    if analyzer is not None:
        for m in analyzer.analyze(text):
            tag = m.base_tag
            if m.form in _NEG_FORMS_BY_TAG.get(tag, ()):
                negations[f"{m.form}/{tag}"] += 1
            elif tag in ("NNP", "SH"):
                entities.add(m.form.casefold())
            elif tag in ("NR", "MM") and m.form in _KO_NUMERALS:
                numbers[_KO_NUMERALS[m.form]] += 1
        # English negation is not split by the Korean analyzer's tags
        for m in re.finditer(
            r"\bnot\b|\bno\b|\bnever\b|n't\b|\bcannot\b|\bwithout\b|\bexcept\b", text, re.IGNORECASE
        ):
            negations[m.group(0).casefold()] += 1
    else:
        for m in _NEG_RE.finditer(text):
            negations[m.group(0).strip().casefold()] += 1
        for m in _KO_NUM_RE.finditer(text):
            numbers[_KO_NUMERALS[m.group(1)]] += 1
    return QuestionSignature(
        negations=tuple(sorted(f"{k}×{v}" for k, v in negations.items())),
        numbers=tuple(sorted(f"{k}×{v}" for k, v in numbers.items())),
        entities=tuple(sorted(entities)),
    )
