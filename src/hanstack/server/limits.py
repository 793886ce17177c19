"""Request limits: body size (ASGI middleware, before any parsing) and requests per minute per key.

The rate limiter is a token bucket per API key: ``requests_per_minute`` tokens, refilled
continuously. A request that finds the bucket empty gets 429 with ``Retry-After`` (seconds until one
token is back). Limits are per process (the gateway runs one process; see notes/gateway.md).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from hanstack.errors import RateLimitError

Scope = dict[str, Any]


class BodySizeLimit:
    """Pure ASGI middleware: 413 for bodies above ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        seen = 0
        rejected = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen, rejected
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    rejected = True
                    raise _TooLarge
            return message

        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)
        except Exception:
            if rejected and not started:
                await self._reject(send)
            else:
                raise

    async def _reject(self, send: Any) -> None:
        body = json.dumps(
            {
                "error": {
                    "message": f"request body larger than {self.max_bytes} bytes",
                    "type": "request_too_large",
                    "param": None,
                    "code": "request_too_large",
                    "hint": "send less, or raise server.max_body_bytes",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class RateLimiter:
    """Token bucket per key; ``check`` raises :class:`RateLimitError` with the wait in seconds."""

    def __init__(self, requests_per_minute: int) -> None:
        self.capacity = float(requests_per_minute)
        self.rate = requests_per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise RateLimitError(
                    f"rate limit of {int(self.capacity)} requests per minute exceeded for this key",
                    retry_after_s=wait,
                    hint=f"retry after {wait:.1f} s",
                )
            self._buckets[key] = (tokens - 1.0, now)
