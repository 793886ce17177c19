"""What a Korean question asks about, as opposed to how it asks.

A question's search terms include words that only shape the question — interrogatives (무엇, 어떻다,
언제, 얼마), request verbs (설명하시오, 알려 주세요) and light verbs/nouns that occur in almost every
sentence (있다, 되다, 것, 수). An answer never contains "무엇", so counting these when asking "does
this passage cover the question?" makes every passage look a little worse and, worse, makes the
score depend on how the question was phrased. :func:`topic_terms` keeps the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hanstack.korean.analyzer import Morpheme

QUESTION_FORM_TERMS: frozenset[str] = frozenset(
    {
        # interrogatives (Kiwi lemmas)
        "무엇",
        "뭐",
        "무슨",
        "어떻다",
        "어떠하다",
        "어떤",
        "어찌",
        "언제",
        "어디",
        "누구",
        "얼마",
        "얼마나",
        "몇",
        "왜",
        "어느",
        # request verbs and nouns of the question frame
        "설명",
        "알다",
        "말하다",
        "서술",
        "제시",
        # light verbs, pronouns and bound nouns present in nearly every passage
        "있다",
        "되다",
        "하다",
        "이다",
        "그",
        "이",
        "저",
        "것",
        "수",
        "등",
        "및",
        "중",
        "때",
        "경우",
        "대하다",
        "위하다",
        "통하다",
        "따르다",
        "관련",
        "내용",
    }
)


def topic_terms(terms: Iterable[str]) -> list[str]:
    """``terms`` without the question-form words, order kept, duplicates removed.

    Falls back to all terms when nothing else is left (a question made only of frame words still
    has to be matched on something).
    """
    unique = list(dict.fromkeys(terms))
    kept = [t for t in unique if t not in QUESTION_FORM_TERMS]
    return kept or unique


# sentence-final endings (Kiwi EF forms, "ᆫ"/"ᆯ"/"ᆸ" as Kiwi writes the attached consonants) that make a
# sentence ask or tell the reader to do something
INTERROGATIVE_ENDINGS: frozenset[str] = frozenset(
    {
        "ᆫ가",
        "ᆫ가요",
        "는가",
        "는가요",
        "가요",
        "나",
        "나요",
        "냐",
        "니",
        "니까",
        "ᆸ니까",
        "습니까",
        "까",
        "ᆯ까",
        "을까",
        "ᆯ까요",
        "을까요",
        "는지요",
        "ᆫ지요",
        "죠",
    }
)
IMPERATIVE_ENDINGS: frozenset[str] = frozenset({"오", "ᆸ시오", "십시오", "세요", "라", "어라", "아라", "거라"})
_TRAILING_TAGS = ("SF", "SP", "SS", "SE", "SO", "SW", "SH", "SL", "SN")


def asks_or_requests(text: str, morphemes: Sequence[Morpheme]) -> bool:
    """Whether a sentence is a question or a request rather than a statement.

    A grounded answer's claim has to state something. Small models sometimes hand the question
    back ("… 부대조건에 대해 설명하시오.") and FAQ pages hold question sentences ("자동화 가능할까요?");
    either can share every word with the passage and pass an overlap check while asserting nothing.
    A final "?" decides; otherwise the last sentence-final ending (EF) before trailing punctuation:
    interrogative (-ㄴ가, -나요, -ㅂ니까, -ㄹ까 …) or imperative (-(으)시오, -세요, -(어)라).
    "-죠" counts as asking: in an answer it is a tag question, not a finding.
    """
    stripped = text.rstrip()
    if stripped.endswith(("?", "？")):
        return True
    for m in reversed(morphemes):
        if m.base_tag.startswith(_TRAILING_TAGS):
            continue
        if m.base_tag != "EF":
            return False
        return m.form in INTERROGATIVE_ENDINGS or m.form in IMPERATIVE_ENDINGS
    return False
