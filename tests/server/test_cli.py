"""``hanstack keys`` and ``hanstack audit`` through Typer's runner, on a real workspace."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hanstack.audit import AuditLog
from hanstack.cli import app

runner = CliRunner()


def _run(workspace: Path, *args: str):
    return runner.invoke(app, ["-w", str(workspace), *args])


def test_keys_create_list_revoke(workspace: Path) -> None:
    r = _run(
        workspace, "keys", "create", "--tenant", "acme", "--role", "admin", "--groups", "legal,hr", "--json"
    )
    assert r.exit_code == 0, r.output
    created = json.loads(r.output)
    assert created["key"].startswith("hsk_") and created["groups"] == ["legal", "hr"]
    listed = json.loads(_run(workspace, "keys", "list", "--json").output)
    assert [k["key_id"] for k in listed] == [created["key_id"]] and "key" not in listed[0]
    assert created["key"].split("_", 2)[2] not in _run(workspace, "keys", "list").output
    assert _run(workspace, "keys", "revoke", created["key_id"]).exit_code == 0
    assert json.loads(_run(workspace, "keys", "list", "--json").output)[0]["status"] == "revoked"
    bad = _run(workspace, "keys", "create", "--tenant", "Bad Tenant")
    assert bad.exit_code != 0


def test_audit_verify_export_erase_retain(workspace: Path) -> None:
    log = AuditLog(workspace / "audit")
    for i in range(3):
        log.append(
            "request",
            {"tenant": "acme", "subjects": [log.tag("010-9876-543" + str(i))]},
            {"request": {"inputs": [f"문의 {i}"]}, "response": None},
        )
    log.close()
    r = _run(workspace, "audit", "verify", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["ok"]
    out = workspace / "export.jsonl"
    assert _run(workspace, "audit", "export", "--since", "2000-01-01", "-o", str(out)).exit_code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3
    r = _run(workspace, "audit", "erase", "--subject", "010-9876-5431", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["erased_seqs"] == [2]
    assert _run(workspace, "audit", "verify").exit_code == 0
    r = _run(workspace, "audit", "retain", "--days", "365", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["dropped"] == 0
    assert _run(workspace, "audit", "export", "--since", "not-a-date").exit_code != 0
    # tamper: the CLI says so and exits 7
    path = workspace / "audit" / "audit.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace("문의 0", "문의 X"), encoding="utf-8")
    r = _run(workspace, "audit", "verify")
    assert r.exit_code == 7 or "TAMPERED" in r.output
