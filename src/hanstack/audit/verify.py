"""Verification of the audit chain: detects edited, deleted, inserted and reordered records.

What is checked for every line:
- it parses and has the record fields;
- ``seq`` is the previous one plus one (a gap means a deleted record, a step back a reordering);
- ``prev`` equals the previous record's ``hash``;
- ``hash`` recomputes from (seq, ts, kind, meta, content_hash, prev) — any edit of those fails;
- ``content`` (unless erased) recomputes to ``content_hash`` — any edit of the stored request or
  response fails;
- with the workspace key: the record's ``mac``, and each checkpoint's signature;
- an erased record (``content`` null) is named by a later ``erasure`` record of the chain.

A log that starts with a retention checkpoint is verified from the checkpoint's anchor: the first
kept record must continue the chain the checkpoint vouches for. Removing records from the *end* of
the file cannot be seen from the file alone: compare ``head`` with a value you kept (``--expect-head``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hanstack.audit.log import LOG_NAME, iter_records
from hanstack.audit.records import GENESIS, content_commitment, record_hash, record_mac
from hanstack.audit.retention import checkpoint_signature

REQUIRED = ("seq", "ts", "kind", "meta", "content_hash", "prev", "hash")


@dataclass
class Problem:
    line: int
    seq: int | None
    problem: str


@dataclass
class VerifyReport:
    ok: bool
    records: int
    first_seq: int | None
    last_seq: int | None
    head: str
    erased: int
    checkpoint: dict[str, Any] | None
    problems: list[Problem] = field(default_factory=list)
    macs_checked: bool = False
    torn_tail: bool = False
    """The file ends in an incomplete line: a write cut by a crash, never acknowledged (the writer
    moves it aside to ``audit.jsonl.torn`` when it next opens the log). Not a verification failure."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "head": self.head,
            "erased": self.erased,
            "checkpoint": self.checkpoint,
            "macs_checked": self.macs_checked,
            "problems": [p.__dict__ for p in self.problems],
            "torn_tail": self.torn_tail,
        }


def verify_log(
    directory: Path, *, key: bytes | None = None, expect_head: str | None = None, max_problems: int = 100
) -> VerifyReport:
    """Walk the whole chain once; ``key`` (the workspace's audit key) adds MAC checks."""
    path = directory / LOG_NAME
    problems: list[Problem] = []
    prev_hash, prev_seq = GENESIS, 0
    first_seq: int | None = None
    count = erased = 0
    checkpoint: dict[str, Any] | None = None
    erased_seqs: dict[int, int] = {}
    named_by_erasure: set[int] = set()

    def bad(line: int, seq: int | None, msg: str) -> None:
        if len(problems) < max_problems:
            problems.append(Problem(line, seq, msg))

    torn_line = _torn_line(path)
    for lineno, rec, _raw in iter_records(path):
        if lineno == torn_line:
            continue
        if rec is None or any(k not in rec for k in REQUIRED):
            bad(lineno, None, "unreadable or incomplete record")
            continue
        seq = rec["seq"]
        if rec["kind"] == "checkpoint":
            if count or checkpoint is not None:
                bad(lineno, seq, "a retention checkpoint may only open the log")
                continue
            checkpoint = {"seq": seq, "anchor": rec["hash"], **rec.get("meta", {})}
            if key is not None and not hmac.compare_digest(
                str(rec.get("mac", "")), checkpoint_signature(key, seq, rec["hash"], rec.get("meta", {}))
            ):
                bad(lineno, seq, "retention checkpoint signature does not match (edited or forged)")
            prev_hash, prev_seq = rec["hash"], seq
            continue
        count += 1
        if first_seq is None:
            first_seq = seq
        if not isinstance(seq, int) or seq != prev_seq + 1:
            what = (
                "deleted record(s) before this one"
                if isinstance(seq, int) and seq > prev_seq + 1
                else "out of order"
            )
            bad(lineno, seq, f"sequence {seq} follows {prev_seq}: {what}")
        if rec["prev"] != prev_hash:
            bad(
                lineno,
                seq,
                "prev does not match the previous record's hash (deleted, inserted or reordered record)",
            )
        digest = record_hash(seq, rec["ts"], rec["kind"], rec["meta"], rec["content_hash"], rec["prev"])
        if digest != rec["hash"]:
            bad(lineno, seq, "hash does not match the record (edited record)")
        if key is not None and not hmac.compare_digest(str(rec.get("mac", "")), record_mac(key, rec["hash"])):
            bad(lineno, seq, "MAC does not match (record rewritten without the workspace key)")
        content = rec.get("content")
        if content is None:
            if not rec.get("erased"):
                bad(lineno, seq, "content removed without an erasure record")
            else:
                erased += 1
                erased_seqs[seq] = lineno
        elif not isinstance(content, dict) or content_commitment(content) != rec["content_hash"]:
            bad(lineno, seq, "content does not match its commitment (edited request or response)")
        if rec["kind"] == "erasure":
            named_by_erasure.update(int(s) for s in rec["meta"].get("seqs", []))
        prev_hash, prev_seq = rec["hash"], seq if isinstance(seq, int) else prev_seq

    for seq, lineno in erased_seqs.items():
        if seq not in named_by_erasure:
            bad(lineno, seq, "record marked erased but no erasure record names it")
    if expect_head is not None and expect_head != prev_hash:
        bad(
            0,
            prev_seq,
            f"head is {prev_hash[:16]}…, expected {expect_head[:16]}… (records removed from the end?)",
        )
    return VerifyReport(
        ok=not problems,
        records=count,
        first_seq=first_seq,
        last_seq=prev_seq if count or checkpoint else None,
        head=prev_hash,
        erased=erased,
        checkpoint=checkpoint,
        problems=problems,
        macs_checked=key is not None,
        torn_tail=torn_line is not None,
    )


def _torn_line(path: Path) -> int | None:
    """The number of the last line when the file does not end with a newline."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            if fh.tell() == 0:
                return None
            fh.seek(-1, 2)
            if fh.read(1) == b"\n":
                return None
            fh.seek(0)
            return sum(1 for _ in fh)
    except FileNotFoundError:
        return None
