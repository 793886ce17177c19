"""Answer evaluation: metrics by hand, the calibration fit, and a tiny end-to-end run through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hanstack.eval.answers import fit_linear_rule, rouge_l, rule_rates, summarise, token_f1


def test_token_f1_and_rouge_l_by_hand() -> None:
    assert token_f1(["a", "b", "c"], ["a", "b", "d", "e"]) == pytest.approx(
        2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4)
    )
    assert token_f1([], ["a"]) == 0.0
    # LCS of (a b c d) and (a c d e) = a c d → P = 3/4, R = 3/4
    assert rouge_l(["a", "b", "c", "d"], ["a", "c", "d", "e"]) == pytest.approx(0.75)
    assert rouge_l(["x"], ["y"]) == 0.0


def test_linear_rule_separates_and_generalises() -> None:
    rng = np.random.default_rng(0)
    pos = [rng.normal([0.8, 0.9], 0.05, size=(3, 2)) for _ in range(50)]
    neg = [rng.normal([0.3, 0.8], 0.05, size=(3, 2)) for _ in range(50)]
    rule = fit_linear_rule(pos, neg)
    rates = rule_rates(rule, pos, neg)
    assert rates["tpr"] == 1.0 and rates["fpr"] == 0.0
    assert rule.weights[0] > 0.1  # the separating feature got weight


def test_summary_counts() -> None:
    rows = [
        {
            "qid": "1",
            "condition": "answerable",
            "abstained": False,
            "cited": 2,
            "cited_correct": 1,
            "cites_gold": True,
            "f1": 0.5,
            "rouge_l": 0.4,
            "claims_final": 2,
            "claims_removed": 1,
            "unsupported_final": False,
            "latency_s": 1.0,
            "escalated": False,
            "prompt_tokens": 10,
            "completion_tokens": 5,
        },
        {
            "qid": "1",
            "condition": "unanswerable",
            "abstained": True,
            "cited": 0,
            "cited_correct": 0,
            "cites_gold": False,
            "f1": 0.0,
            "rouge_l": 0.0,
            "claims_final": 0,
            "claims_removed": 0,
            "unsupported_final": False,
            "latency_s": 3.0,
            "escalated": False,
            "prompt_tokens": 0,
            "completion_tokens": 0,
        },
    ]
    s = summarise(rows)
    assert s["cit_precision"] == 0.5 and s["cit_recall"] == 1.0
    assert s["abstain_unans"] == 1.0 and s["false_abstain"] == 0.0
    assert s["claims_supported"] == pytest.approx(2 / 3) and s["drafts_with_unsupported"] == 1.0
    assert s["unsupported_final"] == 0.0 and s["p50_s"] == 2.0


def _tiny_set(tmp_path, constitution):
    """Five constitution articles and two questions in the AutoRAG layout."""
    data = tmp_path / "set"
    data.mkdir()
    arts = {f"art{n}": constitution.article(n).text for n in (1, 3, 42, 67, 70)}
    (data / "corpus.jsonl").write_text(
        "".join(json.dumps({"doc_id": k, "text": v}, ensure_ascii=False) + "\n" for k, v in arts.items()),
        encoding="utf-8",
    )
    queries = [
        {
            "qid": "q1",
            "query": "대통령의 임기는 몇 년인가요?",
            "relevant_doc_ids": ["art70"],
            "reference_answer": "대통령의 임기는 5년이며 중임할 수 없습니다.",
        },
        {
            "qid": "q2",
            "query": "국회의원의 임기는 몇 년인가요?",
            "relevant_doc_ids": ["art42"],
            "reference_answer": "국회의원의 임기는 4년입니다.",
        },
    ]
    (data / "queries.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8"
    )
    return data


def test_eval_answers_end_to_end(tmp_path, workspace, constitution, monkeypatch) -> None:
    pytest.importorskip("qdrant_edge", reason="the embedded index needs qdrant-edge-py (hanstack[retrieval])")
    data = _tiny_set(tmp_path, constitution)
    from hanstack.cli import app

    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "answers",
            "--data",
            str(data),
            "--model",
            "extractive",
            "--k",
            "3",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["extractive"]
    assert summary["n"] == 2 and summary["n_unanswerable"] == 2
    assert summary["cit_recall"] == 1.0 and summary["false_abstain"] == 0.0
    assert summary["unsupported_final"] == 0.0
    report = json.loads(out.read_text(encoding="utf-8"))
    rows = report["models"]["extractive"]["rows"]
    assert {r["condition"] for r in rows} == {"answerable", "unanswerable"}
    corpus = (data / "corpus.jsonl").read_text(encoding="utf-8")
    answered = [r for r in rows if not r["abstained"]]
    assert answered and all(r["claims"] for r in answered)
    for claim in (c for r in answered for c in r["claims"]):  # the record keeps what was cited
        assert claim["citations"] and all(cit["quote"] in corpus for cit in claim["citations"])


def test_run_model_resumes_from_rows_of_an_interrupted_run(tmp_path, workspace, constitution) -> None:
    """Rows passed as ``done`` are reused, only the missing ones are asked again and reported."""
    pytest.importorskip("qdrant_edge", reason="the embedded index needs qdrant-edge-py (hanstack[retrieval])")
    from hanstack.answer.answerer import Answerer
    from hanstack.config import load_settings
    from hanstack.eval.answers import eval_index, load_items, run_model

    corpus, items = load_items(_tiny_set(tmp_path, constitution))
    settings = load_settings(workspace)
    with eval_index(settings, corpus) as idx:
        answerer = Answerer(settings, retriever=idx.retriever, embedder=idx.embedder, k=3)
        first: list[dict] = []
        rows = run_model(answerer, idx, items, "extractive", k=3, on_row=first.append)
        assert first == rows and len(rows) == 4
        done = {(r["qid"], r["condition"]): r for r in rows[:3]}
        again: list[dict] = []
        resumed = run_model(answerer, idx, items, "extractive", k=3, done=done, on_row=again.append)
    assert [(r["qid"], r["condition"]) for r in again] == [(rows[3]["qid"], rows[3]["condition"])]
    assert resumed[:3] == rows[:3]
    assert {k: v for k, v in resumed[3].items() if k != "latency_s"} == {
        k: v for k, v in rows[3].items() if k != "latency_s"
    }
