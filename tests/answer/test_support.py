"""The support check: real quotes pass, fabricated quotes, changed numbers and flipped negations fail."""

from __future__ import annotations

import pytest

from hanstack.answer.support import (
    NOT_A_STATEMENT,
    SupportChecker,
    SupportThresholds,
    evidence_window,
    missing_numbers,
    numbers_in,
)

ART70 = "제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다."
ART42 = "제42조 국회의원의 임기는 4년으로 한다."
ART1 = (
    "제1조 ① 대한민국은 민주공화국이다.\n②대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다."
)


@pytest.fixture(scope="module")
def checker(kiwi, embedder) -> SupportChecker:
    return SupportChecker(kiwi, embedder)


def test_true_quote_and_faithful_paraphrase_pass(checker) -> None:
    verbatim = checker.check(
        "대통령의 임기는 5년으로 하며, 중임할 수 없다.", "대통령의 임기는 5년으로 하며", ART70
    )
    assert verbatim.supported, verbatim
    assert verbatim.scores.quote_match == 1.0
    paraphrase = checker.check(
        "대통령 임기는 5년이고 중임할 수 없습니다.", "대통령의 임기는 5년으로 하며, 중임할 수 없다", ART70
    )
    assert paraphrase.supported, paraphrase.scores


def test_fabricated_quote_fails(checker) -> None:
    res = checker.check("대통령의 임기는 7년이다.", "대통령의 임기는 7년으로 하며 연임할 수 있다", ART42)
    assert not res.supported
    assert res.scores.quote_match < 0.85
    assert "인용문" in (res.reason or "")


def test_changed_number_is_a_contradiction(checker) -> None:
    res = checker.check("대통령의 임기는 4년이다.", "대통령의 임기는 5년으로 하며", ART70)
    assert not res.supported
    assert res.scores.missing_numbers == ["4"]


def test_flipped_negation_is_a_contradiction(checker) -> None:
    res = checker.check("대통령은 중임할 수 있다.", "중임할 수 없다", ART70)
    assert not res.supported
    assert res.scores.negation_mismatch
    ok = checker.check("대통령은 중임할 수 없다.", "중임할 수 없다", ART70)
    assert ok.supported, ok.scores


def test_real_quote_attached_to_an_unrelated_claim_fails(checker) -> None:
    res = checker.check("국회는 예산안을 심의하고 확정한다.", "대한민국은 민주공화국이다", ART1)
    assert not res.supported
    assert res.scores.quote_match == 1.0
    assert res.scores.term_overlap < 0.5


def test_a_claim_that_asks_or_requests_is_removed_however_well_it_matches(checker) -> None:
    # a 0.5B model's draft on AutoRAG handed the question back, quoting "20" from the page; overlap
    # 0.69 and similarity 0.95 had passed it
    page = (
        "2024년도 한국은행의 대정부 일시대출금 한도와 대출조건을 결정하는 과정에서 대출 부대조건을 보완하였다. "
        "일시대출금 한도는 40조원으로 하고 대출금리는 20일 평균 금리로 한다."
    )
    echo = "2024년도 한국은행의 대정부 일시대출금 한도와 대출조건을 결정하는 과정에서 보완된 대출 부대조건에 대해 설명하시오."
    res = checker.check(echo, "20", page)
    assert not res.supported
    assert res.reason == NOT_A_STATEMENT
    assert res.scores.quote_match == 1.0  # the quote is real: the claim is what fails
    asked = checker.check("대통령의 임기는 5년으로 하나요?", "대통령의 임기는 5년으로 하며", ART70)
    assert not asked.supported and asked.reason == NOT_A_STATEMENT
    stated = checker.check("대통령의 임기는 5년으로 한다.", "대통령의 임기는 5년으로 하며", ART70)
    assert stated.supported, stated


def test_batch_equals_single(checker) -> None:
    items = [
        ("대통령의 임기는 5년이다.", "대통령의 임기는 5년으로 하며", ART70),
        ("대통령의 임기는 7년이다.", "임기는 7년", ART70),
    ]
    batch = checker.check_many(items)
    singles = [checker.check(*it) for it in items]
    assert [b.supported for b in batch] == [s.supported for s in singles] == [True, False]


def test_without_embedder_overlap_rule_applies(kiwi) -> None:
    plain = SupportChecker(kiwi, None, thresholds=SupportThresholds())
    assert plain.check("대통령의 임기는 5년이다.", "대통령의 임기는 5년으로 하며", ART70).supported
    assert not plain.check("국회는 예산안을 심의한다.", "대한민국은 민주공화국이다", ART1).supported


def test_verifier_can_only_reject(kiwi, embedder) -> None:
    no = SupportChecker(kiwi, embedder, verifier=lambda claim, ev: False)
    res = no.check("대통령의 임기는 5년이다.", "대통령의 임기는 5년으로 하며", ART70)
    assert not res.supported and res.scores.model_verdict is False


def test_numbers_and_windows() -> None:
    assert numbers_in("1,000억원과 250억 원, 3.50%") == {"1000", "250", "3.5"}
    assert missing_numbers("1000억원이 필요", "최저자본금은 1,000억원") == []
    text = "첫 문장이다. 둘째 문장이다. 셋째 문장이다. 넷째."
    s = text.index("둘째")
    lo, hi = evidence_window(text, s, s + 2, context=0)
    assert text[lo:hi].strip() == "둘째 문장이다."
    lo, hi = evidence_window(text, s, s + 2, context=1)
    assert text[lo:hi].strip() == "첫 문장이다. 둘째 문장이다. 셋째 문장이다."


def test_citation_moves_to_the_neighbouring_sentence_that_states_the_claim(checker) -> None:
    # the model quoted ① but paraphrased ②: supported through the window, cited where it is said
    res = checker.check("대한민국의 주권은 국민에게 있다.", "제1조 ① 대한민국은 민주공화국이다.", ART1)
    assert res.supported, res.scores
    assert ART1[res.match.start : res.match.end].startswith("②대한민국의 주권은 국민에게 있고")
    # a claim that the quoted sentence states itself keeps its quote
    own = checker.check("대한민국은 민주공화국이다.", "대한민국은 민주공화국이다", ART1)
    assert own.supported and ART1[own.match.start : own.match.end] == "대한민국은 민주공화국이다"


ART67 = (
    "제67조 ① 대통령은 국민의 보통·평등·직접·비밀선거에 의하여 선출한다.\n"
    "②제1항의 선거에 있어서 최고득표자가 2인 이상인 때에는 국회의 재적의원 과반수가 출석한 공개회의에서 "
    "다수표를 얻은 자를 당선자로 한다.\n"
    "③대통령후보자가 1인일 때에는 그 득표수가 선거권자 총수의 3분의 1 이상이 아니면 대통령으로 당선될 수 없다.\n"
    "④대통령으로 선거될 수 있는 자는 국회의원의 피선거권이 있고 선거일 현재 40세에 달하여야 한다.\n"
    "⑤대통령의 선거에 관한 사항은 법률로 정한다."
)


@pytest.fixture(scope="module")
def reanchoring(kiwi, embedder) -> SupportChecker:
    return SupportChecker(kiwi, embedder, thresholds=SupportThresholds(reanchor=True))


def test_claim_stated_away_from_the_quote_is_judged_and_cited_where_it_is_stated(
    checker, reanchoring
) -> None:
    claim = "대통령으로 선거될 수 있는 자는 선거일 현재 40세에 달하여야 한다."
    quote = "대통령은 국민의 보통·평등·직접·비밀선거에 의하여 선출한다"
    # by default the claim is judged on the quote's window (① ± 1), which does not state it
    strict = checker.check(claim, quote, ART67)
    assert not strict.supported and not strict.reanchored and strict.scores.missing_numbers == ["40"]
    # opt-in: the model quoted ① but restated ④, three sentences away: judged on ④ ± 1, cited at ④
    checker = reanchoring
    res = checker.check(claim, quote, ART67)
    assert res.supported and res.reanchored, res.scores
    assert ART67[res.match.start : res.match.end].startswith("④대통령으로 선거될 수 있는 자는")
    # a quote next to what the claim says keeps the old behaviour: not re-anchored
    near = checker.check(claim, "대통령으로 당선될 수 없다", ART67)
    assert near.supported and not near.reanchored
    # moving the evidence does not make a changed number or an unrelated claim pass
    wrong = checker.check(
        "대통령으로 선거될 수 있는 자는 선거일 현재 45세에 달하여야 한다.",
        "대통령의 선거에 관한 사항은",
        ART67,
    )
    assert not wrong.supported and wrong.scores.missing_numbers == ["45"]
    unrelated = checker.check("국회는 예산안을 심의하고 확정한다.", "대통령의 선거에 관한 사항은", ART67)
    assert not unrelated.supported and not unrelated.reanchored


def test_claim_restating_its_own_quote_is_never_moved(reanchoring) -> None:
    checker = reanchoring
    # a two-sentence verbatim extract; a later line repeats most of its terms in one sentence, which
    # beats each of the extract's sentences alone but not the extract's window as a whole
    chunk = (
        "가. 첫째 줄은 이 문서의 목차이다.\n나. 소상공인 대출 금리를 연 1%포인트 인하한다.\n"
        "다. 신용보증기금은 보증료를 0.2%포인트 낮춘다.\n라. 신청은 온라인으로 받는다.\n"
        "마. 문의는 콜센터로 한다.\n바. 요약: 소상공인 대출 금리 연 1%포인트 인하, 신용보증기금 보증료 인하.\n"
    )
    extract = "나. 소상공인 대출 금리를 연 1%포인트 인하한다.\n다. 신용보증기금은 보증료를 0.2%포인트 낮춘다."
    res = checker.check(extract, extract, chunk)
    assert res.supported and not res.reanchored, res.scores
    assert chunk.index("나.") <= res.match.start < res.match.end <= chunk.index("라.")


def test_numbers_the_question_states_are_not_new_facts(checker) -> None:
    claim = "112 신고센터에서는 대통령의 임기를 5년으로 안내한다."
    alone = checker.check_many([(claim, "대통령의 임기는 5년으로 하며", ART70)])[0]
    assert not alone.supported and "112" in alone.scores.missing_numbers
    asked = checker.check_many([(claim, "대통령의 임기는 5년으로 하며", ART70)], question="112에 물으면?")[0]
    assert "112" not in asked.scores.missing_numbers
    # a number the question does not state still has to be in the evidence
    wrong = checker.check_many(
        [("대통령의 임기는 7년이다.", "대통령의 임기는 5년으로 하며", ART70)], question="112?"
    )[0]
    assert not wrong.supported and wrong.scores.missing_numbers == ["7"]
