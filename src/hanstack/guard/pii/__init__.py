"""Korean PII detection and redaction.

>>> engine = PiiEngine(PiiConfig(names="rules"))
>>> [e.type for e in engine.scan("연락처 010-1234-5678")]
['PHONE']
>>> vault = PseudonymVault("conv-1")
>>> engine.redact("홍길동 고객님 010-1234-5678", "pseudonymize", vault).text
'<PERSON_1> 고객님 <PHONE_1>'
"""

from __future__ import annotations

from collections.abc import Mapping

from hanstack.guard.pii.actions import ACTIONS, apply_actions, mask_value, placeholder, resolve_actions
from hanstack.guard.pii.engine import PiiConfig, resolve_overlaps
from hanstack.guard.pii.engine import PiiEngine as _BaseEngine
from hanstack.guard.pii.types import (
    ALL_TYPES,
    KOREAN_LABELS,
    STRUCTURED_TYPES,
    Action,
    PiiEntity,
    RedactionResult,
)
from hanstack.guard.pii.vault import PseudonymVault


class PiiEngine(_BaseEngine):
    """:class:`~hanstack.guard.pii.engine.PiiEngine` plus :meth:`redact`."""

    def redact(
        self,
        text: str,
        actions: Action | str | Mapping[str, str] | None = "pseudonymize",
        vault: PseudonymVault | None = None,
        *,
        korean_labels: bool = False,
    ) -> RedactionResult:
        """Scan and rewrite ``text``; ``actions`` is one action or a per-type mapping (``"*"``: default)."""
        return apply_actions(text, self.scan(text), actions, vault, korean_labels=korean_labels)


__all__ = [
    "ACTIONS",
    "ALL_TYPES",
    "KOREAN_LABELS",
    "STRUCTURED_TYPES",
    "Action",
    "PiiConfig",
    "PiiEngine",
    "PiiEntity",
    "PseudonymVault",
    "RedactionResult",
    "apply_actions",
    "mask_value",
    "placeholder",
    "resolve_actions",
    "resolve_overlaps",
]
