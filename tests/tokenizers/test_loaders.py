"""Each kind of user vocabulary file loads through ``load_file``/``get_tokenizer`` with real data:
tiktoken rank files, Hugging Face tokenizer.json, Mistral tekken.json, SentencePiece .model, GGUF.
Bad files give a clear TokenizerError naming the file."""

from __future__ import annotations

import gzip
import shutil
from importlib import resources
from pathlib import Path

import pytest

from hanstack.errors import TokenizerError
from hanstack.tokenizers import get_tokenizer, load_file
from hanstack.tokenizers.files import GGUFTokenizer, HFTokenizer, SentencePieceTokenizer, TekkenTokenizer
from tests.tokenizers.conftest import SENTENCE, load_or_skip


def _package_file(package: str, *parts: str) -> Path:
    pytest.importorskip(package)
    path = Path(str(resources.files(package).joinpath(*parts)))
    if not path.is_file():
        pytest.skip(f"{package} has no {'/'.join(parts)}")
    return path


def test_tiktoken_file_plain_and_gz(tmp_path: Path) -> None:
    pytest.importorskip("tiktoken")
    gz = _package_file("bpe_openai", "data", "o200k_base.tiktoken.gz")
    plain = tmp_path / "o200k_base.tiktoken"
    plain.write_bytes(gzip.decompress(gz.read_bytes()))
    reference = load_or_skip("gpt-4o")
    for path in (plain, gz):
        tok = load_file(path)
        assert tok.vocab_size == 200_019  # official specials come with the official name
        assert tok.encode(SENTENCE) == reference.encode(SENTENCE)


def test_tiktoken_file_with_an_unknown_name_gets_o200k_pattern(tmp_path: Path) -> None:
    pytest.importorskip("tiktoken")
    gz = _package_file("bpe_openai", "data", "cl100k_base.tiktoken.gz")
    custom = tmp_path / "my_vocab.tiktoken"
    custom.write_bytes(gzip.decompress(gz.read_bytes()))
    tok = get_tokenizer(str(custom))
    assert "o200k_base pattern" in tok.source
    assert tok.decode(tok.encode(SENTENCE)) == SENTENCE


def test_hf_tokenizer_json(tmp_path: Path) -> None:
    from hanstack.tokenizers.train import TrainConfig, train_tokenizer

    pytest.importorskip("tokenizers")
    texts = [SENTENCE, "국민의 권리와 의무", "모든 국민은 법 앞에 평등하다."] * 20
    path = train_tokenizer(texts, tmp_path / "tokenizer.json", TrainConfig(vocab_size=300)).path
    tok = load_file(path)
    assert isinstance(tok, HFTokenizer)
    assert tok.decode(tok.encode(SENTENCE)) == SENTENCE
    # byte-level pieces map back to the exact bytes
    assert b"".join(tok.token_bytes(i) for i in tok.encode(SENTENCE)) == SENTENCE.encode()


def test_tekken_json_is_told_apart_from_hf_json(tmp_path: Path) -> None:
    src = _package_file("mistral_common", "data", "tekken_240718.json")
    path = tmp_path / "tekken.json"
    shutil.copyfile(src, path)
    tok = load_file(path)
    assert isinstance(tok, TekkenTokenizer)
    assert tok.count(SENTENCE) == 21 and tok.vocab_size == 131_072


def test_sentencepiece_model(tmp_path: Path) -> None:
    pytest.importorskip("sentencepiece")
    src = _package_file("mistral_common", "data", "mistral_instruct_tokenizer_240323.model.v3")
    path = tmp_path / "tokenizer.model"
    shutil.copyfile(src, path)
    tok = load_file(path)
    assert isinstance(tok, SentencePieceTokenizer)
    assert tok.vocab_size == 32_768
    ids = tok.encode(SENTENCE)
    assert tok.decode(ids) == SENTENCE
    # byte-fallback pieces (<0xNN>) are single raw bytes
    assert any(len(tok.token_bytes(i)) == 1 and tok.token_bytes(i)[0] >= 0x80 for i in tok.encode("흫흫 뷁"))


def test_gguf_file(ggml_vocab_dir: Path) -> None:
    tok = load_file(ggml_vocab_dir / "ggml-vocab-command-r.gguf")
    assert isinstance(tok, GGUFTokenizer)
    assert tok.count(SENTENCE) == 18 and tok.vocab_size == 256_000
    assert tok.decode(tok.encode(SENTENCE)) == SENTENCE


def test_gguf_spm_vocab_reports_leading_space_roundtrip(ggml_vocab_dir: Path) -> None:
    tok = load_file(ggml_vocab_dir / "ggml-vocab-nomic-bert-moe.gguf")
    assert tok.vocab_size == 250_048
    assert tok.decode(tok.encode(SENTENCE)).strip() == SENTENCE


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("tokenizer.json", b'{"version": "1.0", "model": {"type": "nonsense"}}', "not a loadable"),
        ("broken.model", b"not a sentencepiece model", "not a SentencePiece model"),
        ("vocab.tiktoken", b"this is not base64 rank data\n", "not a tiktoken rank file"),
        ("vocab.bin", b"\x00\x01", "cannot tell what kind"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, name: str, content: bytes, match: str) -> None:
    pytest.importorskip("tokenizers")
    pytest.importorskip("sentencepiece")
    pytest.importorskip("tiktoken")
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TokenizerError, match=match) as info:
        load_file(path)
    if "cannot tell" not in match:
        assert str(path) in str(info.value)


def test_bad_gguf_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(TokenizerError, match="cannot load this GGUF"):
        load_file(path)
