"""Korean postal addresses: 도로명 (road name + building number) and 지번 (lot number).

도로명: ``[시/도] [시/군/구]… [읍/면] …로|길 번호[-번호] [동 호]``, e.g. 서울특별시 강남구 테헤란로 152,
올림픽로35길 10. 지번: ``[시/도] 시/군/구 [읍/면] 동|리|가 번지``, e.g. 경기도 화성시 봉담읍 와우리 123-4.
A road or lot part without any 시/도 or 시/군/구 prefix scores low and needs a context word
(주소, 거주, 배송지 ...) to pass the threshold.
"""

from __future__ import annotations

import re

from hanstack.guard.pii import types as T
from hanstack.guard.pii.types import Candidate

SIDO = (
    "서울특별시",
    "서울시",
    "서울",
    "부산광역시",
    "부산시",
    "부산",
    "대구광역시",
    "대구시",
    "대구",
    "인천광역시",
    "인천시",
    "인천",
    "광주광역시",
    "광주시",
    "광주",
    "대전광역시",
    "대전시",
    "대전",
    "울산광역시",
    "울산시",
    "울산",
    "세종특별자치시",
    "세종시",
    "세종",
    "경기도",
    "경기",
    "강원특별자치도",
    "강원도",
    "강원",
    "충청북도",
    "충북",
    "충청남도",
    "충남",
    "전북특별자치도",
    "전라북도",
    "전북",
    "전라남도",
    "전남",
    "경상북도",
    "경북",
    "경상남도",
    "경남",
    "제주특별자치도",
    "제주도",
    "제주",
)
_SIDO = "(?:" + "|".join(sorted(SIDO, key=len, reverse=True)) + ")"
_SIGUNGU = r"(?:[가-힣]{1,5}(?:시|군|구))"
_EUPMYEON = r"(?:[가-힣]{1,5}(?:읍|면))"
_ROAD = r"(?:[가-힣A-Za-z]{1,10}\d{0,3}(?:대로|로|길)(?:\s?\d{1,4}(?:번)?(?:가|길))?)"
_BUILDING = r"(?:\d{1,5}(?:-\d{1,5})?)"
_DETAIL = (
    r"(?:\s*,?\s*(?:[가-힣A-Za-z0-9]{1,12}\s)?\d{1,4}\s?동\s?\d{1,5}\s?호"
    r"|\s*,?\s*\d{1,5}\s?호|\s*,?\s*(?:지하\s?)?\d{1,3}\s?층(?:\s?\d{1,5}\s?호)?)?"
    r"(?:\s?\([가-힣0-9A-Za-z,.\s-]{1,30}\))?"
)
_PREFIX = r"(?:(?P<sido>" + _SIDO + r")\s+)?(?P<sgg>(?:" + _SIGUNGU + r"\s+){0,2})(?:" + _EUPMYEON + r"\s+)?"

_ROAD_ADDR = re.compile(
    r"(?<![가-힣])" + _PREFIX + r"(?P<road>" + _ROAD + r")\s?" + _BUILDING + r"(?![\d가-힣])" + _DETAIL
)
_LOT_ADDR = re.compile(
    r"(?<![가-힣])"
    + _PREFIX
    + r"(?P<dong>[가-힣]{1,6}\d{0,2}(?:동|리|가))\s?\d{1,5}(?:-\d{1,5})?(?P<bunji>\s?번지)?"
    r"(?![\d])" + _DETAIL
)

ADDRESS_CONTEXT = (
    "주소",
    "거주",
    "배송지",
    "배송",
    "사는",
    "살고",
    "자택",
    "집",
    "위치",
    "소재지",
    "도로명",
    "지번",
    "address",
    "우편",
    "주거지",
)
ADDRESS_NEGATIVE = ("제", "조", "항")
# Words ending in 로/길 that are not roads (이로, 그로, 경로 ...); checked against the road part.
_NOT_ROADS = frozenset(
    {
        "이로",
        "그로",
        "저로",
        "경로",
        "진로",
        "통로",
        "항로",
        "노로",
        "새로",
        "별로",
        "실로",
        "주로",
        "스스로",
        "앞으로",
        "뒤로",
        "위로",
        "아래로",
        "으로",
        "미로",
        "선로",
        "활로",
        "퇴로",
        "기로",
        "한길",
        "외길",
        "오솔길",
        "지름길",
        "가는길",
        "먼길",
        "빗길",
        "눈길",
        "발길",
        "손길",
        "물길",
        "하늘길",
    }
)


def find_address(text: str) -> list[Candidate]:
    out: list[Candidate] = []
    for m in _ROAD_ADDR.finditer(text):
        road = m.group("road").split()[0] if m.group("road") else ""
        if re.sub(r"\d", "", road) in _NOT_ROADS:
            continue
        has_sido, has_sgg = bool(m.group("sido")), bool(m.group("sgg"))
        score = 0.35 + (0.3 if has_sgg else 0.0) + (0.25 if has_sido else 0.0)
        reasons = (
            ["pattern:도로명 address"] + (["시/도"] if has_sido else []) + (["시/군/구"] if has_sgg else [])
        )
        out.append(
            Candidate(
                T.ADDRESS,
                m.start(),
                _rstrip(text, m.end()),
                min(score, 0.95),
                reasons,
                ADDRESS_CONTEXT,
                (),
                0.3,
            )
        )
    for m in _LOT_ADDR.finditer(text):
        has_sido, has_sgg, bunji = bool(m.group("sido")), bool(m.group("sgg")), bool(m.group("bunji"))
        if not (has_sgg or bunji):
            continue
        score = 0.3 + (0.3 if has_sgg else 0.0) + (0.2 if has_sido else 0.0) + (0.2 if bunji else 0.0)
        reasons = ["pattern:지번 address"] + (["번지"] if bunji else []) + (["시/군/구"] if has_sgg else [])
        out.append(
            Candidate(
                T.ADDRESS,
                m.start(),
                _rstrip(text, m.end()),
                min(score, 0.95),
                reasons,
                ADDRESS_CONTEXT,
                (),
                0.3,
            )
        )
    return out


def _rstrip(text: str, end: int) -> int:
    while end > 0 and text[end - 1] in " ,":
        end -= 1
    return end
