"""Guard test fixtures: a real tiny model for the tool loop (skips when it cannot be had)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.conftest import REPO

os.environ.setdefault("HANSTACK_MODELS_CACHE", str(REPO / ".models"))


@pytest.fixture(scope="session")
def tiny_backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install 'hanstack[llm]')")
    try:
        from hanstack.config import load_settings
        from hanstack.errors import ModelUnavailableError
        from hanstack.llm import get_backend
        from hanstack.llm.catalog import pull
    except ImportError as exc:  # the model layer is optional for the guard
        pytest.skip(f"hanstack.llm is not available: {exc}")
    settings = load_settings(tmp_path_factory.mktemp("guard-model-ws"), models={"n_ctx": 2048})
    try:
        pull("tiny-test", settings)
    except ModelUnavailableError as exc:
        pytest.skip(f"cannot pull the tiny-test model: {exc.message}")
    return get_backend(settings, "tiny-test")
