"""The shared PII regression cases (korean-pii, Presidio's Korean tests) as a regression net.

Where hanstack deliberately disagrees with a case, the case is listed with the reason; any other
mismatch fails.
"""

from __future__ import annotations

import ast
import importlib.util

import pytest

from hanstack.guard.pii import PiiConfig, PiiEngine
from tests.conftest import shared_path

pytestmark = pytest.mark.shared_data

ENGINE = PiiEngine(PiiConfig(names="rules"))
KPII_TYPES = {
    "rrn": {"RRN", "FRN"},
    "phone": {"PHONE"},
    "card": {"CARD"},
    "driver_license": {"DRIVER_LICENSE"},
    "passport": {"PASSPORT"},
    "account": {"BANK_ACCOUNT"},
    "email": {"EMAIL"},
    "api_key": {"API_KEY"},
}
# Deliberate disagreements: the checksum of a resident registration number is evidence, never a veto
# (numbers issued since October 2020 have none), so a bare 13-digit number with a valid birth date
# and gender digit is reported even when its checksum fails.
KPII_DISAGREE = {"9001011234569", "9901011123456"}
# Presidio expects lowercase old-format passport numbers without context (m87654321 ...) to be found
# (it scores them 0.05); korean-pii expects even "여권 m12345678" not to be: printed passport numbers
# are uppercase, so hanstack keeps lowercase ones under the threshold.
PRESIDIO_DISAGREE = {"m87654321", "d11223344", "s99887766"}


def test_korean_pii_regression_cases() -> None:
    path = shared_path("pii", "korean_pii_pypi", "tests", "benchmark_cases.py")
    spec = importlib.util.spec_from_file_location("kpii_cases", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    wrong = []
    for typ, text, expected, note in mod.CASES:
        hit = bool({e.type for e in ENGINE.scan(text)} & KPII_TYPES[typ])
        if hit != expected and not any(d in text for d in KPII_DISAGREE):
            wrong.append((typ, note))
    assert wrong == []


def test_korean_pii_negative_corpus() -> None:
    corpus = shared_path("pii", "korean_pii_pypi", "tests", "fixtures", "corpus_ko.txt").read_text(
        encoding="utf-8"
    )
    assert ENGINE.scan(corpus) == []


def test_presidio_korean_cases() -> None:
    folder = shared_path("pii", "presidio_kr")
    names = {
        "KR_RRN": "RRN",
        "KR_FRN": "FRN",
        "KR_BRN": "BRN",
        "KR_PASSPORT": "PASSPORT",
        "KR_DRIVER_LICENSE": "DRIVER_LICENSE",
    }
    wrong, n = [], 0
    for path in sorted(folder.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        entity = next(
            names[x.value] for x in ast.walk(tree) if isinstance(x, ast.Constant) and x.value in names
        )
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize":
                for elt in node.args[1].elts:  # type: ignore[attr-defined]
                    text, _n, spans, _scores = ast.literal_eval(elt)
                    n += 1
                    got = {(e.start, e.end) for e in ENGINE.scan(text) if e.type == entity}
                    if got != {tuple(s) for s in spans} and text not in PRESIDIO_DISAGREE:
                        wrong.append((entity, text, spans, sorted(got)))
    assert n > 70 and wrong == []
