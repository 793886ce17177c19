"""The OpenAI-compatible backend: against a real llama_cpp.server, and protocol details on a mock transport."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import BaseModel, Field

from hanstack.errors import ModelUnavailableError
from hanstack.llm import ChatMessage, ChatResult
from hanstack.llm.openai_compat import OpenAICompatBackend
from hanstack.llm.utf8 import REPLACEMENT


class City(BaseModel):
    city: str = Field(max_length=20)


MSGS = [ChatMessage("user", "한국의 수도는?")]


@pytest.mark.model
def test_real_server_chat_stream_structured_tokens(llama_server: str, tiny) -> None:
    be = OpenAICompatBackend(llama_server, name="srv", model="tiny-test")
    res = be.chat(MSGS, max_tokens=16)
    assert res.completion_tokens > 0 and res.prompt_tokens > 0
    out = ChatResult(text="")
    deltas = list(be.stream(MSGS, max_tokens=16, result=out))
    assert "".join(deltas) == out.text and all(REPLACEMENT not in d for d in deltas)
    assert out.timings.ttft_s is not None
    # llama-cpp-python's server rejects the OpenAI json_schema form: auto falls back to its json_object+schema form
    js = be.chat(MSGS, max_tokens=40, json_schema=City.model_json_schema())
    City.model_validate_json(js.text)
    assert be.structured == "json_object"
    # exact count through /extras/tokenize, same as the in-process tokenizer (+ BOS the server adds)
    n = be.count_tokens("대한민국 헌법은 국민의 기본권을 보장한다")
    assert be.info.exact_tokenizer
    assert abs(n - tiny.count_tokens("대한민국 헌법은 국민의 기본권을 보장한다")) <= 1


@pytest.mark.model
def test_get_backend_with_registered_endpoint(llama_server: str, workspace) -> None:
    from hanstack.config import load_settings
    from hanstack.llm import get_backend
    from hanstack.llm.catalog import EndpointEntry, register_endpoint

    s = load_settings(workspace)
    register_endpoint(s, EndpointEntry("local-srv", llama_server, model="tiny-test"))
    be = get_backend(s, "local-srv")
    assert be.info.kind == "openai" and be.info.base_url == llama_server
    assert be.chat(MSGS, max_tokens=4).completion_tokens > 0


def _mock(handler) -> OpenAICompatBackend:
    return OpenAICompatBackend(
        "http://model.test/v1", name="m", model="qwen", transport=httpx.MockTransport(handler)
    )


def test_json_schema_request_shape_and_tool_calls() -> None:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        msg = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "잔액조회", "arguments": '{"계좌": "123"}'},
                }
            ],
        }
        return httpx.Response(
            200,
            json={
                "model": "qwen",
                "choices": [{"message": msg, "finish_reason": "tool_calls"}],
                "usage": {"prompt_tokens": 7, "completion_tokens": 3},
            },
        )

    be = _mock(handler)
    tools = [{"type": "function", "function": {"name": "잔액조회", "parameters": {"type": "object"}}}]
    res = be.chat(MSGS, json_schema=City.model_json_schema(), tools=tools)
    rf = seen[0]["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["schema"] == City.model_json_schema()
    assert seen[0]["tools"] == tools and seen[0]["model"] == "qwen"
    assert res.finish_reason == "tool_calls" and res.tool_calls[0].name == "잔액조회"
    assert json.loads(res.tool_calls[0].arguments) == {"계좌": "123"}


def test_sse_stream_parsing_drops_replacement_chars() -> None:
    chunks = ["안", "녕\ufffd", "하세요"]
    lines = [
        f"data: {json.dumps({'choices': [{'delta': {'content': c}}]}, ensure_ascii=False)}\n\n"
        for c in chunks
    ]
    lines.append(
        'data: {"choices": [{"delta": {}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}\n\n'
    )
    lines.append("data: [DONE]\n\n")
    raw = "".join(lines).encode()

    class Sliced(httpx.ByteStream):
        def __iter__(self):  # 5-byte slices: SSE lines and Hangul syllables are cut on the wire
            for i in range(0, len(raw), 5):
                yield raw[i : i + 5]

    be = OpenAICompatBackend(
        "http://model.test/v1",
        name="m",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=Sliced(raw))),
    )
    out = ChatResult(text="")
    deltas = list(be.stream(MSGS, result=out))
    assert "".join(deltas) == "안녕하세요" == out.text
    assert out.completion_tokens == 4 and out.finish_reason == "stop"


def test_http_errors_are_translated() -> None:
    be = _mock(lambda r: httpx.Response(503, text="overloaded"))
    with pytest.raises(ModelUnavailableError, match="503"):
        be.chat(MSGS)
    be2 = _mock(lambda r: httpx.Response(400, json={"error": "bad"}))
    from hanstack.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="rejected"):
        be2.chat(MSGS)


def test_count_tokens_estimates_when_server_has_no_tokenizer() -> None:
    be = _mock(lambda r: httpx.Response(404))
    assert be.count_tokens("안녕하세요 hello") == 5 + 2
    assert not be.info.exact_tokenizer


def test_server_safe_schema_drops_only_constants_the_llama_cpp_server_cannot_write() -> None:
    from hanstack.llm.openai_compat import server_safe_schema

    schema = {
        "type": "object",
        "properties": {
            "quote": {"type": "string", "enum": ['(2021), "농식품 라이브커머스" 보고서', "plain"]},
            "label": {"enum": ["a", "b"]},
            "path": {"const": "C:\\dir"},
            "enum": {"type": "string", "enum": ["x", "y"]},  # a property that happens to be named enum
        },
        "$defs": {"const": {"const": "ok"}},
    }
    safe = server_safe_schema(schema)
    assert safe["properties"]["quote"] == {"type": "string"}
    assert safe["properties"]["label"] == {"enum": ["a", "b"]}
    assert safe["properties"]["path"] == {"type": "string"}
    assert safe["properties"]["enum"] == {"type": "string", "enum": ["x", "y"]}
    assert safe["$defs"] == {"const": {"const": "ok"}}
    assert schema["properties"]["quote"]["enum"][1] == "plain"  # the input is left alone


@pytest.mark.model
def test_real_llama_cpp_server_survives_a_quote_enum_with_double_quotes(llama_server: str) -> None:
    # without server_safe_schema this request makes llama_cpp.server fail to parse its grammar and die
    be = OpenAICompatBackend(llama_server, name="srv", model="tiny-test")
    schema = {
        "type": "object",
        "properties": {
            "quote": {"type": "string", "enum": ['(2021), "농식품 라이브커머스" 보고서', "plain"]}
        },
        "required": ["quote"],
    }
    res = be.chat(MSGS, max_tokens=24, json_schema=schema)
    assert res.text.startswith("{") and '"quote"' in res.text  # decoded under the (looser) grammar
    assert be.chat(MSGS, max_tokens=4).completion_tokens > 0  # still up
