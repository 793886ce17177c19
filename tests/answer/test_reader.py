"""The reader answerability score's pure parts: the prompt, the gate logit it is combined with, and
the refusal of backends without next-token logits. The real llama.cpp forward pass (prefix reuse vs
a plain full evaluation) is exercised in test_model.py."""

from __future__ import annotations

import math

import pytest

from hanstack.answer.reader import (
    GATE_LOGIT_CLIP,
    READER_QUESTION,
    Reader,
    gate_logit,
    reader_messages,
    supports_reader,
)
from hanstack.errors import InvalidInputError
from hanstack.llm.extractive import ExtractiveBackend


def test_gate_logit_inverts_the_gate_probability_and_is_clipped() -> None:
    for z in (-7.5, -1.0, 0.0, 2.5, 9.0):
        assert gate_logit(1.0 / (1.0 + math.exp(-z))) == pytest.approx(z, abs=1e-6)
    assert gate_logit(0.0) == -GATE_LOGIT_CLIP
    assert gate_logit(1.0) == GATE_LOGIT_CLIP


def test_prompt_holds_passages_then_question_and_asks_yes_or_no() -> None:
    msgs = reader_messages("대통령의 임기는?", ["제70조 대통령의 임기는 5년으로 한다.", "제1조 ..."])
    assert [m.role for m in msgs] == ["system", "user"]
    user = msgs[1].content
    assert user.index("[문서 1]") < user.index("[문서 2]") < user.index("질문: 대통령의 임기는?")
    assert user.endswith(READER_QUESTION)
    assert "예" in msgs[0].content and "아니오" in msgs[0].content


def test_reader_refuses_backends_without_logits() -> None:
    assert not supports_reader(ExtractiveBackend())
    with pytest.raises(InvalidInputError, match="next-token logits"):
        Reader(ExtractiveBackend())
