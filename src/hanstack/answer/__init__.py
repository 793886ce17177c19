"""Grounded answering: prompt layout, citations, support check, abstention.

    from hanstack.answer import Answerer
    answer = Answerer(settings).ask("질문", tenant="default", groups=["public"])

See :mod:`hanstack.answer.answerer` for the flow and :mod:`hanstack.answer.schema` for the
:class:`Answer` every caller gets back.
"""

from hanstack.answer.answerer import Answerer, abstain_text
from hanstack.answer.gate import GateThresholds
from hanstack.answer.match import QuoteMatch, locate_quote, text_key
from hanstack.answer.prompt import INSTRUCTIONS, PromptLayout, build_layout
from hanstack.answer.schema import (
    ABSTAIN_MESSAGE,
    Answer,
    AnswerabilityCheck,
    Citation,
    Claim,
    DraftAnswer,
    DraftClaim,
    SourceRef,
    SupportScores,
    draft_json_schema,
)
from hanstack.answer.sources import Passage, apply_trust, label_sources
from hanstack.answer.support import SupportChecker, SupportThresholds

__all__ = [
    "ABSTAIN_MESSAGE",
    "INSTRUCTIONS",
    "Answer",
    "AnswerabilityCheck",
    "Answerer",
    "Citation",
    "Claim",
    "DraftAnswer",
    "DraftClaim",
    "GateThresholds",
    "Passage",
    "PromptLayout",
    "QuoteMatch",
    "SourceRef",
    "SupportChecker",
    "SupportScores",
    "SupportThresholds",
    "abstain_text",
    "apply_trust",
    "build_layout",
    "draft_json_schema",
    "label_sources",
    "locate_quote",
    "text_key",
]
