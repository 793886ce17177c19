"""Normalisation and legacy decoding."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hanstack.errors import DecodeError
from hanstack.korean.normalize import decode_bytes, normalize_text

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "normalize.json"


def test_golden_cases() -> None:
    cases = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert len(cases) >= 8
    for case in cases:
        given_text = case["input"]
        if case.get("nfd"):
            given_text = unicodedata.normalize("NFD", given_text)
            assert given_text != case["input"], "the fixture must really be decomposed"
        assert normalize_text(given_text) == case["expected"], case["name"]


def test_nfd_hangul_becomes_nfc_and_shorter() -> None:
    nfd = unicodedata.normalize("NFD", "대한민국 헌법")
    assert len(nfd) > len("대한민국 헌법")
    out = normalize_text(nfd)
    assert out == "대한민국 헌법"
    assert unicodedata.is_normalized("NFC", out)


def test_fullwidth_folded_but_circled_numbers_kept() -> None:
    assert normalize_text("ＡＰＩ　키는 １２３") == "API 키는 123"
    assert normalize_text("제10조 ② 모든 국민은") == "제10조 ② 모든 국민은"
    assert normalize_text("㈜한빛") == "㈜한빛"


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200))
def test_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.text(alphabet=st.sampled_from("가나다한국어헌법 \n\t각갂ㄱㅏ."), max_size=80))
def test_hangul_idempotent_under_nfd(text: str) -> None:
    assert normalize_text(unicodedata.normalize("NFD", text)) == normalize_text(text)


@pytest.mark.parametrize(
    ("encoding", "label"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8"),
        ("cp949", "euc-kr/cp949"),
        ("euc-kr", "euc-kr/cp949"),
        ("utf-16", "utf-16"),
    ],
)
def test_decode_detects_korean_encodings(encoding: str, label: str) -> None:
    text = "대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다. 똠방각하 뷁"
    if encoding == "euc-kr":
        text = text.replace(" 똠방각하 뷁", "")  # outside EUC-KR's 2,350 syllables
    data = text.encode(encoding)
    decoded = decode_bytes(data)
    assert decoded.text == text
    assert decoded.encoding == label


def test_decode_rejects_broken_bom_file() -> None:
    with pytest.raises(DecodeError, match="byte-order mark"):
        decode_bytes(b"\xef\xbb\xbf" + b"\xff\xfe\xfa")
