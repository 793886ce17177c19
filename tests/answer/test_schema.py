"""The answer schema: what the model may produce and what callers get back."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from hanstack.answer.schema import (
    ABSTAIN_MESSAGE,
    Answer,
    Citation,
    Claim,
    DraftAnswer,
    ModelUsed,
    RetrievalUsed,
    Searched,
    draft_json_schema,
)


def test_draft_schema_restricts_source_ids_to_those_shown() -> None:
    schema = draft_json_schema(["S1", "S2"])
    item = schema["properties"]["claims"]["items"]
    assert item["properties"]["source_ids"]["items"]["enum"] == ["S1", "S2"]
    assert schema["required"] == ["answerable", "claims"]
    assert set(item["required"]) == {"text", "source_ids", "quote"}


def test_draft_answer_validates() -> None:
    ok = DraftAnswer.model_validate(
        {
            "answerable": True,
            "claims": [{"text": "대통령의 임기는 5년이다.", "source_ids": ["S1"], "quote": "임기는 5년"}],
        }
    )
    assert ok.claims[0].source_ids == ["S1"]
    with pytest.raises(ValidationError):
        DraftAnswer.model_validate(
            {"answerable": True, "claims": [{"text": "x", "source_ids": [], "quote": "y"}]}
        )


def test_answer_round_trips_as_json_with_korean_intact() -> None:
    cit = Citation(
        source_id="S1",
        chunk_id="c1",
        quote="대통령의 임기는 5년으로 하며",
        quote_as_given="임기는 5년",
        match_score=1.0,
        chunk_start=6,
        chunk_end=22,
        doc_start=106,
        doc_end=122,
        source="헌법.txt",
        section="제4장 정부 > 제70조",
    )
    answer = Answer(
        question="대통령의 임기는?",
        text="대통령의 임기는 5년이다. [S1]",
        abstained=False,
        mode="generative",
        claims=[Claim(text="대통령의 임기는 5년이다.", citations=[cit], supported=True)],
        searched=Searched(query="대통령의 임기는?", tenant="default", k=5),
        model=ModelUsed(requested="small", name="qwen", kind="llamacpp"),
        retrieval=RetrievalUsed(mode="hybrid", k=5),
    )
    text = json.dumps(answer.model_dump(mode="json"), ensure_ascii=False)
    assert "\\u" not in text and "제70조" in text
    again = Answer.model_validate_json(text)
    assert again == answer
    assert again.cited_source_ids == ["S1"] and again.cited_chunk_ids == ["c1"]
    assert ABSTAIN_MESSAGE == "문서에서 근거를 찾을 수 없습니다"
