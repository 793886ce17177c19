"""Question-form words are not what a question is about."""

from hanstack.korean.question import topic_terms


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
