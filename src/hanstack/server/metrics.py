"""Prometheus metrics named after the OpenTelemetry GenAI and HTTP semantic conventions.

OTel name → Prometheus name (dots become underscores, the unit becomes a suffix):

- ``gen_ai.client.token.usage`` → ``gen_ai_client_token_usage`` (histogram; ``gen_ai_token_type``
  = ``input`` | ``output``): tokens the gateway sent to / got from a model backend.
- ``gen_ai.client.operation.duration`` → ``gen_ai_client_operation_duration_seconds``: model calls.
- ``gen_ai.server.request.duration`` → ``gen_ai_server_request_duration_seconds``: whole GenAI
  requests as the gateway serves them (guards, cache, model, audit).
- ``gen_ai.server.time_to_first_token`` → ``gen_ai_server_time_to_first_token_seconds`` (streams).
- ``http.server.request.duration`` → ``http_server_request_duration_seconds``: every HTTP request.

Where no convention exists the names are ``hanstack_*``: requests, cost, cache lookups, guard
decisions, rate-limit rejections, audit records. No label carries a tenant, key, prompt or PII
(tenants' usage is visible only to themselves through ``/v1/usage``).
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
DURATION_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)

GENAI = ("gen_ai_operation_name", "gen_ai_request_model")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.token_usage = Histogram(
            "gen_ai_client_token_usage",
            "Tokens used per model call (OTel gen_ai.client.token.usage)",
            [*GENAI, "gen_ai_token_type"],
            buckets=TOKEN_BUCKETS,
            registry=r,
        )
        self.operation_duration = Histogram(
            "gen_ai_client_operation_duration_seconds",
            "Model call duration (OTel gen_ai.client.operation.duration)",
            [*GENAI, "error_type"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.server_duration = Histogram(
            "gen_ai_server_request_duration_seconds",
            "GenAI request duration at the gateway (OTel gen_ai.server.request.duration)",
            [*GENAI, "error_type"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "gen_ai_server_time_to_first_token_seconds",
            "Time to first streamed token (OTel gen_ai.server.time_to_first_token)",
            list(GENAI),
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.http_duration = Histogram(
            "http_server_request_duration_seconds",
            "HTTP request duration (OTel http.server.request.duration)",
            ["http_request_method", "http_route", "http_response_status_code"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "hanstack_requests", "Requests by route and status", ["route", "status"], registry=r
        )
        self.cost = Counter(
            "hanstack_cost_usd",
            "Cost of model usage in USD (price table)",
            ["gen_ai_request_model"],
            registry=r,
        )
        self.tokens = Counter(
            "hanstack_tokens", "Tokens by type", ["gen_ai_request_model", "gen_ai_token_type"], registry=r
        )
        self.cache = Counter("hanstack_cache_lookups", "Cache lookups", ["cache", "result"], registry=r)
        self.guard = Counter("hanstack_guard_decisions", "Guard decisions", ["guard", "decision"], registry=r)
        self.rate_limited = Counter(
            "hanstack_rate_limited", "Requests refused by the rate limiter", registry=r
        )
        self.audit_records = Counter("hanstack_audit_records", "Audit records written", ["kind"], registry=r)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class HttpMetrics:
    """Pure ASGI middleware timing every HTTP request by route template (not by raw path)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from hanstack.server.pipeline import REQUEST_START

        start = time.perf_counter()
        REQUEST_START.set(start)
        status = 500

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.http_duration.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - start
            )
