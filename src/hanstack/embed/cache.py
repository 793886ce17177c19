"""A vector cache in front of any embedder (re-indexing and evaluation re-embed the same texts).

Keyed by the embedder's name, the kind (query/passage) and the text's sha256; optionally persisted
to one ``.npz`` file. The name stays the inner embedder's: cached vectors are the same space.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hanstack.embed.base import Embedder

log = logging.getLogger(__name__)


class CachingEmbedder:
    def __init__(self, inner: Embedder, path: Path | None = None) -> None:
        self.inner = inner
        self.path = path
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        if path is not None and path.exists():
            try:
                with np.load(path) as data:
                    self._vectors = {k: data[k] for k in data.files}
            except (OSError, ValueError) as exc:
                log.warning("ignoring unreadable embedding cache %s: %s", path, exc)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def __len__(self) -> int:
        return len(self._vectors)

    def _key(self, kind: str, text: str) -> str:
        return hashlib.sha256(f"{self.inner.name}\x1f{kind}\x1f{text}".encode()).hexdigest()[:32]

    def _embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        keys = [self._key(kind, t) for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self._vectors]
        if missing:
            fresh = [texts[i] for i in missing]
            out = self.inner.embed_queries(fresh) if kind == "q" else self.inner.embed_passages(fresh)
            for i, vec in zip(missing, out, strict=True):
                self._vectors[keys[i]] = vec
            self._dirty = True
        if not keys:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.vstack([self._vectors[k] for k in keys]).astype(np.float32, copy=False)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, "p")

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, "q")

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, **self._vectors)  # type: ignore[arg-type]
        tmp.replace(self.path)
        self._dirty = False
