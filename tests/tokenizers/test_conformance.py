"""One conformance suite that every Tokenizer implementation runs (one instance of each backend)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest

from hanstack.tokenizers import Tokenizer, get_tokenizer, load_file
from hanstack.tokenizers.base import BaseTokenizer
from tests.tokenizers.conftest import SENTENCE, load_or_skip

TEXTS = [
    SENTENCE,
    "",
    "English, 한국어, 日本語 and 123,456.78 — mixed!",
    "줄바꿈\n\t탭과   여러 칸",
    unicodedata.normalize("NFD", "한글 자모"),
    "<|endoftext|> <s> </s> [CLS]",
    "😀 이모지와 흫뷁 같은 드문 음절",
]
# preset -> backend class it exercises; trained-HF is built in the fixture
BACKENDS = {
    "gpt-4o": "QuicktokTokenizer",
    "qwen-3.5": "ToktokTokenizer",
    "gpt-4o-tiktoken": "TiktokenTokenizer",
    "mistral-nemo": "TekkenTokenizer",
    "mistral-v3": "SentencePieceTokenizer",
    "utf8-bytes": "Utf8ByteTokenizer",
    "gemma-3": "GGUFTokenizer",
    "trained": "HFTokenizer",
}


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def tok(request, tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    name = request.param
    if name == "trained":
        pytest.importorskip("tokenizers")
        from hanstack.tokenizers.train import TrainConfig, train_tokenizer

        out = tmp_path_factory.mktemp("hf") / "tokenizer.json"
        return load_file(train_tokenizer([SENTENCE] * 20, out, TrainConfig(vocab_size=300)).path)
    if name == "gemma-3":
        request.getfixturevalue("ggml_vocab_dir")
        return get_tokenizer(name)
    return load_or_skip(name)


def test_backend_class_and_protocol(tok: Tokenizer) -> None:
    assert isinstance(tok, Tokenizer) and isinstance(tok, BaseTokenizer)
    assert type(tok).__name__ in BACKENDS.values()
    assert tok.vocab_size >= 256 and tok.source and tok.name


def test_count_encode_and_batches_agree(tok: Tokenizer) -> None:
    singles = [tok.encode(t) for t in TEXTS]
    assert [tok.count(t) for t in TEXTS] == [len(ids) for ids in singles]
    assert tok.encode_batch(TEXTS) == singles
    assert tok.count_batch(TEXTS) == [len(ids) for ids in singles]
    assert tok.count("") == 0
    assert all(0 <= i < tok.vocab_size for ids in singles for i in ids)
    flat, offsets = tok.encode_flat(TEXTS)  # type: ignore[attr-defined]
    assert offsets[0] == 0 and len(offsets) == len(TEXTS) + 1
    assert [flat[offsets[i] : offsets[i + 1]].tolist() for i in range(len(TEXTS))] == singles
    assert np.issubdtype(flat.dtype, np.integer)


def test_special_token_strings_are_plain_text(tok: Tokenizer) -> None:
    assert tok.count("<|endoftext|>") > 1


def test_round_trip(tok: Tokenizer) -> None:
    for text in TEXTS:
        decoded = tok.decode(tok.encode(text))
        expected = unicodedata.normalize("NFC", text) if getattr(tok, "normalizes_nfc", False) else text
        if type(tok).__name__ == "SentencePieceTokenizer":  # SPM normalises runs of whitespace
            assert decoded.split() == expected.split()
        else:
            assert decoded == expected, (tok.name, text)


def test_token_bytes_rebuild_the_text(tok: Tokenizer) -> None:
    """For concatenative tokenizers the pieces' bytes are the decoded text, fragments included."""
    if not getattr(tok, "concatenative", False):
        pytest.skip(f"{type(tok).__name__} decodes with more than byte concatenation")
    for text in TEXTS:
        ids = tok.encode(text)
        assert b"".join(tok.token_bytes(i) for i in ids).decode("utf-8") == tok.decode(ids)


def test_decoding_a_lone_fragment_does_not_raise(tok: Tokenizer) -> None:
    ids = tok.encode("흫")
    assert isinstance(tok.decode(ids[:1]), str)


def test_loading_from_path_matches_name(tmp_path: Path) -> None:
    """get_tokenizer accepts a path as well as a name; the same file gives one cached object."""
    pytest.importorskip("tokenizers")
    from hanstack.tokenizers.train import TrainConfig, train_tokenizer

    path = train_tokenizer([SENTENCE] * 10, tmp_path / "tokenizer.json", TrainConfig(vocab_size=300)).path
    assert get_tokenizer(str(path)) is get_tokenizer(str(path))
    assert get_tokenizer(str(path)).count(SENTENCE) == load_file(path).count(SENTENCE)
