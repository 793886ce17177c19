"""Choosing and opening stores from settings; engine-specific behaviour and damaged indexes."""

from __future__ import annotations

import pytest

from hanstack.config import load_settings
from hanstack.errors import ConfigError, StoreError
from hanstack.store import open_store

from .helpers import HashEmbedder, edge_store, make_chunk

pytest.importorskip("qdrant_edge")


def test_open_store_follows_settings(workspace, tmp_path):
    from hanstack.store.edge import EdgeStore
    from hanstack.store.qdrant import QdrantStore

    edge = open_store(load_settings(workspace), embedder=HashEmbedder())
    assert isinstance(edge, EdgeStore) and edge.path == load_settings(workspace).index_dir
    edge.close()
    settings = load_settings(
        workspace,
        retrieval={
            "store": "qdrant",
            "qdrant_url": f"path:{tmp_path / 'q'}",
            "shard_number": 2,
            "collection": "c1",
        },
    )
    remote = open_store(settings, embedder=HashEmbedder())
    assert isinstance(remote, QdrantStore) and remote.collection == "c1"
    remote.upsert_chunks([make_chunk("은행 인가", doc="a")])
    assert remote.count() == 1
    remote.close()
    with pytest.raises(ConfigError, match="qdrant_url"):
        open_store(load_settings(workspace, retrieval={"store": "qdrant"}), embedder=HashEmbedder())


def test_flush_builds_indexes_after_many_changes(tmp_path, monkeypatch):
    import hanstack.store.edge as edge

    monkeypatch.setattr(edge, "OPTIMIZE_EVERY", 3)
    store = edge_store(tmp_path / "i")
    calls = []
    monkeypatch.setattr(store, "optimize", lambda: calls.append(1) or setattr(store, "_pending", 0))
    store.upsert_chunks([make_chunk("가", doc="a"), make_chunk("나", doc="b")])
    store.flush()
    assert calls == []
    store.delete_chunks([make_chunk("가", doc="a").chunk_id])
    store.flush()
    assert calls == [1]
    store.close()


def test_optimize_on_a_small_index_is_cheap_and_harmless(tmp_path):
    store = edge_store(tmp_path / "i")
    store.upsert_chunks([make_chunk("은행 인가", doc="a")])
    store.optimize()
    assert store.count() == 1
    store.close()


def test_damaged_index_is_explained(tmp_path):
    store = edge_store(tmp_path / "i")
    store.upsert_chunks([make_chunk("은행 인가", doc="a")])
    store.close()
    (tmp_path / "i" / "hanstack-index.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(StoreError, match="delete the index folder"):
        edge_store(tmp_path / "i")
    (tmp_path / "i" / "hanstack-index.json").unlink()
    with pytest.raises(StoreError, match=r"without hanstack-index\.json"):
        edge_store(tmp_path / "i")


def test_foreign_qdrant_collection_is_refused(tmp_path):
    from qdrant_client import QdrantClient, models

    from hanstack.store.qdrant import QdrantStore

    client = QdrantClient(path=str(tmp_path / "q"))
    client.create_collection(
        "theirs", vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
    )
    with pytest.raises(StoreError, match="not made by hanstack"):
        QdrantStore(client, HashEmbedder(), collection="theirs")
    client.close()


def test_one_process_shares_the_open_index(tmp_path):
    first = edge_store(tmp_path / "i")
    second = edge_store(tmp_path / "i")
    first.upsert_chunks([make_chunk("은행 인가", doc="a")])
    second.upsert_chunks([make_chunk("영화 배우", doc="b")])
    assert first.count() == second.count() == 2
    assert first.meta.avgdl is not None and second.encoder.params.avgdl == first.meta.avgdl
    first.close()
    assert second.count() == 2  # still open for the other holder
    second.close()
    assert edge_store(tmp_path / "i").count() == 2


def test_index_held_by_another_process_is_explained(tmp_path):
    import subprocess
    import sys
    import textwrap

    store = edge_store(tmp_path / "i")
    store.upsert_chunks([make_chunk("은행 인가", doc="a")])
    store.flush()
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(__import__("pathlib").Path(__file__).resolve().parents[2])!r})
        from tests.store.helpers import edge_store
        from hanstack.errors import StoreError
        try:
            edge_store(__import__("pathlib").Path({str(tmp_path / "i")!r}))
        except StoreError as exc:
            print("StoreError:", exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "open in another process" in out.stdout, out.stderr[-2000:]
    store.close()


def test_search_pool_size_is_applied_on_every_open(workspace):
    """``retrieval.search_threads`` reaches the engine when the index is created and each time it
    is opened again (Qdrant Edge persists it in the shard's config)."""
    import json

    from hanstack.store.edge import SHARD_DIR

    def persisted(settings) -> int:
        config = json.loads((settings.index_dir / SHARD_DIR / "edge_config.json").read_text())
        return int(config["max_search_threads"])

    one = load_settings(workspace)
    store = open_store(one, embedder=HashEmbedder())
    store.upsert_chunks([make_chunk("은행 인가", doc="a")])
    store.flush()
    store.close()
    assert persisted(one) == 1  # the default
    two = load_settings(workspace, retrieval={"search_threads": 2})
    store = open_store(two, embedder=HashEmbedder())
    assert persisted(two) == 2
    assert store.count() == 1  # opening with a config kept the data and the dense vector settings
    store.close()
    with pytest.raises(StoreError, match="search_threads"):
        edge_store(workspace / "other", search_threads=-1)


def test_drop_index_deletes_the_collection_and_names_a_missing_url(workspace, tmp_path):
    from hanstack.store import drop_index

    settings = load_settings(
        workspace, retrieval={"store": "qdrant", "qdrant_url": f"path:{tmp_path / 'q'}", "collection": "c1"}
    )
    store = open_store(settings, embedder=HashEmbedder())
    store.upsert_chunks([make_chunk("은행 인가", doc="a")])
    store.close()
    assert drop_index(settings).endswith("collection c1")
    fresh = open_store(settings, embedder=HashEmbedder())
    assert fresh.count() == 0  # a new, empty collection: the registry would refill it
    fresh.close()
    with pytest.raises(ConfigError, match="qdrant_url"):
        drop_index(load_settings(workspace, retrieval={"store": "qdrant"}))
