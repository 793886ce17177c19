"""Bad input never becomes a 500; limits answer 413/429/400/504 in the OpenAI error shape."""

from __future__ import annotations

import pytest

from hanstack.errors import EgressDeniedError

CHAT = {"model": "echo", "messages": [{"role": "user", "content": "안녕하세요"}]}


def _err(resp) -> dict:
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["message"] and body["error"]["type"], body
    assert "Traceback" not in resp.text
    return body["error"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{bad json", "not valid JSON"),
        (b"", "missing"),
        (b"[1, 2]", ""),
        (b'{"model": 1, "messages": []}', "model"),
        (b'{"model": "echo", "messages": "hi"}', "messages"),
        (b'{"model": "echo", "messages": [{"role": "pirate", "content": "x"}]}', "role"),
        (
            b'{"model": "echo", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}',
            "temperature",
        ),
        (
            b'{"model": "echo", "messages": [{"role": "user", "content": "x"}], "max_tokens": -5}',
            "max_tokens",
        ),
        (b'{"model": "echo", "messages": [{"role": "user", "content": "x"}], "n": 3}', "n"),
        (b"\xff\xfe\x00garbage", ""),
    ],
)
def test_malformed_requests_are_400_with_a_reason(client, keys, body: bytes, needle: str) -> None:
    r = client.post(
        "/v1/chat/completions",
        content=body,
        headers={**keys.h(keys.acme_user), "content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert needle in _err(r)["message"]


def test_unknown_model_route_and_method(client, keys) -> None:
    r = client.post(
        "/v1/chat/completions", json={**CHAT, "model": "no-such-model"}, headers=keys.h(keys.acme_user)
    )
    assert r.status_code == 404 and "no-such-model" in _err(r)["message"]
    r = client.post(
        "/v1/chat/completions",
        json={**CHAT, "model": "http://203.0.113.9/v1"},
        headers=keys.h(keys.acme_user),
    )
    assert r.status_code == 400 and "URL" in _err(r)["message"]
    assert client.get("/v1/nothing", headers=keys.h(keys.acme_user)).status_code == 404
    assert client.get("/v1/chat/completions", headers=keys.h(keys.acme_user)).status_code == 405
    r = client.post("/v1/tasks/dance", json={"text": "x"}, headers=keys.h(keys.acme_user))
    assert r.status_code == 400 and "name" in _err(r)["message"]


def test_authentication(client, keys, app) -> None:
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 401
    r = client.post(
        "/v1/chat/completions", json=CHAT, headers={"Authorization": "Bearer hsk_000000000000_" + "x" * 43}
    )
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert (
        client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": "Basic abc"}).status_code
        == 401
    )
    app.state.gateway.keys.revoke(keys.acme_user.split("_")[1])
    r = client.post("/v1/chat/completions", json=CHAT, headers=keys.h(keys.acme_user))
    assert r.status_code == 401 and "revoked" in _err(r)["message"]
    assert client.get("/v1/audit", headers=keys.h(keys.acme_admin)).status_code == 200


def test_rate_limit_429_with_retry_after(workspace, echo_url) -> None:
    from fastapi.testclient import TestClient

    from hanstack.config import load_settings
    from hanstack.server.app import create_app

    s = load_settings(workspace, models={"endpoints": {"echo": echo_url}}, server={"requests_per_minute": 2})
    app = create_app(s, semantic_cache=False)
    _, key = app.state.gateway.keys.create(tenant="acme")
    _, other = app.state.gateway.keys.create(tenant="acme")
    with TestClient(app) as c:
        h = {"Authorization": f"Bearer {key}"}
        assert [c.post("/v1/chat/completions", json=CHAT, headers=h).status_code for _ in range(2)] == [
            200,
            200,
        ]
        r = c.post("/v1/chat/completions", json=CHAT, headers=h)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert _err(r)["code"] == "rate_limit_exceeded"
        assert (
            c.post(
                "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {other}"}
            ).status_code
            == 200
        )  # per key
        assert "hanstack_rate_limited_total 1.0" in c.get("/metrics").text


def test_body_size_and_token_limits(workspace, echo_url) -> None:
    from fastapi.testclient import TestClient

    from hanstack.config import load_settings
    from hanstack.server.app import create_app

    s = load_settings(
        workspace,
        models={"endpoints": {"echo": echo_url}},
        server={"max_body_bytes": 2048, "max_tokens_per_request": 100, "request_timeout_s": 0.5},
    )
    app = create_app(s, semantic_cache=False)
    _, key = app.state.gateway.keys.create(tenant="acme")
    h = {"Authorization": f"Bearer {key}"}
    with TestClient(app) as c:
        big = {"model": "echo", "messages": [{"role": "user", "content": "가" * 3000}]}
        r = c.post("/v1/chat/completions", json=big, headers=h)
        assert r.status_code == 413 and _err(r)["type"] == "request_too_large"
        r = c.post("/v1/chat/completions", json={**CHAT, "max_tokens": 500}, headers=h)
        assert r.status_code == 400 and "limit" in _err(r)["message"]
        r = c.post(
            "/v1/chat/completions",
            json={"model": "echo", "messages": [{"role": "user", "content": "나" * 150}]},
            headers=h,
        )
        assert r.status_code == 400 and "prompt" in _err(r)["message"]
        r = c.post(
            "/v1/chat/completions",
            json={"model": "echo", "messages": [{"role": "user", "content": "!slow"}], "max_tokens": 10},
            headers=h,
        )
        # the gateway's deadline (504) or the backend's own HTTP timeout (503), whichever fires first
        assert r.status_code in (503, 504) and "time" in _err(r)["message"], r.text


def test_egress_allowlist_refuses_start(workspace) -> None:
    from hanstack.config import load_settings
    from hanstack.server.app import create_app

    s = load_settings(workspace, models={"endpoints": {"cloud": "https://api.example.com/v1"}})
    with pytest.raises(EgressDeniedError, match=r"api\.example\.com"):
        create_app(s)
    s = load_settings(
        workspace,
        models={"endpoints": {"lan": "http://10.1.2.3:8000/v1"}},
        server={"egress_allowlist": ["10.0.0.0/8"]},
    )
    create_app(s, semantic_cache=False).state.gateway.close()


def test_egress_policy_rules() -> None:
    from hanstack.egress import EgressPolicy

    p = EgressPolicy(["127.0.0.0/8", "::1", "localhost", ".corp.example", "10.0.0.0/8"])
    assert p.host_allowed("127.0.0.1") and p.host_allowed("[::1]") and p.host_allowed("localhost")
    assert p.host_allowed("llm.corp.example") and p.host_allowed("10.9.9.9")
    assert not p.host_allowed("corp.example.evil.com") and not p.host_allowed("8.8.8.8")
    assert not p.host_allowed("no-such-host.invalid")
