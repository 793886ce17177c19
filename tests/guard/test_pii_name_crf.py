"""The character CRF for person names (names="crf"): labels, segments, features, the shipped model."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanstack.errors import GuardError
from hanstack.guard.pii import PiiConfig, PiiEngine
from hanstack.guard.pii.name_crf import (
    NameTagger,
    bio_labels,
    char_features,
    default_crf_path,
    segments,
    spans_from_labels,
)
from hanstack.guard.pii.name_lexicon import mine, stem

pytest.importorskip("pycrfsuite", reason="python-crfsuite (extra hanstack[guard]) is not installed")


def test_bio_labels_and_spans_round_trip() -> None:
    ents = [("PS", 0, 3), ("LC", 5, 7), ("PS", 9, 10)]
    labels = bio_labels(12, ents)
    assert labels[:4] == ["B-PS", "I-PS", "I-PS", "O"]
    assert spans_from_labels(labels) == [(0, 3), (9, 10)]
    assert spans_from_labels(labels, "LC") == [(5, 7)]
    assert bio_labels(12, ents, frozenset({"PS"}))[5] == "O"
    # an I- without a B- (possible in a CRF path) still makes a span; two adjacent B- make two
    assert spans_from_labels(["O", "I-PS", "I-PS", "B-PS", "B-PS"]) == [(1, 3), (3, 4), (4, 5)]


def test_segments_cover_the_text_and_respect_the_length_cap() -> None:
    text = "첫 문장입니다. 둘째 문장!\n셋째 줄 " + "가나다 " * 200
    segs = segments(text, max_len=100)
    assert all(b - a <= 100 for a, b in segs)
    covered = "".join(text[a:b] for a, b in segs)
    assert covered.replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_features_one_list_per_character_with_lexicon_marks(kiwi) -> None:
    text = "배우 홍길동이 왔다"
    toks = kiwi.kiwi.tokenize(text)
    feats = char_features(text, toks, lexicon={"홍길동": 3}, known={"홍길동": 1})
    assert len(feats) == len(text)
    hong = feats[3]
    assert "c=홍" in hong and "sur" in hong and "lex=B3" in hong and "known=B" in hong
    assert "lex=E3" in feats[5] and not any(f.startswith("lex=") for f in feats[6])
    assert not any(f.startswith("known=") for f in char_features(text, toks, lexicon={}, known={})[3])


def test_lexicon_miner_counts_person_contexts() -> None:
    assert stem("홍길동씨가") == ("홍길동", True)
    assert stem("서울의") == ("서울", False)
    texts = ["홍길동 연기 최고", "홍길동씨 멋있다", "홍길동의 연기", "서울에 갔다", "서울 구경", "서울 연기"]
    lex = mine(texts, min_person=2, min_ratio=0.5)
    assert lex.get("홍길동") == 3 and "서울" not in lex


def test_missing_model_file_explains_how_to_retrain(tmp_path: Path) -> None:
    with pytest.raises(GuardError) as err:
        NameTagger(tmp_path / "nope.crfsuite")
    assert "retrain" in (err.value.hint or "")


@pytest.mark.skipif(not default_crf_path().exists(), reason="the shipped name CRF model is missing")
@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("어제 회의에는 김민준 팀장과 이서연 대리가 참석했다.", "이서연"),
        ("영화에서 송강호의 연기가 정말 좋았다.", "송강호"),
        ("박지성은 맨체스터 유나이티드에서 뛰었다.", "박지성"),
    ],
)
def test_crf_finds_names_in_running_text(kiwi, text: str, name: str) -> None:
    engine = PiiEngine(PiiConfig(names="crf", types=("PERSON",)), kiwi=kiwi.kiwi)
    found = engine.scan(text)
    assert name in [e.text for e in found]
    assert all(0.5 <= e.score <= 1.0 for e in found)


@pytest.mark.skipif(not default_crf_path().exists(), reason="the shipped name CRF model is missing")
def test_crf_leaves_names_out_of_text_without_people(kiwi) -> None:
    engine = PiiEngine(PiiConfig(names="crf", types=("PERSON",)), kiwi=kiwi.kiwi)
    assert engine.scan("서울시는 내일부터 버스 요금을 200원 인상한다고 밝혔다.") == []
    assert engine.scan("오늘 날씨가 좋아서 공원에 산책을 갔다.") == []
