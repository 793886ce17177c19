from __future__ import annotations

import math

import pytest

from hanstack.store.sparse import (
    BIGRAM_NS,
    EXACT_NS,
    SECTION_NS,
    TITLE_NS,
    Bm25Params,
    FieldBoosts,
    SparseEncoder,
    article_refs,
    average_bigrams,
    char_bigrams,
    exact_terms,
    numbers,
    term_index,
)


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("은행법 제8조에 따라", ["제8조"]),
        ("제 10 조 제2항 제3호", ["제10조", "제2항", "제3호"]),
        ("제8조의2 및 제12조의 3", ["제8조의2", "제12조의3"]),
        ("제2장 총칙", ["제2장"]),
        ("제도 개선 10조원", []),
    ],
)
def test_article_refs(text, refs):
    assert article_refs(text) == refs


def test_numbers_drop_thousands_separators():
    assert numbers("$9,000억에서 1조 3,000억으로 40% 증가, 금리 3.5%") == ["9000", "1", "3000", "40", "3.5"]
    assert numbers("2018년") == ["2018"]


def test_exact_terms_are_namespaced():
    assert exact_terms("제10조 2025년") == [EXACT_NS + "제10조", EXACT_NS + "#10", EXACT_NS + "#2025"]


def test_term_index_is_stable():
    assert term_index("은행") == term_index("은행")
    assert term_index("은행") != term_index("인가")
    assert 0 <= term_index("x") < 2**32
    # fixed value: a change would silently orphan every index built before it
    assert term_index("은행") == int.from_bytes(
        __import__("hashlib").blake2b("은행".encode(), digest_size=4).digest(), "little"
    )


def test_document_weights_follow_bm25():
    p = Bm25Params(k1=1.2, b=0.75, avgdl=4.0)
    enc = SparseEncoder(params=p)
    vec = enc.document(["은행", "은행", "인가"], "")
    weights = dict(zip(vec.indices, vec.values, strict=True))
    norm = p.k1 * (1 - p.b + p.b * 3 / p.avgdl)
    assert math.isclose(weights[term_index("은행")], 2 * (p.k1 + 1) / (2 + norm), rel_tol=1e-9)
    assert math.isclose(weights[term_index("인가")], 1 * (p.k1 + 1) / (1 + norm), rel_tol=1e-9)


def test_field_terms_and_query_boosts():
    enc = SparseEncoder(field_terms=lambda s: s.split())
    doc = enc.document(["본문"], "제10조 본문", title="은행 법", section="제2장")
    idx = set(doc.indices)
    assert {
        term_index(TITLE_NS + "은행"),
        term_index(SECTION_NS + "제2장"),
        term_index(EXACT_NS + "제10조"),
    } <= idx
    q = enc.query(
        ["은행", "은행"], [EXACT_NS + "제10조"], FieldBoosts(body=1.0, exact=2.0, title=0.5, section=0.0)
    )
    weights = dict(zip(q.indices, q.values, strict=True))
    assert weights[term_index("은행")] == 1.0  # distinct terms once
    assert weights[term_index(TITLE_NS + "은행")] == 0.5
    assert term_index(SECTION_NS + "은행") not in weights  # boost 0 switches the field off
    assert weights[term_index(EXACT_NS + "제10조")] == 2.0


def test_empty_document_is_empty_vector():
    assert len(SparseEncoder().document([], "")) == 0


def test_char_bigrams_stay_inside_words():
    assert char_bigrams("은행법 제8조") == ["은행", "행법", "제8", "8조"]
    assert char_bigrams("및 AI") == ["및", "ai"]  # one-character words stay; lower-cased
    assert char_bigrams("   ") == []
    assert average_bigrams(["은행법 제8조", "", "및"]) == 2.5  # texts without bigrams do not count


def test_bigram_terms_are_indexed_with_their_own_length_normalisation():
    p = Bm25Params(k1=0.5, b=0.75, avgdl=4.0, bigram_avgdl=2.0)
    enc = SparseEncoder(params=p)
    vec = enc.document(["은행"], "은행 은행법")  # bigrams 은행, 은행, 행법
    weights = dict(zip(vec.indices, vec.values, strict=True))
    norm = p.k1 * (1 - p.b + p.b * 3 / 2.0)
    assert math.isclose(weights[term_index(BIGRAM_NS + "은행")], 2 * (p.k1 + 1) / (2 + norm), rel_tol=1e-9)
    assert math.isclose(weights[term_index(BIGRAM_NS + "행법")], 1 * (p.k1 + 1) / (1 + norm), rel_tol=1e-9)
    assert term_index("은행") in weights  # the morpheme term is untouched beside its bigram twin
    # without bigram_avgdl (an encoder outside a store) no bigram terms are written
    plain = SparseEncoder(params=Bm25Params(k1=0.5, avgdl=4.0)).document(["은행"], "은행 은행법")
    assert plain.indices == [term_index("은행")]


def test_bigram_query_is_distinct_bigrams_weight_one():
    q = SparseEncoder().bigram_query("은행 은행법")
    assert q.indices == [term_index(BIGRAM_NS + "은행"), term_index(BIGRAM_NS + "행법")]
    assert q.values == [1.0, 1.0]
    # the morpheme query never names a bigram term
    assert not set(SparseEncoder().query(["은행"]).indices) & set(q.indices)
