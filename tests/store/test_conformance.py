"""One conformance suite, run against every Store implementation (embedded Qdrant Edge and the
Qdrant server store through qdrant-client's local mode)."""

from __future__ import annotations

import contextlib

import pytest

from hanstack.errors import InvalidInputError, StoreError
from hanstack.store import AccessScope, Store, StoreQuery

from .helpers import STORE_FACTORIES, HashEmbedder, make_chunk

pytest.importorskip("qdrant_edge")
pytest.importorskip("qdrant_client")

SCOPE = AccessScope("t1", ("public",))


@pytest.fixture(params=sorted(STORE_FACTORIES))
def kind(request):
    return request.param


@pytest.fixture()
def open_store(kind, tmp_path):
    opened = []

    def factory(embedder=None, sub="index", **kw):
        store = STORE_FACTORIES[kind](tmp_path / sub, embedder, **kw)
        opened.append(store)
        return store

    yield factory
    for s in opened:
        with contextlib.suppress(Exception):  # some tests close the store themselves
            s.close()


def corpus():
    return [
        make_chunk("은행 인가 요건 자본금", doc="a", ordinal=0),
        make_chunk("영화 배우 연기 감동", doc="b", ordinal=0),
        make_chunk("은행 예비 인가 절차 제10조", doc="c", ordinal=0),
        make_chunk("지방 은행 영업 구역", doc="c", ordinal=1),
    ]


def sparse_keys(store, terms, scope=SCOPE, **kw):
    q = StoreQuery(scope=scope, limit=10, sparse=store.encoder.query(terms), **kw)
    return [c.key for c in store.query(q).sparse]


def docs_of(store, keys):
    fetched = store.fetch(keys)
    return [fetched[k].provenance.doc_id for k in keys]


def test_implements_protocols(open_store):
    from hanstack.ingest.models import ChunkIndex

    store = open_store()
    assert isinstance(store, Store)
    assert isinstance(store, ChunkIndex)


def test_upsert_count_ids_and_idempotence(open_store):
    store = open_store()
    chunks = corpus()
    store.upsert_chunks(chunks)
    store.upsert_chunks(chunks[:2])
    store.flush()
    assert store.count() == 4
    assert store.indexed_chunk_ids() == {c.chunk_id for c in chunks}


def test_sparse_and_dense_candidates(open_store):
    store = open_store()
    store.upsert_chunks(corpus())
    keys = sparse_keys(store, ["인가"])
    assert sorted(docs_of(store, keys)) == ["a", "c"]
    emb = store.embedder.embed_queries(["영화 배우 연기"])[0]
    res = store.query(StoreQuery(scope=SCOPE, limit=2, dense=emb))
    assert docs_of(store, [c.key for c in res.dense])[0] == "b"
    assert res.dense[0].doc_id == "b"
    assert res.dense[0].score >= res.dense[1].score


def test_bm25_prefers_rarer_terms_and_exact_reference(open_store):
    store = open_store()
    store.upsert_chunks(corpus())
    keys = sparse_keys(store, ["은행", "절차"])
    assert docs_of(store, keys)[0] == "c"
    from hanstack.store.sparse import exact_terms

    q = StoreQuery(scope=SCOPE, limit=10, sparse=store.encoder.query([], exact_terms("제10조")))
    res = store.query(q)
    assert docs_of(store, [c.key for c in res.sparse]) == ["c"]


def test_fetch_round_trips_provenance(open_store):
    store = open_store()
    chunk = make_chunk(
        "제2장 > 제10조 본문", doc="law", title="법", section=("제2장", "제10조"), page=3, acl=("a", "b")
    )
    store.upsert_chunks([chunk])
    key = (
        store.query(
            StoreQuery(scope=AccessScope("t1", ("b",)), limit=1, sparse=store.encoder.query(["본문"]))
        )
        .sparse[0]
        .key
    )
    got = store.fetch([key])[key]
    assert got.chunk_id == chunk.chunk_id
    assert got.text == chunk.text
    assert got.provenance == chunk.provenance
    assert got.terms == tuple(dict.fromkeys(chunk.terms))
    assert store.fetch([]) == {}


def test_delete(open_store):
    store = open_store()
    chunks = corpus()
    store.upsert_chunks(chunks)
    store.delete_chunks([chunks[0].chunk_id])
    store.delete_chunks([])
    store.flush()
    assert store.count() == 3
    assert chunks[0].chunk_id not in store.indexed_chunk_ids()
    assert docs_of(store, sparse_keys(store, ["인가"])) == ["c"]


def test_tenant_and_acl_filters(open_store):
    store = open_store()
    store.upsert_chunks(
        [
            make_chunk("비밀 인사 자료", doc="hr", tenant="t1", acl=("hr",)),
            make_chunk("공개 인사 안내", doc="pub", tenant="t1", acl=("public", "hr")),
            make_chunk("다른 회사 인사 자료", doc="other", tenant="t2", acl=("hr",)),
        ]
    )
    emb = store.embedder.embed_queries(["인사 자료"])[0]

    def visible(scope):
        res = store.query(StoreQuery(scope=scope, limit=10, sparse=store.encoder.query(["인사"]), dense=emb))
        return sorted(
            set(docs_of(store, [c.key for c in res.sparse])) | set(docs_of(store, [c.key for c in res.dense]))
        )

    assert visible(AccessScope("t1", ("public",))) == ["pub"]
    assert visible(AccessScope("t1", ("hr",))) == ["hr", "pub"]
    assert visible(AccessScope("t2", ("hr", "public"))) == ["other"]
    assert visible(AccessScope("t1", ())) == []
    assert visible(AccessScope("t3", ("hr",))) == []


def test_required_terms_and_doc_filter(open_store):
    store = open_store()
    store.upsert_chunks(corpus())
    assert docs_of(store, sparse_keys(store, ["은행"], required_terms=("인가", "절차"))) == ["c"]
    assert sorted(docs_of(store, sparse_keys(store, ["은행"], doc_ids=("a",)))) == ["a"]
    assert sparse_keys(store, ["은행"], doc_ids=()) == []


def test_required_terms_match_whole_terms_only(open_store):
    """A required term matches a chunk term exactly: 인가 is not found inside 인가제 or 예비인가,
    and the chunk's terms come back as they went in (Qdrant Edge stores them as one string)."""
    store = open_store()
    store.upsert_chunks(
        [
            make_chunk("인가제 은행", doc="prefix", terms=("인가제", "은행")),
            make_chunk("예비인가 은행", doc="compound", terms=("예비인가", "은행")),
            make_chunk("인가 은행", doc="exact", terms=("인가", "은행")),
        ]
    )
    assert docs_of(store, sparse_keys(store, ["은행"], required_terms=("인가",))) == ["exact"]
    keys = sparse_keys(store, ["은행"])
    assert {c.terms for c in store.fetch(keys).values()} == {
        ("인가제", "은행"),
        ("예비인가", "은행"),
        ("인가", "은행"),
    }


def test_persistence_and_reload(open_store):
    store = open_store()
    chunks = corpus()
    store.upsert_chunks(chunks)
    store.flush()
    avgdl = store.meta.avgdl
    store.close()
    again = open_store()
    assert again.count() == 4
    assert again.meta.avgdl == avgdl
    assert docs_of(again, sparse_keys(again, ["감동"])) == ["b"]


def test_refuses_a_different_embedder(open_store):
    store = open_store()
    store.upsert_chunks(corpus())
    store.close()
    with pytest.raises(StoreError, match="embedder"):
        open_store(HashEmbedder(name="other-model"))


def test_bad_chunks_are_refused_and_nothing_is_written(open_store):
    store = open_store()
    good = make_chunk("정상 문서", doc="ok")
    bad = make_chunk("권한 없는 문서", doc="bad", acl=())
    with pytest.raises(InvalidInputError, match="empty ACL"):
        store.upsert_chunks([good, bad])
    assert store.count() == 0


def test_interrupted_upsert_resumes(open_store, monkeypatch):
    """Embedding fails mid-way: the batches before the failure are indexed, and re-upserting the
    chunks the index lacks completes it without duplicates (the pipeline's recovery path)."""
    import hanstack.store.common as common

    monkeypatch.setattr(common, "EMBED_BATCH", 2)
    monkeypatch.setattr(common, "WRITE_BATCH", 2)  # each write durable on its own

    class Flaky(HashEmbedder):
        def __init__(self):
            super().__init__()
            self.fail_at = 2

        def embed_passages(self, texts):
            if self.calls + 1 == self.fail_at:
                self.calls += 1
                raise RuntimeError("power cut")
            return super().embed_passages(texts)

    emb = Flaky()
    store = open_store(emb)
    chunks = [make_chunk(f"문서 {i} 내용", doc=f"d{i}") for i in range(5)]
    with pytest.raises(RuntimeError):
        store.upsert_chunks(chunks)
    done = store.indexed_chunk_ids()
    assert len(done) == 2
    store.upsert_chunks([c for c in chunks if c.chunk_id not in done])
    assert store.indexed_chunk_ids() == {c.chunk_id for c in chunks}
    assert store.count() == 5


def test_progress_reports_batches(open_store, monkeypatch):
    import hanstack.store.common as common

    monkeypatch.setattr(common, "EMBED_BATCH", 2)
    seen = []
    store = open_store(progress=lambda done, total: seen.append((done, total)))
    store.upsert_chunks([make_chunk(f"문서 {i}", doc=f"d{i}") for i in range(5)])
    assert seen == [(2, 5), (4, 5), (5, 5)]


def test_chunks_without_terms_are_indexed_for_dense_search(open_store):
    store = open_store()
    store.upsert_chunks([make_chunk("😀 🎉", doc="emoji", terms=())])
    emb = store.embedder.embed_queries(["😀 🎉"])[0]
    res = store.query(StoreQuery(scope=SCOPE, limit=3, dense=emb, sparse=store.encoder.query([])))
    assert [c.doc_id for c in res.dense] == ["emoji"]
    assert res.sparse == []


def test_scores_do_not_reveal_other_tenants_documents(open_store):
    """BM25 statistics are computed over the asker's visible chunks only: adding documents to
    another tenant (or another group) leaves every score of this one unchanged."""
    store = open_store()
    store.upsert_chunks([make_chunk("합병 계획 검토", doc="mine"), make_chunk("영업 실적 보고", doc="mine2")])

    def scores():
        res = store.query(StoreQuery(scope=SCOPE, limit=5, sparse=store.encoder.query(["합병", "실적"])))
        return sorted(round(c.score, 6) for c in res.sparse)

    before = scores()
    store.upsert_chunks([make_chunk(f"합병 합병 {i}", doc=f"o{i}", tenant="t2") for i in range(20)])
    store.upsert_chunks([make_chunk(f"실적 {i}", doc=f"g{i}", acl=("board",)) for i in range(20)])
    assert scores() == before


def test_rescore_scores_the_candidates_only(open_store):
    """The bigram rescoring query is scored on the sparse and dense candidates only, with the same
    BM25 (and IDF over the scope) as a full search with that query would give them."""
    store = open_store()
    store.upsert_chunks(
        [
            make_chunk("은행업 인가 신청", doc="a"),
            make_chunk("은행법 시행령 개정", doc="b"),
            make_chunk("인가 절차 안내", doc="c"),
            make_chunk("지방은행 영업 구역", doc="d"),
        ]
    )
    rescore = store.encoder.bigram_query("은행법 인가")
    res = store.query(
        StoreQuery(scope=SCOPE, limit=10, sparse=store.encoder.query(["인가"]), rescore=rescore)
    )
    candidates = {c.key for c in res.sparse}
    assert sorted(c.doc_id for c in res.sparse) == ["a", "c"]
    full = {c.key: c.score for c in store.query(StoreQuery(scope=SCOPE, limit=10, sparse=rescore)).sparse}
    assert sorted(c.doc_id for c in store.query(StoreQuery(scope=SCOPE, limit=10, sparse=rescore)).sparse) == [
        "a", "b", "c", "d"
    ]  # fmt: skip
    assert set(res.rescored) == candidates  # b and d match the bigrams but were not candidates
    for key, score in res.rescored.items():
        assert score == pytest.approx(full[key], rel=1e-5)
    # the same bigrams in another tenant's documents do not move the scores
    store.upsert_chunks([make_chunk(f"은행법 인가 {i}", doc=f"o{i}", tenant="t2") for i in range(10)])
    again = store.query(
        StoreQuery(scope=SCOPE, limit=10, sparse=store.encoder.query(["인가"]), rescore=rescore)
    )
    assert again.rescored == pytest.approx(res.rescored, rel=1e-5)


def test_rescore_over_dense_candidates_and_nothing_matching(open_store):
    store = open_store()
    store.upsert_chunks(corpus())
    emb = store.embedder.embed_queries(["영화 배우"])[0]
    res = store.query(
        StoreQuery(scope=SCOPE, limit=4, dense=emb, rescore=store.encoder.bigram_query("영화배우"))
    )
    assert res.dense[0].doc_id == "b"
    assert {store.fetch([k])[k].provenance.doc_id for k in res.rescored} == {"b"}
    none = store.query(StoreQuery(scope=SCOPE, limit=4, dense=emb, rescore=store.encoder.bigram_query("zz")))
    assert none.rescored == {}
