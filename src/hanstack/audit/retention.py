"""Retention by age with a verifiable checkpoint.

Records older than the cutoff are dropped from the file and replaced by one ``checkpoint`` line at
its head: it carries the sequence number and hash of the last dropped record (the *anchor*, which
the first kept record's ``prev`` must equal), how many records were dropped and a digest over their
hashes, signed with the workspace's audit key. Verification starts from the anchor. The retention
run itself is then appended to the chain as a ``retention`` record, and the checkpoint is appended
to ``checkpoints.jsonl`` so earlier exports can be matched against it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hanstack.audit.log import AuditLog, load_or_create_key, load_records, locked, replace_log
from hanstack.audit.records import canonical, parse_ts, utc_now

CHECKPOINTS_NAME = "checkpoints.jsonl"


def checkpoint_signature(key: bytes, seq: int, anchor: str, meta: dict[str, Any]) -> str:
    return hmac.new(key, canonical({"seq": seq, "anchor": anchor, "meta": meta}), hashlib.sha256).hexdigest()


@dataclass
class RetentionReport:
    dropped: int
    kept: int
    cutoff: str
    checkpoint: dict[str, Any] | None


def apply_retention(
    directory: Path, *, days: float | None = None, before: datetime | None = None
) -> RetentionReport:
    """Drop records older than ``days`` (or than ``before``) behind a signed checkpoint."""
    if before is None:
        before = datetime.now(UTC) - timedelta(days=days if days is not None else 365)
    key = load_or_create_key(directory)
    cutoff = before.isoformat()
    with locked(directory):
        records = load_records(directory)
        old_cp = records[0] if records and records[0]["kind"] == "checkpoint" else None
        body = records[1:] if old_cp else records
        split = 0
        while split < len(body) and parse_ts(body[split]["ts"]) < before:
            split += 1
        if split == 0:
            return RetentionReport(0, len(body), cutoff, None)
        dropped, kept = body[:split], body[split:]
        digest = hashlib.sha256()
        if old_cp:
            digest.update(str(old_cp["meta"].get("dropped_digest", "")).encode())
        for rec in dropped:
            digest.update(rec["hash"].encode())
        last = dropped[-1]
        meta = {
            "created_at": utc_now(),
            "cutoff": cutoff,
            "dropped_count": len(dropped) + int(old_cp["meta"]["dropped_count"] if old_cp else 0),
            "dropped_from_seq": int(old_cp["meta"]["dropped_from_seq"]) if old_cp else int(dropped[0]["seq"]),
            "dropped_through_seq": int(last["seq"]),
            "dropped_digest": digest.hexdigest(),
        }
        cp = {
            "seq": int(last["seq"]),
            "ts": meta["created_at"],
            "kind": "checkpoint",
            "meta": meta,
            "content": None,
            "content_hash": "",
            "prev": "",
            "hash": last["hash"],
            "erased": None,
            "mac": checkpoint_signature(key, int(last["seq"]), last["hash"], meta),
        }
        replace_log(directory, [cp, *kept])
        with (directory / CHECKPOINTS_NAME).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(cp, ensure_ascii=False) + "\n")
    log = AuditLog(directory)
    try:
        log.append("retention", {"checkpoint_anchor": last["hash"], **meta})
    finally:
        log.close()
    return RetentionReport(len(dropped), len(kept), cutoff, cp)
