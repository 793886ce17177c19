"""What every task shares: picking a backend and running a structured call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hanstack.errors import InvalidInputError
from hanstack.llm.structured import SchemaLike, StructuredResult, generate_structured
from hanstack.llm.types import ChatMessage, ModelBackend

if TYPE_CHECKING:
    from hanstack.config import Settings


def pick_backend(settings: Settings | None, model: str | None, backend: ModelBackend | None) -> ModelBackend:
    if backend is not None:
        return backend
    if settings is None:
        from hanstack.config import load_settings

        settings = load_settings()
    from hanstack.llm import get_backend

    return get_backend(settings, model)


def run_structured(
    system: str,
    user: str,
    schema: SchemaLike,
    *,
    settings: Settings | None,
    model: str | None,
    backend: ModelBackend | None,
    max_tokens: int,
    constrained: bool = True,
    escalate: bool = True,
    examples: Sequence[tuple[str, str]] = (),
) -> StructuredResult:
    if not user.strip():
        raise InvalidInputError("the input text is empty")
    be = pick_backend(settings, model, backend)
    msgs = [ChatMessage("system", system)]
    for q, a in examples:
        msgs += [ChatMessage("user", q), ChatMessage("assistant", a)]
    msgs.append(ChatMessage("user", user))
    return generate_structured(
        be, msgs, schema, settings=settings, constrained=constrained, escalate=escalate, max_tokens=max_tokens
    )


def fit_text(backend: ModelBackend, text: str, budget_tokens: int) -> tuple[str, bool]:
    """``text`` cut (at a character boundary) to at most ``budget_tokens`` of the model's tokenizer."""
    if budget_tokens <= 0:
        raise InvalidInputError(
            "the model's context window is too small for this task", hint="raise models.n_ctx"
        )
    if backend.count_tokens(text) <= budget_tokens:
        return text, False
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if backend.count_tokens(text[:mid]) <= budget_tokens:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo], True
