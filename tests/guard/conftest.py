"""Guard test fixtures: a real tiny model for the tool loop (skips when it cannot be had)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.conftest import REPO, tiny_model_settings

os.environ.setdefault("HANSTACK_MODELS_CACHE", str(REPO / ".models"))


@pytest.fixture(scope="session")
def tiny_backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    try:
        from hanstack.llm import get_backend
    except ImportError as exc:  # the model layer is optional for the guard
        pytest.skip(f"hanstack.llm is not available: {exc}")
    settings = tiny_model_settings(tmp_path_factory.mktemp("guard-model-ws"))
    return get_backend(settings, "tiny-test")
