"""Person names: surname + given name with titles, label words, and Kiwi proper nouns."""

from __future__ import annotations

import pytest

from hanstack.guard.pii import PiiConfig, PiiEngine


@pytest.fixture(scope="module")
def rules() -> PiiEngine:
    return PiiEngine(PiiConfig(names="rules", types=("PERSON",)))


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("김철수 과장님께 전달 부탁드립니다", "김철수"),
        ("홍길동 고객님, 안녕하세요", "홍길동"),
        ("이영희 씨가 오셨어요", "이영희"),
        ("박지성 선수가 골을 넣었다", "박지성"),
        ("성명: 최민수", "최민수"),
        ("예금주 정하나", "정하나"),
        ("남궁민수 교수님 연구실", "남궁민수"),
    ],
)
def test_titled_and_labelled_names(rules: PiiEngine, text: str, name: str) -> None:
    assert name in [e.text for e in rules.scan(text)]


@pytest.mark.parametrize(
    "text",
    [
        "이번 과장님 회의",
        "고객님 안녕하세요",
        "정말 감사합니다 선생님",
        "모든 사원은 참석",
        "우리 팀장님이 오셨다",
        "전체 직원 대상",
    ],
)
def test_common_words_before_titles_are_not_names(rules: PiiEngine, text: str) -> None:
    assert rules.scan(text) == []


def test_kiwi_finds_untitled_names(kiwi) -> None:
    engine = PiiEngine(PiiConfig(names="kiwi", types=("PERSON",)), kiwi=kiwi.kiwi)
    found = [e.text for e in engine.scan("어제 김민준이 서울에서 이서연을 만났다.")]
    assert "김민준" in found or "이서연" in found


def test_auto_mode_runs_kiwi_only_near_titles(kiwi) -> None:
    class Counting:
        def __init__(self, inner) -> None:
            self.inner, self.calls = inner, 0

        def tokenize(self, text: str):
            self.calls += 1
            return self.inner.tokenize(text)

    counting = Counting(kiwi.kiwi)
    engine = PiiEngine(PiiConfig(names="auto", types=("PERSON",)), kiwi=counting)
    engine.scan("오늘 날씨가 좋네요. 내일은 비가 온대요.")
    assert counting.calls == 0  # no title, no Kiwi
    assert "김민준" in [e.text for e in engine.scan("김민준 대리에게 연락하세요.")]
    assert counting.calls == 0  # the rules found the name before the title: no second look needed
    engine.scan("예금주: 이서연")
    assert counting.calls == 1  # after a label word Kiwi looks at the next word
    engine.scan("트럼프 대통령이 기자회견을 열었다.")
    assert counting.calls >= 1  # a title after a word the rules could not explain
