"""The in-memory BM25 mirror must rank and score exactly as Qdrant Edge's own sparse search does
(same IDF over the asker's scope), and follow every write made through any store on the shard."""

from __future__ import annotations

import random

import pytest

from hanstack.store import AccessScope, StoreQuery
from hanstack.store.bm25_mirror import Bm25Mirror, MirrorRow
from hanstack.store.sparse import SparseVec

from .helpers import HashEmbedder, make_chunk

pytest.importorskip("qdrant_edge")

VOCAB = [f"w{i}" for i in range(40)]
GROUPS = ["hr", "legal", "finance", "public"]


def random_chunks(rng: random.Random, n: int, prefix: str = "d") -> list:
    chunks = []
    for i in range(n):
        # a Zipf-like vocabulary: some terms in most chunks (the slow case for the engine)
        terms = [
            VOCAB[min(int(rng.paretovariate(1.0)) - 1, len(VOCAB) - 1)] for _ in range(rng.randint(0, 12))
        ]
        chunks.append(
            make_chunk(
                " ".join(terms) or "빈 조각",
                doc=f"{prefix}{i // 3}",
                ordinal=i % 3,
                tenant=rng.choice(["t1", "t2"]),
                acl=tuple(rng.sample(GROUPS, rng.randint(1, 2))),
                terms=terms,
            )
        )
    return chunks


def compare(memory, engine, rng: random.Random, queries: int = 60) -> int:
    compared = rescored = 0
    for _ in range(queries):
        terms = rng.sample(VOCAB[:15], rng.randint(1, 4))
        scope = AccessScope(rng.choice(["t1", "t2", "t3"]), tuple(rng.sample(GROUPS, rng.randint(1, 3))))
        limit = rng.choice([3, 10, 50])
        # the text's character bigrams rescored on the candidates: the mirror's forward index
        # against the engine's id-restricted search
        rescore = memory.encoder.bigram_query(" ".join(rng.sample(VOCAB[:15], 2)))
        q = StoreQuery(scope=scope, limit=limit, sparse=memory.encoder.query(terms), rescore=rescore)
        got_all, want_all = memory.query(q), engine.query(q)
        got, want = got_all.sparse, want_all.sparse
        if {c.key for c in got} == {c.key for c in want}:
            assert got_all.rescored == pytest.approx(want_all.rescored, rel=1e-5, abs=1e-6)
            rescored += len(got_all.rescored)
        assert len(got) == len(want), (terms, scope)
        # same scores in the same order; keys may swap only inside a tie
        for g, w in zip(got, want, strict=True):
            assert g.score == pytest.approx(w.score, rel=1e-5, abs=1e-6)
        by_key = {c.key: c.score for c in want}
        for g in got:
            if g.key not in by_key:  # a tie at the cut-off may pick another member of the tie
                assert g.score == pytest.approx(want[-1].score, rel=1e-5)
            else:
                assert g.doc_id == next(c.doc_id for c in want if c.key == g.key)
        compared += len(got)
    assert rescored > 100
    return compared


def test_mirror_matches_the_engine_through_writes_and_deletes(tmp_path):
    from hanstack.store.edge import EdgeStore

    rng = random.Random(7)
    emb = HashEmbedder()
    memory = EdgeStore(tmp_path / "a", emb)
    engine = EdgeStore(tmp_path / "b", emb, sparse_scorer="engine")
    first = random_chunks(rng, 300)
    for store in (memory, engine):
        store.upsert_chunks(first)
    assert compare(memory, engine, rng) > 200  # the mirror is built here, from the shard
    # writes after the build: new chunks, a replaced chunk (same id, new terms), deletes
    more = random_chunks(rng, 120, prefix="e")
    replaced = [make_chunk("w1 w1 w2", doc=first[0].provenance.doc_id, ordinal=0, terms=["w1", "w1", "w2"])]
    gone = [c.chunk_id for c in rng.sample(first, 60)]
    for store in (memory, engine):
        store.upsert_chunks(more)
        store.upsert_chunks(replaced)
        store.delete_chunks(gone)
    assert compare(memory, engine, rng) > 200


def test_a_second_store_on_the_same_shard_sees_the_first_ones_writes(tmp_path):
    from hanstack.store.edge import EdgeStore

    reader = EdgeStore(tmp_path / "idx", HashEmbedder())
    writer = EdgeStore(tmp_path / "idx", HashEmbedder())  # shares the open shard and its mirror
    writer.upsert_chunks([make_chunk("합병 계획", doc="a", terms=["합병", "계획"])])
    q = StoreQuery(scope=AccessScope("t1", ("public",)), limit=5, sparse=reader.encoder.query(["합병"]))
    assert [c.doc_id for c in reader.query(q).sparse] == ["a"]  # builds the mirror
    writer.upsert_chunks([make_chunk("합병 승인", doc="b", terms=["합병", "승인"])])
    writer.delete_chunks([make_chunk("합병 계획", doc="a").chunk_id])
    assert [c.doc_id for c in reader.query(q).sparse] == ["b"]
    writer.close()
    reader.close()


def test_mirror_scope_filter_and_idf_unit():
    def row(key, tenant, acl, idx, vals, doc=None):
        return MirrorRow(key, doc or key, tenant, acl, SparseVec(idx, vals))

    m = Bm25Mirror(
        [
            row("a", "t1", ("hr",), [1, 2], [1.0, 1.0]),
            row("b", "t1", ("legal",), [1], [2.0]),
            row("c", "t2", ("hr",), [1], [5.0]),
            row("d", "t1", ("hr", "legal"), [2], [1.0]),
        ]
    )
    hr = AccessScope("t1", ("hr",))
    res = m.search(SparseVec([1], [1.0]), hr, 10)
    # visible to t1/hr: a and d (N = 2); term 1 only in a (n = 1): idf = ln(1 + 1.5/1.5)
    assert [c.key for c in res] == ["a"]
    assert res[0].score == pytest.approx(1.0 * 0.6931472, rel=1e-6)
    assert m.search(SparseVec([1], [1.0]), AccessScope("t1", ("nobody",)), 10) == []
    assert m.search(SparseVec([1], [1.0]), AccessScope("t9", ("hr",)), 10) == []
    m.remove(["a"])
    assert m.search(SparseVec([1], [1.0]), hr, 10) == []
    m.add([row("a", "t1", ("hr",), [1], [3.0])])  # re-added with new weights
    assert [round(c.score, 4) for c in m.search(SparseVec([1], [1.0]), hr, 10)] == [round(3.0 * 0.6931472, 4)]
    assert len(m) == 4 and 0 < m.dead_share < 1


def test_cached_filtered_postings_follow_writes(monkeypatch):
    """Long posting lists are cached per scope; any write must drop that cache."""
    import hanstack.store.bm25_mirror as bm

    monkeypatch.setattr(bm, "_FILTERED_MIN", 1)  # cache every list
    m = Bm25Mirror([MirrorRow(f"k{i}", f"d{i}", "t1", ("hr",), SparseVec([7], [1.0])) for i in range(5)])
    scope = AccessScope("t1", ("hr",))
    assert len(m.search(SparseVec([7], [1.0]), scope, 10)) == 5
    assert m._filtered  # the scope's list of term 7 is cached now
    m.remove(["k0", "k1"])
    m.add([MirrorRow("k9", "d9", "t1", ("legal",), SparseVec([7], [1.0]))])  # another group
    assert sorted(c.key for c in m.search(SparseVec([7], [1.0]), scope, 10)) == ["k2", "k3", "k4"]
    m.add([MirrorRow("k8", "d8", "t1", ("hr",), SparseVec([7], [2.0]))])
    assert m.search(SparseVec([7], [1.0]), scope, 1)[0].key == "k8"
    assert m.doc_ids(["k8", "k0", "never"]) == ["d8", "", ""]  # removed and unknown keys: no document


def test_unknown_sparse_scorer_is_refused(tmp_path):
    from hanstack.errors import StoreError
    from hanstack.store.edge import EdgeStore

    with pytest.raises(StoreError) as err:
        EdgeStore(tmp_path / "idx", HashEmbedder(), sparse_scorer="bm25s")
    assert "bm25s" in str(err.value) and "memory or engine" in (err.value.hint or "")


def test_replacing_chunks_again_and_again_rebuilds_the_mirror_from_the_shard(tmp_path):
    from hanstack.store.edge import EdgeStore

    store = EdgeStore(tmp_path / "idx", HashEmbedder())
    chunks = [make_chunk(f"합병 {i}", doc=f"d{i}", terms=["합병", str(i)]) for i in range(10)]
    store.upsert_chunks(chunks)
    q = StoreQuery(scope=AccessScope("t1", ("public",)), limit=20, sparse=store.encoder.query(["합병"]))
    assert len(store.query(q).sparse) == 10
    built = store._shared.mirror
    store.upsert_chunks(chunks[:6])  # 6 dead of 16 rows: kept
    assert store._shared.mirror is built
    store.upsert_chunks(chunks)  # 16 dead of 26 rows: more than half, rebuilt on the next query
    assert store._shared.mirror is None
    assert len(store.query(q).sparse) == 10 and store._shared.mirror is not built
    store.close()
