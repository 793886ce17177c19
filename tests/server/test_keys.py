"""API keys: shown once, stored hashed, revocable, expiring; revocation seen by a running store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hanstack.auth import KeyStore
from hanstack.errors import AuthError, InvalidInputError, NotFoundError


def test_create_authenticate_and_secret_not_stored(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.sqlite3")
    info, secret = store.create(tenant="acme", role="admin", name="ci")
    p = store.authenticate(secret)
    assert (p.tenant, p.role, p.key_id) == ("acme", "admin", info.key_id)
    raw = (tmp_path / "keys.sqlite3").read_bytes() + (tmp_path / "keys.sqlite3-wal").read_bytes()
    assert secret.split("_", 2)[2].encode() not in raw
    with pytest.raises(AuthError):
        store.authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    with pytest.raises(AuthError):
        store.authenticate("not-a-key")


def test_revocation_by_another_connection_is_seen(tmp_path: Path) -> None:
    server = KeyStore(tmp_path / "k.db")
    _, secret = server.create(tenant="acme")
    key_id = secret.split("_")[1]
    server.authenticate(secret)  # cached now
    cli = KeyStore(tmp_path / "k.db")
    cli.revoke(key_id)
    with pytest.raises(AuthError, match="revoked"):
        server.authenticate(secret)
    assert cli.list()[0].status == "revoked"
    with pytest.raises(NotFoundError):
        cli.revoke("000000000000")


def test_expiry(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "k.db")
    _, secret = store.create(tenant="acme", expires_in_days=1)
    store.authenticate(secret)
    conn = sqlite3.connect(tmp_path / "k.db")
    conn.execute("UPDATE api_keys SET expires_at = '2000-01-01T00:00:00+00:00'")
    conn.commit()
    with pytest.raises(AuthError, match="expired"):
        store.authenticate(secret)


def test_bad_input(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "k.db")
    with pytest.raises(InvalidInputError):
        store.create(tenant="Bad Tenant!")
    with pytest.raises(InvalidInputError):
        store.create(tenant="acme", role="root")
    with pytest.raises(InvalidInputError):
        store.create(tenant="acme", expires_in_days=-1)
