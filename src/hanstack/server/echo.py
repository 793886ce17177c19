"""A tiny OpenAI-compatible *echo* model server (pure ASGI): the fixed, fast backend for the
gateway benchmark and for tests that need a real HTTP model endpoint.

It answers ``/v1/chat/completions`` with the last user message (streamed two characters per SSE
event when ``stream`` is set, so Korean arrives in many pieces), reports usage (one token per
character, plus 3 per message), sleeps 2 s on ``!slow``, returns a tool call when the message contains ``!tool`` and tools
were given, a JSON object under ``response_format``, and — to simulate a model leaking its
instructions — every message verbatim when the user message contains ``!dump``.

    python -m hanstack.server.echo --port 9100
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

MODEL = "echo"


def _reply(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]], int]:
    messages = body.get("messages") or []
    users = [m for m in messages if m.get("role") == "user"]
    last = users[-1].get("content", "") if users else ""
    if isinstance(last, list):
        last = "".join(p.get("text", "") for p in last if isinstance(p, dict))
    prompt_tokens = sum(len(str(m.get("content") or "")) + 3 for m in messages)
    calls: list[dict[str, Any]] = []
    if "!dump" in last:
        text = "\n".join(str(m.get("content") or "") for m in messages)
    elif "!tool" in last and body.get("tools"):
        name = body["tools"][0]["function"]["name"]
        calls = [
            {
                "id": "call_echo_1",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps({"q": last}, ensure_ascii=False)},
            }
        ]
        text = ""
    elif body.get("response_format"):
        text = json.dumps({"echo": last}, ensure_ascii=False)
    else:
        text = last
    return text, calls, prompt_tokens


async def _read(receive: Any) -> bytes:
    chunks = []
    while True:
        msg = await receive()
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body"):
            return b"".join(chunks)


async def _send_json(send: Any, status: int, obj: Any) -> None:
    data = json.dumps(obj, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if scope["method"] == "GET" and path in ("/v1/models", "/models"):
        await _send_json(
            send,
            200,
            {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "echo"}]},
        )
        return
    if scope["method"] == "GET" and path == "/health":
        await _send_json(send, 200, {"status": "ok"})
        return
    if scope["method"] != "POST" or path not in ("/v1/chat/completions", "/chat/completions"):
        await _send_json(send, 404, {"error": {"message": f"no route {path}", "type": "not_found"}})
        return
    try:
        body = json.loads(await _read(receive))
    except ValueError:
        await _send_json(send, 400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
        return
    text, calls, prompt_tokens = _reply(body)
    if "!slow" in text:  # a model that takes its time (timeout tests)
        import asyncio

        await asyncio.sleep(2.0)
    completion_tokens = len(text)
    created = int(time.time())
    cid = "chatcmpl-echo"
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            message["tool_calls"] = calls
        await _send_json(
            send,
            200,
            {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": body.get("model") or MODEL,
                "choices": [
                    {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
                ],
                "usage": usage,
            },
        )
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
    )

    async def event(obj: dict[str, Any]) -> None:
        await send(
            {
                "type": "http.response.body",
                "body": b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n",
                "more_body": True,
            }
        )

    base = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": body.get("model") or MODEL,
    }
    await event(
        {
            **base,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
        }
    )
    for i in range(0, len(text), 2):
        await event(
            {**base, "choices": [{"index": 0, "delta": {"content": text[i : i + 2]}, "finish_reason": None}]}
        )
    await event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        await event({**base, "choices": [], "usage": usage})
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description="OpenAI-compatible echo server (benchmarks, tests)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9100)
    args = ap.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
