"""Extending o200k_base with Korean tokens: original ids kept, Korean text gets shorter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hanstack.errors import InvalidInputError
from hanstack.tokenizers import get_tokenizer, load_file
from hanstack.tokenizers.extend import extend_tiktoken
from hanstack.tokenizers.train import TrainConfig, train_tokenizer
from tests.tokenizers.test_cli import run

pytest.importorskip("tiktoken")
pytest.importorskip("tokenizers")

KOREAN = [
    "대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다.",
    "모든 국민은 법 앞에 평등하다.",
] * 40


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ko") / "tokenizer.json"
    return train_tokenizer(KOREAN, out, TrainConfig(vocab_size=600, split="whitespace")).path


def test_extension_keeps_original_ids_and_shortens_korean(trained: Path, tmp_path: Path) -> None:
    result = extend_tiktoken("o200k_base", trained, tmp_path / "o200k_ko.tiktoken", add=40)
    assert result.added == 40 and result.vocab_size == result.base_size + 40
    extended, base = load_file(result.path), get_tokenizer("gpt-4o")
    english = "The quick brown fox jumps over the lazy dog."
    assert extended.encode(english) == base.encode(english)
    assert extended.count(KOREAN[0]) < base.count(KOREAN[0])
    assert extended.decode(extended.encode(KOREAN[0])) == KOREAN[0]


def test_extension_needs_bpe_merges(tmp_path: Path) -> None:
    unigram = train_tokenizer(KOREAN, tmp_path / "u.json", TrainConfig(vocab_size=400, model="unigram")).path
    with pytest.raises(InvalidInputError, match="Unigram"):
        extend_tiktoken("o200k_base", unigram, tmp_path / "x.tiktoken", add=10)
    with pytest.raises(InvalidInputError, match="positive"):
        extend_tiktoken("o200k_base", unigram, tmp_path / "x.tiktoken", add=0)


def test_extend_cli(workspace, trained: Path, tmp_path: Path, capsys) -> None:
    held = tmp_path / "held.txt"
    held.write_text("\n".join(KOREAN[:2]), encoding="utf-8")
    code, out, err = run(
        capsys,
        "tokens",
        "extend",
        "--from",
        str(trained),
        "--add",
        "50",
        "-o",
        str(tmp_path / "ext.tiktoken"),
        "--heldout",
        str(held),
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["result"]["added"] == 50
    rows = {r["tokenizer"]: r for r in data["heldout"][0]["rows"]}
    assert rows["gpt-4o"]["vs_baseline"] == 1.0
    assert rows[str(tmp_path / "ext.tiktoken")]["vs_baseline"] < 1.0
