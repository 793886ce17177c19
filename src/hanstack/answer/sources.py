"""Retrieved passages → labelled sources in a stable order, with their trust label.

Whatever the retriever returns (a :class:`hanstack.retrieve` hit, a bare :class:`Chunk`, or a
:class:`Passage` built by hand) becomes a :class:`Passage`; :func:`label_sources` sorts passages by
a *stable key* (document source, position in the document, chunk id) — never by score — and names
them ``S1..Sn``. The same set of passages therefore always gives the same prompt bytes, whatever
order the retriever ranked them in, so a backend's prefix/KV cache is reused across questions.

Documents may carry instructions ("ignore the above and ..."): the injection detector of
:mod:`hanstack.guard.injection` (when installed) lowers the trust label of flagged passages, which
the prompt shows; the text itself is kept, as data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hanstack.answer.schema import SourceRef
from hanstack.ingest.models import Chunk, Provenance, Trust

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Passage:
    """One retrieved passage: the chunk's text and provenance plus the retrieval score."""

    chunk_id: str
    text: str
    provenance: Provenance
    score: float = 0.0
    terms: tuple[str, ...] = ()
    flagged: bool = False
    extras: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_chunk(cls, chunk: Chunk, score: float = 0.0) -> Passage:
        return cls(chunk.chunk_id, chunk.text, chunk.provenance, score, tuple(chunk.terms))

    @classmethod
    def from_hit(cls, hit: Any) -> Passage:
        """Adapt a retriever hit (anything with chunk_id, text, provenance and score)."""
        if isinstance(hit, Passage):
            return hit
        if isinstance(hit, Chunk):
            return cls.from_chunk(hit)
        chunk = getattr(hit, "chunk", None)
        if isinstance(chunk, Chunk):
            return cls.from_chunk(chunk, float(getattr(hit, "score", 0.0)))
        terms = tuple(getattr(hit, "terms", ()) or ())
        scores = dict(getattr(hit, "scores", None) or {})
        extras: dict[str, Any] = {"matched_terms": tuple(getattr(hit, "matched_terms", ()) or ())}
        if "dense" in scores:
            extras["dense"] = float(scores["dense"])
        if "sparse" in scores:
            extras["sparse"] = float(scores["sparse"])
        return cls(
            chunk_id=str(hit.chunk_id),
            text=str(hit.text),
            provenance=hit.provenance,
            score=float(getattr(hit, "score", 0.0) or 0.0),
            terms=terms,
            extras=extras,
        )

    @property
    def stable_key(self) -> tuple[str, str, int, str]:
        p = self.provenance
        return (p.source, p.doc_id, p.char_start, self.chunk_id)


TrustHook = Callable[[str], tuple[bool, Trust | None]]
"""``text -> (flagged, trust or None)``: the injection check applied to every passage."""


def default_trust_hook() -> TrustHook | None:
    """The guard's document injection check, if :mod:`hanstack.guard.injection` is installed."""
    try:
        from hanstack.guard import injection
    except ImportError:
        return None
    detector_cls = getattr(injection, "InjectionDetector", None)
    if detector_cls is None:
        return None
    try:
        detector = detector_cls()
    except TypeError:
        try:
            from hanstack.config import load_settings

            detector = detector_cls(load_settings().guard)
        except Exception as exc:  # a guard that cannot be built must not break answering
            log.warning("injection detector unavailable: %s", type(exc).__name__)
            return None

    def hook(text: str) -> tuple[bool, Trust | None]:
        verdict = detector.check(text, source="document")
        flagged = bool(getattr(verdict, "is_attack", False))
        return flagged, (Trust.SUSPICIOUS if flagged else None)

    return hook


def apply_trust(passages: Iterable[Passage], hook: TrustHook | None) -> list[Passage]:
    """Lower the trust label of passages the hook flags (the text is kept, as data)."""
    out: list[Passage] = []
    for p in passages:
        if hook is None:
            out.append(p)
            continue
        flagged, trust = hook(p.text)
        if flagged:
            prov = replace(p.provenance, trust=trust or Trust.SUSPICIOUS)
            p = replace(p, provenance=prov, flagged=True)
        out.append(p)
    return out


def label_sources(passages: Sequence[Passage]) -> list[tuple[str, Passage]]:
    """``S1..Sn`` over passages in stable order (duplicates by chunk id dropped)."""
    unique: dict[str, Passage] = {}
    for p in passages:
        unique.setdefault(p.chunk_id, p)
    ordered = sorted(unique.values(), key=lambda p: p.stable_key)
    return [(f"S{i}", p) for i, p in enumerate(ordered, 1)]


def to_source_ref(source_id: str, passage: Passage) -> SourceRef:
    prov = passage.provenance
    return SourceRef(
        id=source_id,
        chunk_id=passage.chunk_id,
        doc_id=prov.doc_id,
        source=prov.source,
        title=prov.title,
        section_path=list(prov.section_path),
        page_start=prov.page_start,
        page_end=prov.page_end,
        char_start=prov.char_start,
        char_end=prov.char_end,
        trust=str(prov.trust),
        injection_flagged=passage.flagged,
        score=passage.score,
        text=passage.text,
    )
