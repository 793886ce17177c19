"""Korean-aware fuzzy quote location: exact spans back into the original text."""

from __future__ import annotations

import unicodedata

from hanstack.answer.match import locate_quote, text_key

PASSAGE = "제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다.\n제71조 대통령이 궐위되거나 사고로 인하여 직무를 수행할 수 없을 때에는 국무총리의 순서로 그 권한을 대행한다."


def test_exact_quote_gives_exact_span() -> None:
    quote = "대통령의 임기는 5년으로 하며"
    m = locate_quote(quote, PASSAGE)
    assert m.exact
    assert PASSAGE[m.start : m.end] == quote


def test_spacing_and_punctuation_do_not_matter() -> None:
    m = locate_quote("대통령의임기는 5년으로하며 중임할 수없다", PASSAGE)
    assert m.exact
    assert PASSAGE[m.start : m.end] == "대통령의 임기는 5년으로 하며, 중임할 수 없다"


def test_decomposed_hangul_and_fullwidth_digits_match() -> None:
    nfd = unicodedata.normalize("NFD", "임기는 ５년으로")
    m = locate_quote(nfd, PASSAGE)
    assert m.exact
    assert PASSAGE[m.start : m.end] == "임기는 5년으로"


def test_small_edit_is_a_high_fuzzy_match() -> None:
    m = locate_quote("대통령의 임기는 5년으로 하고, 중임할 수 없다", PASSAGE)  # 하며 → 하고
    assert 0.85 <= m.score < 1.0
    assert "대통령의 임기는 5년" in PASSAGE[m.start : m.end]


def test_fabricated_quote_scores_low() -> None:
    m = locate_quote("국회의원의 임기는 4년으로 한다", PASSAGE)
    assert m.score < 0.7
    assert locate_quote("", PASSAGE).score == 0.0
    assert locate_quote("...!!", PASSAGE).score == 0.0


def test_key_maps_every_character_back() -> None:
    key = text_key("① 대한민국은, 민주공화국이다.")
    assert key.key == "1대한민국은민주공화국이다"
    assert key.span(1, 5) == (2, 6)
