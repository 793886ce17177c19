"""Each PII recognizer: positives, negatives, checksums, context, suppression, overlaps."""

from __future__ import annotations

import pytest

from hanstack.errors import InvalidInputError
from hanstack.guard.pii import PiiConfig, PiiEngine
from hanstack.guard.pii import validators as V


@pytest.fixture(scope="module")
def engine() -> PiiEngine:
    return PiiEngine(PiiConfig(names="rules"))


def types_of(engine: PiiEngine, text: str) -> dict[str, str]:
    return {e.text: e.type for e in engine.scan(text)}


# --- checksums -------------------------------------------------------------------------------------
def test_rrn_checksum_and_date_validation() -> None:
    assert V.rrn_checksum_ok("960121-1021413")
    assert not V.rrn_checksum_ok("960121-1234567")
    assert V.frn_checksum_ok("911124-5678906")
    assert V.valid_birth_date("000229", "3")  # 2000 is a leap year
    assert not V.valid_birth_date("010229", "3")  # 2001 is not
    assert not V.valid_birth_date("991301", "1")
    assert V.luhn_ok("4111 1111 1111 1111") and not V.luhn_ok("4111 1111 1111 1112")
    assert V.brn_checksum_ok("104-86-56659") and not V.brn_checksum_ok("104-86-56658")
    assert V.card_brand("378282246310005") == "amex"
    assert V.card_brand("1111111111111117") is None


def test_rrn_checksum_raises_confidence_but_never_rejects(engine: PiiEngine) -> None:
    valid = engine.scan("960121-1021413")
    post_2020 = engine.scan("960121-1234567")  # no valid checksum: still an RRN
    assert [e.type for e in valid] == ["RRN"] and [e.type for e in post_2020] == ["RRN"]
    assert valid[0].score > post_2020[0].score
    assert any("checksum valid" in r for r in valid[0].reasons)
    assert any("Oct 2020" in r for r in post_2020[0].reasons)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("주민번호 900101-1234567 입니다", "RRN"),
        ("9601211021413", "RRN"),  # bare, checksum valid
        ("000229-3234567", "RRN"),  # leap day, born 2000
        ("외국인등록번호 990101-5234567", "FRN"),
        ("9111245678906", "FRN"),
        ("사업자등록번호 104-86-56659", "BRN"),
        ("법인등록번호 110111-1234569", "CRN"),
        ("법인번호: 134511-0001232", "CRN"),
        ("여권번호 M12345678", "PASSPORT"),
        ("여권 M123A4567", "PASSPORT"),
        ("11-22-123456-78", "DRIVER_LICENSE"),
        ("서울 12-345678-90", "DRIVER_LICENSE"),
        ("010-1234-5678", "PHONE"),
        ("01012345678로 전화", "PHONE"),
        ("010.1234.5678", "PHONE"),
        ("010 1234 5678", "PHONE"),
        ("+82 10-1234-5678", "PHONE"),
        ("+821012345678", "PHONE"),
        ("02-777-1234", "PHONE"),
        ("031-123-4567", "PHONE"),
        ("070-1234-5678", "PHONE"),
        ("1588-1234", "PHONE"),
        ("(02) 123-4567", "PHONE"),
        ("4111-1111-1111-1111", "CARD"),
        ("3782 822463 10005", "CARD"),
        ("5555555555554444", "CARD"),
        ("국민은행 123456-04-123456 으로 입금", "BANK_ACCOUNT"),
        ("계좌번호: 110234567890", "BANK_ACCOUNT"),
        ("hong.gildong@example.co.kr", "EMAIL"),
        ("접속 IP 192.168.10.25", "IP_ADDRESS"),
        ("2001:db8::8a2e:370:7334", "IP_ADDRESS"),
        ("차량번호 12가 3456", "VEHICLE_PLATE"),
        ("서울12가3456", "VEHICLE_PLATE"),
        ("123허4567 렌터카", "VEHICLE_PLATE"),
        ("서울특별시 강남구 테헤란로 152", "ADDRESS"),
        ("경기도 성남시 분당구 불정로 6", "ADDRESS"),
        ("주소: 올림픽로35길 10", "ADDRESS"),
        ("경기도 화성시 봉담읍 와우리 123-4", "ADDRESS"),
        ("역삼동 123-45번지", "ADDRESS"),
        ("sk-proj-abcdefghij1234567890ABCD", "API_KEY"),
    ],
)
def test_positive(engine: PiiEngine, text: str, expected: str) -> None:
    assert expected in {e.type for e in engine.scan(text)}, engine.candidates(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026년 7월 22일 발표된 보고서",
        "계약일 2024-01-15, 만료일 2025.12.31",
        "예산은 1,234,567원으로 책정됐다",
        "월급 350만원",
        "₩1,500,000 결제",
        "제10조 제2항에 따라",
        "민법 제750조의2",
        "주문번호 20260722-001 상품",
        "운송장 6889912345678 조회",
        "ISBN 978-89-546-4342-7",
        "버전 3.11.4 에서 2.7.18 로",
        "회의는 14:30 에 시작",
        "우편번호 04524",
        "좌표 (37.5665, 126.9780)",
        "성장률 20%",
        "001332-1234567",  # month 13
        "960303-0021413",  # gender digit 0
        "960121+1021413",  # '+' is no separator
        "010-123-4567",  # 010 needs a 4-digit exchange
        "010.1234 5678",  # mixed separators
        "099-1234-5678",  # no such prefix
        "카드번호 4111 1111 1111 1112",  # Luhn fails
        "카드번호 1111 1111 1111 1117",  # unknown brand
        "123-45-67890",  # BRN checksum fails
        "모델명 M12345678 재고",  # passport shape, product context
        "99-22-123456-12",  # no such licence region
        "일련번호 123456-04-123456",  # account shape without bank context
        "hong.gildong@example",  # no TLD
        "한글@example.com",
        "이로 인해 3명이 다쳤다",
    ],
)
def test_negative(engine: PiiEngine, text: str) -> None:
    assert engine.scan(text) == [], engine.scan(text)


def test_account_not_confused_with_phone_or_licence(engine: PiiEngine) -> None:
    assert types_of(engine, "국민은행 010-1234-5678로 문의") == {"010-1234-5678": "PHONE"}
    assert types_of(engine, "국민은행 11-22-123456-78 문의") == {"11-22-123456-78": "DRIVER_LICENSE"}


def test_context_words_raise_and_lower_scores(engine: PiiEngine) -> None:
    plain = engine.candidates("M123A4567")
    ctx = engine.candidates("여권번호 M123A4567")
    neg = engine.candidates("제품코드 M123A4567")
    assert ctx[0].score > plain[0].score > neg[0].score
    assert engine.scan("제품코드 M123A4567") == []
    # English context words match whole words only ("ip" is not in "ship")
    assert any("context" in r for r in engine.scan("server ip 10.0.0.1")[0].reasons)
    assert not any("context" in r for r in engine.scan("ship 10.0.0.1")[0].reasons)


def test_context_window_is_bounded(engine: PiiEngine) -> None:
    # an old-format passport glued to a Hangul word needs its context word, and only within the window
    assert engine.scan("여권" + "가" * 35 + "M12345678") == []
    assert [e.type for e in engine.scan("여권" + "가" * 5 + "M12345678")] == ["PASSPORT"]
    assert engine.scan("은행" + "가" * 35 + " 123456-04-123456") == []


def test_old_format_passport_alone_is_reported_unless_it_looks_like_a_product_code(engine: PiiEngine) -> None:
    assert [e.text for e in engine.scan("M12345678 로 예약했어요")] == ["M12345678"]
    assert engine.scan("모델명 M12345678 재고") == []
    assert engine.scan("제품코드 S12345678 입고") == []
    assert engine.scan("m12345678") == []  # printed passport numbers are uppercase
    assert engine.scan("여권 m12345678 확인") == []


def test_overlaps_resolve_to_the_best_span(engine: PiiEngine) -> None:
    found = engine.scan("카드 4111111111111111 번호")  # also a 16-digit account-like number
    assert [(e.type, e.text) for e in found] == [("CARD", "4111111111111111")]


def test_offsets_point_into_the_original_text(engine: PiiEngine) -> None:
    text = "연락처：０１０-１２３４-５６７８ 입니다"  # full-width digits fold one-for-one
    (e,) = engine.scan(text)
    assert e.type == "PHONE" and text[e.start : e.end] == e.text == "０１０-１２３４-５６７８"


def test_mixed_document(engine: PiiEngine) -> None:
    text = (
        "홍길동 고객님(주민번호 900101-1234567)의 연락처는 010-9876-5432, 이메일 gildong@example.com 입니다. "
        "신한은행 110-234-567890 으로 2024년 3월 5일까지 50,000원을 입금해 주세요. 제3조에 따릅니다."
    )
    got = {(e.type, e.text) for e in engine.scan(text)}
    assert got == {
        ("PERSON", "홍길동"),
        ("RRN", "900101-1234567"),
        ("PHONE", "010-9876-5432"),
        ("EMAIL", "gildong@example.com"),
        ("BANK_ACCOUNT", "110-234-567890"),
    }


def test_config_validation() -> None:
    with pytest.raises(InvalidInputError, match="unknown PII entity"):
        PiiConfig(types=("NOPE",))
    with pytest.raises(InvalidInputError, match="threshold"):
        PiiConfig(threshold=2)
    with pytest.raises(InvalidInputError):
        PiiEngine().scan(b"bytes")  # type: ignore[arg-type]


def test_types_filter() -> None:
    only_phone = PiiEngine(PiiConfig(types=("PHONE",), names="off"))
    assert [e.type for e in only_phone.scan("010-1234-5678 hong@example.com")] == ["PHONE"]


def test_zoned_fast_path_agrees_with_the_full_pass() -> None:
    """The fast path runs regexes only near digits/@/titles; it must find exactly what a full pass finds."""
    import random

    from tests.conftest import SHARED_DATA

    pieces = [
        "주민번호 900101-1234567",
        "외국인 9111245678906",
        "사업자등록번호 104-86-56659",
        "법인번호: 134511-0001232",
        "여권 M123A4567",
        "여권번호M12345678",
        "11-22-123456-78",
        "서울 12-345678-90",
        "010-1234-5678",
        "+82 10-1234-5678",
        "(02) 123-4567",
        "1588-1234",
        "4111 1111 1111 1111",
        "3782 822463 10005",
        "국민은행 123456-04-123456",
        "계좌 110234567890",
        "hong@example.com",
        "192.168.0.1",
        "2001:db8::1",
        "12가 3456",
        "서울12가3456",
        "서울특별시 강남구 테헤란로 152",
        "역삼동 123-45번지",
        "주소: 올림픽로35길 10",
        "김철수 과장님",
        "성명: 최민수",
        "박씨",
        "2024년 3월 5일",
        "50,000원",
        "제10조 제2항",
        "주문번호 20260722-001",
        "sk-proj-abcdefghij1234567890ABCD",
        "버전 3.11.4",
        "오늘 날씨가 좋다.",
        "회의는 14:30에 시작한다.",
    ]
    klue = SHARED_DATA / "nlu" / "klue-ner-v1.1_dev.tsv"
    if klue.exists():
        lines = [
            ln.split("## ", 1)[1]
            for ln in klue.read_text(encoding="utf-8").splitlines()[:4000]
            if ln.startswith("## klue")
        ]
        pieces += [ln.split("\t", 1)[-1] for ln in lines[:150]]
    rng = random.Random(5)
    fast = PiiEngine(PiiConfig(names="rules"))
    full = PiiEngine(PiiConfig(names="rules", zoned=False))
    for _ in range(40):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        assert fast.scan(text) == full.scan(text), text
