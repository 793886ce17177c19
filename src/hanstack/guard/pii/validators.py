"""Checksums and validity checks for Korean identifiers (pure functions, no regexes).

Each returns a bool; the recognizers turn them into score changes. The resident registration
number checksum is *evidence*, never a veto: numbers issued since October 2020 end in random digits.
"""

from __future__ import annotations

import calendar

_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_CENTURY = {
    "1": 1900,
    "2": 1900,
    "5": 1900,
    "6": 1900,
    "3": 2000,
    "4": 2000,
    "7": 2000,
    "8": 2000,
    "9": 1800,
    "0": 1800,
}

# Driver licence region codes (11 서울 ... 26 울산, 28 경기북부); 27 is unassigned.
DRIVER_REGION_CODES = frozenset({*(str(n) for n in range(11, 27)), "28"})
DRIVER_REGION_NAMES = {
    "서울": "11",
    "부산": "12",
    "경기": "13",
    "강원": "14",
    "충북": "15",
    "충남": "16",
    "전북": "17",
    "전남": "18",
    "경북": "19",
    "경남": "20",
    "제주": "21",
    "대구": "22",
    "인천": "23",
    "광주": "24",
    "대전": "25",
    "울산": "26",
    "경기북부": "28",
}


def digits_only(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def valid_birth_date(yymmdd: str, gender_digit: str) -> bool:
    """YYMMDD is a real calendar date in the century the 7th digit implies (leap years included)."""
    if len(yymmdd) != 6 or not yymmdd.isdigit() or gender_digit not in _CENTURY:
        return False
    year = _CENTURY[gender_digit] + int(yymmdd[:2])
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6])
    if not 1 <= month <= 12:
        return False
    return 1 <= day <= calendar.monthrange(year, month)[1]


def _rrn_sum(digits: str) -> int:
    return sum(int(d) * w for d, w in zip(digits[:12], _RRN_WEIGHTS, strict=True))


def rrn_checksum_ok(number: str) -> bool:
    """The pre-2020 resident registration checksum: (11 - Σ mod 11) mod 10."""
    d = digits_only(number)
    return len(d) == 13 and (11 - _rrn_sum(d) % 11) % 10 == int(d[12])


def frn_checksum_ok(number: str) -> bool:
    """The pre-2020 foreigner registration checksum: (13 - Σ mod 11) mod 10."""
    d = digits_only(number)
    return len(d) == 13 and (13 - _rrn_sum(d) % 11) % 10 == int(d[12])


def luhn_ok(number: str) -> bool:
    d = digits_only(number)
    if len(d) < 12:
        return False
    total = 0
    for i, ch in enumerate(reversed(d)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def card_brand(number: str) -> str | None:
    """The card network a number's prefix and length belong to, or None (unknown prefix/length)."""
    d = digits_only(number)
    n = len(d)
    if d.startswith("4") and n in (13, 16, 19):
        return "visa"
    if n == 16 and (51 <= int(d[:2]) <= 55 or 2221 <= int(d[:4]) <= 2720):
        return "mastercard"
    if n == 15 and d[:2] in ("34", "37"):
        return "amex"
    if 16 <= n <= 19 and (d.startswith("6011") or d.startswith("65") or 644 <= int(d[:3]) <= 649):
        return "discover"
    if 16 <= n <= 19 and 3528 <= int(d[:4]) <= 3589:
        return "jcb"
    if n == 14 and (d[:2] in ("36", "38") or 300 <= int(d[:3]) <= 305):
        return "diners"
    if 16 <= n <= 19 and d.startswith("62"):
        return "unionpay"
    if n == 16 and d.startswith("9"):
        return "domestic"  # 국내 전용 BIN
    return None


def brn_checksum_ok(number: str) -> bool:
    """사업자등록번호 checksum (weights 1,3,7,1,3,7,1,3,5 with the carry of the 9th product)."""
    d = [int(c) for c in digits_only(number)]
    if len(d) != 10:
        return False
    keys = (1, 3, 7, 1, 3, 7, 1, 3, 5)
    total = sum(d[i] * keys[i] for i in range(8))
    last = d[8] * keys[8]
    total += last // 10 + last
    return (10 - total % 10) % 10 == d[9]


def crn_checksum_ok(number: str) -> bool:
    """법인등록번호 checksum: weights alternate 1,2 over 12 digits; check = (10 - Σ mod 10) mod 10."""
    d = [int(c) for c in digits_only(number)]
    if len(d) != 13:
        return False
    total = sum(v * (1 if i % 2 == 0 else 2) for i, v in enumerate(d[:12]))
    return (10 - total % 10) % 10 == d[12]


def valid_ipv4(text: str) -> bool:
    parts = text.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p.isdigit() or len(p) > 3 or int(p) > 255 or (len(p) > 1 and p[0] == "0"):
            return False
    return True
