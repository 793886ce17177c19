from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from hanstack.errors import InvalidInputError
from hanstack.tasks import (
    DEFAULT_CATEGORIES,
    TriageResult,
    classify,
    extract,
    summarize,
    triage,
    triage_model,
)
from tests.llm.fakes import ScriptedBackend

MSG = "어제부터 인터넷이 계속 끊겨요. 재택근무 중이라 너무 급합니다. 기사님 방문 요청드려요."


def test_triage_schema_is_constrained_to_categories() -> None:
    model = triage_model(["billing", "network"])
    schema = model.model_json_schema()
    assert schema["properties"]["category"]["enum"] == ["billing", "network"]
    assert set(schema["properties"]["urgency"]["enum"]) == {"low", "medium", "high", "critical"}
    assert {
        "telecom-ish": "network" in DEFAULT_CATEGORIES,
        "finance-ish": "loan_deposit" in DEFAULT_CATEGORIES,
    } == {"telecom-ish": True, "finance-ish": True}
    with pytest.raises(InvalidInputError):
        triage_model([])


def test_triage_with_scripted_backend_validates() -> None:
    good = json.dumps(
        {
            "intent": "인터넷 장애 수리 요청",
            "message_type": "request",
            "category": "network",
            "urgency": "high",
            "sentiment": "negative",
            "summary": "인터넷이 끊겨 기사 방문을 요청함",
            "requested_actions": ["기사 방문"],
            "needs_human": True,
        },
        ensure_ascii=False,
    )
    be = ScriptedBackend("s", "small", [good])
    res = triage(MSG, backend=be)
    assert isinstance(res.value, TriageResult) and res.value.category == "network"
    prompt = be.calls[0]["messages"]
    assert "고객센터" in prompt[0].content and prompt[-1].content == MSG
    with pytest.raises(InvalidInputError):
        triage("   ", backend=be)


def test_triage_message_type_and_few_shot_examples() -> None:
    """message_type is a closed enum whose label descriptions reach the model (schema and prompt), and
    few-shot pairs sit between the fixed instructions and the message (so the prefix is cacheable)."""
    schema = triage_model(["billing"]).model_json_schema()
    assert set(schema["properties"]["message_type"]["enum"]) == {"question", "request", "statement"}
    assert "정보나 답을 원함" in schema["properties"]["message_type"]["description"]
    shot = {
        "intent": "요금 문의",
        "message_type": "question",
        "category": "billing",
        "urgency": "low",
        "sentiment": "neutral",
        "summary": "이번 달 요금을 물음",
        "requested_actions": [],
        "needs_human": False,
    }
    reply = {**shot, "message_type": "statement", "summary": "요금이 두 번 나감"}
    be = ScriptedBackend("s", "small", [json.dumps(reply, ensure_ascii=False)])
    res = triage("어제 요금이 두 번 나갔어요", backend=be, examples=[("이번 달 요금 얼마예요", shot)])
    assert res.value.message_type == "statement"
    msgs = be.calls[0]["messages"]
    assert [m.role for m in msgs] == ["system", "user", "assistant", "user"]
    assert "message_type" in msgs[0].content and "정보나 답을 원함" in msgs[0].content
    assert json.loads(msgs[2].content) == shot and "요금 문의" in msgs[2].content  # Korean, not \\u escapes
    assert msgs[3].content == "어제 요금이 두 번 나갔어요"


def test_classify_label_validation() -> None:
    be = ScriptedBackend("s", "small", ['{"label": "불만"}'])
    assert classify("왜 이렇게 느려요", ["칭찬", "불만", "문의"], backend=be).value.label == "불만"
    with pytest.raises(InvalidInputError, match="two"):
        classify("x", ["하나"], backend=be)


def test_extract_schema_loading(tmp_path: Path) -> None:
    from hanstack.tasks import load_schema

    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        load_schema(bad)
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_schema(tmp_path / "missing.json")
    arr = tmp_path / "arr.json"
    arr.write_text('{"type": "array"}', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="unsupported"):
        load_schema(arr)


def test_summarize_trims_to_budget() -> None:
    long_bullets = json.dumps({"bullets": ["가" * 30, "나" * 30, "다" * 30]}, ensure_ascii=False)
    be = ScriptedBackend("s", "small", [long_bullets])  # count_tokens = characters
    res = summarize("긴 글 " * 20, budget_tokens=70, backend=be)
    assert res.value.bullets == ["가" * 30, "나" * 30]
    assert res.value.tokens <= 70
    one = ScriptedBackend("s", "small", [json.dumps({"bullets": ["라" * 20]}, ensure_ascii=False)])
    assert summarize("글", budget_tokens=10, backend=one).value.bullets == ["라" * 10]


# --- on the real tiny model --------------------------------------------------------------------
@pytest.mark.model
def test_triage_on_tiny_model_is_schema_valid(tiny) -> None:
    res = triage(MSG, backend=tiny, escalate=False)
    assert isinstance(res.value, TriageResult)
    assert res.value.category in DEFAULT_CATEGORIES
    assert "\\u" not in res.to_json()


@pytest.mark.model
def test_classify_extract_summarize_on_tiny_model(tiny) -> None:
    labels = ["칭찬", "불만", "문의"]
    assert classify("상담원이 정말 친절했어요", labels, backend=tiny, escalate=False).value.label in labels

    class Contact(BaseModel):
        name: str = Field(max_length=10)
        phone: str = Field(max_length=15)

    out = extract("담당자: 홍길동, 연락처 010-1234-5678", Contact, backend=tiny, escalate=False)
    assert isinstance(out.value, Contact)
    s = summarize(
        "서울시는 내년부터 대중교통 요금을 인상한다. 시민 반발이 예상된다. " * 3,
        budget_tokens=30,
        max_bullets=2,
        backend=tiny,
        escalate=False,
    )
    assert s.value.tokens <= 30 and tiny.count_tokens("\n".join(s.value.bullets)) == s.value.tokens
