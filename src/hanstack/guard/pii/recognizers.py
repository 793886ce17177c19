"""Pattern recognizers for Korean structured identifiers.

Each recognizer is a function ``text -> list[Candidate]`` registered in :data:`RECOGNIZERS` under its
entity type. A recognizer only proposes spans with a base score and the reasons for it (pattern,
checksum, brand); context words, suppression of dates/amounts/article numbers and overlap
resolution happen once, in :mod:`hanstack.guard.pii.engine`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from hanstack.guard.pii import types as T
from hanstack.guard.pii import validators as V
from hanstack.guard.pii.types import Candidate

Recognizer = Callable[[str], list[Candidate]]

# Context words (lower-case; matched in a window around the span). Korean and English.
RRN_CONTEXT = ("주민등록번호", "주민번호", "주민등록", "주민", "생년월일", "rrn", "resident registration")
FRN_CONTEXT = (
    "외국인등록번호",
    "외국인번호",
    "외국인등록",
    "외국인",
    "frn",
    "foreigner registration",
    "alien registration",
)
BRN_CONTEXT = (
    "사업자등록번호",
    "사업자번호",
    "사업자",
    "brn",
    "business registration",
    "business number",
    "tax id",
)
CRN_CONTEXT = ("법인등록번호", "법인번호", "법인", "corporate registration", "corporation number")
PASSPORT_CONTEXT = ("여권번호", "여권", "passport")
DRIVER_CONTEXT = (
    "운전면허번호",
    "운전면허",
    "면허번호",
    "면허증",
    "driver",
    "driving licen",
    "licence",
    "license",
)
PHONE_CONTEXT = (
    "전화번호",
    "전화",
    "연락처",
    "휴대폰",
    "핸드폰",
    "휴대전화",
    "폰번호",
    "phone",
    "mobile",
    "tel",
    "팩스",
    "fax",
    "call",
    "문자",
    "카톡",
)
CARD_CONTEXT = ("카드번호", "카드", "신용카드", "체크카드", "결제", "card", "credit", "visa", "master")
ACCOUNT_CONTEXT = (
    "계좌번호",
    "계좌",
    "입금",
    "송금",
    "이체",
    "예금주",
    "통장",
    "account",
    "bank",
    "은행",
    "국민",
    "신한",
    "우리",
    "하나",
    "농협",
    "기업",
    "ibk",
    "sc제일",
    "제일",
    "씨티",
    "카카오뱅크",
    "카뱅",
    "케이뱅크",
    "토스",
    "새마을",
    "신협",
    "우체국",
    "수협",
    "산업",
    "부산",
    "대구",
    "경남",
    "광주",
    "전북",
    "제주",
    "kb",
    "nh",
    "저축",
)
EMAIL_CONTEXT = ("이메일", "메일", "email", "e-mail", "mail")
IP_CONTEXT = ("ip", "아이피", "접속", "서버", "호스트", "host", "주소")
IP_NEGATIVE = ("버전", "version", "ver.", "v.", "릴리스", "release")
PLATE_CONTEXT = ("차량번호", "차량", "번호판", "자동차", "차번호", "주차", "차주", "car", "plate", "vehicle")
PASSPORT_NEGATIVE = (
    "모델명",
    "모델",
    "제품",
    "코드",
    "품번",
    "품목",
    "시리얼",
    "serial",
    "sn",
    "재고",
    "상품",
    "부품",
    "model",
)
DIGIT_NEGATIVE = (
    "주문번호",
    "주문 번호",
    "송장",
    "운송장",
    "일련번호",
    "시리얼",
    "serial",
    "isbn",
    "issn",
    "우편번호",
    "접수번호",
    "참조번호",
    "사건번호",
    "order",
    "tracking",
    "invoice",
    "품번",
    "제품번호",
    "모델번호",
    "버전",
    "version",
)


def _cand(
    t: str,
    m: re.Match[str],
    score: float,
    reasons: list[str],
    ctx: tuple[str, ...],
    neg: tuple[str, ...] = DIGIT_NEGATIVE,
    boost: float = 0.3,
    span: tuple[int, int] | None = None,
) -> Candidate:
    start, end = span if span else (m.start(), m.end())
    return Candidate(t, start, end, score, reasons, ctx, neg, boost)


# --- 주민등록번호 / 외국인등록번호 / 법인등록번호 -------------------------------------------------
_RRN = re.compile(r"(?<![\d])(\d{6})(\s?[-–]\s?)?(\d)(\d{6})(?!\d)")


def find_rrn_frn(text: str) -> list[Candidate]:
    out: list[Candidate] = []
    for m in _RRN.finditer(text):
        birth, sep, gender = m.group(1), m.group(2), m.group(3)
        number = birth + gender + m.group(4)
        if gender in "12345678" and V.valid_birth_date(birth, gender):
            foreign = gender in "5678"
            typ = T.FRN if foreign else T.RRN
            score = 0.6 if sep else 0.5
            reasons = [
                f"pattern:{'YYMMDD-Gxxxxxx' if sep else 'YYMMDDGxxxxxx'}",
                "valid birth date",
                f"gender digit {gender}",
            ]
            ok = V.frn_checksum_ok(number) if foreign else V.rrn_checksum_ok(number)
            if ok:
                score += 0.35
                reasons.append("checksum valid (pre-2020 number)")
            else:
                reasons.append("checksum not valid (kept: numbers since Oct 2020 have none)")
            ctx = FRN_CONTEXT if foreign else RRN_CONTEXT
            out.append(_cand(typ, m, score, reasons, ctx, DIGIT_NEGATIVE + CRN_CONTEXT))
        if sep:
            crn_ok = V.crn_checksum_ok(number)
            out.append(
                _cand(
                    T.CRN,
                    m,
                    0.45 if crn_ok else 0.1,
                    [
                        "pattern:######-#######",
                        "corporate checksum valid" if crn_ok else "corporate checksum not valid",
                    ],
                    CRN_CONTEXT,
                    DIGIT_NEGATIVE,
                    boost=0.5,
                )
            )
    return out


# --- 사업자등록번호 ------------------------------------------------------------------------------
_BRN = re.compile(r"(?<![\d-])(\d{3})([- ]?)(\d{2})\2(\d{5})(?![\d-])")


def find_brn(text: str) -> list[Candidate]:
    out = []
    for m in _BRN.finditer(text):
        if not V.brn_checksum_ok(m.group(0)):
            continue
        score = 0.8 if m.group(2) else 0.55
        out.append(_cand(T.BRN, m, score, ["pattern:###-##-#####", "checksum valid"], BRN_CONTEXT))
    return out


# --- 여권 ----------------------------------------------------------------------------------------
_PASSPORT_NEW = re.compile(r"(?<![A-Za-z0-9])([MSRODmsrod])(\d{3})([A-Za-z])(\d{4})(?![0-9A-Za-z])")
_PASSPORT_OLD = re.compile(r"(?<![A-Za-z0-9])([MSRODmsrod])(\d{8})(?![0-9A-Za-z])")


def find_passport(text: str) -> list[Candidate]:
    out = []
    for m in _PASSPORT_NEW.finditer(text):
        out.append(
            _cand(
                T.PASSPORT,
                m,
                0.55,
                ["pattern:A123B4567 (2021+ format)"],
                PASSPORT_CONTEXT,
                PASSPORT_NEGATIVE,
                boost=0.35,
            )
        )
    # Old format (issued until 2020, valid until 2030): an uppercase type letter + exactly 8 digits as a
    # token of its own is reported alone (0.5). Why not require context: missing a passport leaks a
    # high-risk identifier, and the shape never occurs in ~30M characters of Korean text here (NSMC,
    # KLUE, 3i4k, ChatbotData, kobill, kolaw: 0 hits), so its false-positive cost is low; product-code
    # words nearby (모델명, 제품, 코드, 품번, 시리얼, 재고 ...) push it under the threshold. Passports are
    # printed in uppercase: a lowercase letter scores 0.1 and stays under even with 여권 next to it.
    for m in _PASSPORT_OLD.finditer(text):
        upper = m.group(1).isupper()
        glued = m.start() > 0 and "가" <= text[m.start() - 1] <= "힣"  # part of a Hangul word: needs context
        score = 0.1 if not upper else 0.4 if glued else 0.5
        out.append(
            _cand(
                T.PASSPORT,
                m,
                score,
                [
                    "pattern:M12345678 (old format)"
                    if upper
                    else "pattern:m12345678 (lowercase: not a printed number)"
                ],
                PASSPORT_CONTEXT,
                PASSPORT_NEGATIVE,
                boost=0.35,
            )
        )
    return out


# --- 운전면허 ------------------------------------------------------------------------------------
_DRIVER = re.compile(r"(?<![\d-])(\d{2})([- ]?)(\d{2})\2(\d{6})\2(\d{2})(?![\d-])")
_DRIVER_NAMED = re.compile(
    r"("
    + "|".join(sorted(V.DRIVER_REGION_NAMES, key=len, reverse=True))
    + r")[\s-]?(\d{2})-(\d{6})-(\d{2})(?!\d)"
)


def find_driver_license(text: str) -> list[Candidate]:
    out = []
    for m in _DRIVER.finditer(text):
        if m.group(1) not in V.DRIVER_REGION_CODES:
            continue
        score = 0.65 if m.group(2) else 0.5
        out.append(
            _cand(
                T.DRIVER_LICENSE,
                m,
                score,
                [f"pattern:##-##-######-##, region code {m.group(1)}"],
                DRIVER_CONTEXT,
            )
        )
    for m in _DRIVER_NAMED.finditer(text):
        out.append(
            _cand(
                T.DRIVER_LICENSE, m, 0.8, [f"pattern:region name {m.group(1)} + ##-######-##"], DRIVER_CONTEXT
            )
        )
    return out


# --- 전화번호 ------------------------------------------------------------------------------------
_MOBILE = re.compile(r"(?<![\d+])(01[016789])([-. ]?)(\d{3,4})\2(\d{4})(?!\d)")
_AREA = r"(?:02|0(?:3[1-3]|4[1-4]|5[1-5]|6[1-4]))"
_LANDLINE = re.compile(r"(?<![\d+])(" + _AREA + r")([-. ]?)(\d{3,4})\2(\d{4})(?!\d)")
_LANDLINE_PAREN = re.compile(r"\((" + _AREA + r"|01[016789]|070)\)\s?(\d{3,4})-(\d{4})(?!\d)")
_VOIP = re.compile(r"(?<![\d+])(070|080|050\d)([-. ]?)(\d{3,4})\2(\d{4})(?!\d)")
_REP = re.compile(r"(?<![\d-])(1[568]\d{2})([-. ]?)(\d{4})(?![\d-])")
_INTL = re.compile(r"\+\s?82[-. ]?(?:\(0\))?(1[016789]|2|[3-6][1-5]|70)([-. ]?)(\d{3,4})\2(\d{4})(?!\d)")


def find_phone(text: str) -> list[Candidate]:
    out = []
    for m in _MOBILE.finditer(text):
        if m.group(1) == "010" and len(m.group(3)) != 4:
            continue
        score = 0.85 if m.group(2) else 0.75
        out.append(_cand(T.PHONE, m, score, [f"pattern:mobile {m.group(1)}"], PHONE_CONTEXT))
    for m in _LANDLINE.finditer(text):
        score = 0.7 if m.group(2) else 0.45
        out.append(_cand(T.PHONE, m, score, [f"pattern:area code {m.group(1)}"], PHONE_CONTEXT))
    for m in _LANDLINE_PAREN.finditer(text):
        out.append(_cand(T.PHONE, m, 0.8, [f"pattern:({m.group(1)}) ###-####"], PHONE_CONTEXT))
    for m in _VOIP.finditer(text):
        score = 0.8 if m.group(2) else 0.55
        out.append(_cand(T.PHONE, m, score, [f"pattern:{m.group(1)} number"], PHONE_CONTEXT))
    for m in _REP.finditer(text):
        score = 0.6 if m.group(2) else 0.3
        out.append(_cand(T.PHONE, m, score, [f"pattern:representative number {m.group(1)}"], PHONE_CONTEXT))
    for m in _INTL.finditer(text):
        out.append(_cand(T.PHONE, m, 0.85, ["pattern:+82 international"], PHONE_CONTEXT))
    return out


# --- 카드번호 ------------------------------------------------------------------------------------
_CARD_GROUPED = re.compile(r"(?<![\d-])\d{4}([- ])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?(?![\d-])")
_CARD_AMEX = re.compile(r"(?<![\d-])\d{4}([- ])\d{6}\1\d{4,5}(?![\d-])")
_CARD_BARE = re.compile(r"(?<![\d-])\d{13,19}(?![\d-])")


def find_card(text: str) -> list[Candidate]:
    out = []
    for rx, base in ((_CARD_GROUPED, 0.9), (_CARD_AMEX, 0.9), (_CARD_BARE, 0.8)):
        for m in rx.finditer(text):
            brand = V.card_brand(m.group(0))
            if brand is None or not V.luhn_ok(m.group(0)):
                continue
            out.append(
                _cand(T.CARD, m, base, [f"brand {brand}", "Luhn valid"], CARD_CONTEXT, DIGIT_NEGATIVE, 0.1)
            )
    return out


# --- 계좌번호 ------------------------------------------------------------------------------------
_ACCOUNT = re.compile(r"(?<![\d-])(\d{2,6})-(\d{2,6})-(\d{1,7})(?:-(\d{1,3}))?(?![\d-])")
_ACCOUNT_BARE = re.compile(r"(?<![\d-])\d{10,14}(?![\d-])")
_DRIVER_SHAPE = re.compile(r"\d{2}-\d{2}-\d{6}-\d{2}")
_PHONE_SHAPE = re.compile(r"(?:01[016789]|070|080|050\d|" + _AREA + r")-\d{3,4}-\d{4}")


def find_bank_account(text: str) -> list[Candidate]:
    out = []
    for m in _ACCOUNT.finditer(text):
        s = m.group(0)
        n = len(V.digits_only(s))
        if not 10 <= n <= 14 or _DRIVER_SHAPE.fullmatch(s) or _PHONE_SHAPE.fullmatch(s):
            continue
        out.append(
            _cand(
                T.BANK_ACCOUNT,
                m,
                0.15,
                ["pattern:bank account groups (needs bank/계좌 context)"],
                ACCOUNT_CONTEXT,
                DIGIT_NEGATIVE,
                boost=0.55,
            )
        )
    for m in _ACCOUNT_BARE.finditer(text):
        out.append(
            _cand(
                T.BANK_ACCOUNT,
                m,
                0.05,
                ["pattern:10-14 digits (needs bank/계좌 context)"],
                ACCOUNT_CONTEXT,
                DIGIT_NEGATIVE,
                boost=0.55,
            )
        )
    return out


# --- e-mail, IP, 차량번호, API keys ------------------------------------------------------------
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
_IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{3,39}(?![0-9A-Fa-f:])")
_PLATE_LETTERS = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자배하허호"
_PLATE = re.compile(
    r"(?<!\d)(?:(서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충북|충남|전북|전남|경북|경남|제주)\s?)?"
    r"(\d{2,3})\s?([" + _PLATE_LETTERS + r"])\s?(\d{4})(?![\d])"
)
_API_KEYS = re.compile(
    r"(?<![A-Za-z0-9_-])(?:sk-[A-Za-z0-9_-]{17,}|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,})(?![A-Za-z0-9_-])"
)


def find_email(text: str) -> list[Candidate]:
    return [_cand(T.EMAIL, m, 0.95, ["pattern:e-mail"], EMAIL_CONTEXT, ()) for m in _EMAIL.finditer(text)]


def find_ip(text: str) -> list[Candidate]:
    out = []
    for m in _IPV4.finditer(text):
        if V.valid_ipv4(m.group(0)):
            out.append(_cand(T.IP_ADDRESS, m, 0.7, ["pattern:IPv4, octets valid"], IP_CONTEXT, IP_NEGATIVE))
    for m in _IPV6.finditer(text):
        try:
            ipaddress.IPv6Address(m.group(0))
        except ValueError:
            continue
        out.append(_cand(T.IP_ADDRESS, m, 0.75, ["pattern:IPv6"], IP_CONTEXT, IP_NEGATIVE))
    return out


def find_plate(text: str) -> list[Candidate]:
    out = []
    for m in _PLATE.finditer(text):
        score = 0.75 if m.group(1) else 0.6
        out.append(_cand(T.VEHICLE_PLATE, m, score, ["pattern:##가#### plate"], PLATE_CONTEXT))
    return out


def find_api_key(text: str) -> list[Candidate]:
    return [_cand(T.API_KEY, m, 0.9, ["pattern:API key prefix"], (), ()) for m in _API_KEYS.finditer(text)]


RECOGNIZERS: dict[str, Recognizer] = {
    "rrn_frn_crn": find_rrn_frn,
    T.BRN: find_brn,
    T.PASSPORT: find_passport,
    T.DRIVER_LICENSE: find_driver_license,
    T.PHONE: find_phone,
    T.CARD: find_card,
    T.BANK_ACCOUNT: find_bank_account,
    T.EMAIL: find_email,
    T.IP_ADDRESS: find_ip,
    T.VEHICLE_PLATE: find_plate,
    T.API_KEY: find_api_key,
}
"""Recognizers by name (a name may yield several types, as the 13-digit ones do)."""
