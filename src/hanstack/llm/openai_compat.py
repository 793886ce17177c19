"""OpenAI-compatible HTTP backend (httpx): vLLM, SGLang, llama.cpp server, llama-cpp-python, Ollama.

Structured output goes through each server's own mechanism. The OpenAI form
``response_format={"type": "json_schema", "json_schema": {...}}`` is understood by OpenAI, vLLM,
SGLang, the llama.cpp server and Ollama; llama-cpp-python's server wants
``{"type": "json_object", "schema": {...}}`` instead and answers 422 to the OpenAI form. With
``structured="auto"`` (the default) the backend sends the OpenAI form and, on a 400/422 that
names ``response_format``, retries once with the other form and remembers what worked.

String constants (``enum``/``const``) holding ``"`` or ``\\`` are sent as plain strings
(:func:`server_safe_schema`): llama-cpp-python's server writes them into an unparsable grammar and
its process dies on the request (the in-process backend escapes them itself). The reply is still
validated against the caller's schema, so the constraint is checked after decoding instead of during it.

Streaming parses server-sent events; deltas are ``str`` built from the raw bytes with an
incremental UTF-8 decoder, so a chunk boundary inside a Hangul syllable cannot produce U+FFFD.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import httpx

from hanstack.errors import InvalidInputError, ModelError, ModelUnavailableError
from hanstack.llm.types import ChatMessage, ChatResult, ModelInfo, Timings, ToolCall
from hanstack.llm.utf8 import REPLACEMENT

StructuredMode = Literal["auto", "json_schema", "json_object"]


_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})


def _unsafe_constant(value: Any) -> bool:
    return isinstance(value, str) and ('"' in value or "\\" in value)


def server_safe_schema(schema: Any) -> Any:
    """``schema`` with every ``enum``/``const`` that holds a string with ``"`` or ``\\`` dropped.

    llama-cpp-python's schema converter (which ``python -m llama_cpp.server`` uses) escapes ``"``
    but not ``\\`` inside grammar literals, so such a constant — a quoted title in a source
    sentence offered as a quote — ends its literal early; llama.cpp fails to parse the grammar and
    the server process crashes (SIGSEGV on a NULL sampler; seen with llama-cpp-python 0.3.x). The
    node keeps its other keywords (``type: string``), so the decoder still writes a string; the
    caller validates the value against its own schema afterwards. Pure; the input is not modified.
    """
    if isinstance(schema, list):
        return [server_safe_schema(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        k: {name: server_safe_schema(sub) for name, sub in v.items()}
        if k in _SCHEMA_MAPS and isinstance(v, dict)  # property names are not keywords
        else server_safe_schema(v)
        for k, v in schema.items()
        if k not in ("enum", "const")
    }
    enum = schema.get("enum")
    if isinstance(enum, list) and not any(_unsafe_constant(v) for v in enum):
        out["enum"] = enum
    elif isinstance(enum, list) and "type" not in out and all(isinstance(v, str) for v in enum):
        out["type"] = "string"
    if "const" in schema:
        if not _unsafe_constant(schema["const"]):
            out["const"] = schema["const"]
        elif "type" not in out:
            out["type"] = "string"
    return out


class OpenAICompatBackend:
    """Chat completions against ``base_url`` (which ends in ``/v1``)."""

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        model: str | None = None,
        api_key: str | None = None,
        tier: str | None = None,
        context_length: int = 4096,
        timeout_s: float = 120.0,
        structured: StructuredMode = "auto",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.structured: StructuredMode = structured
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=5.0),
            transport=transport,
        )
        self._exact_tokens: bool | None = None
        self.info = ModelInfo(
            name=name, kind="openai", tier=tier, context_length=context_length, base_url=self.base_url
        )

    def close(self) -> None:
        self._client.close()

    # --- HTTP helpers -----------------------------------------------------------------------
    def _payload(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None,
        json_schema: dict[str, Any] | None,
        tools: list[dict[str, Any]] | None,
        stream: bool,
        mode: str,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model or self.info.name,
            "messages": [m.to_openai() for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": stream,
        }
        if stop:
            body["stop"] = list(stop)
        if tools:
            body["tools"] = tools
        if json_schema is not None:
            json_schema = server_safe_schema(json_schema)
            if mode == "json_object":
                body["response_format"] = {"type": "json_object", "schema": json_schema}
            else:
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": str(json_schema.get("title") or "output"),
                        "schema": json_schema,
                        "strict": True,
                    },
                }
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def _modes(self, json_schema: dict[str, Any] | None) -> list[str]:
        if json_schema is None or self.structured != "auto":
            return [self.structured if self.structured != "auto" else "json_schema"]
        return ["json_schema", "json_object"]

    def _error(self, exc: Exception) -> ModelError:
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return ModelUnavailableError(
                f"model server at {self.base_url} is not reachable ({type(exc).__name__})",
                hint="start the server or fix the endpoint URL (hanstack models register --endpoint)",
            )
        if isinstance(exc, httpx.TimeoutException):
            return ModelUnavailableError(
                f"model server at {self.base_url} timed out",
                hint="raise the timeout or check the server load",
            )
        return ModelError(f"request to {self.base_url} failed: {exc}")

    def _check(self, resp: httpx.Response, *, format_retry: bool = False) -> None:
        if resp.status_code < 400:
            return
        try:
            detail = resp.read().decode("utf-8", "replace")[:500]
        except httpx.HTTPError:
            detail = ""
        # llama-cpp-python answers its validation error on response_format with a 500
        if format_retry and resp.status_code in (400, 422, 500) and "response_format" in detail:
            raise _FormatRejectedError(detail)
        if resp.status_code in (401, 403):
            raise ModelError(
                f"{self.base_url} refused the credentials ({resp.status_code})", hint="check the API key"
            )
        if resp.status_code == 404:
            raise ModelUnavailableError(f"{self.base_url}: model {self.model!r} or route not found: {detail}")
        if resp.status_code >= 500:
            raise ModelUnavailableError(f"{self.base_url} answered {resp.status_code}: {detail}")
        raise InvalidInputError(f"{self.base_url} rejected the request ({resp.status_code}): {detail}")

    # --- chat ---------------------------------------------------------------------------------
    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        json_schema: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> ChatResult:
        modes = self._modes(json_schema)
        for i, mode in enumerate(modes):
            body = self._payload(
                messages,
                max_tokens=max_tokens,
                temperature=temperature,
                stop=stop,
                json_schema=json_schema,
                tools=tools,
                stream=False,
                mode=mode,
            )
            t0 = time.perf_counter()
            try:
                resp = self._client.post("/chat/completions", json=body)
                self._check(resp, format_retry=i + 1 < len(modes))
            except httpx.HTTPError as exc:
                raise self._error(exc) from exc
            except _FormatRejectedError:
                continue
            if json_schema is not None and self.structured == "auto":
                self.structured = mode  # type: ignore[assignment]
            return self._result(resp.json(), time.perf_counter() - t0)
        raise AssertionError("unreachable")

    def _result(self, data: dict[str, Any], elapsed: float) -> ChatResult:
        try:
            choice = data["choices"][0]
            msg = choice.get("message") or {}
        except (KeyError, IndexError, TypeError) as exc:
            raise ModelError(f"{self.base_url} sent an answer without choices: {str(data)[:300]}") from exc
        usage = data.get("usage") or {}
        calls = [ToolCall.from_openai(tc) for tc in msg.get("tool_calls") or []]
        n = int(usage.get("completion_tokens") or 0)
        return ChatResult(
            text=msg.get("content") or "",
            finish_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=n,
            tool_calls=calls,
            model=str(data.get("model") or self.model or self.info.name),
            timings=Timings(total_s=elapsed, tokens_per_s=n / elapsed if n and elapsed else None),
        )

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        json_schema: dict[str, Any] | None = None,
        result: ChatResult | None = None,
    ) -> Iterator[str]:
        result = result if result is not None else ChatResult(text="")
        modes = self._modes(json_schema)
        for i, mode in enumerate(modes):
            body = self._payload(
                messages,
                max_tokens=max_tokens,
                temperature=temperature,
                stop=stop,
                json_schema=json_schema,
                tools=None,
                stream=True,
                mode=mode,
            )
            t0 = time.perf_counter()
            try:
                with self._client.stream("POST", "/chat/completions", json=body) as resp:
                    self._check(resp, format_retry=i + 1 < len(modes))
                    yield from self._sse(resp, result, t0)
                    return
            except httpx.HTTPError as exc:
                raise self._error(exc) from exc
            except _FormatRejectedError:
                continue

    def _sse(self, resp: httpx.Response, result: ChatResult, t0: float) -> Iterator[str]:
        parts: list[str] = []
        buf = b""
        n_chunks = 0
        result.model = self.model or self.info.name
        for raw in resp.iter_bytes():
            buf += raw
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    break
                try:
                    data = json.loads(payload.decode("utf-8", "ignore"))
                except ValueError:
                    continue
                if data.get("usage"):
                    result.prompt_tokens = int(data["usage"].get("prompt_tokens") or 0)
                    result.completion_tokens = int(data["usage"].get("completion_tokens") or 0)
                for choice in data.get("choices") or []:
                    delta = (choice.get("delta") or {}).get("content") or ""
                    if choice.get("finish_reason"):
                        result.finish_reason = choice["finish_reason"]
                    # Lines are split on raw bytes before decoding, so our side never cuts a character;
                    # a server that cut one itself sent U+FFFD, which is dropped rather than passed on.
                    text = delta.replace(REPLACEMENT, "")
                    if text:
                        if result.timings.ttft_s is None:
                            result.timings.ttft_s = time.perf_counter() - t0
                        n_chunks += 1
                        parts.append(text)
                        yield text
        result.text = "".join(parts)
        result.timings.total_s = time.perf_counter() - t0
        n = result.completion_tokens or n_chunks
        if result.timings.ttft_s is not None and n > 1 and result.timings.total_s > result.timings.ttft_s:
            result.timings.tokens_per_s = (n - 1) / (result.timings.total_s - result.timings.ttft_s)

    # --- tokens -------------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Exact count from the server's tokenizer route when it has one, else an estimate."""
        root = self.base_url[:-3] if self.base_url.endswith("/v1") else self.base_url
        attempts = [
            (f"{root}/extras/tokenize", {"input": text}, "tokens"),  # llama-cpp-python
            (f"{root}/tokenize", {"content": text}, "tokens"),  # llama.cpp server
            (f"{root}/tokenize", {"prompt": text, "model": self.model}, "tokens"),  # vLLM, SGLang
        ]
        if self._exact_tokens is not False:
            for url, body, key in attempts:
                try:
                    resp = self._client.post(url, json=body)
                except httpx.HTTPError as exc:
                    raise self._error(exc) from exc
                if resp.status_code == 200 and isinstance(resp.json().get(key), list):
                    self._exact_tokens = True
                    return len(resp.json()[key])
            self._exact_tokens = False
            self.info = ModelInfo(**{**_info_dict(self.info), "exact_tokenizer": False})
        return estimate_tokens(text)


class _FormatRejectedError(InvalidInputError):
    """The server does not take this ``response_format`` form; the other one is tried."""


def _info_dict(info: ModelInfo) -> dict[str, Any]:
    return {f: getattr(info, f) for f in info.__dataclass_fields__}


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (~1 token per Hangul syllable, ~4 chars per Latin token)."""
    hangul = sum(1 for c in text if "\uac00" <= c <= "\ud7a3")
    other = len(text) - hangul
    return hangul + (other + 3) // 4
