"""The registry: every preset loads, states its real vocabulary size, and counts like the model's own
tokenizer (reference counts from ../shared/ASSETS.md); names, aliases, caching and bad names."""

from __future__ import annotations

import pytest

from hanstack.errors import NotFoundError
from hanstack.tokenizers import FAST_PRESETS, Tokenizer, get_preset, get_tokenizer, list_presets
from tests.tokenizers.conftest import GGUF_PRESETS, REFERENCE, SENTENCE, load_or_skip

NON_GGUF = [p.name for p in list_presets() if p.name not in GGUF_PRESETS]


@pytest.mark.parametrize("name", sorted(n for n in REFERENCE if n not in GGUF_PRESETS))
def test_preset_counts_match_reference(name: str) -> None:
    tok = load_or_skip(name)
    assert isinstance(tok, Tokenizer)
    assert tok.count(SENTENCE) == REFERENCE[name]
    ids = tok.encode(SENTENCE)
    assert len(ids) == REFERENCE[name]
    assert tok.decode(ids) == SENTENCE
    assert tok.count_batch([SENTENCE, "", "a b"])[:2] == [REFERENCE[name], 0]
    assert tok.encode_batch([SENTENCE])[0] == ids


@pytest.mark.parametrize("name", sorted(n for n in REFERENCE if n in GGUF_PRESETS))
def test_gguf_preset_counts_match_reference(name: str, ggml_vocab_dir) -> None:
    tok = get_tokenizer(name)
    assert tok.count(SENTENCE) == REFERENCE[name]


@pytest.mark.parametrize("name", NON_GGUF)
def test_preset_declares_its_real_vocab_size(name: str) -> None:
    tok = load_or_skip(name)
    assert tok.vocab_size == get_preset(name).vocab_size
    assert tok.source and tok.name == name


@pytest.mark.parametrize("name", GGUF_PRESETS)
def test_gguf_preset_declares_its_real_vocab_size(name: str, ggml_vocab_dir) -> None:
    tok = get_tokenizer(name)
    assert tok.vocab_size == get_preset(name).vocab_size
    assert str(ggml_vocab_dir) in tok.source


def test_o200k_fast_path_equals_tiktoken_on_korean_text() -> None:
    """quicktok (the fast preset) and tiktoken itself give identical ids, not just counts."""
    fast, ref = load_or_skip("gpt-4o"), load_or_skip("gpt-4o-tiktoken")
    texts = [
        SENTENCE,
        "정부는 2024년 3월 1일부터 ‘디지털 플랫폼’ 법안을 시행했다!",
        "한국어 English 混合 123,456 😀",
    ]
    assert fast.encode_batch(texts) == ref.encode_batch(texts)
    assert ref.count(SENTENCE) == 25


def test_fast_presets_need_no_download() -> None:
    assert {"gpt-4o", "gpt-4", "llama-3", "qwen-2.5", "qwen-3.5"} <= set(FAST_PRESETS)
    assert all(get_preset(n).kind in ("quicktok", "toktok") for n in FAST_PRESETS)


def test_get_tokenizer_is_cached_per_process_and_aliases_share() -> None:
    assert get_tokenizer("qwen-2.5") is get_tokenizer("qwen-2.5")
    assert get_tokenizer("Qwen2.5") is get_tokenizer("qwen-2.5")
    assert get_tokenizer("o200k_base") is get_tokenizer("gpt-4o")


def test_special_token_text_is_counted_as_text() -> None:
    for name in ("gpt-4o", "qwen-2.5", "qwen-3.5"):
        tok = get_tokenizer(name)
        assert tok.count("<|endoftext|>") > 1
        assert tok.decode(tok.encode("<|im_start|>")) == "<|im_start|>"


def test_unknown_name_lists_presets() -> None:
    with pytest.raises(NotFoundError) as info:
        get_tokenizer("no-such-tokenizer")
    assert "gpt-4o" in str(info.value) and "tokenizer.json" in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        get_tokenizer(str(tmp_path / "tokenizer.json"))
    with pytest.raises(NotFoundError, match=r"unknown tokenizer 'qwen-9\.5'"):
        get_tokenizer("qwen-9.5")  # a dotted name is not taken for a file


def test_every_preset_states_source_and_size() -> None:
    names = [p.name for p in list_presets()]
    for required in (
        "gpt-4o",
        "gpt-4",
        "llama-3",
        "qwen-2.5",
        "qwen-3.5",
        "gemma-3",
        "mistral-nemo",
        "mistral-v3",
        "deepseek-v1",
        "command-r",
        "xlm-r",
    ):
        assert required in names
    for preset in list_presets():
        assert preset.source and preset.models and preset.vocab_size >= 256
