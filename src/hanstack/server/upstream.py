"""How the chat route reaches a model: one async interface over two kinds of backend.

- :class:`Passthrough` — for OpenAI-compatible endpoints (vLLM, SGLang, llama.cpp server, Ollama,
  a registered endpoint). The caller already speaks OpenAI, so the gateway forwards the caller's
  own request body (messages replaced by their guarded form, ``model`` by the endpoint's model id)
  over a pooled async HTTP connection, and reads the answer back; no translation, no worker thread.
  This is the gateway's hot path.
- :class:`Threaded` — any other :class:`~hanstack.llm.ModelBackend` (in-process llama.cpp,
  extractive): its blocking ``chat``/``stream`` run in worker threads.

Both return :class:`~hanstack.llm.ChatResult` from ``achat`` and text deltas from ``astream``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from hanstack.errors import InvalidInputError, ModelError, ModelUnavailableError
from hanstack.llm import ChatResult, Timings, ToolCall


class Threaded:
    def __init__(
        self, backend: Any, run: Callable[..., Any], iterate: Callable[..., AsyncIterator[str]]
    ) -> None:
        self.backend = backend
        self.info = backend.info
        self._run = run
        self._iterate = iterate

    def count_tokens(self, text: str) -> int:
        return int(self.backend.count_tokens(text))

    async def achat(self, messages: list[Any], body: dict[str, Any], **kw: Any) -> ChatResult:
        return await self._run(lambda: self.backend.chat(messages, **kw))  # type: ignore[no-any-return]

    def astream(
        self, messages: list[Any], body: dict[str, Any], result: ChatResult, **kw: Any
    ) -> AsyncIterator[str]:
        kw.pop("tools", None)

        def make() -> Iterator[str]:
            return self.backend.stream(messages, result=result, **kw)  # type: ignore[no-any-return]

        return self._iterate(make)

    async def aclose(self) -> None:
        return None


class Passthrough:
    def __init__(self, backend: Any, *, api_key: str | None, timeout_s: float) -> None:
        self.info = backend.info
        self.base_url = str(backend.info.base_url).rstrip("/")
        self.model = getattr(backend, "model", None) or backend.info.name
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=5.0),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )

    @staticmethod
    def count_tokens(text: str) -> int:
        """An estimate: an exact count would cost a round trip; the endpoint reports real usage after."""
        from hanstack.llm.openai_compat import estimate_tokens

        return int(estimate_tokens(text))

    def _body(self, messages: list[Any], body: dict[str, Any], *, stream: bool) -> dict[str, Any]:
        out = {
            k: v
            for k, v in body.items()
            if k not in ("messages", "model", "stream", "stream_options", "user")
        }
        out["model"] = self.model
        out["messages"] = [m.to_openai() for m in messages]
        out["stream"] = stream
        if stream:
            out["stream_options"] = {"include_usage": True}
        return out

    def _error(self, exc: httpx.HTTPError) -> ModelError:
        if isinstance(exc, httpx.TimeoutException):
            return ModelUnavailableError(
                f"model server at {self.base_url} timed out", hint="raise server.request_timeout_s"
            )
        return ModelUnavailableError(
            f"model server at {self.base_url} is not reachable ({type(exc).__name__})",
            hint="start the server or fix the endpoint URL (hanstack models register --endpoint)",
        )

    async def _check(self, resp: httpx.Response) -> None:
        if resp.status_code < 400:
            return
        detail = (await resp.aread()).decode("utf-8", "replace")[:500]
        if resp.status_code in (401, 403):
            raise ModelError(
                f"{self.base_url} refused the gateway's credentials ({resp.status_code})",
                hint="check the API key",
            )
        if resp.status_code >= 500 or resp.status_code == 404:
            raise ModelUnavailableError(f"{self.base_url} answered {resp.status_code}: {detail}")
        raise InvalidInputError(f"the model server rejected the request ({resp.status_code}): {detail}")

    async def achat(self, messages: list[Any], body: dict[str, Any], **kw: Any) -> ChatResult:
        t0 = time.perf_counter()
        try:
            resp = await self._client.post("/chat/completions", json=self._body(messages, body, stream=False))
            await self._check(resp)
            data = resp.json()
        except httpx.HTTPError as exc:
            raise self._error(exc) from exc
        except ValueError as exc:
            raise ModelError(f"{self.base_url} sent a reply that is not JSON") from exc
        try:
            choice = data["choices"][0]
            msg = choice.get("message") or {}
        except (KeyError, IndexError, TypeError) as exc:
            raise ModelError(f"{self.base_url} sent a reply without choices") from exc
        usage = data.get("usage") or {}
        calls = [ToolCall.from_openai(tc) for tc in msg.get("tool_calls") or ()]
        return ChatResult(
            text=msg.get("content") or "",
            finish_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            tool_calls=calls,
            model=str(data.get("model") or self.model),
            timings=Timings(total_s=time.perf_counter() - t0),
        )

    async def astream(
        self, messages: list[Any], body: dict[str, Any], result: ChatResult, **kw: Any
    ) -> AsyncIterator[str]:
        """Text deltas of the upstream's SSE stream; usage and finish reason land in ``result``.

        Lines are split on raw bytes and each JSON event decoded whole, so a chunk boundary inside
        a Hangul syllable cannot produce U+FFFD.
        """
        t0 = time.perf_counter()
        try:
            async with self._client.stream(
                "POST", "/chat/completions", json=self._body(messages, body, stream=True)
            ) as resp:
                await self._check(resp)
                buf = b""
                async for raw in resp.aiter_bytes():
                    buf += raw
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        line = line.strip()
                        if not line.startswith(b"data:"):
                            continue
                        payload = line[5:].strip()
                        if payload == b"[DONE]":
                            return
                        try:
                            event = json.loads(payload)
                        except ValueError:
                            continue
                        if event.get("usage"):
                            result.prompt_tokens = int(event["usage"].get("prompt_tokens") or 0)
                            result.completion_tokens = int(event["usage"].get("completion_tokens") or 0)
                        for choice in event.get("choices") or ():
                            if choice.get("finish_reason"):
                                result.finish_reason = choice["finish_reason"]
                            text = (choice.get("delta") or {}).get("content") or ""
                            if text:
                                if result.timings.ttft_s is None:
                                    result.timings.ttft_s = time.perf_counter() - t0
                                yield text
        except httpx.HTTPError as exc:
            raise self._error(exc) from exc

    async def aclose(self) -> None:
        await self._client.aclose()


def api_key_for(settings: Any, name: str) -> str | None:
    """The endpoint's API key from the environment variable its registration names (never stored)."""
    try:
        from hanstack.llm.catalog import find_endpoint
    except ImportError:
        return None
    entry = find_endpoint(name, settings)
    env = getattr(entry, "api_key_env", None)
    return os.environ.get(env) if env else None
