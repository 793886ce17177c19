"""OpenAI-compatible routes: ``/v1/chat/completions`` (SSE streaming, tools, response_format),
``/v1/embeddings`` and ``/v1/models``. The official ``openai`` client works against them unchanged."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse, StreamingResponse

from hanstack.auth import Principal
from hanstack.errors import InvalidInputError
from hanstack.server import services
from hanstack.server.deps import gateway, principal
from hanstack.server.pipeline import Job, ModelOutput
from hanstack.server.schemas import ChatCompletionRequest, EmbeddingsRequest
from hanstack.server.state import Gateway

router = APIRouter(prefix="/v1", tags=["openai"])

DEFAULT_MAX_TOKENS = 512


def _json_schema(req: ChatCompletionRequest) -> dict[str, Any] | None:
    rf = req.response_format
    if rf is None or rf.type == "text":
        return None
    if rf.type == "json_object":
        return {"type": "object"}
    if rf.json_schema is None or not rf.json_schema.schema_:
        raise InvalidInputError(
            "response_format json_schema needs a 'schema'",
            hint='{"type": "json_schema", "json_schema": {"name": ..., "schema": {...}}}',
        )
    return rf.json_schema.schema_


def _token_budget(gw: Gateway, backend: Any, texts: list[str], requested: int | None) -> int:
    """Tokens per request: prompt + completion must fit ``server.max_tokens_per_request``.

    The prompt is counted with the backend's tokenizer in process and estimated for remote
    backends (an exact count there would cost a round trip; the backend reports real usage after).
    Returns the completion budget: ``requested``, or the default capped to what is left.
    """
    limit = gw.settings.server.max_tokens_per_request
    if requested is not None and requested > limit:
        raise InvalidInputError(
            f"max_tokens {requested} is above this server's limit of {limit} tokens per request",
            hint="ask for fewer tokens",
        )
    prompt = sum(backend.count_tokens(t) for t in texts if t)
    max_tokens = requested if requested is not None else min(DEFAULT_MAX_TOKENS, limit - prompt)
    if max_tokens < 1 or prompt + max_tokens > limit:
        raise InvalidInputError(
            f"request needs {prompt} prompt + {max(max_tokens, 1)} completion tokens, above the limit of {limit} per request",
            hint="shorten the messages or lower max_tokens",
        )
    return max_tokens


@router.post("/chat/completions", summary="Chat completion (OpenAI-compatible; stream=true for SSE)")
async def chat_completions(
    req: ChatCompletionRequest,
    response: Response,
    who: Principal = Depends(principal),
    gw: Gateway = Depends(gateway),
) -> Any:
    from hanstack.llm import ChatMessage, ToolCall

    p = gw.pipeline
    runner = gw.backends.cached_runner(req.model) or await p.setup_in_thread(gw.backends.runner, req.model, p)
    texts = [m.text() for m in req.messages]
    max_tokens = _token_budget(gw, runner, texts, req.max_completion_tokens or req.max_tokens)
    schema = _json_schema(req)
    tools = [t.model_dump(mode="json") for t in req.tools] if req.tools else None
    stop = [req.stop] if isinstance(req.stop, str) else req.stop
    temperature = 0.0 if req.temperature is None else req.temperature
    canary = p.guard.make_canary() if p.guard.available else None
    canary_note = getattr(p.guard, "canary_instruction", lambda c: f"[{c}]")

    def messages(guarded: list[str]) -> list[Any]:
        out = []
        for m, text in zip(req.messages, guarded, strict=True):
            role = "system" if m.role == "developer" else m.role
            calls = tuple(
                ToolCall(
                    tc.id,
                    tc.function.name,
                    tc.function.arguments
                    if isinstance(tc.function.arguments, str)
                    else json.dumps(tc.function.arguments, ensure_ascii=False),
                )
                for tc in m.tool_calls or ()
            )
            out.append(ChatMessage(role, text, name=m.name, tool_call_id=m.tool_call_id, tool_calls=calls))
        if canary:
            note = canary_note(canary)
            if out and out[0].role == "system":
                out[0] = ChatMessage("system", out[0].content + "\n" + note)
            else:
                out.insert(0, ChatMessage("system", note))
        return out

    params = {
        "max_tokens": max_tokens,
        "temperature": temperature,
        "stop": stop,
        "schema": schema,
        "tools": tools,
        "roles": [m.role for m in req.messages],
        "stream": req.stream,
    }
    request_id = "req-" + secrets.token_hex(8)
    cid, created = "chatcmpl-" + request_id[4:], int(time.time())
    response.headers["x-request-id"] = request_id
    streaming = req.stream and not tools

    # what a pass-through endpoint receives: the caller's own body with the budgeted max_tokens
    upstream_body = req.model_dump(
        mode="json", by_alias=True, exclude_none=True, exclude={"max_completion_tokens", "n"}
    )
    upstream_body["max_tokens"] = max_tokens
    model_kw = {"max_tokens": max_tokens, "temperature": temperature, "stop": stop, "json_schema": schema}

    async def call(guarded: list[str]) -> ModelOutput:
        result = await runner.achat(messages(guarded), upstream_body, tools=tools, **model_kw)

        def build(out_texts: list[str]) -> dict[str, Any]:
            message: dict[str, Any] = {"role": "assistant", "content": out_texts[0]}
            finish = result.finish_reason
            if result.tool_calls:
                message["tool_calls"] = [tc.to_openai() for tc in result.tool_calls]
                message["content"] = out_texts[0] or None
                finish = "tool_calls"
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": req.model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                "usage": {
                    "prompt_tokens": result.prompt_tokens,
                    "completion_tokens": result.completion_tokens,
                    "total_tokens": result.prompt_tokens + result.completion_tokens,
                },
            }

        return ModelOutput([result.text], build, req.model, result.prompt_tokens, result.completion_tokens)

    sources = ["tool" if m.role == "tool" else "user" for m in req.messages]
    job = Job(
        "chat",
        req.model,
        texts,
        call,
        params=params,
        user=req.user,
        canary=canary,
        sources=sources,
        request_id=request_id,
    )
    if not req.stream:
        body, ex = await p.run(who, "/v1/chat/completions", job)
        if ex.withheld:
            body["choices"][0]["finish_reason"] = "content_filter"
        if ex.cache:
            body = {**body, "id": cid, "created": created}
        # already plain JSON types: skip FastAPI's jsonable_encoder walk on the hot path
        return JSONResponse(body, headers={"x-request-id": request_id})
    if not streaming:  # tools with stream=true: run once, send the result as SSE chunks
        body, ex = await p.run(who, "/v1/chat/completions", job)
        return StreamingResponse(
            _replay(body, include_usage=_wants_usage(req)),
            media_type="text/event-stream",
            headers={"x-request-id": request_id},
        )

    ex, guarded, cached = await p.prepare_stream(who, "/v1/chat/completions", job)
    include_usage = _wants_usage(req)

    def chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> str:
        body: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": req.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        if usage is not None:
            body["choices"] = []
            body["usage"] = usage
        return "data: " + json.dumps(body, ensure_ascii=False) + "\n\n"

    async def events() -> AsyncIterator[str]:
        from hanstack.llm import ChatResult

        yield chunk({"role": "assistant", "content": ""})
        if cached is not None:
            text = cached["stream_text"]
            await p.finish_cached_stream(ex, job, guarded, text)
            yield chunk({"content": ex.restore(text) if ex.restore else text})
            yield chunk({}, "stop")
            if include_usage:
                pt, ct = cached["usage"]
                yield chunk({}, usage={"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct})
            yield "data: [DONE]\n\n"
            return
        result = ChatResult(text="")
        deltas = runner.astream(messages(guarded), upstream_body, result, **model_kw)

        def usage_of(full: str) -> tuple[int, int, str]:
            return result.prompt_tokens, result.completion_tokens, req.model

        finish = "stop"
        async for text, fin in p.stream(ex, job, guarded, deltas, usage_of):
            if fin is not None:
                finish = fin if fin != "stop" else (result.finish_reason or "stop")
                break
            yield chunk({"content": text})
        yield chunk({}, finish)
        if include_usage:
            pt, ct = result.prompt_tokens, result.completion_tokens
            yield chunk({}, usage={"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct})
        yield "data: [DONE]\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "x-request-id": request_id},
    )


def _wants_usage(req: ChatCompletionRequest) -> bool:
    return bool(req.stream_options and req.stream_options.include_usage)


async def _replay(body: dict[str, Any], *, include_usage: bool) -> AsyncIterator[str]:
    choice = body["choices"][0]
    base = {
        "id": body["id"],
        "object": "chat.completion.chunk",
        "created": body["created"],
        "model": body["model"],
    }
    delta = dict(choice["message"])
    if delta.get("tool_calls"):
        delta["tool_calls"] = [{"index": i, **tc} for i, tc in enumerate(delta["tool_calls"])]
    yield (
        "data: "
        + json.dumps(
            {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}, ensure_ascii=False
        )
        + "\n\n"
    )
    yield (
        "data: "
        + json.dumps(
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}]}
        )
        + "\n\n"
    )
    if include_usage:
        yield "data: " + json.dumps({**base, "choices": [], "usage": body["usage"]}) + "\n\n"
    yield "data: [DONE]\n\n"


@router.post("/embeddings", summary="Embeddings (OpenAI-compatible; float or base64)")
async def embeddings(
    req: EmbeddingsRequest, who: Principal = Depends(principal), gw: Gateway = Depends(gateway)
) -> Any:
    texts = [req.input] if isinstance(req.input, str) else list(req.input)
    if not texts or any(not isinstance(t, str) for t in texts):
        raise InvalidInputError("input must be a non-empty string or list of strings")
    if len(texts) > 2048:
        raise InvalidInputError(f"at most 2048 inputs per request (got {len(texts)})")
    p = gw.pipeline

    async def call(inputs: list[str]) -> ModelOutput:
        vectors, tokens = await p.in_thread(services.embed_texts, gw, req.model, inputs)
        if req.dimensions is not None:
            if req.dimensions > vectors.shape[1]:
                raise InvalidInputError(
                    f"dimensions {req.dimensions} is above the model's {vectors.shape[1]}"
                )
            vectors = vectors[:, : req.dimensions]
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

        def build(_: list[str]) -> dict[str, Any]:
            data = []
            for i, v in enumerate(vectors):
                emb: Any = (
                    base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode()
                    if req.encoding_format == "base64"
                    else [float(x) for x in v]
                )
                data.append({"object": "embedding", "index": i, "embedding": emb})
            return {
                "object": "list",
                "data": data,
                "model": req.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }

        return ModelOutput([], build, req.model, tokens, 0)

    # Embeddings are not guarded (redacting would change the vectors) and their content is not
    # recorded beyond what record_content allows; they are audited like every request.
    job = Job(
        "embeddings",
        req.model,
        texts,
        call,
        params={"dimensions": req.dimensions, "format": req.encoding_format},
        guard_input=False,
        guard_output=False,
        user=req.user,
    )
    body, _ = await p.run(who, "/v1/embeddings", job)
    return body


@router.get("/models", summary="Models this gateway can serve")
async def list_models(who: Principal = Depends(principal), gw: Gateway = Depends(gateway)) -> dict[str, Any]:
    names = gw.backends.list_models() + services.embedding_models(gw)
    return {
        "object": "list",
        "data": [
            {"id": n, "object": "model", "created": 0, "owned_by": "hanstack"} for n in dict.fromkeys(names)
        ],
    }


@router.get("/models/{model_id}", summary="One model")
async def get_model(
    model_id: str, who: Principal = Depends(principal), gw: Gateway = Depends(gateway)
) -> dict[str, Any]:
    from hanstack.errors import NotFoundError

    if model_id not in gw.backends.list_models() + services.embedding_models(gw):
        raise NotFoundError(f"model {model_id!r} not found", hint="GET /v1/models lists them")
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "hanstack"}
