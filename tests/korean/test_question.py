"""Question-form words are not what a question is about."""

import pytest

from hanstack.korean.question import asks_or_requests, topic_terms


def test_interrogatives_and_frame_words_are_dropped(kiwi) -> None:
    terms = kiwi.search_terms("해지하면 위약금은 어떻게 계산되나요?")
    assert "어떻다" in terms  # Kiwi keeps the interrogative as a content lemma
    assert topic_terms(terms) == ["해지", "위약금", "계산"]
    asked = topic_terms(kiwi.search_terms("예비인가를 받지 않는다면 그 이유는 무엇인지 설명하시오."))
    assert "예비" in asked and "인가" in asked and "이유" in asked
    assert not {"무엇", "설명", "그"} & set(asked)


def test_order_kept_duplicates_removed_and_never_empty() -> None:
    assert topic_terms(["은행", "무엇", "은행", "인가"]) == ["은행", "인가"]
    # a question made only of frame words still has something to match on
    assert topic_terms(["무엇", "있다"]) == ["무엇", "있다"]
    assert topic_terms([]) == []


@pytest.mark.parametrize(
    "text",
    [
        "2024년도 대정부 일시대출금의 대출 부대조건에 대해 설명하시오.",  # a 0.5B model's "claim" on AutoRAG
        "수작업 하는 부분을 자동화 가능할까요?",  # an FAQ sentence the extractive backend once quoted
        "대통령의 임기는 몇 년인가요",  # no question mark: the ending asks
        "주권은 누구에게 있나요",
        "조건을 알려 주세요.",
        "제출 서류는 무엇입니까",
        "이 조항은 어떻게 해석되는가",
    ],
)
def test_questions_and_requests_are_not_statements(kiwi, text: str) -> None:
    assert asks_or_requests(text, kiwi.analyze(text))


@pytest.mark.parametrize(
    "text",
    [
        "대통령의 임기는 5년으로 하며, 중임할 수 없다.",
        "대한민국의 주권은 국민에게 있습니다.",
        "비중은 22%를 상회하는 것으로 나타났다.",
        "금리는 3.5%입니다 (2023년 기준).",
        "구 관세법 시행령 제19조 제3항 제1호 다목",  # a noun phrase answers too
        "5년",
        "",
    ],
)
def test_statements_and_fragments_are_not_questions(kiwi, text: str) -> None:
    assert not asks_or_requests(text, kiwi.analyze(text))
