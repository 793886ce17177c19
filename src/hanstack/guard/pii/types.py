"""Data types shared by the PII recognizers, the engine and the redaction actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Entity type names (stable strings: they appear in placeholders, JSON output and policies).
RRN = "RRN"  # 주민등록번호
FRN = "FRN"  # 외국인등록번호
BRN = "BRN"  # 사업자등록번호
CRN = "CRN"  # 법인등록번호
PASSPORT = "PASSPORT"
DRIVER_LICENSE = "DRIVER_LICENSE"
PHONE = "PHONE"
CARD = "CARD"
BANK_ACCOUNT = "BANK_ACCOUNT"
EMAIL = "EMAIL"
IP_ADDRESS = "IP_ADDRESS"
VEHICLE_PLATE = "VEHICLE_PLATE"
ADDRESS = "ADDRESS"
PERSON = "PERSON"
API_KEY = "API_KEY"

STRUCTURED_TYPES: tuple[str, ...] = (
    RRN,
    FRN,
    BRN,
    CRN,
    PASSPORT,
    DRIVER_LICENSE,
    PHONE,
    CARD,
    BANK_ACCOUNT,
    EMAIL,
    IP_ADDRESS,
    VEHICLE_PLATE,
    API_KEY,
)
ALL_TYPES: tuple[str, ...] = (*STRUCTURED_TYPES, ADDRESS, PERSON)

# Korean labels, used by the ``placeholder`` action when ``korean_labels`` is on and by the CLI.
KOREAN_LABELS: dict[str, str] = {
    RRN: "주민등록번호",
    FRN: "외국인등록번호",
    BRN: "사업자등록번호",
    CRN: "법인등록번호",
    PASSPORT: "여권번호",
    DRIVER_LICENSE: "운전면허번호",
    PHONE: "전화번호",
    CARD: "카드번호",
    BANK_ACCOUNT: "계좌번호",
    EMAIL: "이메일",
    IP_ADDRESS: "IP주소",
    VEHICLE_PLATE: "차량번호",
    ADDRESS: "주소",
    PERSON: "이름",
    API_KEY: "API키",
}

Action = Literal["mask", "placeholder", "pseudonymize", "block", "keep"]


@dataclass(frozen=True, slots=True)
class PiiEntity:
    """One detection: ``text[start:end]`` is a ``type`` with confidence ``score`` in [0, 1].

    ``reasons`` lists what moved the score (pattern, checksum, context words), so a reviewer can see
    why something was or was not flagged.
    """

    type: str
    start: int
    end: int
    text: str
    score: float
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "score": round(self.score, 3),
            "reasons": list(self.reasons),
        }


@dataclass(slots=True)
class Candidate:
    """A recognizer's raw match before context scoring, suppression and overlap resolution."""

    type: str
    start: int
    end: int
    score: float
    reasons: list[str] = field(default_factory=list)
    context_words: tuple[str, ...] = ()
    negative_words: tuple[str, ...] = ()
    context_boost: float = 0.3
    negative_penalty: float = 0.4


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """Redacted ``text``; ``entities`` refer to offsets in the *original* text.

    ``mapping`` maps each replacement string to the original it replaced (only for pseudonymised and
    placeholder entities; keep it server-side, it is the secret). ``blocked`` is true when an entity
    whose action is ``block`` was found (the text is then still redacted, and the caller decides).
    """

    text: str
    entities: tuple[PiiEntity, ...]
    mapping: dict[str, str]
    blocked: bool = False
    blocked_types: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "entities": [e.to_dict() for e in self.entities],
            "blocked": self.blocked,
            "blocked_types": list(self.blocked_types),
        }
