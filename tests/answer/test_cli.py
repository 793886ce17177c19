"""``hanstack ask`` through Typer's CliRunner, over constitution chunks in a real store."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hanstack.errors import InvalidInputError

runner = CliRunner()


@pytest.fixture()
def indexed(workspace, constitution, embedder):
    pytest.importorskip("qdrant_edge", reason="the embedded index needs qdrant-edge-py (hanstack[retrieval])")
    from hanstack.config import load_settings
    from hanstack.store import open_store

    settings = load_settings(workspace)
    store = open_store(settings, embedder=embedder)
    try:
        store.upsert_chunks(constitution.chunks)
        store.flush()
    finally:
        store.close()
    return workspace


def _app():
    from hanstack.cli import app

    return app


def test_ask_prints_answer_citations_and_sources(indexed) -> None:
    result = runner.invoke(
        _app(), ["ask", "대통령의 임기는 몇 년인가요?", "--model", "extractive", "--k", "4"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "추출식 답변" in out and "발췌 응답" in out  # labelled extractive
    assert "[S" in out and "5년" in out
    assert ("제70조" in out and "kolaw/constitution.txt" in out) or "대한민국헌법" in out
    assert "chars " in out


def test_ask_json_is_the_answer_schema(indexed, constitution) -> None:
    result = runner.invoke(_app(), ["ask", "대통령의 임기는 몇 년인가요?", "--model", "extractive", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["abstained"] is False and data["mode"] == "extractive" and data["label"]
    cit = data["claims"][0]["citations"][0]
    assert constitution.text[cit["doc_start"] : cit["doc_end"]] == cit["quote"]
    assert data["searched"]["tenant"] == "default" and data["searched"]["groups"] == ["public"]
    assert "\\u" not in result.output
    used = data["retrieval"]  # the settings the answer was retrieved with, the bigram list included
    assert used["fusion"] == "weighted" and used["fusion_norm"] == "minmax"
    assert (used["sparse_weight"], used["dense_weight"], used["bigram_weight"]) == (0.4, 0.6, 0.5)
    assert used["candidates"] == 50


def test_ask_abstains_when_documents_do_not_say(indexed) -> None:
    result = runner.invoke(
        _app(), ["ask", "비트코인의 현재 시세는 얼마인가요?", "--model", "extractive", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["abstained"] is True
    assert data["text"].startswith("문서에서 근거를 찾을 수 없습니다") and "비트코인" in data["text"]


def test_other_groups_see_nothing(indexed) -> None:
    result = runner.invoke(
        _app(), ["ask", "대통령의 임기는?", "--model", "extractive", "--group", "hr", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["abstained"] and data["searched"]["hits"] == 0


def test_empty_question_is_a_clear_error(indexed) -> None:
    result = runner.invoke(_app(), ["ask", "  ", "--model", "extractive"])
    assert isinstance(result.exception, InvalidInputError)


def test_ask_answerability_is_the_gate_unless_asked_and_a_fallback_is_visible(indexed, monkeypatch) -> None:
    question = ["ask", "대통령의 임기는 몇 년인가요?", "--model", "extractive"]
    result = runner.invoke(_app(), [*question, "--json"])
    assert result.exit_code == 0, result.output
    check = json.loads(result.output)["answerability"]
    assert (check["requested"], check["method"], check["answerable"]) == ("gate", "gate", True)
    assert check["threshold"] == 0.5 and check["fallback_reason"] is None

    # the scoring tier is the extractive backend here (the large GGUF is not loaded in unit tests)
    monkeypatch.setenv("HANSTACK_ANSWER__LIKELIHOOD_TIER", "extractive")
    args = [*question, "--answerability", "likelihood"]
    result = runner.invoke(_app(), [*args, "--json"])
    assert result.exit_code == 0, result.output
    check = json.loads(result.output)["answerability"]
    assert (check["requested"], check["method"], check["tier"]) == ("likelihood", "gate", "extractive")
    assert "logits" in check["fallback_reason"]
    shown = runner.invoke(_app(), args)
    assert shown.exit_code == 0, shown.output
    assert "질의 가능도 검사를 쓸 수 없어 게이트로 판단했습니다" in shown.output
    assert runner.invoke(_app(), [*question, "--answerability", "reader"]).exit_code != 0


@pytest.mark.model
def test_ask_answerability_likelihood_scores_with_a_llamacpp_model(indexed, monkeypatch) -> None:
    from tests.conftest import REPO, tiny_model_settings

    monkeypatch.setenv("HANSTACK_MODELS_CACHE", str(REPO / ".models"))
    tiny_model_settings(indexed)  # pulls the tiny-test GGUF for this workspace, or skips
    monkeypatch.setenv("HANSTACK_ANSWER__LIKELIHOOD_TIER", "tiny-test")
    monkeypatch.setenv("HANSTACK_ANSWER__LIKELIHOOD_PASSAGES", "1")
    monkeypatch.setenv("HANSTACK_ANSWER__LIKELIHOOD_THRESHOLD", "1000")
    monkeypatch.setenv("HANSTACK_MODELS__N_CTX", "2048")
    args = ["ask", "대통령의 임기는 몇 년인가요?", "--model", "extractive", "--answerability", "likelihood"]
    result = runner.invoke(_app(), [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # llama.cpp logs to stderr
    check = data["answerability"]
    assert (check["requested"], check["method"], check["answerable"]) == ("likelihood", "likelihood", False)
    assert check["threshold"] == 1000 and len(check["gains"]) == 1 and check["seconds"] > 0
    assert data["abstained"] and "질의 가능도 검사" in data["abstain_reason"]
    shown = runner.invoke(_app(), args)
    assert shown.exit_code == 0, shown.output
    assert "답변 없음" in shown.stdout and "answerability: query likelihood" in shown.stdout
    assert "< 1000" in shown.stdout
