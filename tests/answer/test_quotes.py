"""Quotable sentences: exact substrings of the source, short fragments merged, long ones cut."""

from hanstack.answer.quotes import passage_sentences

TEXT = (
    "제2조 (해지 위약금)\n약정 기간 안에 해지하면 남은 약정 개월 수에 월 할인액을 곱한 위약금이 청구됩니다. "
    "데이터는 고객센터 앱에서 충전할 수 있으며 충전한 데이터는 30일 동안 쓸 수 있습니다 "
    "이에 한국은행은 통화안정증권 발행을 늘렸다"
)


def test_sentences_are_exact_substrings_even_without_punctuation(kiwi) -> None:
    got = passage_sentences(TEXT, kiwi, max_chars=300)
    assert all(s in TEXT for s in got)
    assert "데이터는 고객센터 앱에서 충전할 수 있으며 충전한 데이터는 30일 동안 쓸 수 있습니다" in got
    assert "이에 한국은행은 통화안정증권 발행을 늘렸다" in got
    # the heading is too short to quote alone: it travels with the sentence after it, as its own line
    # (no control characters: a grammar's string literal must be valid JSON as written)
    assert got[0] == "제2조 (해지 위약금)"
    assert got[1].startswith("약정 기간 안에 해지하면") and got[1].endswith("위약금이 청구됩니다.")
    assert not any(ch in s for s in got for ch in "\n\r\t")


def test_long_sentences_are_cut_at_spaces(kiwi) -> None:
    long = "가나다라 " * 40 + "끝입니다."
    got = passage_sentences(long, kiwi, max_chars=50)
    assert len(got) > 3 and all(len(s) <= 50 and s in long for s in got)
    assert " ".join(got).split() == long.split()
