"""Consistent pseudonyms per conversation or tenant, reversible for authorised callers.

``vault.pseudonym("PERSON", "홍길동")`` is ``<PERSON_1>`` every time within that vault, and
``vault.restore(text)`` puts the originals back. Values are keyed on a normal form (digits only for
numbers, no spaces for names), so ``010-1234-5678`` and ``01012345678`` share one pseudonym. The vault
is the secret: keep it server-side (``to_json``/``from_json`` for storing it per conversation) and
never send it to a model.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from hanstack.errors import InvalidInputError
from hanstack.guard.pii import types as T

_TOKEN = re.compile(r"<([A-Z_]+)_(\d+)>")
_DIGIT_TYPES = frozenset({T.RRN, T.FRN, T.BRN, T.CRN, T.PHONE, T.CARD, T.BANK_ACCOUNT, T.DRIVER_LICENSE})


def _key(entity_type: str, value: str) -> str:
    if entity_type in _DIGIT_TYPES:
        digits = "".join(ch for ch in value if ch.isdigit())
        if entity_type == T.PHONE and digits.startswith("82") and value.lstrip().startswith("+"):
            digits = "0" + digits[2:]
        return digits or value
    if entity_type == T.EMAIL:
        return value.lower()
    return "".join(value.split())


class PseudonymVault:
    """Maps originals to ``<TYPE_n>`` tokens and back. Thread-safe; JSON-serialisable."""

    VERSION = 1

    def __init__(self, scope: str = "default") -> None:
        self.scope = scope
        self._forward: dict[str, dict[str, str]] = {}  # type -> normal form -> token
        self._reverse: dict[str, str] = {}  # token -> original (first seen surface form)
        self._counters: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._reverse)

    def __contains__(self, token: object) -> bool:
        return token in self._reverse

    def pseudonym(self, entity_type: str, original: str) -> str:
        key = _key(entity_type, original)
        with self._lock:
            by_type = self._forward.setdefault(entity_type, {})
            token = by_type.get(key)
            if token is None:
                n = self._counters.get(entity_type, 0) + 1
                self._counters[entity_type] = n
                token = f"<{entity_type}_{n}>"
                by_type[key] = token
                self._reverse[token] = original
            return token

    def original(self, token: str) -> str | None:
        return self._reverse.get(token)

    def restore(self, text: str) -> str:
        """Replace every known ``<TYPE_n>`` token in ``text`` by its original (unknown tokens stay)."""
        return _TOKEN.sub(lambda m: self._reverse.get(m.group(0), m.group(0)), text)

    def items(self) -> list[tuple[str, str]]:
        return list(self._reverse.items())

    # -- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "version": self.VERSION,
                "scope": self.scope,
                "entries": [
                    {"type": typ, "key": key, "token": token, "original": self._reverse[token]}
                    for typ, by_key in self._forward.items()
                    for key, token in by_key.items()
                ],
                "counters": dict(self._counters),
            }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PseudonymVault:
        if not isinstance(data, dict) or data.get("version") != cls.VERSION:
            raise InvalidInputError("not a pseudonym vault (missing or unknown 'version')")
        vault = cls(str(data.get("scope", "default")))
        try:
            for e in data["entries"]:
                vault._forward.setdefault(e["type"], {})[e["key"]] = e["token"]
                vault._reverse[e["token"]] = e["original"]
            vault._counters = {str(k): int(v) for k, v in data.get("counters", {}).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"malformed pseudonym vault: {exc}") from exc
        return vault

    @classmethod
    def from_json(cls, text: str) -> PseudonymVault:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"pseudonym vault is not JSON: {exc}") from exc
