"""The grounded answer, as returned to a library caller, the CLI (``--json``) and the HTTP API.

Two families of models live here:

- :class:`Answer` and its parts: what hanstack returns. Every citation resolves to provenance (file,
  page, section path, character span in the normalised document) and carries the *exact* text of
  the source at that span, so a reader can check each claim without trusting the model.
- :class:`DraftAnswer`: what the model is asked to produce (schema-constrained decoding). It is
  deliberately small — claims, source ids and one verbatim quote each — because small models follow
  small schemas; :func:`draft_json_schema` narrows the source ids to an enum of the ids actually
  shown, so a constrained model cannot cite a source that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from hanstack.config import AnswerabilityMethod

ABSTAIN_MESSAGE = "문서에서 근거를 찾을 수 없습니다"
"""What an abstaining answer says (followed by what was searched)."""

AnswerMode = Literal["generative", "extractive"]


class SourceRef(BaseModel):
    """A retrieved passage as shown to the model, with everything needed to cite it."""

    id: str = Field(description="Label used in the prompt and in citations, e.g. 'S1'.")
    chunk_id: str
    doc_id: str
    source: str = Field(description="File path or source the document was ingested from.")
    title: str | None = None
    section_path: list[str] = Field(default_factory=list)
    page_start: int | None = None
    page_end: int | None = None
    char_start: int = Field(description="Start of the chunk in the normalised document text.")
    char_end: int
    trust: str = "untrusted"
    injection_flagged: bool = False
    score: float = 0.0
    text: str

    @property
    def section(self) -> str:
        return " > ".join(self.section_path)

    @property
    def pages(self) -> str | None:
        if self.page_start is None:
            return None
        if self.page_end is None or self.page_end == self.page_start:
            return str(self.page_start)
        return f"{self.page_start}-{self.page_end}"


class Citation(BaseModel):
    """One claim → one source span. ``quote`` is the source's own text at the matched span."""

    source_id: str
    chunk_id: str
    quote: str = Field(description="Exact source text at [chunk_start, chunk_end) of the chunk.")
    quote_as_given: str = Field(description="The quote as the model (or extractor) wrote it.")
    match_score: float = Field(ge=0, le=1, description="1.0: exact match on the normalised key.")
    chunk_start: int
    chunk_end: int
    doc_start: int = Field(description="Span of the quote in the normalised document text.")
    doc_end: int
    source: str
    title: str | None = None
    section: str = ""
    page_start: int | None = None
    page_end: int | None = None
    reattributed: bool = Field(
        default=False, description="The quote was found in another shown source than the one the model cited."
    )
    reanchored: bool = Field(
        default=False,
        description="The claim is stated elsewhere in this source than around the model's quote; the "
        "citation points at the sentence that states it (quote_as_given keeps the model's quote).",
    )


class SupportScores(BaseModel):
    """Evidence behind a claim's verdict (see :mod:`hanstack.answer.support`)."""

    quote_match: float = 0.0
    term_overlap: float = 0.0
    """Share of the claim's content morphemes found in the cited evidence."""
    similarity: float | None = None
    """Cosine similarity of claim and evidence embeddings (None when no embedder is available)."""
    missing_numbers: list[str] = Field(default_factory=list)
    negation_mismatch: bool = False
    model_verdict: bool | None = None


class Claim(BaseModel):
    text: str
    citations: list[Citation] = Field(default_factory=list)
    supported: bool = False
    support: SupportScores = Field(default_factory=SupportScores)
    reason: str | None = Field(default=None, description="Why the claim was rejected, if it was.")


class Searched(BaseModel):
    """What was searched: shown with an abstention so the user knows what 'not found' covers."""

    query: str
    terms: list[str] = Field(default_factory=list)
    tenant: str
    groups: list[str] = Field(default_factory=list)
    k: int
    mode: str = "hybrid"
    hits: int = 0
    documents: list[str] = Field(default_factory=list)


class ModelUsed(BaseModel):
    requested: str
    name: str
    kind: str
    tier: str | None = None
    extractive: bool = False
    attempts: list[str] = Field(default_factory=list)
    """Backends tried, in order (``auto`` escalates small → large)."""
    escalated: bool = False


class RetrievalUsed(BaseModel):
    mode: str
    k: int
    fusion: str | None = None
    sparse_weight: float | None = None
    dense_weight: float | None = None
    bigram_weight: float | None = None
    fusion_norm: str | None = None
    candidates: int | None = None
    embedder: str | None = None


class TokenUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokenizer: str = ""
    exact: bool = True
    cached_prompt_tokens: int = 0


class StageTimings(BaseModel):
    retrieve_s: float = 0.0
    generate_s: float = 0.0
    check_s: float = 0.0
    total_s: float = 0.0
    ttft_s: float | None = None


class AnswerabilityCheck(BaseModel):
    """What decided whether the retrieved passages answer the question, before any answer was drafted.

    ``method`` is what decided: the lexical+dense ``gate`` (``score`` = its probability) or, when the
    ``answer.answerability`` setting asks for it and the scoring model exposes logits, query
    ``likelihood`` (``score`` = the best passage's gain in mean log P(question) as a share of the
    question's no-passage surprise: :func:`hanstack.answer.likelihood.relative_gain`). When
    ``likelihood`` was requested but could not run, ``method`` is ``gate`` and ``fallback_reason``
    says why."""

    requested: AnswerabilityMethod = "gate"
    method: AnswerabilityMethod = "gate"
    answerable: bool
    """The decision: False means the answer abstained here, without drafting."""
    score: float | None = None
    threshold: float | None = None
    """Answer when ``score >= threshold``."""
    gate_probability: float | None = None
    """The gate's probability, also when query likelihood decided."""
    fallback_reason: str | None = None
    tier: str | None = None
    """Query likelihood: the tier (or model name) asked to score."""
    model: str | None = None
    """Query likelihood: the model that scored."""
    gains: list[float] = Field(default_factory=list)
    """Query likelihood: per scored passage (retrieval-score order), mean log P(question token |
    passage) − mean log P(question token | no passage)."""
    baseline: float | None = None
    """Query likelihood: mean log P(question token | no passage)."""
    passages: int | None = None
    window_tokens: int | None = None
    seconds: float = 0.0


class Answer(BaseModel):
    """A grounded answer. ``claims`` hold only supported claims; rejected ones are in ``removed_claims``."""

    question: str
    text: str
    abstained: bool
    abstain_reason: str | None = None
    mode: AnswerMode
    label: str | None = Field(default=None, description="Set for extractive answers: they are not generated.")
    claims: list[Claim] = Field(default_factory=list)
    removed_claims: list[Claim] = Field(default_factory=list)
    sources: list[SourceRef] = Field(default_factory=list)
    searched: Searched
    model: ModelUsed
    retrieval: RetrievalUsed
    tokens: TokenUsage = Field(default_factory=TokenUsage)
    timings: StageTimings = Field(default_factory=StageTimings)
    answerability: AnswerabilityCheck | None = None
    """What decided that the passages answer the question (or that they do not: the abstention)."""

    @property
    def cited_source_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for claim in self.claims:
            for c in claim.citations:
                seen.setdefault(c.source_id, None)
        return list(seen)

    @property
    def cited_chunk_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for claim in self.claims:
            for c in claim.citations:
                seen.setdefault(c.chunk_id, None)
        return list(seen)


# --- what the model produces -------------------------------------------------------------------
class DraftClaim(BaseModel):
    text: str = Field(max_length=400)
    source_ids: list[str] = Field(min_length=1, max_length=3)
    quote: str = Field(max_length=300)


class DraftAnswer(BaseModel):
    answerable: bool
    claims: list[DraftClaim] = Field(default_factory=list, max_length=4)


MAX_CLAIMS = 4
MAX_CLAIM_CHARS = 400
MAX_QUOTE_CHARS = 300


def draft_json_schema(source_ids: list[str], quotes: Sequence[str] | None = None) -> dict[str, Any]:
    """JSON schema of :class:`DraftAnswer` with ``source_ids`` restricted to the shown ids and, when
    ``quotes`` is given, each quote restricted to one of those sentences (for the decoder's grammar:
    see :mod:`hanstack.answer.quotes`)."""
    quote: dict[str, Any] = {"type": "string", "maxLength": MAX_QUOTE_CHARS}
    if quotes:
        quote = {"type": "string", "enum": list(quotes)}
    return {
        "type": "object",
        "properties": {
            "answerable": {"type": "boolean"},
            "claims": {
                "type": "array",
                "maxItems": MAX_CLAIMS,
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "maxLength": MAX_CLAIM_CHARS},
                        "source_ids": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 3,
                            "items": {"type": "string", "enum": list(source_ids) or ["S1"]},
                        },
                        "quote": quote,
                    },
                    "required": ["text", "source_ids", "quote"],
                },
            },
        },
        "required": ["answerable", "claims"],
    }
