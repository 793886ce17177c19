"""The shape of one audit record and the hashes that chain records together.

A record line is a JSON object::

    {"seq": 7, "ts": "...", "kind": "request", "meta": {...}, "content": {...} | null,
     "content_hash": "<sha256 of canonical content>", "prev": "<hash of record 6>",
     "hash": "<sha256 over seq, ts, kind, meta, content_hash, prev>", "mac": "<hmac of hash>",
     "erased": null | {"at": "...", "erasure_id": "..."}}

The chain runs over ``content_hash`` (a commitment), not over the content itself, so a data
subject's raw data can be blanked (``content`` → null) while every hash still verifies. The content
carries a random ``salt`` so that a commitment to short data (a phone number) cannot be reversed by
guessing. ``meta`` holds what is never erased: route, tenant, key id, model, tokens, cost, guard
decisions, latency and the keyed *tags* of the data subjects a record concerns (never raw values).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import unicodedata
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
KINDS = ("request", "erasure", "checkpoint", "retention", "event")


def canonical(obj: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no spaces, UTF-8 (Korean stays Korean)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_commitment(content: dict[str, Any]) -> str:
    return sha256_hex(canonical(content))


def record_hash(seq: int, ts: str, kind: str, meta: dict[str, Any], content_hash: str, prev: str) -> str:
    return sha256_hex(
        canonical(
            {"seq": seq, "ts": ts, "kind": kind, "meta": meta, "content_hash": content_hash, "prev": prev}
        )
    )


def record_mac(key: bytes, digest: str) -> str:
    return hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_ts(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def new_salt() -> str:
    return secrets.token_hex(16)


def normalize_subject(value: str) -> str:
    """One spelling per data subject: NFC, case-folded, without spaces, hyphens or dots.

    ``010-1234-5678``, ``010 1234 5678`` and ``01012345678`` are the same person's phone number.
    """
    text = unicodedata.normalize("NFC", value).casefold()
    return "".join(ch for ch in text if not ch.isspace() and ch not in "-._()")


def subject_tag(key: bytes, value: str) -> str:
    """A keyed tag for a data subject: lets erasure find records without storing the raw value."""
    return hmac.new(
        key, b"subject\x1f" + normalize_subject(value).encode("utf-8"), hashlib.sha256
    ).hexdigest()[:32]


def build_record(
    *,
    seq: int,
    prev: str,
    kind: str,
    meta: dict[str, Any],
    content: dict[str, Any] | None,
    key: bytes | None,
    ts: str | None = None,
) -> dict[str, Any]:
    """A complete record, hashed and (when a key is given) MACed."""
    ts = ts or utc_now()
    body = dict(content or {})
    body.setdefault("salt", new_salt())
    c_hash = content_commitment(body)
    digest = record_hash(seq, ts, kind, meta, c_hash, prev)
    rec: dict[str, Any] = {
        "seq": seq,
        "ts": ts,
        "kind": kind,
        "meta": meta,
        "content": body,
        "content_hash": c_hash,
        "prev": prev,
        "hash": digest,
        "erased": None,
    }
    if key is not None:
        rec["mac"] = record_mac(key, digest)
    return rec


def encode_line(record: dict[str, Any]) -> bytes:
    return canonical(record) + b"\n"


def build_line(
    *,
    seq: int,
    prev: str,
    kind: str,
    meta: dict[str, Any],
    content: dict[str, Any] | None,
    key: bytes | None,
    ts: str | None = None,
) -> tuple[bytes, str]:
    """``(encode_line(build_record(...)), hash)`` with the content and meta encoded once each.

    The writer's fast path: canonical JSON of a dict is its sorted keys joined, so the record line
    and the hash input can be assembled from the pre-encoded parts. ``tests/audit`` checks that both
    paths give the same bytes.
    """
    ts = ts or utc_now()
    body = dict(content or {})
    body.setdefault("salt", new_salt())
    cb = canonical(body)
    c_hash = sha256_hex(cb)
    mb = canonical(meta)
    q = canonical
    tail = (
        b',"kind":'
        + q(kind)
        + b"%s"
        + b',"meta":'
        + mb
        + b',"prev":'
        + q(prev)
        + b',"seq":'
        + q(seq)
        + b',"ts":'
        + q(ts)
        + b"}"
    )
    digest = sha256_hex(b'{"content_hash":' + q(c_hash) + (tail % b""))
    mac = b',"mac":' + q(record_mac(key, digest)) if key is not None else b""
    line = (
        b'{"content":'
        + cb
        + b',"content_hash":'
        + q(c_hash)
        + b',"erased":null,"hash":'
        + q(digest)
        + (tail % mac)
        + b"\n"
    )
    return line, digest
