"""Analyzers: search terms, user dictionary, batches, sentence splitting, conformance."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanstack.errors import AnalyzerError
from hanstack.korean.analyzer import (
    Analyzer,
    KiwiAnalyzer,
    Morpheme,
    build_analyzer,
    get_analyzer,
    read_user_dictionary,
    terms_from_morphemes,
)
from hanstack.korean.sentences import split_sentences

SENTENCE = "대한민국 헌법은 국민의 기본권을 보장하며, 모든 국민은 법 앞에 평등하다."


def _analyzers() -> list[str]:
    names = ["kiwi"]
    try:
        import mecab  # noqa: F401

        names.append("mecab")
    except ImportError:
        pass
    return names


@pytest.fixture(scope="module", params=_analyzers())
def analyzer(request: pytest.FixtureRequest) -> Analyzer:
    return get_analyzer(request.param)


# --- conformance: every analyzer --------------------------------------------------------------
def test_is_an_analyzer(analyzer: Analyzer) -> None:
    assert isinstance(analyzer, Analyzer)


def test_particles_and_endings_are_dropped(analyzer: Analyzer) -> None:
    terms = analyzer.search_terms(SENTENCE)
    for particle in ("은", "의", "을", "며", "다", "에"):
        assert particle not in terms
    for content in ("대한민국", "헌법", "국민", "기본", "보장", "법", "평등"):
        assert content in terms, (content, terms)


def test_single_syllable_nouns_are_kept(analyzer: Analyzer) -> None:
    terms = analyzer.search_terms("물과 집과 책이 있다")
    assert {"물", "집", "책"} <= set(terms)


def test_verb_lemma_and_foreign_words_and_numbers(analyzer: Analyzer) -> None:
    terms = analyzer.search_terms("API 요청을 3번 보냈다")
    assert "api" in terms
    assert "3" in terms
    assert "보내다" in terms


def test_morpheme_offsets_point_into_the_text(analyzer: Analyzer) -> None:
    text = "국민의 기본권을 보장한다"
    for m in analyzer.analyze(text):
        if m.tag.startswith("NN"):
            assert text[m.start : m.end] == m.form


def test_batch_equals_single(analyzer: Analyzer) -> None:
    texts = [SENTENCE, "물과 집", "모든 권력은 국민으로부터 나온다."] * 3
    assert analyzer.search_terms_batch(texts) == [analyzer.search_terms(t) for t in texts]


def test_user_dictionary_takes_effect(analyzer: Analyzer, tmp_path: Path) -> None:
    text = "한빛클라우드 요금제를 바꿨다"
    dict_path = tmp_path / "user.tsv"
    dict_path.write_text("# 제품명\n한빛클라우드\tNNP\t10\n", encoding="utf-8")
    custom = build_analyzer(analyzer.name, user_dictionary=dict_path)
    assert "한빛클라우드" in custom.search_terms(text)


# --- Kiwi specifics ----------------------------------------------------------------------------
def test_user_dictionary_edit_is_picked_up_without_restart(tmp_path: Path) -> None:
    dict_path = tmp_path / "user.tsv"
    dict_path.write_text("누리호\tNNP\n", encoding="utf-8")
    first = get_analyzer("kiwi", user_dictionary=dict_path)
    assert "누리호" in first.search_terms("누리호 발사")
    import os
    import time

    dict_path.write_text("누리호\tNNP\n한빛클라우드\tNNP\t10\n", encoding="utf-8")
    os.utime(dict_path, (time.time() + 5, time.time() + 5))
    second = get_analyzer("kiwi", user_dictionary=dict_path)
    assert second is not first
    assert "한빛클라우드" in second.search_terms("한빛클라우드 요금")


def test_bad_user_dictionary_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("한빛\tNNP\tabc\n", encoding="utf-8")
    with pytest.raises(AnalyzerError, match=r"bad.tsv:1"):
        read_user_dictionary(bad)


def test_unknown_analyzer() -> None:
    with pytest.raises(AnalyzerError, match="unknown analyzer"):
        build_analyzer("nope")


def test_terms_rule_is_pure() -> None:
    ms = [
        Morpheme("보장", "NNG", 0, 2),
        Morpheme("하", "XSV", 2, 3),
        Morpheme("가", "VV-R", 4, 5),
        Morpheme("는", "JX", 5, 6),
        Morpheme("GPU", "SL", 7, 10),
    ]
    assert terms_from_morphemes(ms) == ["보장", "가다", "gpu"]


def test_sentences_have_exact_spans(kiwi: KiwiAnalyzer) -> None:
    text = "대한민국은 민주공화국이다. 주권은 국민에게 있다! 그렇지 않나요? 네"
    sents = split_sentences(text, analyzer=kiwi)
    assert len(sents) >= 3
    for s in sents:
        assert text[s.start : s.end] == s.text
        assert s.morphemes


def test_sentences_without_punctuation(kiwi: KiwiAnalyzer) -> None:
    text = "배송이 너무 늦어요 환불하고 싶습니다 연락 주세요"
    sents = split_sentences(text, analyzer=kiwi)
    assert len(sents) == 3, [s.text for s in sents]


def test_sentence_batch_equals_single(kiwi: KiwiAnalyzer) -> None:
    texts = ["첫 문장이다. 둘째 문장이다.", "하나뿐인 문장", "질문인가요? 답입니다."] * 2
    batch = kiwi.split_sentences_batch(texts)
    assert [[s.text for s in b] for b in batch] == [[s.text for s in kiwi.split_sentences(t)] for t in texts]
