"""API keys: shown once, stored hashed, mapped to a tenant and a role, revocable, with expiry.

A key reads ``hsk_<key id>_<secret>``. The key id (public, 12 hex digits) finds the row; the secret
(256 random bits) is checked against ``sha256(salt || secret)`` with a constant-time compare. A slow
password hash (scrypt, argon2) protects *low-entropy* secrets against guessing; a 256-bit random
secret cannot be guessed, so a salted fast hash is as safe here and keeps verification ~µs, which
matters for the gateway's per-request overhead.

Rows are cached in memory; the cache is dropped whenever ``PRAGMA data_version`` says another
connection (``hanstack keys revoke`` in another process) changed the database, so a revocation
takes effect on the next request without a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hanstack.errors import AuthError, InvalidInputError, NotFoundError

ROLES = ("user", "admin")
"""``user``: model, answer, task and document routes of its tenant. ``admin``: also the tenant's audit log."""
PREFIX = "hsk"
_TENANT_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_KEY_RE = re.compile(r"^hsk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id      TEXT PRIMARY KEY,
    salt        BLOB NOT NULL,
    secret_hash BLOB NOT NULL,
    tenant      TEXT NOT NULL,
    role        TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT,
    groups      TEXT NOT NULL DEFAULT ''
);
"""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: what every route needs to scope its work."""

    key_id: str
    tenant: str
    role: str
    groups: tuple[str, ...] = ()
    """Access groups inside the tenant (besides ``public``) whose documents the key may read."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def readable_groups(self) -> tuple[str, ...]:
        return ("public", *[g for g in self.groups if g != "public"])


@dataclass(frozen=True, slots=True)
class KeyInfo:
    key_id: str
    tenant: str
    role: str
    name: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    groups: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and datetime.fromisoformat(self.expires_at) <= datetime.now(UTC):
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


_INFO_COLUMNS = "key_id, tenant, role, name, created_at, expires_at, revoked_at, groups"


def _info(row: tuple[Any, ...]) -> KeyInfo:
    """A KeyInfo from the columns of ``_INFO_COLUMNS``, in that order."""
    key_id, tenant, role, name, created_at, expires_at, revoked_at, groups = row
    return KeyInfo(
        key_id,
        tenant,
        role,
        name,
        created_at,
        expires_at,
        revoked_at,
        tuple(g for g in groups.split(",") if g),
    )


def _hash(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("ascii")).digest()


def validate_tenant(tenant: str) -> str:
    if not _TENANT_RE.match(tenant):
        raise InvalidInputError(
            f"tenant {tenant!r} is not a valid name",
            hint="use lowercase letters, digits, '.', '_' or '-' (max 63)",
        )
    return tenant


class KeyStore:
    """The workspace's key table (``keys.sqlite3``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)
        cols = {row[1] for row in self._conn.execute("PRAGMA table_info(api_keys)")}
        if "groups" not in cols:  # a key table from before groups existed
            self._conn.execute("ALTER TABLE api_keys ADD COLUMN groups TEXT NOT NULL DEFAULT ''")
        self._cache: dict[str, tuple[bytes, bytes, KeyInfo]] = {}
        self._version = -1

    def close(self) -> None:
        self._conn.close()

    # --- administration ------------------------------------------------------------------------
    def create(
        self,
        *,
        tenant: str,
        role: str = "user",
        name: str = "",
        expires_in_days: float | None = None,
        groups: tuple[str, ...] | list[str] = (),
    ) -> tuple[KeyInfo, str]:
        """A new key; the returned secret string is the only time it is ever shown."""
        validate_tenant(tenant)
        if role not in ROLES:
            raise InvalidInputError(f"unknown role {role!r}", hint=f"use one of {', '.join(ROLES)}")
        if expires_in_days is not None and expires_in_days <= 0:
            raise InvalidInputError("expiry must be in the future", hint="pass a positive number of days")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        now = datetime.now(UTC)
        expires = (now + timedelta(days=expires_in_days)).isoformat() if expires_in_days is not None else None
        clean = tuple(dict.fromkeys(g.strip() for g in groups if g.strip()))
        if any("," in g for g in clean):
            raise InvalidInputError("group names cannot contain ','")
        info = KeyInfo(key_id, tenant, role, name, now.isoformat(), expires, None, clean)
        with self._lock:
            self._conn.execute(
                "INSERT INTO api_keys (key_id, salt, secret_hash, tenant, role, name, created_at, expires_at, groups)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key_id,
                    salt,
                    _hash(salt, secret),
                    tenant,
                    role,
                    name,
                    info.created_at,
                    expires,
                    ",".join(clean),
                ),
            )
        return info, f"{PREFIX}_{key_id}_{secret}"

    def list(self, tenant: str | None = None) -> list[KeyInfo]:
        sql = f"SELECT {_INFO_COLUMNS} FROM api_keys"
        args: tuple[Any, ...] = ()
        if tenant is not None:
            sql += " WHERE tenant = ?"
            args = (tenant,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY created_at", args).fetchall()
        return [_info(row) for row in rows]

    def revoke(self, key_id: str) -> KeyInfo:
        key_id = key_id.removeprefix(f"{PREFIX}_").split("_", 1)[0]
        with self._lock:
            cur = self._conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(), key_id),
            )
            self._cache.pop(key_id, None)
        if cur.rowcount == 0 and not any(k.key_id == key_id for k in self.list()):
            raise NotFoundError(f"no API key with id {key_id!r}", hint="see 'hanstack keys list'")
        return next(k for k in self.list() if k.key_id == key_id)

    # --- the hot path --------------------------------------------------------------------------
    def authenticate(self, token: str) -> Principal:
        """The principal for a presented key, or :class:`AuthError` (never says which part failed)."""
        m = _KEY_RE.match(token)
        if not m:
            raise AuthError(
                "invalid API key",
                hint="send 'Authorization: Bearer hsk_…' with a key from 'hanstack keys create'",
            )
        key_id, secret = m.groups()
        row = self._row(key_id)
        if row is None:
            _hash(b"\0" * 16, secret)  # same work as a real check
            raise AuthError("invalid API key")
        salt, digest, info = row
        if not hmac.compare_digest(_hash(salt, secret), digest):
            raise AuthError("invalid API key")
        if info.revoked_at:
            raise AuthError("API key revoked", hint="create a new key with 'hanstack keys create'")
        if info.expires_at and datetime.fromisoformat(info.expires_at) <= datetime.now(UTC):
            raise AuthError("API key expired", hint="create a new key with 'hanstack keys create'")
        return Principal(info.key_id, info.tenant, info.role, info.groups)

    def _row(self, key_id: str) -> tuple[bytes, bytes, KeyInfo] | None:
        with self._lock:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                self._cache.clear()
                self._version = version
            hit = self._cache.get(key_id)
            if hit is not None:
                return hit
            row = self._conn.execute(
                f"SELECT salt, secret_hash, {_INFO_COLUMNS} FROM api_keys WHERE key_id = ?",
                (key_id,),
            ).fetchone()
            if row is None:
                return None
            entry = (bytes(row[0]), bytes(row[1]), _info(tuple(row[2:])))
            self._cache[key_id] = entry
            return entry
