"""The Embedder protocol: text in, L2-normalised float32 vectors out.

Retrieval models such as e5 embed queries and passages differently (``query: `` / ``passage: ``
prefixes), so the protocol has one method for each. ``name`` identifies the vector space: an index
remembers the name and dimension it was built with and refuses vectors from another embedder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from hanstack.errors import EmbedderError


@runtime_checkable
class Embedder(Protocol):
    """A text embedder. Vectors are float32, shape ``(n, dim)``, unit length (cosine = dot)."""

    @property
    def name(self) -> str:
        """Identity of the vector space (model and variant), persisted with an index."""
        ...

    @property
    def dim(self) -> int: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


def normalise_rows(vectors: np.ndarray, *, source: str) -> np.ndarray:
    """Float32, 2-D, unit-length rows; a zero or non-finite row is an embedder bug, not data."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise EmbedderError(f"{source} returned an array of shape {arr.shape}, expected (n, dim)")
    if not np.isfinite(arr).all():
        raise EmbedderError(f"{source} returned NaN or infinite values")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    if (norms == 0).any():
        raise EmbedderError(f"{source} returned a zero vector", hint="check the input texts are not empty")
    return arr / norms
