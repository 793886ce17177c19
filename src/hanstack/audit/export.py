"""Export records to JSONL: whole records (hashes included) so the export can be re-verified."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from hanstack.audit.log import LOG_NAME, iter_records
from hanstack.audit.records import parse_ts


def iter_export(
    directory: Path,
    *,
    since: datetime | None = None,
    tenant: str | None = None,
    kinds: tuple[str, ...] | None = None,
) -> Iterator[dict[str, Any]]:
    for _, rec, _ in iter_records(directory / LOG_NAME):
        if rec is None or "ts" not in rec:
            continue
        if since is not None and parse_ts(rec["ts"]) < since:
            continue
        if tenant is not None and rec.get("meta", {}).get("tenant") != tenant:
            continue
        if kinds is not None and rec.get("kind") not in kinds:
            continue
        yield rec


def export_jsonl(directory: Path, out: IO[str], **filters: Any) -> int:
    n = 0
    for rec in iter_export(directory, **filters):
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        n += 1
    return n
