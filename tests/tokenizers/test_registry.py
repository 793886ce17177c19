"""The registry and the fast presets: counts match the reference counts in ASSETS.md."""

from __future__ import annotations

import pytest

from hanstack.errors import NotFoundError
from hanstack.tokenizers import FAST_PRESETS, Tokenizer, get_preset, get_tokenizer, list_presets

SENTENCE = "대한민국 헌법은 국민의 기본권을 보장하며, 모든 국민은 법 앞에 평등하다."
# reference counts for SENTENCE (tiktoken / the models' own tokenizers), from ../shared/ASSETS.md
REFERENCE = {"gpt-4": 51, "gpt-4o": 25, "llama-3": 25, "qwen-2.5": 29, "qwen-3.5": 19}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_fast_preset_counts_match_reference(name: str) -> None:
    tok = get_tokenizer(name)
    assert isinstance(tok, Tokenizer)
    assert tok.count(SENTENCE) == REFERENCE[name]
    ids = tok.encode(SENTENCE)
    assert len(ids) == REFERENCE[name]
    assert tok.decode(ids) == SENTENCE
    assert tok.count_batch([SENTENCE, "", "a b"])[:2] == [REFERENCE[name], 0]
    assert tok.encode_batch([SENTENCE])[0] == ids


@pytest.mark.parametrize("name", FAST_PRESETS)
def test_fast_preset_declares_its_real_vocab_size(name: str) -> None:
    tok = get_tokenizer(name)
    assert tok.vocab_size == get_preset(name).vocab_size
    assert tok.source and tok.name == name


def test_get_tokenizer_is_cached_per_process_and_aliases_share() -> None:
    assert get_tokenizer("qwen-2.5") is get_tokenizer("qwen-2.5")
    assert get_tokenizer("Qwen2.5") is get_tokenizer("qwen-2.5")
    assert get_tokenizer("o200k_base") is get_tokenizer("gpt-4o")


def test_special_token_text_is_counted_as_text() -> None:
    tok = get_tokenizer("gpt-4o")
    assert tok.count("<|endoftext|>") > 1
    assert tok.decode(tok.encode("<|endoftext|>")) == "<|endoftext|>"


def test_unknown_name_lists_presets() -> None:
    with pytest.raises(NotFoundError) as info:
        get_tokenizer("no-such-tokenizer")
    assert "gpt-4o" in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        get_tokenizer(str(tmp_path / "tokenizer.json"))


def test_every_preset_states_source_and_size() -> None:
    for preset in list_presets():
        assert preset.source and preset.models and preset.vocab_size > 1000
