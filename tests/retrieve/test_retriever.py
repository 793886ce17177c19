"""The Retriever end to end over a real Qdrant Edge index and real Kiwi terms (fast hash vectors)."""

from __future__ import annotations

import random

import pytest

from hanstack.errors import InvalidInputError
from hanstack.retrieve import FusionConfig, Retriever

from ..store.helpers import HashEmbedder, edge_store, make_chunk

pytest.importorskip("qdrant_edge")

DOCS = {
    "bank": [
        "은행법 제8조에 따라 은행업을 영위하려면 금융위원회의 인가를 받아야 한다.",
        "시중은행의 최저자본금은 1,000억원이고 지방은행은 250억원이다.",
    ],
    "prelim": ["예비인가를 신청하려는 자는 제10조에 따라 금융위원회에 서류를 제출한다."],
    "other": ["제1조 이 법은 10개 조문으로 구성된다. 인가 절차는 별도로 정한다."],
    "movie": ["영화가 정말 재미있었다. 배우들의 연기가 최고였다."],
}


@pytest.fixture()
def retriever(tmp_path, kiwi):
    store = edge_store(tmp_path / "idx", HashEmbedder())
    chunks = [
        make_chunk(text, doc=doc, ordinal=i, tokenize=kiwi.search_terms, page=i + 1, section=("제1장",))
        for doc, texts in DOCS.items()
        for i, text in enumerate(texts)
    ]
    store.upsert_chunks(chunks)
    r = Retriever(store=store, tokenize=kiwi.search_terms)
    yield r
    r.close()


def search(r, q, **kw):
    kw.setdefault("tenant", "t1")
    kw.setdefault("groups", ["public"])
    return r.search(q, **kw)


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_modes_find_the_right_chunk(retriever, mode):
    hits = search(retriever, "영화 배우 연기", mode=mode, k=3)
    assert hits[0].doc_id == "movie"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert hits[0].provenance.section == "제1장"


def test_hit_carries_scores_matched_terms_and_provenance(retriever):
    hit = search(retriever, "은행업 영위에 필요한 인가를", k=1)[0]
    assert hit.doc_id == "bank"
    assert {"fused", "sparse", "dense"} <= set(hit.scores)
    assert hit.score == hit.scores["fused"]
    assert {"영위", "인가"} <= set(hit.matched_terms)
    assert hit.provenance.pages == "1"
    assert hit.text.startswith("은행법")


def test_article_reference_outranks_loose_number_and_term(retriever):
    hits = search(retriever, "제10조 절차", mode="bm25", k=3)
    assert hits[0].doc_id == "prelim"
    assert "제10조" in hits[0].matched_terms


def test_default_settings_boost_article_references_but_not_bare_numbers(retriever, tmp_path):
    from hanstack.config import load_settings

    cfg = FusionConfig.from_settings(load_settings(tmp_path / "ws"))
    assert cfg.boosts.article and cfg.boosts.article > 0 and cfg.boosts.exact == 0
    retriever.config = cfg
    hits = search(retriever, "제10조 절차", mode="bm25", k=3)
    assert hits[0].doc_id == "prelim" and "제10조" in hits[0].matched_terms


def test_numbers_match_across_thousands_separators(retriever):
    hits = search(retriever, "최저자본금 1000억원", mode="bm25", k=1)
    assert hits[0].doc_id == "bank" and "1000" in hits[0].matched_terms


def test_quoted_phrase_is_required(retriever):
    hits = search(retriever, '"예비 인가" 금융위원회', k=10)
    assert [h.doc_id for h in hits] == ["prelim"]
    assert search(retriever, '"인가 예비"', k=10) == []


def test_group_by_doc_returns_best_chunk_per_document(retriever):
    hits = search(retriever, "은행 자본금 인가", k=10, group_by_doc=True)
    docs = [h.doc_id for h in hits]
    assert len(docs) == len(set(docs))
    assert search(retriever, "은행 자본금 인가", k=10)[0].doc_id == docs[0]


def test_rrf_and_weighted_both_work(retriever):
    for fusion in ("rrf", "weighted"):
        assert search(retriever, "영화 배우", fusion=fusion, k=1)[0].doc_id == "movie"


def test_doc_ids_restrict_search(retriever):
    hits = search(retriever, "인가", doc_ids=["other"], k=5)
    assert {h.doc_id for h in hits} == {"other"}


def test_bad_input_is_refused(retriever):
    with pytest.raises(InvalidInputError):
        search(retriever, "   ")
    with pytest.raises(InvalidInputError):
        search(retriever, "은행", mode="fuzzy")
    with pytest.raises(InvalidInputError):
        search(retriever, "은행", k=0)
    with pytest.raises(InvalidInputError):
        search(retriever, "은행", tenant="")


def test_no_groups_sees_nothing(retriever):
    assert search(retriever, "은행", groups=[]) == []


def test_acl_zero_leaks_over_1000_random_queries(tmp_path, kiwi):
    """Two tenants whose group names overlap; 1,000 random queries with random group sets:
    no hit may ever fall outside the asking tenant or its groups."""
    rng = random.Random(7)
    words = ["은행", "인가", "자본금", "영화", "배우", "보험", "계약", "법률", "세금", "신고", "환급", "대출"]
    groups = ["hr", "legal", "finance", "public"]
    store = edge_store(tmp_path / "acl", HashEmbedder())
    chunks = []
    for i in range(200):
        tenant = "acme" if i % 2 else "globex"
        acl = tuple(rng.sample(groups, rng.randint(1, 2)))
        text = " ".join(rng.choices(words, k=6))
        chunks.append(make_chunk(text, doc=f"d{i}", tenant=tenant, acl=acl, tokenize=kiwi.search_terms))
    store.upsert_chunks(chunks)
    owner = {c.chunk_id: (c.provenance.tenant, set(c.provenance.acl)) for c in chunks}
    r = Retriever(store=store, tokenize=kiwi.search_terms, config=FusionConfig(candidates=50))
    leaks = returned = 0
    for _ in range(1000):
        tenant = rng.choice(["acme", "globex"])
        mine = set(rng.sample(groups, rng.randint(0, 2)))
        query = " ".join(rng.choices(words, k=rng.randint(1, 3)))
        mode = rng.choice(["bm25", "dense", "hybrid"])
        for h in r.search(query, tenant=tenant, groups=sorted(mine), k=10, mode=mode):
            returned += 1
            t, acl = owner[h.chunk_id]
            leaks += t != tenant or not (acl & mine)
    r.close()
    assert returned > 1000
    assert leaks == 0


def test_hybrid_drops_candidates_without_any_evidence(retriever):
    retriever.config.fusion = "weighted"  # RRF gives every candidate a positive score
    retriever.config.norm = "minmax"  # the weakest candidate of each list normalises to 0
    hits = search(retriever, "영화 배우", k=10)
    assert all(h.score > 0 for h in hits)
    assert len(hits) < len(search(retriever, "영화 배우", k=10, mode="dense"))


def test_bigram_list_is_scored_on_candidates_and_fused(retriever):
    hits = search(retriever, "시중은행 최저자본금", k=3)
    top = hits[0]
    assert top.doc_id == "bank" and "최저자본금" in top.text
    assert top.scores["bigram"] > 0
    # the bigram list alone (other weights 0) ranks by shared bigrams among the candidates
    retriever.config = FusionConfig(sparse_weight=0.0, dense_weight=0.0, bigram_weight=1.0)
    alone = search(retriever, "예비인가 신청", k=5)
    assert alone[0].doc_id == "prelim"
    assert all(h.scores.get("bigram", 0) > 0 for h in alone)
    assert [h.scores["bigram"] for h in alone] == sorted((h.scores["bigram"] for h in alone), reverse=True)


def test_bigram_weight_zero_asks_the_store_for_nothing(retriever):
    seen = []
    real_query = retriever.store.query

    def spy(q):
        seen.append(q)
        return real_query(q)

    retriever.store.query = spy
    retriever.config = FusionConfig(bigram_weight=0.0)
    hits = search(retriever, "시중은행 최저자본금", k=3)
    assert seen[-1].rescore is None
    assert all("bigram" not in h.scores for h in hits)
    retriever.config = FusionConfig()
    search(retriever, "시중은행 최저자본금", k=3, mode="bm25")
    assert seen[-1].rescore is None  # only hybrid search fuses a third list


def test_negative_bigram_weight_is_refused_by_name(workspace):
    from hanstack.config import load_settings
    from hanstack.errors import ConfigError

    with pytest.raises(ConfigError, match=r"retrieval\.bigram_weight") as err:
        load_settings(workspace, retrieval={"bigram_weight": -0.5})
    assert "HANSTACK_" in (err.value.hint or "")
    assert load_settings(workspace, retrieval={"bigram_weight": 0}).retrieval.bigram_weight == 0
