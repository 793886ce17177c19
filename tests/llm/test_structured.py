from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel

from hanstack.errors import StructuredOutputError
from hanstack.llm.structured import extract_json, generate_structured, model_from_schema, parse_and_validate
from hanstack.llm.types import ChatMessage
from tests.llm.fakes import ScriptedBackend


class Ticket(BaseModel):
    category: Literal["요금", "장애", "기타"]
    summary: str


GOOD = '{"category": "요금", "summary": "요금이 두 번 청구됨"}'
MSGS = [ChatMessage("user", "이번 달 요금이 두 번 나갔어요")]


def test_valid_first_try_keeps_korean() -> None:
    be = ScriptedBackend("s", "small", [GOOD])
    res = generate_structured(be, MSGS, Ticket)
    assert res.value == Ticket(category="요금", summary="요금이 두 번 청구됨")
    assert "\\u" not in res.to_json() and "요금" in res.to_json()
    assert be.calls[0]["json_schema"] == Ticket.model_json_schema()
    assert "JSON 스키마" in be.calls[0]["messages"][0].content


def test_repair_attempt_gets_error_and_previous_output() -> None:
    be = ScriptedBackend("s", "small", ['{"category": "환불", "summary": "x"}', GOOD])
    res = generate_structured(be, MSGS, Ticket)
    assert [(a.mode, a.ok) for a in res.attempts] == [("constrained", False), ("repair", True)]
    repair_msgs = be.calls[1]["messages"]
    assert repair_msgs[-2].role == "assistant" and "환불" in repair_msgs[-2].content
    assert "category" in repair_msgs[-1].content


def test_unconstrained_first_try_repairs_constrained() -> None:
    be = ScriptedBackend("s", "small", ["요금 문제입니다", GOOD])
    res = generate_structured(be, MSGS, Ticket, constrained=False)
    assert be.calls[0]["json_schema"] is None and be.calls[1]["json_schema"] is not None
    assert res.attempts[-1].ok


def test_escalates_to_next_tier_then_succeeds() -> None:
    tiny = ScriptedBackend("tiny", "tiny-test", ["{", "{"])
    small = ScriptedBackend("small", "small", [GOOD])
    made: list[str] = []

    def factory(tier: str) -> ScriptedBackend:
        made.append(tier)
        return {"small": small}[tier]

    res = generate_structured(tiny, MSGS, Ticket, backend_factory=factory)
    assert made == ["small"] and res.model == "small"
    assert [a.model for a in res.attempts] == ["tiny", "tiny", "small"]


def test_all_tiers_fail_is_a_clear_error() -> None:
    backends = {t: ScriptedBackend(t, t, []) for t in ("small", "large")}
    with pytest.raises(StructuredOutputError) as exc:
        generate_structured(
            ScriptedBackend("tiny", "tiny-test", []), MSGS, Ticket, backend_factory=backends.__getitem__
        )
    assert "6 attempt" in exc.value.message and "large/repair" in exc.value.message


def test_no_escalation_when_disabled() -> None:
    with pytest.raises(StructuredOutputError, match="2 attempt"):
        generate_structured(
            ScriptedBackend("tiny", "tiny-test", []),
            MSGS,
            Ticket,
            escalate=False,
            backend_factory=lambda t: pytest.fail("escalated"),
        )


def test_escalation_with_settings_skips_unpulled_tiers(workspace, monkeypatch) -> None:
    from hanstack.config import load_settings

    monkeypatch.delenv("HANSTACK_MODELS_CACHE", raising=False)
    with pytest.raises(StructuredOutputError, match="2 attempt"):
        generate_structured(
            ScriptedBackend("tiny", "tiny-test", []), MSGS, Ticket, settings=load_settings(workspace)
        )


def test_extractive_backend_cannot_do_structured() -> None:
    from hanstack.llm.extractive import ExtractiveBackend

    with pytest.raises(StructuredOutputError, match="1 attempt"):
        generate_structured(ExtractiveBackend(), MSGS, Ticket)


def test_extract_json_tolerates_fences_and_chatter() -> None:
    assert extract_json('```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('답: {"a": "가"} 끝') == {"a": "가"}
    with pytest.raises(ValueError):
        extract_json("없음")


def test_json_schema_dict_is_validated() -> None:
    schema = {
        "type": "object",
        "properties": {
            "이름": {"type": "string"},
            "나이": {"type": "integer"},
            "연락처": {"type": "array", "items": {"type": "string"}},
            "등급": {"enum": ["일반", "VIP"]},
            "주소": {"type": "object", "properties": {"시": {"type": "string"}}, "required": ["시"]},
        },
        "required": ["이름", "나이"],
    }
    ok = parse_and_validate(
        json.dumps({"이름": "김민수", "나이": 31, "등급": "VIP", "주소": {"시": "서울"}}, ensure_ascii=False),
        schema,
    )
    assert ok["이름"] == "김민수" and ok["주소"] == {"시": "서울"}
    for bad in (
        {"이름": "김민수"},
        {"이름": "김", "나이": "서른"},
        {"이름": "김", "나이": 1, "등급": "골드"},
        {"이름": "김", "나이": 1, "주소": {}},
    ):
        with pytest.raises(ValueError, match="schema violation"):
            parse_and_validate(json.dumps(bad, ensure_ascii=False), schema)
    with pytest.raises(ValueError):
        model_from_schema({"type": "array"})


def test_schema_refs_resolve() -> None:
    class Item(BaseModel):
        name: str

    class Order(BaseModel):
        items: list[Item]

    model = model_from_schema(Order.model_json_schema())
    assert model.model_validate({"items": [{"name": "유심"}]})
    with pytest.raises(ValueError):
        parse_and_validate('{"items": [{"nom": 1}]}', Order.model_json_schema())


def test_tool_call_parsing() -> None:
    from hanstack.llm.llamacpp import parse_tool_calls

    text = '확인하겠습니다.\n<tool_call>\n{"name": "잔액조회", "arguments": {"계좌": "123-45"}}\n</tool_call>'
    calls = parse_tool_calls(text, {"잔액조회"})
    assert len(calls) == 1 and calls[0].name == "잔액조회"
    assert json.loads(calls[0].arguments) == {"계좌": "123-45"}
    assert calls[0].id.startswith("call_")
    assert parse_tool_calls(text, {"다른도구"}) == []
    assert parse_tool_calls('{"name": "잔액조회", "arguments": "{}"}', {"잔액조회"})[0].arguments == "{}"
    assert parse_tool_calls("<tool_call>{broken</tool_call>", {"잔액조회"}) == []
