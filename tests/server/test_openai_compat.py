"""The official ``openai`` client against the gateway, unchanged: in process and over real HTTP."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.server.conftest import ThreadServer

openai = pytest.importorskip("openai", reason="the openai client is a dev dependency")

KOREAN = "대한민국 헌법 제1조: 대한민국은 민주공화국이다. 모든 권력은 국민으로부터 나온다."


def _client(app, key: str) -> openai.AsyncOpenAI:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    return openai.AsyncOpenAI(api_key=key, base_url="http://gateway/v1", http_client=http, max_retries=0)


def test_chat_round_trip_in_process(app, keys) -> None:
    async def run() -> None:
        c = _client(app, keys.acme_user)
        r = await c.chat.completions.create(model="echo", messages=[{"role": "user", "content": KOREAN}])
        assert r.choices[0].message.content == KOREAN
        assert r.usage is not None and r.usage.prompt_tokens > 0 and r.usage.completion_tokens == len(KOREAN)
        models = await c.models.list()
        assert "echo" in [m.id for m in models.data]

    asyncio.run(run())


def test_streaming_korean_in_process(app, keys) -> None:
    async def run() -> str:
        c = _client(app, keys.acme_user)
        stream = await c.chat.completions.create(
            model="echo",
            messages=[{"role": "user", "content": KOREAN}],
            stream=True,
            stream_options={"include_usage": True},
        )
        parts, usage = [], None
        async for chunk in stream:
            if chunk.usage:
                usage = chunk.usage
            for ch in chunk.choices:
                if ch.delta.content:
                    parts.append(ch.delta.content)
        assert usage is not None and usage.completion_tokens == len(KOREAN)
        return "".join(parts)

    text = asyncio.run(run())
    assert text == KOREAN and "\ufffd" not in text


def test_streaming_korean_over_real_http(app, keys) -> None:
    """A real uvicorn: SSE framing, chunking and UTF-8 over a socket."""
    with ThreadServer(app) as srv:
        c = openai.OpenAI(api_key=keys.acme_user, base_url=srv.url + "/v1", max_retries=0)
        stream = c.chat.completions.create(
            model="echo", messages=[{"role": "user", "content": KOREAN * 3}], stream=True
        )
        deltas = [ch.choices[0].delta.content for ch in stream if ch.choices and ch.choices[0].delta.content]
        assert len(deltas) > 1  # really streamed in pieces
        assert "".join(deltas) == KOREAN * 3 and all("\ufffd" not in d for d in deltas)
        # the raw bytes too: every SSE line is valid UTF-8 JSON
        with httpx.stream(
            "POST",
            srv.url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {keys.acme_user}"},
            json={"model": "echo", "messages": [{"role": "user", "content": KOREAN}], "stream": True},
        ) as resp:
            lines = [ln for ln in resp.iter_lines() if ln.startswith("data: ") and ln != "data: [DONE]"]
        assert all(json.loads(ln[6:])["object"] == "chat.completion.chunk" for ln in lines)


def test_tools_and_response_format(app, keys) -> None:
    async def run() -> None:
        c = _client(app, keys.acme_user)
        tools = [
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "description": "조회",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                },
            }
        ]
        r = await c.chat.completions.create(
            model="echo", messages=[{"role": "user", "content": "요금 조회 !tool"}], tools=tools
        )
        call = r.choices[0].message.tool_calls[0]
        assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "lookup"
        assert json.loads(call.function.arguments)["q"] == "요금 조회 !tool"
        r = await c.chat.completions.create(
            model="echo",
            messages=[{"role": "user", "content": "안녕"}],
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": "e",
                    "schema": {"type": "object", "properties": {"echo": {"type": "string"}}},
                },
            },
        )
        assert json.loads(r.choices[0].message.content) == {"echo": "안녕"}
        # tools with stream=true are answered as one SSE replay
        stream = await c.chat.completions.create(
            model="echo", messages=[{"role": "user", "content": "!tool"}], tools=tools, stream=True
        )
        chunks = [ch async for ch in stream]
        assert chunks[0].choices[0].delta.tool_calls[0].function.name == "lookup"

    asyncio.run(run())


def test_openapi_spec_lists_every_route(client) -> None:
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    for p in (
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/models",
        "/v1/ask",
        "/v1/tasks/{name}",
        "/v1/tokenize",
        "/v1/documents",
        "/v1/documents/{doc_id}",
        "/v1/usage",
        "/v1/audit",
        "/v1/audit/verify",
    ):
        assert p in paths, p
    body = spec["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert body["$ref"].endswith("ChatCompletionRequest")


def test_in_process_backend_through_worker_threads(app, keys) -> None:
    """A non-HTTP backend (the extractive one) takes the threaded path, streaming included."""

    async def run() -> tuple[str, str]:
        c = _client(app, keys.acme_user)
        msgs = [
            {"role": "system", "content": "대한민국의 수도는 서울이다. 부산은 항구 도시이다."},
            {"role": "user", "content": "대한민국의 수도는 어디인가?"},
        ]
        r = await c.chat.completions.create(model="extractive", messages=msgs)
        stream = await c.chat.completions.create(model="extractive", messages=msgs, stream=True)
        parts = [
            ch.choices[0].delta.content async for ch in stream if ch.choices and ch.choices[0].delta.content
        ]
        return r.choices[0].message.content, "".join(parts)

    whole, streamed = asyncio.run(run())
    assert "서울" in whole and whole == streamed


def test_repeated_stream_is_served_from_the_cache_and_audited(app, keys) -> None:
    from hanstack.audit.export import iter_export

    async def once() -> str:
        c = _client(app, keys.acme_user)
        stream = await c.chat.completions.create(
            model="echo", messages=[{"role": "user", "content": KOREAN}], stream=True
        )
        return "".join(
            [ch.choices[0].delta.content async for ch in stream if ch.choices and ch.choices[0].delta.content]
        )

    assert asyncio.run(once()) == asyncio.run(once()) == KOREAN
    recs = [
        r
        for r in iter_export(app.state.gateway.audit.directory)
        if r["meta"]["route"] == "/v1/chat/completions"
    ]
    assert [r["meta"]["cache"] for r in recs[-2:]] == [None, "exact"]
    assert recs[-1]["content"]["response"]["text"] == KOREAN
