from __future__ import annotations

import json

import pytest

from hanstack.errors import InvalidInputError, NotFoundError
from hanstack.eval.retrieval import load_corpus, load_queries, run_retrieval_eval, tokenizer

from ..store.helpers import HashEmbedder

pytest.importorskip("qdrant_edge")


def write(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def files(tmp_path):
    corpus = write(
        tmp_path / "c.jsonl",
        [
            {"doc_id": "law", "text": "은행법 제8조: 은행업을 하려면 금융위원회의 인가를 받아야 한다."},
            {"doc_id": "film", "text": "배우들의 연기가 훌륭한 영화였다."},
            {"doc_id": "tax", "text": "종합소득세 신고는 5월에 한다."},
        ],
    )
    queries = write(
        tmp_path / "q.jsonl",
        [
            {"qid": "1", "query": "은행업 인가", "relevant_doc_ids": ["law"]},
            {"qid": "2", "query": "소득세 신고 기간", "relevant_doc_ids": ["tax"]},
        ],
    )
    return corpus, queries


@pytest.mark.parametrize("tok", ["kiwi-content", "kiwi-all", "whitespace"])
def test_eval_runs_every_tokenizer(files, tok, workspace):
    report = run_retrieval_eval(*files, mode="bm25", tokenizer_name=tok, embedder=HashEmbedder())
    assert report.queries == 2
    assert 0.0 <= report.ndcg_10 <= 1.0
    assert report.latency_p95_ms >= report.latency_p50_ms > 0
    if tok != "whitespace":
        assert report.ndcg_10 == 1.0 and report.recall_5 == 1.0 and report.mrr_10 == 1.0
    assert set(report.summary()) >= {
        "ndcg_10",
        "recall_5",
        "recall_10",
        "recall_20",
        "mrr_10",
        "latency_p50_ms",
    }


def test_hybrid_eval(files, workspace):
    report = run_retrieval_eval(*files, mode="hybrid", embedder=HashEmbedder())
    assert report.recall_20 == 1.0


def test_whitespace_tokens_miss_inflected_forms():
    ws = tokenizer("whitespace")(["은행업을 영위하려면"])[0]
    assert ws == ["은행업을", "영위하려면"]


def test_bad_files_are_explained(tmp_path, files):
    with pytest.raises(NotFoundError):
        load_corpus(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"doc_id": "a", "text": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"bad\.jsonl:2"):
        load_corpus(bad)
    noq = write(tmp_path / "noq.jsonl", [{"qid": "1", "query": "x"}])
    with pytest.raises(InvalidInputError, match="relevant_doc_ids"):
        load_queries(noq)
    with pytest.raises(InvalidInputError, match="unknown tokenizer"):
        run_retrieval_eval(*files, tokenizer_name="bpe")
