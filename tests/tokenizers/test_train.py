"""Training on a small Korean corpus gives a standard, loadable tokenizer.json that round-trips."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from hanstack.errors import InvalidInputError
from hanstack.tokenizers import load_file
from hanstack.tokenizers.compare import compare_on, relative
from hanstack.tokenizers.train import TrainConfig, mark_morphemes, train_tokenizer

pytest.importorskip("tokenizers")

CORPUS = [
    "대한민국은 민주공화국이다.",
    "대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다.",
    "모든 국민은 법 앞에 평등하다.",
    "국민의 자유와 권리는 헌법에 열거되지 아니한 이유로 경시되지 아니한다.",
    "이 영화 정말 재밌어요! 배우들 연기가 최고였습니다.",
    "스토리가 너무 지루해서 중간에 잠들었어요 ㅠㅠ",
    "2024년 3월 1일부터 새로운 법률이 시행되었다.",
] * 30
HELD_OUT = ["모든 국민은 인간으로서의 존엄과 가치를 가진다.", "배우들 연기가 정말 좋았어요."]


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(vocab_size=500),
        TrainConfig(vocab_size=500, split="whitespace"),
        TrainConfig(vocab_size=500, morpheme_aware=True),
        TrainConfig(vocab_size=400, model="unigram"),
    ],
    ids=["bpe-gpt2", "bpe-whitespace", "bpe-morpheme-aware", "unigram"],
)
def test_training_produces_a_loadable_roundtripping_tokenizer_json(
    tmp_path: Path, config: TrainConfig
) -> None:
    result = train_tokenizer(CORPUS, tmp_path / "out", config)
    assert result.path == tmp_path / "out" / "tokenizer.json"
    spec = json.loads(result.path.read_text(encoding="utf-8"))
    assert spec["model"]["type"] == ("BPE" if config.model == "bpe" else "Unigram")
    assert "\ue000" not in json.dumps(spec["pre_tokenizer"])  # the training-only splitter is not saved
    tok = load_file(result.path)
    assert tok.vocab_size == result.vocab_size <= config.vocab_size
    for text in [*HELD_OUT, "English and 숫자 12345 mixed 😀", " 앞뒤 공백 "]:
        assert tok.decode(tok.encode(text)) == text
    # the normaliser makes decomposed Hangul cost the same as composed
    assert tok.count(unicodedata.normalize("NFD", HELD_OUT[0])) == tok.count(HELD_OUT[0])
    # even this tiny vocabulary beats raw bytes by far on the text it learned from
    assert tok.count(CORPUS[1]) < len(CORPUS[1].encode()) / 2


def test_morpheme_marks_only_insert_boundaries() -> None:
    texts = ["국민의 권리를 보장한다.", "hello world"]
    marked = list(mark_morphemes(texts))
    assert [m.replace("\ue000", "") for m in marked] == texts
    assert "국민\ue000의" in marked[0]
    assert " \ue000" not in marked[0] and "\ue000 " not in marked[0]


def test_morpheme_aware_learns_no_merge_across_a_particle(tmp_path: Path) -> None:
    corpus = ["국민의 권리", "국민의 의무", "국민의 자유"] * 50
    plain = load_file(train_tokenizer(corpus, tmp_path / "p.json", TrainConfig(vocab_size=400)).path)
    aware = load_file(
        train_tokenizer(corpus, tmp_path / "m.json", TrainConfig(vocab_size=400, morpheme_aware=True)).path
    )
    assert plain.count("국민의") == 1
    assert aware.count("국민의") == 2


def test_compare_relative_to_baseline(tmp_path: Path) -> None:
    from hanstack.tokenizers import get_tokenizer

    trained = load_file(train_tokenizer(CORPUS, tmp_path / "t.json", TrainConfig(vocab_size=600)).path)
    comp = compare_on(CORPUS[:7], [trained, get_tokenizer("gpt-4o")], name="in-domain", baseline="gpt-4o")
    row = comp.row(trained.name)
    assert row.vs_baseline is not None and row.vs_baseline < 1
    assert comp.row("gpt-4o").vs_baseline == 1.0
    assert relative(0.67) == "33.0% fewer" and relative(1.1) == "10.0% more"


def test_bad_training_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="out of range"):
        TrainConfig(vocab_size=10)
    with pytest.raises(InvalidInputError, match="unknown model"):
        TrainConfig(model="wordpiece")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="empty"):
        train_tokenizer([], tmp_path / "x.json", TrainConfig())
