from __future__ import annotations

from hanstack.retrieve.query import QueryAnalyzer, contains_phrases, quoted_phrases
from hanstack.store.sparse import EXACT_NS


def test_quoted_phrases_in_every_quote_style():
    assert quoted_phrases('"예비 인가" 절차') == ["예비 인가"]
    assert quoted_phrases("“개인 정보”와 “전자 서명”") == ["개인 정보", "전자 서명"]
    # single quotes and 「」 are emphasis, abbreviated years and titles in Korean, not operators
    assert quoted_phrases("'23년 '복수의결권' 시행과 「민법」") == []
    assert quoted_phrases("따옴표 없음") == []
    assert quoted_phrases('빈 "" 따옴표') == []


def test_phrase_matching_ignores_spacing():
    assert contains_phrases("예비인가를 신청한다", ["예비 인가"])
    assert contains_phrases("예비 인가를 신청한다", ["예비인가"])
    assert not contains_phrases("본인가를 신청한다", ["예비 인가"])
    assert contains_phrases("아무 글", [])


def test_analysis_with_kiwi(kiwi):
    a = QueryAnalyzer(kiwi.search_terms).analyze(
        '"예비 인가" 신청은 은행법 제8조의2와 제10조에 따라 1,000억원'
    )
    assert a.phrases == ("예비 인가",)
    assert set(a.phrase_terms) == {"예비", "인가"}
    assert {"예비", "인가", "신청", "은행"} <= set(a.terms)
    assert a.references == ("제8조의2", "제10조")
    assert a.numbers == ("8", "2", "10", "1000")
    assert EXACT_NS + "제10조" in a.exact and EXACT_NS + "#1000" in a.exact
    assert not a.empty


def test_punctuation_only_query_is_empty(kiwi):
    assert QueryAnalyzer(kiwi.search_terms).analyze("?! ... ~").empty
