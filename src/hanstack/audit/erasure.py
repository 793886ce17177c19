"""PIPA-style erasure: remove a data subject's raw data and keep the chain verifiable.

A record concerns a subject when its ``meta.subjects`` holds the subject's keyed tag (the gateway
tags PII values its guard found and the request's ``user`` field) or when the normalised value
appears in its stored content. Such records get ``content: null`` and an ``erased`` marker; their
``content_hash`` commitment stays, so every chain hash still verifies. The erasure itself is then
appended to the chain (with the subject's tag, never the raw value) naming the erased records.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from hanstack.audit.log import AuditLog, load_or_create_key, load_records, locked, replace_log
from hanstack.audit.records import normalize_subject, subject_tag, utc_now
from hanstack.errors import InvalidInputError


@dataclass
class ErasureReport:
    erasure_id: str
    subject_tag: str
    seqs: list[int]


def erase_subject(directory: Path, subject: str, *, reason: str = "data subject request") -> ErasureReport:
    if len(normalize_subject(subject)) < 3:
        raise InvalidInputError(
            f"subject {subject!r} is too short to erase by",
            hint="give the full phone number, name, email or user id",
        )
    key = load_or_create_key(directory)
    tag = subject_tag(key, subject)
    needle = normalize_subject(subject)
    erasure_id = secrets.token_hex(8)
    seqs: list[int] = []
    with locked(directory):
        records = load_records(directory)
        for rec in records:
            if rec["kind"] != "request" or rec.get("content") is None:
                continue
            in_tags = tag in rec["meta"].get("subjects", [])
            in_text = needle in normalize_subject(json.dumps(rec["content"], ensure_ascii=False))
            if in_tags or in_text:
                rec["content"] = None
                rec["erased"] = {"at": utc_now(), "erasure_id": erasure_id}
                seqs.append(int(rec["seq"]))
        if seqs:
            replace_log(directory, records)
    if seqs:
        log = AuditLog(directory)
        try:
            log.append(
                "erasure", {"erasure_id": erasure_id, "subject_tag": tag, "seqs": seqs, "reason": reason}
            )
        finally:
            log.close()
    return ErasureReport(erasure_id, tag, seqs)
