"""The guard stages as the gateway sees them: one small interface, filled by :mod:`hanstack.guard`.

``inspect_input`` runs the PII engine (redaction per ``settings.guard.pii_action``; with
``pseudonymize`` the model sees ``<PHONE_1>``-style stand-ins and the caller gets the originals back
through ``restore``) and the injection detector (``settings.guard.injection_action``: ``block`` →
400, ``flag`` → recorded only, ``strip`` → the matched instructions are removed). ``inspect_output``
masks PII the model produced that the caller did not send, and withholds an output that leaks the
request's canary. :class:`NoGuard` is what runs when the guard package is not installed: every
request then records the decision ``guard: unavailable`` in the audit log, so this is visible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

Decision = dict[str, Any]


@dataclass
class InputVerdict:
    texts: list[str]
    decisions: list[Decision] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    """Raw PII values found (turned into keyed tags for the audit log, never stored raw)."""
    restore: Callable[[str], str] | None = None
    blocked: str | None = None
    """Why the request must be refused (None: go on)."""


@dataclass
class OutputVerdict:
    text: str
    decisions: list[Decision] = field(default_factory=list)
    withheld: bool = False


class GuardStage(Protocol):
    available: bool

    def inspect_input(self, texts: list[str], *, sources: list[str] | None = None) -> InputVerdict:
        """``sources[i]`` is ``user``, ``document`` or ``tool`` for ``texts[i]`` (default: all ``user``)."""
        ...

    def inspect_output(self, text: str, *, canary: str | None, known: set[str]) -> OutputVerdict: ...

    def make_canary(self) -> str | None: ...


class NoGuard:
    """Pass-through used when :mod:`hanstack.guard` is missing; says so in every audit record."""

    available = False

    def inspect_input(self, texts: list[str], *, sources: list[str] | None = None) -> InputVerdict:
        return InputVerdict(list(texts), [{"guard": "input", "decision": "unavailable"}])

    def inspect_output(self, text: str, *, canary: str | None, known: set[str]) -> OutputVerdict:
        if canary and canary in text:
            return OutputVerdict(WITHHELD_TEXT, [{"guard": "canary", "decision": "leak"}], withheld=True)
        return OutputVerdict(text)

    def make_canary(self) -> str | None:
        import secrets

        return f"hs-canary-{secrets.token_hex(6)}"


WITHHELD_TEXT = "[응답 보류: 보호된 지시문이 출력에 포함되어 응답을 차단했습니다]"


def build_guard(settings: Any) -> GuardStage:
    """The real guard stage when :mod:`hanstack.guard` is importable, else :class:`NoGuard`."""
    import importlib.util

    if any(
        importlib.util.find_spec(m) is None
        for m in ("hanstack.guard.pii", "hanstack.guard.injection", "hanstack.guard.canary")
    ):
        return NoGuard()
    from hanstack.server.guard_adapter import HanstackGuard

    return HanstackGuard(settings)
