"""Gateway fixtures: a real echo model server on 127.0.0.1, a workspace with keys of two tenants."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the gateway needs hanstack[server]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadServer:
    """uvicorn in a background thread (started and stopped by a fixture)."""

    def __init__(self, app: object, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 120  # start-up warms the guard models
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def echo_url() -> Iterator[str]:
    from hanstack.server.echo import app

    with ThreadServer(app) as srv:
        yield srv.url + "/v1"


@dataclass
class Keys:
    acme_admin: str
    acme_user: str
    beta_admin: str

    @staticmethod
    def h(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture()
def settings(workspace: Path, echo_url: str):
    from hanstack.config import load_settings

    return load_settings(workspace, models={"endpoints": {"echo": echo_url}})


@pytest.fixture()
def app(settings):
    from hanstack.server.app import create_app

    application = create_app(settings, semantic_cache=False)
    yield application
    application.state.gateway.close()


@pytest.fixture()
def keys(app) -> Keys:
    store = app.state.gateway.keys
    return Keys(
        store.create(tenant="acme", role="admin")[1],
        store.create(tenant="acme", role="user")[1],
        store.create(tenant="beta", role="admin")[1],
    )


@pytest.fixture()
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c
