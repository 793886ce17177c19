"""Retrieval: query analysis, hybrid search (BM25 + dense), fusion, tenant/ACL filtering.

See :class:`Retriever` for the API the answer engine, the gateway and the CLI use.
"""

from hanstack.retrieve.fusion import normalise, rrf, weighted
from hanstack.retrieve.query import AnalyzedQuery, QueryAnalyzer, contains_phrases, quoted_phrases
from hanstack.retrieve.retriever import MODES, FusionConfig, Retriever, SearchHit, Timing

__all__ = [
    "MODES",
    "AnalyzedQuery",
    "FusionConfig",
    "QueryAnalyzer",
    "Retriever",
    "SearchHit",
    "Timing",
    "contains_phrases",
    "normalise",
    "quoted_phrases",
    "rrf",
    "weighted",
]
