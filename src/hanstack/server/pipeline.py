"""The request pipeline of ``../shared/DESIGN.md``, in one place.

Every model-facing route builds a :class:`Job` (what to guard, how to call the model, how to cache)
and hands it to :meth:`Pipeline.run` or :meth:`Pipeline.run_stream`. The order is fixed here:

    input guard → cache (exact, then semantic) → model call (with timeout) → output guard
    → cache store (redacted) → restore pseudonyms for the caller → usage and cost → audit → response

The audit record is written (and, per its durability mode, made durable) *before* the response
leaves, so an acknowledged request is always in the log; refused and failed requests are audited
too, with their status and guard decisions. Routes that need no model (tokenize, documents) call
:meth:`Pipeline.record` for the audit step alone.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import anyio

from hanstack.audit import AuditLog
from hanstack.auth import Principal
from hanstack.errors import GuardBlockedError, HanstackError, ModelError
from hanstack.route import ExactCache, PriceTable, SemanticCache, Usage, UsageLedger
from hanstack.server.guards import WITHHELD_TEXT, GuardStage, InputVerdict
from hanstack.server.metrics import Metrics

log = logging.getLogger(__name__)


REQUEST_START: ContextVar[float | None] = ContextVar("hanstack_request_start", default=None)
"""Set by the HTTP middleware when a request arrives: audit latencies count from there."""


def _request_start() -> float:
    return REQUEST_START.get() or time.perf_counter()


class UpstreamTimeoutError(ModelError):
    http_status = 504
    code = "timeout"


@dataclass
class ModelOutput:
    """What a job's model stage returns: the texts the output guard sees and how to build the body."""

    texts: list[str]
    build: Callable[[list[str]], dict[str, Any]]
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Job:
    operation: str
    """``gen_ai.operation.name``: chat, embeddings, ask, triage, extract, classify, summarize."""
    model: str
    inputs: list[str]
    call: Callable[[list[str]], Awaitable[ModelOutput]]
    params: dict[str, Any] = field(default_factory=dict)
    """Non-text request fields: part of the cache key and of the audit record."""
    cacheable: bool = True
    question: str | None = None
    """Set for one-question requests: enables the semantic cache (on the redacted question)."""
    guard_input: bool = True
    guard_output: bool = True
    sources: list[str] | None = None
    """Per input: ``user``, ``document`` or ``tool`` (what the injection check assumes); default user."""
    user: str | None = None
    canary: str | None = None
    """A secret marker the route put into the system prompt; an output containing it is withheld."""
    request_id: str = field(default_factory=lambda: "req-" + secrets.token_hex(8))
    """Also the audit record's ``request_id``; routes derive response ids from it."""


@dataclass
class Exchange:
    principal: Principal
    route: str
    operation: str
    model: str
    request_id: str = field(default_factory=lambda: "req-" + secrets.token_hex(8))
    started: float = field(default_factory=_request_start)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    cache: str | None = None
    usage: Usage = field(default_factory=Usage)
    status: int = 200
    error: str | None = None
    withheld: bool = False
    canary: str | None = None
    restore: Callable[[str], str] | None = None
    request_content: Any = None
    response_content: Any = None


def deep_map(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: deep_map(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_map(v, fn) for v in value]
    return value


class Pipeline:
    def __init__(
        self,
        *,
        guard: GuardStage,
        audit: AuditLog | None,
        metrics: Metrics,
        prices: PriceTable,
        ledger: UsageLedger,
        exact_cache: ExactCache | None,
        semantic_cache: SemanticCache | None,
        record_content: str = "redacted",
        timeout_s: float = 120.0,
        max_threads: int = 64,
    ) -> None:
        self.guard = guard
        self.audit = audit
        self.metrics = metrics
        self.prices = prices
        self.ledger = ledger
        self.exact_cache = exact_cache
        self.semantic_cache = semantic_cache
        self.record_content = record_content
        self.timeout_s = timeout_s
        self.limiter = anyio.CapacityLimiter(max_threads)

    # --- helpers for jobs -------------------------------------------------------------------------
    async def in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run blocking library code (model backends, ingestion) off the event loop, with the timeout."""
        try:
            with anyio.fail_after(self.timeout_s):
                return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter, abandon_on_cancel=True)
        except TimeoutError as exc:
            raise UpstreamTimeoutError(
                f"timed out: the model did not answer within {self.timeout_s:g} s",
                hint="raise server.request_timeout_s or use a smaller model",
            ) from exc

    async def setup_in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Blocking set-up work (resolving or loading a backend, opening stores): no request deadline."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)

    async def iterate_in_thread(self, make_iter: Callable[[], Iterator[str]]) -> AsyncIterator[str]:
        """Consume a blocking iterator (a backend's ``stream``) from a worker thread, item by item."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def worker() -> None:
            try:
                for item in make_iter():
                    if stop.is_set():
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, ("item", item))
                loop.call_soon_threadsafe(queue.put_nowait, ("end", None))
            except BaseException as exc:  # handed to the consumer, which re-raises it
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))

        task = asyncio.ensure_future(
            anyio.to_thread.run_sync(worker, limiter=self.limiter, abandon_on_cancel=True)
        )
        deadline = loop.time() + self.timeout_s
        try:
            while True:
                remaining = deadline - loop.time()
                try:
                    kind, value = await asyncio.wait_for(queue.get(), max(remaining, 0.001))
                except TimeoutError as exc:
                    raise UpstreamTimeoutError(
                        f"timed out: the model stream did not finish within {self.timeout_s:g} s"
                    ) from exc
                if kind == "item":
                    yield value
                elif kind == "end":
                    return
                else:
                    raise value
        finally:
            stop.set()
            if task.done():
                task.result()

    def forget_tenant(self, tenant: str) -> None:
        """Drop a tenant's cached responses (called when its documents change)."""
        for cache in (self.exact_cache, self.semantic_cache):
            if cache is not None:
                cache.clear_tenant(tenant)

    # --- stages -------------------------------------------------------------------------------
    def _guard_input(self, ex: Exchange, job: Job) -> list[str]:
        if not job.guard_input:
            return list(job.inputs)
        verdict: InputVerdict = self.guard.inspect_input(list(job.inputs), sources=job.sources)
        ex.decisions.extend(verdict.decisions)
        ex.subjects.extend(verdict.subjects)
        ex.restore = verdict.restore
        for d in verdict.decisions:
            self.metrics.guard.labels(d.get("guard", "?"), d.get("decision", "?")).inc()
        if verdict.blocked:
            raise GuardBlockedError(
                verdict.blocked, hint="remove the flagged content, or ask an admin to change guard settings"
            )
        return verdict.texts

    def _cache_get(self, ex: Exchange, job: Job, texts: list[str]) -> dict[str, Any] | None:
        if not job.cacheable:
            return None
        tenant = ex.principal.tenant
        ns = f"{job.operation}:{job.model}"
        if self.exact_cache is not None:
            hit = self.exact_cache.get(tenant, ns, {"inputs": texts, "params": job.params})
            self.metrics.cache.labels("exact", "hit" if hit else "miss").inc()
            if hit:
                ex.cache = "exact"
                return hit.value
        if self.semantic_cache is not None and job.question is not None and texts:
            hit = self.semantic_cache.get(tenant, f"{ns}:{_params_key(job.params)}", texts[0])
            self.metrics.cache.labels("semantic", "hit" if hit else "miss").inc()
            if hit:
                ex.cache = "semantic"
                ex.decisions.append(
                    {"guard": "cache", "decision": "semantic_hit", "similarity": round(hit.similarity, 4)}
                )
                return hit.value
        return None

    def _cache_put(self, ex: Exchange, job: Job, texts: list[str], payload: dict[str, Any]) -> None:
        if not job.cacheable or ex.withheld:
            return
        tenant = ex.principal.tenant
        ns = f"{job.operation}:{job.model}"
        if self.exact_cache is not None:
            self.exact_cache.put(tenant, ns, {"inputs": texts, "params": job.params}, payload)
        if self.semantic_cache is not None and job.question is not None and texts:
            self.semantic_cache.put(tenant, f"{ns}:{_params_key(job.params)}", texts[0], payload)

    def _guard_output(self, ex: Exchange, job: Job, texts: list[str], inputs: list[str]) -> list[str]:
        if not job.guard_output:
            return texts
        out = []
        known = set(inputs)
        for text in texts:
            verdict = self.guard.inspect_output(text, canary=ex.canary, known=known)
            ex.decisions.extend(verdict.decisions)
            for d in verdict.decisions:
                self.metrics.guard.labels(d.get("guard", "?"), d.get("decision", "?")).inc()
            ex.withheld = ex.withheld or verdict.withheld
            out.append(verdict.text)
        return out

    def _account(self, ex: Exchange, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        ex.usage = self.prices.usage(model, prompt_tokens, completion_tokens)
        labels = (ex.operation, model)
        self.metrics.token_usage.labels(*labels, "input").observe(prompt_tokens)
        self.metrics.token_usage.labels(*labels, "output").observe(completion_tokens)
        self.metrics.tokens.labels(model, "input").inc(prompt_tokens)
        self.metrics.tokens.labels(model, "output").inc(completion_tokens)
        self.metrics.cost.labels(model).inc(ex.usage.cost_usd)

    def _content(self, ex: Exchange, job: Job | None, guarded: list[str] | None, response: Any) -> None:
        if self.record_content == "none":
            ex.request_content, ex.response_content = None, None
            return
        inputs = (job.inputs if self.record_content == "full" else guarded) if job else None
        ex.request_content = {"inputs": inputs, "params": job.params if job else None}
        ex.response_content = response

    async def finish(self, ex: Exchange) -> None:
        """The audit step and the end-of-request metrics (also for refused and failed requests)."""
        latency = time.perf_counter() - ex.started
        if ex.status < 400:
            self.ledger.add(ex.principal.tenant, ex.usage, cache_hit=ex.cache is not None)
        self.metrics.requests.labels(ex.route, str(ex.status)).inc()
        self.metrics.server_duration.labels(ex.operation, ex.model, ex.error or "").observe(latency)
        if self.audit is None:
            return
        meta = {
            "request_id": ex.request_id,
            "route": ex.route,
            "operation": ex.operation,
            "tenant": ex.principal.tenant,
            "key_id": ex.principal.key_id,
            "model": ex.model,
            "status": ex.status,
            "error": ex.error,
            "cache": ex.cache,
            "usage": ex.usage.to_dict(),
            "guards": ex.decisions,
            "latency_ms": round(latency * 1000, 3),
            "subjects": sorted({self.audit.tag(s) for s in ex.subjects}),
        }
        content = None
        if self.record_content != "none":
            content = {"request": ex.request_content, "response": ex.response_content}
        await asyncio.shield(self.audit.append_async("request", meta, content))
        self.metrics.audit_records.labels("request").inc()

    async def record(
        self,
        principal: Principal,
        route: str,
        operation: str,
        *,
        request: Any,
        response: Any,
        status: int = 200,
        model: str = "-",
    ) -> None:
        """Audit a request that involves no model (tokenize, documents, audit reads)."""
        ex = Exchange(principal, route, operation, model, status=status)
        if self.record_content != "none":
            ex.request_content, ex.response_content = request, response
        await self.finish(ex)

    # --- the whole flow -------------------------------------------------------------------------
    def _begin(self, principal: Principal, route: str, job: Job) -> Exchange:
        ex = Exchange(
            principal, route, job.operation, job.model, request_id=job.request_id, canary=job.canary
        )
        if job.user:
            ex.subjects.append(job.user)
        return ex

    def _fail(self, ex: Exchange, exc: BaseException) -> None:
        if isinstance(exc, HanstackError):
            ex.status, ex.error = exc.http_status, exc.code
        elif isinstance(exc, asyncio.CancelledError | GeneratorExit):
            ex.status, ex.error = 499, "client_closed"
        else:
            ex.status, ex.error = 500, type(exc).__name__

    async def run(self, principal: Principal, route: str, job: Job) -> tuple[dict[str, Any], Exchange]:
        ex = self._begin(principal, route, job)
        guarded: list[str] | None = None
        try:
            guarded = self._guard_input(ex, job)
            cached = self._cache_get(ex, job, guarded)
            if cached is not None:
                payload = cached
            else:
                t0 = time.perf_counter()
                error_type = ""
                try:
                    output = await job.call(guarded)
                except HanstackError as exc:
                    error_type = exc.code
                    raise
                finally:
                    self.metrics.operation_duration.labels(job.operation, job.model, error_type).observe(
                        time.perf_counter() - t0
                    )
                texts = self._guard_output(ex, job, output.texts, guarded)
                payload = output.build(texts)
                self._cache_put(ex, job, guarded, payload)
                self._account(ex, output.model or job.model, output.prompt_tokens, output.completion_tokens)
            self._content(ex, job, guarded, payload)
            final = deep_map(payload, ex.restore) if ex.restore else payload
            return final, ex
        except BaseException as exc:
            self._fail(ex, exc)
            self._content(ex, job, guarded, None)
            raise
        finally:
            await self.finish(ex)

    async def prepare_stream(
        self, principal: Principal, route: str, job: Job
    ) -> tuple[Exchange, list[str], dict[str, Any] | None]:
        """Input guard and cache lookup *before* the response starts, so refusals are plain 4xx."""
        ex = self._begin(principal, route, job)
        try:
            guarded = self._guard_input(ex, job)
            return ex, guarded, self._cache_get(ex, job, guarded)
        except BaseException as exc:
            self._fail(ex, exc)
            self._content(ex, job, None, None)
            await self.finish(ex)
            raise

    async def stream(
        self,
        ex: Exchange,
        job: Job,
        guarded: list[str],
        deltas: AsyncIterator[str],
        usage: Callable[[str], tuple[int, int, str]],
    ) -> AsyncIterator[tuple[str, str | None]]:
        """Output-guarded text pieces of a model stream: yields (text, None) then ("", finish_reason).

        Text is released at sentence or line boundaries, holding back enough characters that a
        canary or a PII value cannot be cut in two by the release point; every released segment
        goes through the output guard and pseudonym restore. ``usage(full_text)`` returns
        (prompt tokens, completion tokens, model) once the stream has ended; the audit record is
        written before the final item.
        """
        hold = max(len(ex.canary or ""), 40)
        buf = ""
        produced: list[str] = []
        finish_reason = "stop"
        t0 = time.perf_counter()
        first = True
        try:
            async for delta in deltas:
                buf += delta
                cut = _release_point(buf, hold)
                if cut <= 0:
                    continue
                seg, buf = buf[:cut], buf[cut:]
                text = self._guard_output(ex, job, [seg], guarded)[0] if job.guard_output else seg
                produced.append(text)
                if ex.withheld:
                    finish_reason = "content_filter"
                    break
                if first:
                    self.metrics.ttft.labels(job.operation, job.model).observe(
                        time.perf_counter() - ex.started
                    )
                    first = False
                yield (ex.restore(text) if ex.restore else text), None
            if buf and not ex.withheld:
                text = self._guard_output(ex, job, [buf], guarded)[0] if job.guard_output else buf
                produced.append(text)
                if ex.withheld:
                    finish_reason = "content_filter"
                else:
                    yield (ex.restore(text) if ex.restore else text), None
            if ex.withheld:
                yield "\n" + WITHHELD_TEXT, None
            self.metrics.operation_duration.labels(job.operation, job.model, "").observe(
                time.perf_counter() - t0
            )
            full = "".join(produced)
            prompt_tokens, completion_tokens, model = usage(full)
            self._account(ex, model or job.model, prompt_tokens, completion_tokens)
            self._content(ex, job, guarded, {"text": full, "finish_reason": finish_reason})
            if not ex.withheld:
                self._cache_put(
                    ex, job, guarded, {"stream_text": full, "usage": [prompt_tokens, completion_tokens]}
                )
        except BaseException as exc:
            self._fail(ex, exc)
            self._content(ex, job, guarded, {"text": "".join(produced), "partial": True})
            raise
        finally:
            aclose = getattr(deltas, "aclose", None)
            if aclose is not None:  # stop the model stream (and free its connection) when we stop early
                await aclose()
            await self.finish(ex)
        yield "", finish_reason

    async def finish_cached_stream(self, ex: Exchange, job: Job, guarded: list[str], text: str) -> None:
        """Audit a stream answered from the cache (no model call, no cost)."""
        self._content(ex, job, guarded, {"text": text, "finish_reason": "stop"})
        await self.finish(ex)


_BOUNDARY = "\n.!?。…"


def _release_point(buf: str, hold: int) -> int:
    """How much of ``buf`` may be released: up to the last boundary at least ``hold`` chars from the end."""
    limit = len(buf) - hold
    if limit <= 0:
        return 0
    for i in range(limit - 1, -1, -1):
        if buf[i] in _BOUNDARY:
            return i + 1
    if limit > 4 * hold:  # a long run without a sentence end: fall back to a space
        space = buf.rfind(" ", 0, limit)
        return space + 1 if space > 0 else limit
    return 0


def _params_key(params: dict[str, Any]) -> str:
    import json

    return json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)
