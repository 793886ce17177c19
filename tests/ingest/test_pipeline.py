"""Ingestion end to end: registry, provenance spans, incremental runs, atomic replace, resume, bad input."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from hanstack.config import load_settings
from hanstack.ingest.models import Trust
from hanstack.ingest.pipeline import IngestOptions, Ingestor
from hanstack.ingest.registry import Registry

DEMO = Path(__file__).resolve().parents[2] / "src" / "hanstack" / "data" / "demo"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "헌법.txt").write_bytes((DEMO / "kolaw" / "constitution.txt").read_bytes())
    (folder / "bill.txt").write_bytes((DEMO / "kobill" / "1809890.txt").read_bytes())
    (folder / "legacy.txt").write_bytes(
        "제1조(목적) 이 규정은 사내 정보보호에 관한 사항을 정한다.\n".encode("cp949")
    )
    (folder / "guide.md").write_text(
        "# 요금 안내\n\n## 기본 요금\n\n월 기본료는 만 원이다.\n", encoding="utf-8"
    )
    return folder


@pytest.fixture()
def ingestor(workspace: Path, kiwi):
    settings = load_settings(workspace)
    with Registry(settings.db_path) as reg:
        yield Ingestor(settings, reg, analyzer=kiwi)


OPTS = IngestOptions(tenant="acme", acl=("hr", "legal"), trust=Trust.TRUSTED)


def test_ingest_folder_with_provenance(ingestor: Ingestor, corpus: Path) -> None:
    report = ingestor.ingest([corpus], OPTS)
    assert report.ok, report.failed
    assert report.files == 4 and report.documents_new == 4
    docs = {Path(d.source).name: d for d in ingestor.registry.list(tenant="acme")}
    assert set(docs) == {"헌법.txt", "bill.txt", "legacy.txt", "guide.md"}
    assert docs["legacy.txt"].encoding == "euc-kr/cp949"
    for d in docs.values():
        text = ingestor.registry.document_text(d.doc_id)
        for c in ingestor.registry.chunks(d.doc_id):
            p = c.provenance
            assert text[p.char_start : p.char_end] == c.text  # spans round-trip to the source text
            assert (p.tenant, p.acl, p.trust, p.version) == ("acme", ("hr", "legal"), Trust.TRUSTED, 1)
            assert len(p.content_sha256) == 64 and p.ingested_at
            assert c.terms and c.token_count > 0
    legacy = ingestor.registry.chunks(docs["legacy.txt"].doc_id)
    assert legacy[0].provenance.section_path[0] == "제1조(목적)"
    guide = ingestor.registry.chunks(docs["guide.md"].doc_id)
    assert guide[0].provenance.section_path == ("요금 안내", "기본 요금")


def test_unchanged_file_does_nothing_and_changed_file_replaces(ingestor: Ingestor, corpus: Path) -> None:
    ingestor.ingest([corpus], OPTS)
    again = ingestor.ingest([corpus], OPTS)
    assert (
        again.documents_new,
        again.documents_updated,
        again.documents_unchanged,
        again.chunks_written,
    ) == (0, 0, 4, 0)
    # touching without changing the bytes: hashed, recognised as unchanged
    os.utime(corpus / "bill.txt", None)
    assert ingestor.ingest([corpus], OPTS).documents_unchanged == 4
    target = corpus / "guide.md"
    target.write_text("# 요금 안내\n\n## 기본 요금\n\n월 기본료는 이만 원이다.\n", encoding="utf-8")
    changed = ingestor.ingest([corpus], OPTS)
    assert changed.documents_updated == 1 and changed.documents_unchanged == 3
    doc = ingestor.registry.find("acme", str(target.resolve()))
    assert doc is not None and doc.version == 2
    chunks = ingestor.registry.chunks(doc.doc_id)
    assert all("이만 원" in c.text for c in chunks)
    assert all(c.provenance.version == 2 for c in chunks)


def test_sync_removes_vanished_files(ingestor: Ingestor, corpus: Path) -> None:
    ingestor.sync(corpus, OPTS)
    (corpus / "bill.txt").unlink()
    report = ingestor.sync(corpus, OPTS)
    assert report.documents_removed == 1
    assert {Path(d.source).name for d in ingestor.registry.list()} == {"헌법.txt", "legacy.txt", "guide.md"}


def test_bad_inputs_fail_alone(ingestor: Ingestor, corpus: Path, workspace: Path) -> None:
    (corpus / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (corpus / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    settings = load_settings(workspace, ingest={"max_file_mb": 0.02})
    small = Ingestor(settings, ingestor.registry, analyzer=ingestor.analyzer)
    report = small.ingest([corpus, corpus / "missing.txt"], OPTS)
    by_name = {Path(f.source).name: f for f in report.failed}
    assert by_name["image.png"].error == "unsupported_format"
    assert by_name["broken.docx"].error == "corrupt_file"
    assert by_name["헌법.txt"].error == "file_too_large"  # 45 KB over a 20 KB limit
    assert by_name["missing.txt"].error == "not_found"
    assert report.documents_new == 3  # bill, legacy, guide still ingested
    for failure in report.failed:
        assert failure.message


def test_jsonl_records_are_documents(ingestor: Ingestor, tmp_path: Path) -> None:
    path = tmp_path / "reviews.jsonl"
    path.write_text(
        '{"id": "r1", "review": "배송이 빨라요", "rating": 9}\n{"id": "r2", "review": "별로예요", "rating": 2}\n',
        encoding="utf-8",
    )
    report = ingestor.ingest([path], OPTS)
    assert report.documents_new == 2
    docs = ingestor.registry.list(tenant="acme")
    assert {d.source.rsplit("#", 1)[1] for d in docs} == {"r1", "r2"}
    assert {d.metadata["rating"] for d in docs} == {9, 2}
    path.write_text('{"id": "r1", "review": "배송이 빨라요", "rating": 9}\n', encoding="utf-8")
    again = ingestor.ingest([path], OPTS)
    assert again.documents_unchanged == 1 and again.documents_removed == 1


def test_replace_is_atomic_for_readers(ingestor: Ingestor, corpus: Path) -> None:
    """A concurrent reader sees all chunks of version 1 or all of version 2, never a mix."""
    target = corpus / "헌법.txt"
    ingestor.ingest([target], OPTS)
    db_path = ingestor.registry.path
    doc = ingestor.registry.find("acme", str(target.resolve()))
    assert doc is not None
    seen: list[set[int]] = []
    stop = threading.Event()

    def reader() -> None:
        con = sqlite3.connect(str(db_path))
        while not stop.is_set():
            con.execute("BEGIN")
            versions = {
                r[0]
                for r in con.execute(
                    "SELECT d.version FROM chunks c JOIN documents d USING (doc_id) WHERE d.doc_id = ?",
                    (doc.doc_id,),
                )
            }
            n = con.execute("SELECT count(*) FROM chunks WHERE doc_id = ?", (doc.doc_id,)).fetchone()[0]
            con.execute("COMMIT")
            seen.append(versions)
            assert n > 0
        con.close()

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(3):
            target.write_text(
                target.read_text(encoding="utf-8") + f"\n부칙 추가 {i}조항이다.\n", encoding="utf-8"
            )
            ingestor.ingest([target], OPTS)
    finally:
        stop.set()
        t.join()
    assert seen and all(len(v) == 1 for v in seen)


def test_resume_after_kill_9(workspace: Path, tmp_path: Path) -> None:
    """Kill an ingest half-way; the next run finishes with no duplicates and nothing lost."""
    folder = tmp_path / "many"
    folder.mkdir()
    constitution = (DEMO / "kolaw" / "constitution.txt").read_text(encoding="utf-8")
    for i in range(24):
        (folder / f"doc{i:02d}.txt").write_text(f"문서 {i}번.\n" + constitution, encoding="utf-8")
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from hanstack.config import load_settings
        from hanstack.ingest import pipeline
        from hanstack.ingest.pipeline import IngestOptions, Ingestor
        from hanstack.ingest.registry import Registry
        pipeline.BATCH_CHARS = 40_000  # small batches: a kill lands between commits
        s = load_settings({str(workspace)!r})
        with Registry(s.db_path) as reg:
            Ingestor(s, reg, progress=lambda st, d, t: print(st, d, t, flush=True)).ingest(
                [Path({str(folder)!r})], IngestOptions(tenant="t"))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("files") and int(line.split()[1]) >= 8:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    settings = load_settings(workspace)
    with Registry(settings.db_path) as reg:
        partial = reg.stats()["documents"]
        assert 0 < partial < 24, partial
        report = Ingestor(settings, reg).ingest([folder], IngestOptions(tenant="t"))
        assert report.ok
        assert report.documents_new == 24 - partial
        docs = reg.list(tenant="t")
        assert len(docs) == 24
        per_doc = {d.chunk_count for d in docs}
        assert len(per_doc) <= 2  # doc00-09 vs doc10-23 differ only in the first line
        con = sqlite3.connect(str(settings.db_path))
        dup = con.execute(
            "SELECT count(*) - count(DISTINCT doc_id || ':' || ordinal) FROM chunks"
        ).fetchone()[0]
        assert dup == 0
