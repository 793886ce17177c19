"""The audit chain: appends, tampering detected, erasure and retention keep it verifiable."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hanstack.audit import AuditLog, apply_retention, erase_subject, export_jsonl, verify_log
from hanstack.audit.log import LOG_NAME, load_or_create_key, read_tail
from hanstack.errors import InvalidInputError


def _fill(directory: Path, n: int = 5, **kw) -> AuditLog:
    log = AuditLog(directory, **kw)
    for i in range(n):
        log.append(
            "request",
            {
                "tenant": "acme" if i % 2 == 0 else "beta",
                "route": "/v1/chat/completions",
                "subjects": [log.tag(f"user-{i}")],
            },
            {"request": {"text": f"질문 {i} 전화 010-1234-000{i}"}, "response": {"text": f"답 {i}"}},
        )
    return log


def _lines(directory: Path) -> list[str]:
    return (directory / LOG_NAME).read_text(encoding="utf-8").splitlines()


def _write(directory: Path, lines: list[str]) -> None:
    (directory / LOG_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _key(directory: Path) -> bytes:
    return load_or_create_key(directory)


def test_append_chains_and_verifies(tmp_path: Path) -> None:
    log = _fill(tmp_path, 5)
    log.close()
    report = verify_log(tmp_path, key=_key(tmp_path))
    assert report.ok, report.problems
    assert (report.records, report.first_seq, report.last_seq) == (5, 1, 5)
    recs = [json.loads(x) for x in _lines(tmp_path)]
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(recs))
    assert "질문" in _lines(tmp_path)[0]  # Korean stays Korean, no \\u escapes


def test_concurrent_appends_from_threads_keep_one_chain(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)

    def work(t: int) -> None:
        for i in range(50):
            log.append("request", {"tenant": f"t{t}", "i": i}, {"request": {"i": i}})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    log.close()
    report = verify_log(tmp_path, key=_key(tmp_path))
    assert report.ok and report.records == 400


def test_edit_is_detected(tmp_path: Path) -> None:
    _fill(tmp_path).close()
    lines = _lines(tmp_path)
    rec = json.loads(lines[2])
    rec["meta"]["tenant"] = "evil"
    lines[2] = json.dumps(rec, ensure_ascii=False)
    _write(tmp_path, lines)
    report = verify_log(tmp_path)
    assert not report.ok
    assert any(p.seq == 3 and "edited" in p.problem for p in report.problems)


def test_content_edit_is_detected(tmp_path: Path) -> None:
    _fill(tmp_path).close()
    lines = _lines(tmp_path)
    lines[1] = lines[1].replace("답 1", "답 X")
    _write(tmp_path, lines)
    report = verify_log(tmp_path)
    assert not report.ok and any("commitment" in p.problem for p in report.problems)


def test_rehashed_edit_is_caught_by_the_mac(tmp_path: Path) -> None:
    from hanstack.audit.records import content_commitment, record_hash

    _fill(tmp_path, 1).close()
    rec = json.loads(_lines(tmp_path)[0])
    rec["content"]["response"]["text"] = "forged"
    rec["content_hash"] = content_commitment(rec["content"])
    rec["hash"] = record_hash(
        rec["seq"], rec["ts"], rec["kind"], rec["meta"], rec["content_hash"], rec["prev"]
    )
    _write(tmp_path, [json.dumps(rec, ensure_ascii=False)])
    assert verify_log(tmp_path).ok  # an attacker can recompute plain hashes ...
    report = verify_log(tmp_path, key=_key(tmp_path))
    assert not report.ok and "MAC" in report.problems[0].problem  # ... but not the keyed MAC


def test_delete_is_detected(tmp_path: Path) -> None:
    _fill(tmp_path).close()
    lines = _lines(tmp_path)
    del lines[2]
    _write(tmp_path, lines)
    report = verify_log(tmp_path)
    assert not report.ok and any("deleted" in p.problem for p in report.problems)


def test_reorder_is_detected(tmp_path: Path) -> None:
    _fill(tmp_path).close()
    lines = _lines(tmp_path)
    lines[1], lines[3] = lines[3], lines[1]
    _write(tmp_path, lines)
    report = verify_log(tmp_path)
    assert not report.ok and any("out of order" in p.problem or "prev" in p.problem for p in report.problems)


def test_truncated_tail_is_detected_against_a_kept_head(tmp_path: Path) -> None:
    _fill(tmp_path).close()
    head = verify_log(tmp_path).head
    _write(tmp_path, _lines(tmp_path)[:-1])
    assert verify_log(tmp_path).ok
    assert not verify_log(tmp_path, expect_head=head).ok


def test_blanking_content_without_erasure_is_detected(tmp_path: Path) -> None:
    _fill(tmp_path).close()
    lines = _lines(tmp_path)
    rec = json.loads(lines[0])
    rec["content"] = None
    rec["erased"] = {"at": "x", "erasure_id": "fake"}
    lines[0] = json.dumps(rec, ensure_ascii=False)
    _write(tmp_path, lines)
    report = verify_log(tmp_path)
    assert not report.ok and any("no erasure record" in p.problem for p in report.problems)


def test_erasure_removes_subject_data_and_chain_still_verifies(tmp_path: Path) -> None:
    _fill(tmp_path).close()
    report = erase_subject(tmp_path, "010 1234 0003")  # other spelling of a phone in record 4
    assert report.seqs == [4]
    text = (tmp_path / LOG_NAME).read_text(encoding="utf-8")
    assert "010-1234-0003" not in text and "질문 3" not in text
    by_tag = erase_subject(tmp_path, "user-1")  # found by its keyed tag in meta.subjects
    assert by_tag.seqs == [2]
    assert "user-1" not in (tmp_path / LOG_NAME).read_text(encoding="utf-8")
    v = verify_log(tmp_path, key=_key(tmp_path))
    assert v.ok, v.problems
    assert v.erased == 2 and v.records == 7  # 5 requests + 2 erasure records


def test_erasure_refuses_a_too_short_subject(tmp_path: Path) -> None:
    _fill(tmp_path).close()
    with pytest.raises(InvalidInputError):
        erase_subject(tmp_path, "a")


def test_retention_checkpoint_verifies_and_is_signed(tmp_path: Path) -> None:
    log = _fill(tmp_path, 6)
    log.close()
    lines = _lines(tmp_path)
    cut = json.loads(lines[3])["ts"]
    report = apply_retention(tmp_path, before=datetime.fromisoformat(cut.replace("Z", "+00:00")))
    assert report.dropped == 3 and report.kept == 3
    v = verify_log(tmp_path, key=_key(tmp_path))
    assert v.ok, v.problems
    assert v.checkpoint and v.checkpoint["dropped_through_seq"] == 3 and v.first_seq == 4
    # appends continue the chain after the rewrite; a second retention run folds the first checkpoint
    log = AuditLog(tmp_path)
    log.append("request", {"tenant": "acme"}, {"request": {}})
    log.close()
    again = apply_retention(tmp_path, before=datetime.now(UTC) + timedelta(seconds=1))
    assert again.checkpoint and again.checkpoint["meta"]["dropped_count"] == 8
    assert verify_log(tmp_path, key=_key(tmp_path)).ok
    # a forged checkpoint (anchor moved) is caught
    lines = _lines(tmp_path)
    cp = json.loads(lines[0])
    cp["meta"]["dropped_count"] = 1
    lines[0] = json.dumps(cp)
    _write(tmp_path, lines)
    assert not verify_log(tmp_path, key=_key(tmp_path)).ok


def test_writer_follows_a_rewrite_by_another_process(tmp_path: Path) -> None:
    log = _fill(tmp_path, 3)  # stays open, like a running server
    erase_subject(tmp_path, "user-0")
    log.append("request", {"tenant": "acme"}, {"request": {"x": 1}})
    log.close()
    v = verify_log(tmp_path, key=_key(tmp_path))
    assert v.ok, v.problems
    assert v.last_seq == 5


def test_torn_last_line_is_moved_aside(tmp_path: Path) -> None:
    _fill(tmp_path, 2).close()
    with (tmp_path / LOG_NAME).open("ab") as fh:
        fh.write(b'{"seq": 3, "ts": "half')
    before = verify_log(tmp_path)
    assert before.ok and before.torn_tail  # an unacknowledged half-write is not tampering
    seq, _, _ = read_tail(tmp_path / LOG_NAME)
    assert seq == 2
    assert (tmp_path / (LOG_NAME + ".torn")).exists()
    assert verify_log(tmp_path).ok


def test_export_since_and_tenant(tmp_path: Path) -> None:
    import io

    _fill(tmp_path, 4).close()
    buf = io.StringIO()
    n = export_jsonl(tmp_path, buf, tenant="acme")
    assert n == 2 and all(json.loads(x)["meta"]["tenant"] == "acme" for x in buf.getvalue().splitlines())
    future = datetime.now(UTC) + timedelta(days=1)
    assert export_jsonl(tmp_path, io.StringIO(), since=future) == 0


def test_fsync_durability_mode(tmp_path: Path) -> None:
    log = _fill(tmp_path, 2, durability="fsync")
    log.close()
    assert verify_log(tmp_path).ok


def test_fast_line_builder_matches_the_reference_encoding() -> None:
    from hanstack.audit.records import build_line, build_record, encode_line

    meta = {
        "tenant": "acme",
        "usage": {"cost_usd": 0.5, "prompt_tokens": 3},
        "guards": [{"guard": "pii"}],
        "z": None,
    }
    content = {
        "salt": "00ff",
        "request": {"inputs": ['안녕하세요 "따옴표"\n줄바꿈\\']},
        "response": {"n": 1.25},
    }
    for key in (None, b"k" * 32):
        ref = build_record(
            seq=7,
            prev="ab" * 32,
            kind="request",
            meta=meta,
            content=content,
            key=key,
            ts="2026-01-01T00:00:00Z",
        )
        line, digest = build_line(
            seq=7,
            prev="ab" * 32,
            kind="request",
            meta=meta,
            content=content,
            key=key,
            ts="2026-01-01T00:00:00Z",
        )
        assert line == encode_line(ref) and digest == ref["hash"]
