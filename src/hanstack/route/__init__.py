"""Caches (exact, semantic with a negation/number/entity guard) and usage/cost accounting."""

from hanstack.route.cache import CacheHit, ExactCache, SemanticCache, request_key
from hanstack.route.signature import QuestionSignature, question_signature
from hanstack.route.usage import DEFAULT_PRICES, PriceTable, TenantTotals, Usage, UsageLedger

__all__ = [
    "DEFAULT_PRICES",
    "CacheHit",
    "ExactCache",
    "PriceTable",
    "QuestionSignature",
    "SemanticCache",
    "TenantTotals",
    "Usage",
    "UsageLedger",
    "question_signature",
    "request_key",
]
