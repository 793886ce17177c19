"""Model-backed routes with a real in-process model (tiny-test, Gemma 3 270M via llama.cpp):
chat through the worker-thread path (plain and streamed) and a schema-constrained task."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import REPO, tiny_model_settings

pytestmark = pytest.mark.model
os.environ.setdefault("HANSTACK_MODELS_CACHE", str(REPO / ".models"))


@pytest.fixture(scope="module")
def model_client(tmp_path_factory: pytest.TempPathFactory):
    from fastapi.testclient import TestClient

    from hanstack.server.app import create_app

    home: Path = tmp_path_factory.mktemp("model-gw")
    settings = tiny_model_settings(home)
    app = create_app(settings, semantic_cache=False)
    _, key = app.state.gateway.keys.create(tenant="acme")
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {key}"}


def test_chat_with_an_in_process_model(model_client) -> None:
    c, h = model_client
    body = {
        "model": "tiny-test",
        "messages": [{"role": "user", "content": "대한민국의 수도는"}],
        "max_tokens": 12,
    }
    r = c.post("/v1/chat/completions", headers=h, json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["usage"]["prompt_tokens"] > 0 and 0 < out["usage"]["completion_tokens"] <= 12
    with c.stream("POST", "/v1/chat/completions", headers=h, json={**body, "stream": True}) as resp:
        events = [json.loads(line[6:]) for line in resp.iter_lines() if line.startswith("data: {")]
    text = "".join(ch["choices"][0]["delta"].get("content") or "" for ch in events if ch["choices"])
    assert "\ufffd" not in text and events[-1]["choices"][0]["finish_reason"] in ("stop", "length")


def test_classify_task_is_constrained_to_the_labels(model_client) -> None:
    c, h = model_client
    labels = ["요금", "해지", "기술지원"]
    r = c.post(
        "/v1/tasks/classify",
        headers=h,
        json={"text": "인터넷이 자꾸 끊겨요", "labels": labels, "model": "tiny-test"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (
        body["task"] == "classify"
        and body["result"]["label"] in labels
        and body["usage"]["prompt_tokens"] > 0
    )
    r = c.post("/v1/tasks/classify", headers=h, json={"text": "x", "model": "tiny-test"})
    assert r.status_code == 400 and "labels" in r.json()["error"]["message"]
