"""The model layer: catalog, backends behind one protocol, structured output.

Typical use::

    from hanstack.llm import ChatMessage, get_backend
    backend = get_backend(settings, "small")          # tier, catalog name, endpoint, "extractive", "auto"
    result = backend.chat([ChatMessage("user", "안녕하세요")], max_tokens=64)
    for delta in backend.stream([ChatMessage("user", "한국의 수도는?")]):
        print(delta, end="")

``get_backend`` names: a tier (``tiny-test``, ``small``, ``large``), a catalog name
(``hanstack models list``), a model or endpoint registered in the workspace, an ``http(s)://``
base URL of an OpenAI-compatible server, ``extractive`` (no model), or ``auto`` (the default tier if
pulled, else the best pulled instruct tier, else extractive).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from hanstack.llm.catalog import (
    CATALOG,
    TIER_ORDER,
    TIERS,
    find_endpoint,
    find_entry,
    known_names,
    next_tier,
    pulled_tiers,
    require_local,
)
from hanstack.llm.extractive import EXTRACTIVE_LABEL, ExtractiveBackend
from hanstack.llm.types import (
    ChatMessage,
    ChatResult,
    ModelBackend,
    ModelInfo,
    Timings,
    ToolCall,
    as_messages,
)
from hanstack.llm.utf8 import Utf8StreamDecoder

if TYPE_CHECKING:
    from hanstack.config import Settings

__all__ = [
    "CATALOG",
    "EXTRACTIVE_LABEL",
    "TIERS",
    "TIER_ORDER",
    "ChatMessage",
    "ChatResult",
    "ExtractiveBackend",
    "ModelBackend",
    "ModelInfo",
    "Timings",
    "ToolCall",
    "Utf8StreamDecoder",
    "as_messages",
    "get_backend",
    "next_tier",
    "resolve_auto",
]

_BACKENDS: dict[tuple[str, ...], ModelBackend] = {}
_LOCK = threading.Lock()


def resolve_auto(settings: Settings) -> str:
    """What ``auto`` means on this machine: the default tier if pulled, else the best pulled instruct tier."""
    pulled = pulled_tiers(settings)
    default = settings.models.default_tier
    if default in pulled:
        return default
    for tier in reversed(TIER_ORDER):
        if tier in pulled and CATALOG[TIERS[tier]].instruct:
            return tier
    return "extractive"


def get_backend(settings: Settings, model: str | None = None) -> ModelBackend:
    """The backend for ``model`` (see the module docstring). Loaded llama.cpp models are cached per process.

    Raises ModelNotFoundError (unknown name, with the known ones), ModelUnavailableError (file not
    pulled, with the ``hanstack models pull`` hint) or HashMismatchError (file of the wrong size).
    A server that is down is reported (ModelUnavailableError naming the URL) on the first call.
    """
    name = model or settings.models.default_tier
    if name == "auto":
        name = resolve_auto(settings)
    if name == "extractive":
        return ExtractiveBackend()
    if name.startswith(("http://", "https://")):
        return _cached(("url", name), lambda: _openai(settings, name, base_url=name))
    endpoint = find_endpoint(name, settings)
    if endpoint is not None:
        return _cached(
            ("endpoint", str(settings.home), name, endpoint.base_url),
            lambda: _openai(
                settings,
                name,
                base_url=endpoint.base_url,
                model=endpoint.model,
                api_key_env=endpoint.api_key_env,
                context_length=endpoint.context_length,
                tier=endpoint.tier,
            ),
        )
    entry = find_entry(name, settings)
    path = require_local(entry, settings)
    n_ctx = min(settings.models.n_ctx, entry.context_length)

    def make() -> ModelBackend:
        from hanstack.llm.llamacpp import LlamaCppBackend

        return LlamaCppBackend(
            path,
            name=entry.name,
            tier=entry.tier,
            family=entry.family,
            n_ctx=n_ctx,
            n_threads=settings.models.n_threads,
            chat_format=entry.chat_format,
        )

    return _cached(("gguf", str(path), str(n_ctx), str(settings.models.n_threads)), make)


def _cached(key: tuple[str, ...], make: object) -> ModelBackend:
    with _LOCK:
        if key not in _BACKENDS:
            _BACKENDS[key] = make()  # type: ignore[operator]
        return _BACKENDS[key]


def _openai(
    settings: Settings,
    name: str,
    *,
    base_url: str,
    model: str | None = None,
    api_key_env: str | None = None,
    context_length: int = 4096,
    tier: str | None = None,
) -> ModelBackend:
    from hanstack.llm.openai_compat import OpenAICompatBackend

    api_key = os.environ.get(api_key_env) if api_key_env else None
    return OpenAICompatBackend(
        base_url,
        name=name,
        model=model,
        api_key=api_key,
        tier=tier,
        context_length=context_length,
        timeout_s=settings.server.request_timeout_s,
    )


def clear_backend_cache() -> None:
    with _LOCK:
        _BACKENDS.clear()


def list_known(settings: Settings | None = None) -> list[str]:
    return known_names(settings)
