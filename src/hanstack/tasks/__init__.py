"""Structured Korean tasks over any model backend: triage, extract, classify, summarize.

Each takes the input text plus either ``backend=`` or ``settings=``/``model=`` and returns a
:class:`~hanstack.llm.structured.StructuredResult` whose ``value`` is a validated pydantic object
(``result.as_dict()`` / ``result.to_json()`` keep Korean as Korean).
"""

from hanstack.tasks.classify import classify
from hanstack.tasks.extract import extract, load_schema
from hanstack.tasks.summarize import Summary, summarize
from hanstack.tasks.triage import DEFAULT_CATEGORIES, TriageResult, triage, triage_model

__all__ = [
    "DEFAULT_CATEGORIES",
    "Summary",
    "TriageResult",
    "classify",
    "extract",
    "load_schema",
    "summarize",
    "triage",
    "triage_model",
]
