"""Response caches, always scoped to one tenant: exact first, then semantic.

- :class:`ExactCache`: key = sha256 over (tenant, namespace, canonical request). Same bytes in,
  same answer out; an LRU with a TTL.
- :class:`SemanticCache`: for one-question requests (``/v1/ask``, single-turn chat at temperature
  0). An entry is reused only when the new question has the *same* negation markers, numbers and
  entities (:func:`hanstack.route.signature.question_signature`) **and** an embedding cosine at or
  above the threshold. Entries are grouped by (tenant, namespace, signature), so a lookup compares
  against a handful of vectors with one matrix product.

Tenant isolation is structural: the tenant is part of every key and every group, and no API lists
entries across tenants.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hanstack.route.signature import QuestionSignature, question_signature


@dataclass
class CacheHit:
    kind: str
    """``exact`` or ``semantic``."""
    value: dict[str, Any]
    similarity: float = 1.0


def request_key(tenant: str, namespace: str, payload: Any) -> str:
    blob = json.dumps([tenant, namespace, payload], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ExactCache:
    def __init__(self, *, max_entries: int = 10_000, ttl_s: float = 3600.0) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._data: OrderedDict[str, tuple[float, str, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant: str, namespace: str, payload: Any) -> CacheHit | None:
        key = request_key(tenant, namespace, payload)
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            if time.monotonic() - item[0] > self.ttl_s:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return CacheHit("exact", item[2])

    def put(self, tenant: str, namespace: str, payload: Any, value: dict[str, Any]) -> None:
        key = request_key(tenant, namespace, payload)
        with self._lock:
            self._data[key] = (time.monotonic(), tenant, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear_tenant(self, tenant: str) -> None:
        """Forget a tenant's entries (its documents changed, so cached answers may be stale)."""
        with self._lock:
            for key in [k for k, item in self._data.items() if item[1] == tenant]:
                del self._data[key]

    def __len__(self) -> int:
        return len(self._data)


@dataclass
class _Group:
    vectors: list[np.ndarray] = field(default_factory=list)
    values: list[dict[str, Any]] = field(default_factory=list)
    created: list[float] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)


Embed = Callable[[str], np.ndarray]


class SemanticCache:
    """Near-duplicate questions share an answer only when their signatures are equal (see module doc)."""

    def __init__(
        self,
        embed: Embed,
        *,
        threshold: float = 0.93,
        analyzer: Any | None = None,
        max_per_group: int = 256,
        ttl_s: float = 3600.0,
    ) -> None:
        self.embed = embed
        self.threshold = threshold
        self.analyzer = analyzer
        self.max_per_group = max_per_group
        self.ttl_s = ttl_s
        self._groups: dict[tuple[str, str, QuestionSignature], _Group] = {}
        self._lock = threading.Lock()

    def _vector(self, question: str) -> np.ndarray:
        v = np.asarray(self.embed(question), dtype=np.float32).ravel()
        n = float(np.linalg.norm(v))
        return v / n if n > 0 else v

    def get(self, tenant: str, namespace: str, question: str) -> CacheHit | None:
        sig = question_signature(question, self.analyzer)
        with self._lock:
            group = self._groups.get((tenant, namespace, sig))
            if group is None or not group.vectors:
                return None
            matrix = np.stack(group.vectors)
            created = list(group.created)
            values = list(group.values)
        sims = matrix @ self._vector(question)
        now = time.monotonic()
        order = np.argsort(-sims)
        for i in order:
            if sims[i] < self.threshold:
                break
            if now - created[i] <= self.ttl_s:
                return CacheHit("semantic", values[i], float(sims[i]))
        return None

    def clear_tenant(self, tenant: str) -> None:
        with self._lock:
            for key in [k for k in self._groups if k[0] == tenant]:
                del self._groups[key]

    def put(self, tenant: str, namespace: str, question: str, value: dict[str, Any]) -> None:
        sig = question_signature(question, self.analyzer)
        vec = self._vector(question)
        with self._lock:
            group = self._groups.setdefault((tenant, namespace, sig), _Group())
            group.vectors.append(vec)
            group.values.append(value)
            group.created.append(time.monotonic())
            group.questions.append(question)
            if len(group.vectors) > self.max_per_group:
                for lst in (group.vectors, group.values, group.created, group.questions):
                    del lst[0]
