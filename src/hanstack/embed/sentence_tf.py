"""sentence-transformers models (bge-m3, Korean retrievers ...) for users with a model hub.

Not installed here and never imported until used: building the embedder is free, the first call
loads the model and raises :class:`MissingDependencyError` naming the package when it is absent.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from hanstack.embed.base import normalise_rows
from hanstack.errors import EmbedderError, MissingDependencyError


class SentenceTransformerEmbedder:
    def __init__(
        self, model: str, *, query_prefix: str = "", passage_prefix: str = "", device: str | None = None
    ):
        if not model:
            raise EmbedderError(
                "st:<model> needs a model name or path", hint="e.g. embedder = 'st:BAAI/bge-m3'"
            )
        self._model_name = model
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._device = device
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"st:{self._model_name}"

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise MissingDependencyError(
                        "sentence-transformers", "retrieval", f"The embedder st:{self._model_name}"
                    ) from exc
                try:
                    self._model = SentenceTransformer(self._model_name, device=self._device)
                except (OSError, ValueError) as exc:
                    raise EmbedderError(
                        f"cannot load sentence-transformers model {self._model_name!r}: {exc}"
                    ) from exc
            return self._model

    @property
    def dim(self) -> int:
        return int(self._load().get_sentence_embedding_dimension())

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        out = self._load().encode(
            [prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True
        )
        return normalise_rows(out, source=self.name)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prefix)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._query_prefix)
