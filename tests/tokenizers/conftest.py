"""Tokenizer fixtures: real vocabularies only. The llama.cpp ``ggml-vocab-*.gguf`` files are fetched
once per machine into ``$HANSTACK_MODELS_CACHE/vocab`` (default ``<repo>/.models``); tests that need
them skip with the reason when the package index or llama-cpp-python is not available."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import REPO

os.environ.setdefault("HANSTACK_MODELS_CACHE", str(REPO / ".models"))

SENTENCE = "대한민국 헌법은 국민의 기본권을 보장하며, 모든 국민은 법 앞에 평등하다."
# reference counts of SENTENCE with each model's own tokenizer (../shared/ASSETS.md)
REFERENCE = {
    "gpt-4": 51,
    "gpt-4o": 25,
    "gpt-4-tiktoken": 51,
    "gpt-4o-tiktoken": 25,
    "llama-3": 25,
    "qwen-2.5": 29,
    "qwen-3": 29,
    "qwen-3.5": 19,
    "gemma-3": 23,
    "mistral-nemo": 21,
    "command-r": 18,
    "deepseek-v1": 74,
}
GGUF_PRESETS = ("gemma-3", "command-r", "deepseek-v1", "xlm-r")


@pytest.fixture(scope="session")
def ggml_vocab_dir() -> Path:
    """The cache folder holding llama.cpp's ggml-vocab files (fetched from the llama-cpp-python sdist once)."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install 'hanstack[llm]')")
    from hanstack.errors import HanstackError
    from hanstack.tokenizers.vocab_cache import cache_root, ggml_vocab_path

    try:
        ggml_vocab_path("gemma-4")
    except HanstackError as exc:
        pytest.skip(f"cannot obtain llama.cpp's ggml-vocab files: {exc}")
    return cache_root()


def load_or_skip(name: str):
    """A preset's tokenizer, or skip when its library or vocabulary is not available here."""
    from hanstack.errors import MissingDependencyError
    from hanstack.tokenizers import get_tokenizer

    try:
        return get_tokenizer(name)
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
