"""What a Korean question asks about, as opposed to how it asks.

A question's search terms include words that only shape the question — interrogatives (무엇, 어떻다,
언제, 얼마), request verbs (설명하시오, 알려 주세요) and light verbs/nouns that occur in almost every
sentence (있다, 되다, 것, 수). An answer never contains "무엇", so counting these when asking "does
this passage cover the question?" makes every passage look a little worse and, worse, makes the
score depend on how the question was phrased. :func:`topic_terms` keeps the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

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
