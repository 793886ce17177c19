"""Grounded answering, end to end: retrieve → gate → lay out → generate → check → answer or abstain.

::

    from hanstack.answer import Answerer
    answerer = Answerer(settings)                       # build once per process: models load lazily
    answer = answerer.ask("대통령의 임기는 몇 년인가요?", tenant="default", groups=["public"])
    print(answer.text)                                  # claims with [S1]-style citations
    for claim in answer.claims:
        for c in claim.citations:
            print(c.source, c.page_start, c.section, c.doc_start, c.doc_end, c.quote)

``model``: ``small`` | ``large`` | ``auto`` | ``extractive`` | any name :func:`hanstack.llm.get_backend`
knows. ``auto`` routes short questions to the small tier first and escalates to the large tier when
the small answer abstains or fails the support check; long or multi-part questions go to the large
tier directly. When no model is available at all — or, under ``auto``, when no drafted claim of any
tier passes the support check and no model said the sources lack the answer — the extractive backend
answers with the best source sentences verbatim, labelled as extractive (``Answer.mode ==
"extractive"``); the removed drafts stay in ``removed_claims``.

Answerability — do the passages answer the question at all? — is decided before any drafting by the
lexical+dense gate (:mod:`hanstack.answer.gate`), or, opt-in (``answer.answerability =
"likelihood"`` in the settings, ``answerability=`` here, ``hanstack ask --answerability
likelihood``), by query likelihood with ``answer.likelihood_tier``'s llama.cpp model
(:mod:`hanstack.answer.likelihood`; ~40 s per question with the 1.5B model on a 2-core CPU). What
decided, with its score and threshold, is in ``Answer.answerability``; a scoring model without logits
(extractive, HTTP) or one not pulled leaves the decision to the gate, and the record says so.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args

from hanstack.answer.gate import GateSignals, GateThresholds, assess
from hanstack.answer.likelihood import QueryLikelihood, likelihood_answerable
from hanstack.answer.prompt import INSTRUCTIONS, PromptLayout, build_layout, trim_passage
from hanstack.answer.quotes import quote_choices
from hanstack.answer.schema import (
    ABSTAIN_MESSAGE,
    Answer,
    AnswerabilityCheck,
    AnswerMode,
    Citation,
    Claim,
    DraftAnswer,
    ModelUsed,
    RetrievalUsed,
    Searched,
    SourceRef,
    StageTimings,
    TokenUsage,
    draft_json_schema,
)
from hanstack.answer.sources import (
    Passage,
    TrustHook,
    apply_trust,
    default_trust_hook,
    label_sources,
    to_source_ref,
)
from hanstack.answer.support import ClaimCheck, SupportChecker, SupportThresholds, model_verifier
from hanstack.config import AnswerabilityMethod
from hanstack.errors import (
    HanstackError,
    InvalidInputError,
    ModelNotFoundError,
    ModelUnavailableError,
    StructuredOutputError,
)

if TYPE_CHECKING:
    from hanstack.config import Settings
    from hanstack.llm.types import ModelBackend

log = logging.getLogger(__name__)

QUOTE_CHOICE_CHARS = 120
"""Longest quotable piece under the grammar: OCR'd PDF "sentences" run to hundreds of characters, and
every quote is copied token by token, so long ones pushed whole answers past ``max_tokens``."""

_DEFAULT_HOOK: Any = object()

ANSWERABILITY_METHODS: tuple[AnswerabilityMethod, ...] = get_args(AnswerabilityMethod)


@dataclass(slots=True)
class _Outcome:
    """One backend's attempt at the question."""

    answer: Answer
    failed: bool
    """True when the answer abstained or lost claims in the support check (grounds to escalate)."""
    declined: bool = False
    """The model itself said the sources do not answer the question (no fallback overrides that)."""


@dataclass(slots=True)
class _Drafted:
    """What a backend produced after the support check, before it becomes an Answer."""

    used: ModelUsed
    mode: AnswerMode
    label: str | None
    claims: list[Claim]
    removed: list[Claim]
    sources: list[SourceRef]
    tokens: TokenUsage
    timings: StageTimings


def _is_hard(question: str) -> bool:
    """Long or multi-part questions go straight to the large tier under ``auto``."""
    parts = len(re.findall(r"[?？]|설명하(?:시오|세요)|무엇인가요|인가요|습니까", question))
    return len(question) > 90 or parts >= 2


class Answerer:
    """See the module docstring. Heavy parts (retriever, embedder, models) are built on first use."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        retriever: Any = None,
        embedder: Any = None,
        analyzer: Any = None,
        backend_factory: Callable[[str], ModelBackend] | None = None,
        model: str = "auto",
        k: int | None = None,
        search_mode: str = "hybrid",
        checker: SupportChecker | None = None,
        gate: GateThresholds | None = None,
        trust_hook: TrustHook | None = _DEFAULT_HOOK,
        max_tokens: int = 384,
        source_tokens: int = 400,
        max_sources: int = 3,
        use_embedder: bool = True,
        verify_with_model: bool = False,
        quote_from_sentences: bool = True,
        answerability: str | None = None,
    ) -> None:
        if settings is None:
            from hanstack.config import load_settings

            settings = load_settings()
        self.settings = settings
        self.model = model
        self.k = k or min(settings.retrieval.k, 5)
        if self.k < 1:
            raise InvalidInputError(f"k must be at least 1, got {self.k}")
        self.search_mode = search_mode
        self.answerability = _answerability(answerability or settings.answer.answerability)
        """``gate`` or ``likelihood`` (opt-in): what decides answerability (module docstring)."""
        self.max_tokens = max_tokens
        self.source_tokens = source_tokens
        self.max_sources = max_sources
        self.gate = gate or GateThresholds()
        self._retriever = retriever
        self._embedder = embedder
        self._use_embedder = use_embedder
        self._analyzer = analyzer
        self._checker = checker
        self._factory = backend_factory
        self.verify_with_model = verify_with_model
        self.quote_from_sentences = quote_from_sentences
        """Constrain each quote to a sentence of the shown sources (:mod:`hanstack.answer.quotes`)."""
        """Also ask the generating model for a constrained yes/no verdict on each claim (can only reject)."""
        self._trust_hook = default_trust_hook() if trust_hook is _DEFAULT_HOOK else trust_hook

    # --- lazily built parts ---------------------------------------------------------------------
    @property
    def analyzer(self) -> Any:
        if self._analyzer is None:
            from hanstack.korean.analyzer import get_analyzer

            k = self.settings.korean
            self._analyzer = get_analyzer(k.analyzer, workers=k.workers, user_dictionary=k.user_dictionary)
        return self._analyzer

    @property
    def embedder(self) -> Any:
        if self._embedder is None and self._use_embedder:
            store = getattr(self._retriever, "store", None)
            self._embedder = getattr(store, "embedder", None)
            if self._embedder is None:
                from hanstack.embed import build_embedder

                self._embedder = build_embedder(self.settings)
        return self._embedder

    @property
    def retriever(self) -> Any:
        if self._retriever is None:
            from hanstack.retrieve import Retriever

            self._retriever = Retriever(self.settings)
        return self._retriever

    @property
    def checker(self) -> SupportChecker:
        if self._checker is None:
            thresholds = SupportThresholds(reanchor=self.settings.answer.reanchor_citations)
            self._checker = SupportChecker(self.analyzer, self.embedder, thresholds=thresholds)
        return self._checker

    def _backend(self, name: str) -> ModelBackend:
        if self._factory is not None:
            return self._factory(name)
        from hanstack.llm import get_backend

        return get_backend(self.settings, name)

    def close(self) -> None:
        if self._retriever is not None and hasattr(self._retriever, "close"):
            self._retriever.close()

    # --- the API ----------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        *,
        tenant: str | None = None,
        groups: Sequence[str] | None = None,
        model: str | None = None,
        k: int | None = None,
        exclude_doc_ids: Sequence[str] = (),
        answerability: str | None = None,
    ) -> Answer:
        """Retrieve passages for ``question`` in ``tenant``/``groups`` and answer from them.

        ``exclude_doc_ids`` drops documents from the hits (evaluation: "what if the gold passage were
        not indexed"); the retriever is asked for extra hits so ``k`` passages remain.
        """
        question = self._clean_question(question)
        tenant = tenant or self.settings.ingest.default_tenant
        groups = list(groups) if groups is not None else list(self.settings.ingest.default_acl)
        k = k or self.k
        if k < 1:
            raise InvalidInputError(f"k must be at least 1, got {k}")
        t0 = time.perf_counter()
        hits = self.retriever.search(
            question, tenant=tenant, groups=groups, k=k + len(exclude_doc_ids), mode=self.search_mode
        )
        excluded = set(exclude_doc_ids)
        passages = [Passage.from_hit(h) for h in hits if h.doc_id not in excluded][:k]
        retrieve_s = time.perf_counter() - t0
        searched = Searched(
            query=question,
            terms=list(dict.fromkeys(self.analyzer.search_terms(question))),
            tenant=tenant,
            groups=groups,
            k=k,
            mode=self.search_mode,
            hits=len(passages),
            documents=list(dict.fromkeys(p.provenance.title or p.provenance.source for p in passages)),
        )
        answer = self.answer_from_passages(
            question, passages, model=model, searched=searched, answerability=answerability
        )
        answer.timings.retrieve_s = round(retrieve_s, 4)
        answer.timings.total_s = round(time.perf_counter() - t0, 4)
        return answer

    def answer_from_passages(
        self,
        question: str,
        passages: Sequence[Passage],
        *,
        model: str | None = None,
        searched: Searched | None = None,
        answerability: str | None = None,
    ) -> Answer:
        """Answer from given passages (no retrieval): answerability (the gate, or query likelihood
        when ``answerability`` — default: the Answerer's — is ``likelihood``), generation and the
        support check."""
        question = self._clean_question(question)
        t0 = time.perf_counter()
        q_terms = (
            searched.terms
            if searched is not None
            else list(dict.fromkeys(self.analyzer.search_terms(question)))
        )
        searched = searched or Searched(
            query=question,
            terms=q_terms,
            tenant=self.settings.ingest.default_tenant,
            groups=list(self.settings.ingest.default_acl),
            k=len(passages),
            mode="given",
            hits=len(passages),
            documents=list(dict.fromkeys(p.provenance.title or p.provenance.source for p in passages)),
        )
        passages = apply_trust(passages, self._trust_hook)
        passages = self._with_dense(question, passages)
        requested = model or self.model
        signals = assess(q_terms, passages, self.gate)
        check = self._check_answerability(
            _answerability(answerability or self.answerability), question, passages, q_terms, signals
        )
        if not check.answerable:
            ans = self._abstain(
                question,
                searched,
                requested,
                _answerability_reason(check, bool(passages)),
                signals if check.method == "gate" else None,
                passages=passages,
            )
            ans.answerability = check
            ans.timings.total_s = round(time.perf_counter() - t0, 4)
            return ans
        plan = self._plan(requested, question)
        outcome: _Outcome | None = None
        attempts: list[str] = []
        for i, name in enumerate(plan):
            try:
                backend = self._backend(name)
            except ModelUnavailableError as exc:  # known but not pulled / server down: try the next
                attempts.append(f"{name}: {exc.message}")
                continue
            if backend.info.kind == "extractive":
                outcome = self._extractive(question, passages, q_terms, searched, requested)
            else:
                outcome = self._generate(backend, question, passages, q_terms, searched, requested)
            attempts.append(f"{backend.info.name}: {'failed' if outcome.failed else 'ok'}")
            outcome.answer.model.attempts = list(attempts)
            outcome.answer.model.escalated = i > 0
            if not outcome.failed or i == len(plan) - 1:
                break
        if outcome is None:  # no model could be loaded: the labelled extractive fallback
            outcome = self._extractive(question, passages, q_terms, searched, requested)
            attempts.append("extractive: fallback (no model available)")
            outcome.answer.model.attempts = attempts
        elif requested == "auto" and outcome.answer.abstained and not outcome.declined:
            # every tier drafted claims the check removed (or broke the schema): the best-supported
            # source sentences, labelled as extractive, rather than nothing; the removed drafts stay
            # visible in removed_claims
            removed = list(outcome.answer.removed_claims)
            fallback = self._extractive(
                question, passages, q_terms, searched, requested, rejected_drafts=True
            )
            if not fallback.answer.abstained:
                attempts.append("extractive: fallback (no drafted claim passed the check)")
                fallback.answer.model.attempts = list(attempts)
                fallback.answer.model.escalated = True
                fallback.answer.removed_claims = removed + fallback.answer.removed_claims
                outcome = fallback
        outcome.answer.answerability = check
        outcome.answer.timings.total_s = round(time.perf_counter() - t0, 4)
        return outcome.answer

    # --- answerability ---------------------------------------------------------------------------
    def _check_answerability(
        self,
        method: AnswerabilityMethod,
        question: str,
        passages: Sequence[Passage],
        q_terms: Sequence[str],
        signals: GateSignals,
    ) -> AnswerabilityCheck:
        """The gate's decision, or (``likelihood``) query likelihood's instead of it: the bench's
        scoring (:class:`QueryLikelihood`, same prompts and windows) and threshold rule
        (:func:`likelihood_answerable`). The gate decides, and the record says why, when the scoring
        model is not pulled, exposes no logits or cannot score these passages."""
        gate = AnswerabilityCheck(
            requested=method,
            method="gate",
            answerable=bool(passages) and signals.probability >= self.gate.threshold,
            score=round(signals.probability, 5),
            threshold=self.gate.threshold,
            gate_probability=round(signals.probability, 5),
        )
        if method == "gate":
            return gate
        if not passages:  # nothing to score: the abstention is certain
            return gate.model_copy(
                update={
                    "fallback_reason": "검색 결과가 없어 질의 가능도 검사를 하지 않았습니다 (no passages)"
                }
            )
        cfg = self.settings.answer
        t0 = time.perf_counter()
        try:
            backend = self._backend(cfg.likelihood_tier)
            # refuses backends without logits (extractive, HTTP) with InvalidInputError
            ql = QueryLikelihood(
                backend, max_sources=cfg.likelihood_passages, window_tokens=cfg.likelihood_window_tokens
            )
            result = ql.score(question, passages, q_terms)
        except ModelNotFoundError:
            raise  # a misspelt tier is a configuration error, as for the answering model
        except (ModelUnavailableError, InvalidInputError) as exc:
            why = exc.message
            log.warning("query likelihood unavailable (%s): the gate decides answerability", why)
            return gate.model_copy(
                update={
                    "fallback_reason": f"질의 가능도 검사를 쓸 수 없어 게이트로 판단했습니다 "
                    f"(query likelihood unavailable: {why})",
                    "tier": cfg.likelihood_tier,
                    "seconds": round(time.perf_counter() - t0, 4),
                }
            )
        score, answerable = likelihood_answerable(
            result.gains,
            result.baseline,
            threshold=cfg.likelihood_threshold,
            passages=cfg.likelihood_passages,
        )
        return AnswerabilityCheck(
            requested=method,
            method="likelihood",
            answerable=answerable,
            score=round(score, 5),
            threshold=cfg.likelihood_threshold,
            gate_probability=gate.gate_probability,
            tier=cfg.likelihood_tier,
            model=result.model,
            gains=[round(g, 5) for g in result.gains],
            baseline=round(result.baseline, 5),
            passages=len(result.gains),
            window_tokens=cfg.likelihood_window_tokens,
            seconds=round(time.perf_counter() - t0, 4),
        )

    # --- planning -----------------------------------------------------------------------------------
    def _plan(self, requested: str, question: str) -> list[str]:
        if requested != "auto":
            return [requested]
        tiers: list[str] = []
        if self._factory is None:
            from hanstack.llm import resolve_auto
            from hanstack.llm.catalog import pulled_tiers

            pulled = pulled_tiers(self.settings)
            tiers = [t for t in ("small", "large") if t in pulled]
            if not tiers:
                tiers = [resolve_auto(self.settings)]
        else:
            tiers = ["small", "large"]
        if len(tiers) > 1 and _is_hard(question):
            tiers = tiers[1:]
        return tiers

    @staticmethod
    def _clean_question(question: str) -> str:
        from hanstack.korean.normalize import normalize_text

        q = normalize_text(question or "")
        if not q:
            raise InvalidInputError(
                "the question is empty", hint='ask something, e.g. hanstack ask "대통령의 임기는?"'
            )
        return q

    def _with_dense(self, question: str, passages: Sequence[Passage]) -> list[Passage]:
        """Fill in the question–passage cosine where the retriever did not give one."""
        missing = [i for i, p in enumerate(passages) if p.extras.get("dense") is None]
        if not missing or self.embedder is None:
            return list(passages)
        import numpy as np

        q = np.asarray(self.embedder.embed_queries([question]), dtype=np.float32)[0]
        vecs = np.asarray(self.embedder.embed_passages([passages[i].text for i in missing]), dtype=np.float32)
        out = list(passages)
        for i, v in zip(missing, vecs, strict=True):
            extras = dict(out[i].extras)
            extras["dense"] = float(np.dot(q, v) / (np.linalg.norm(q) * np.linalg.norm(v) + 1e-9))
            from dataclasses import replace

            out[i] = replace(out[i], extras=extras)
        return out

    # --- backends -------------------------------------------------------------------------------------
    def _select(self, passages: Sequence[Passage]) -> list[Passage]:
        """The passages shown: the best ``max_sources`` by retrieval score (shown in stable order)."""
        ranked = sorted(passages, key=lambda p: -p.score)
        return ranked[: self.max_sources]

    def _layout(
        self, backend: ModelBackend, question: str, passages: Sequence[Passage], q_terms: list[str]
    ) -> tuple[PromptLayout, list[tuple[str, Passage]]]:
        count = backend.count_tokens
        chosen = self._select(passages)
        n = max(1, len(chosen))
        # room for the chat template, the <source ...> tags and their attributes
        overhead = 128 + 64 * n
        budget = (
            backend.info.context_length - self.max_tokens - count(INSTRUCTIONS) - count(question) - overhead
        )
        per_source = max(64, min(self.source_tokens, budget // n))
        trimmed = [trim_passage(p, per_source, count, q_terms) for p in chosen]
        labelled = label_sources(trimmed)
        return build_layout(question, labelled), labelled

    def _generate(
        self,
        backend: ModelBackend,
        question: str,
        passages: Sequence[Passage],
        q_terms: list[str],
        searched: Searched,
        requested: str,
    ) -> _Outcome:
        from hanstack.llm.structured import generate_structured

        t0 = time.perf_counter()
        layout, labelled = self._layout(backend, question, passages, q_terms)
        source_ids = [sid for sid, _ in labelled]
        schema = draft_json_schema(source_ids)
        decode = None
        if self.quote_from_sentences and backend.info.supports_json_schema:
            choices = quote_choices(labelled, self.analyzer, max_chars=QUOTE_CHOICE_CHARS)
            decode = draft_json_schema(source_ids, choices) if choices else None
        used = self._model_used(backend, requested)
        try:
            result = generate_structured(
                backend,
                layout.messages(),
                schema,
                decode_schema=decode,
                settings=self.settings,
                include_schema=False,
                escalate=False,
                repair=True,
                max_tokens=self.max_tokens,
                temperature=0.0,
            )
        except StructuredOutputError as exc:
            log.info("structured answer failed on %s: %s", backend.info.name, exc.message)
            ans = self._abstain(
                question,
                searched,
                requested,
                "모델 출력이 답변 형식에 맞지 않습니다",
                None,
                passages=[p for _, p in labelled],
                used=used,
            )
            ans.timings.generate_s = round(time.perf_counter() - t0, 4)
            return _Outcome(ans, failed=True)
        gen_s = time.perf_counter() - t0
        draft = DraftAnswer.model_validate(result.value)
        t1 = time.perf_counter()
        checker = self.checker
        if self.verify_with_model:
            checker = SupportChecker(
                checker.analyzer,
                checker.embedder,
                thresholds=checker.thresholds,
                verifier=model_verifier(backend),
            )
        claims, removed = self._check_claims(draft, labelled, checker, question)
        check_s = time.perf_counter() - t1
        chat = result.chat
        tokens = TokenUsage(
            prompt_tokens=chat.prompt_tokens if chat else 0,
            completion_tokens=chat.completion_tokens if chat else 0,
            tokenizer=backend.info.name,
            exact=backend.info.exact_tokenizer,
            cached_prompt_tokens=chat.timings.cached_prompt_tokens if chat else 0,
        )
        timings = StageTimings(
            generate_s=round(gen_s, 4),
            check_s=round(check_s, 4),
            ttft_s=chat.timings.ttft_s if chat else None,
        )
        sources = [to_source_ref(sid, p) for sid, p in labelled]
        reason = None
        if not draft.answerable:
            reason = "모델이 문서에서 답을 찾지 못했습니다"
        elif not claims:
            reason = "근거가 확인된 주장이 없습니다"
        outcome = self._outcome(
            question,
            searched,
            requested,
            _Drafted(used, "generative", None, claims, removed, sources, tokens, timings),
            abstain_reason=reason,
            failed=bool(removed),
        )
        outcome.declined = not draft.answerable
        return outcome

    def _extractive(
        self,
        question: str,
        passages: Sequence[Passage],
        q_terms: list[str],
        searched: Searched,
        requested: str,
        *,
        rejected_drafts: bool = False,
    ) -> _Outcome:
        from hanstack.llm.extractive import EXTRACTIVE_LABEL, REJECTED_DRAFTS_LABEL, ExtractiveBackend

        label = REJECTED_DRAFTS_LABEL if rejected_drafts else EXTRACTIVE_LABEL
        t0 = time.perf_counter()
        labelled = label_sources(self._select(passages))
        extractor = ExtractiveBackend()
        found = extractor.extract(question, [p.text for _, p in labelled], k=3)
        if found:
            top = found[0].score
            found = [e for e in found if e.score >= 0.5 * top]
        gen_s = time.perf_counter() - t0
        items = [(e.text, e.text, labelled[e.passage][1].text) for e in found]
        t1 = time.perf_counter()
        checks = self.checker.check_many(items)
        claims: list[Claim] = []
        removed: list[Claim] = []
        for e, chk in zip(found, checks, strict=True):
            sid, passage = labelled[e.passage]
            claim = Claim(text=e.text, supported=chk.supported, support=chk.scores, reason=chk.reason)
            if chk.supported:
                claim.citations = [_citation(sid, passage, e.text, chk)]
                claims.append(claim)
            else:
                removed.append(claim)
        check_s = time.perf_counter() - t1
        used = ModelUsed(requested=requested, name="extractive", kind="extractive", extractive=True)
        sources = [to_source_ref(sid, p) for sid, p in labelled]
        tokens = self._count_extractive(question, sources, claims)
        timings = StageTimings(generate_s=round(gen_s, 4), check_s=round(check_s, 4))
        return self._outcome(
            question,
            searched,
            requested,
            _Drafted(used, "extractive", label, claims, removed, sources, tokens, timings),
            abstain_reason=None if claims else "질문과 맞는 문장을 찾지 못했습니다",
            failed=False,
        )

    def _outcome(
        self,
        question: str,
        searched: Searched,
        requested: str,
        drafted: _Drafted,
        *,
        abstain_reason: str | None,
        failed: bool,
    ) -> _Outcome:
        """The answer from checked claims, or the abstention (keeping sources, removed claims,
        tokens and timings) when ``abstain_reason`` is set."""
        d = drafted
        if abstain_reason is not None:
            ans = self._abstain(question, searched, requested, abstain_reason, None, passages=[], used=d.used)
            ans.sources, ans.removed_claims, ans.tokens, ans.timings = (
                d.sources,
                d.removed,
                d.tokens,
                d.timings,
            )
            ans.mode, ans.label = d.mode, d.label
            return _Outcome(ans, failed=True)
        answer = Answer(
            question=question,
            text=_compose(d.claims),
            abstained=False,
            mode=d.mode,
            label=d.label,
            claims=d.claims,
            removed_claims=d.removed,
            sources=d.sources,
            searched=searched,
            model=d.used,
            retrieval=self._retrieval_used(searched),
            tokens=d.tokens,
            timings=d.timings,
        )
        return _Outcome(answer, failed=failed)

    # --- the support check over a draft ---------------------------------------------------------------
    def _check_claims(
        self,
        draft: DraftAnswer,
        labelled: Sequence[tuple[str, Passage]],
        checker: SupportChecker,
        question: str = "",
    ) -> tuple[list[Claim], list[Claim]]:
        by_id = dict(labelled)
        items: list[tuple[str, str, str]] = []
        owners: list[tuple[int, str, bool]] = []  # (claim index, source id, re-attributed)
        for ci, dc in enumerate(draft.claims):
            cited = [sid for sid in dict.fromkeys(dc.source_ids) if sid in by_id]
            others = [sid for sid, _ in labelled if sid not in cited]
            for sid in cited:
                items.append((dc.text, dc.quote, by_id[sid].text))
                owners.append((ci, sid, False))
            for sid in others:  # a small model often cites the wrong id for a real quote
                items.append((dc.text, dc.quote, by_id[sid].text))
                owners.append((ci, sid, True))
        checks = checker.check_many(items, question=question) if items else []
        per_claim: dict[int, list[tuple[str, bool, ClaimCheck]]] = {}
        for (ci, sid, moved), chk in zip(owners, checks, strict=True):
            per_claim.setdefault(ci, []).append((sid, moved, chk))
        claims: list[Claim] = []
        removed: list[Claim] = []
        for ci, dc in enumerate(draft.claims):
            results = per_claim.get(ci, [])
            cited_ok = [(sid, chk) for sid, moved, chk in results if not moved and chk.supported]
            moved_ok = [(sid, chk) for sid, moved, chk in results if moved and chk.supported]
            ok = cited_ok or moved_ok[:1]
            best = max(
                (chk for _, _, chk in results), key=lambda c: (c.supported, c.match.score), default=None
            )
            claim = Claim(text=dc.text.strip(), supported=bool(ok))
            if best is not None:
                claim.support = best.scores
                claim.reason = None if ok else best.reason
            else:
                claim.reason = "인용한 출처가 없습니다 (no valid source id)"
            if ok:
                claim.citations = [
                    _citation(sid, by_id[sid], dc.quote, chk, reattributed=not cited_ok) for sid, chk in ok
                ]
                claims.append(claim)
            else:
                removed.append(claim)
        return claims, removed

    # --- helpers ------------------------------------------------------------------------------------
    def _model_used(self, backend: ModelBackend, requested: str) -> ModelUsed:
        info = backend.info
        return ModelUsed(
            requested=requested,
            name=info.name,
            kind=info.kind,
            tier=info.tier,
            extractive=info.kind == "extractive",
        )

    def _retrieval_used(self, searched: Searched) -> RetrievalUsed:
        r = self.settings.retrieval
        return RetrievalUsed(
            mode=searched.mode,
            k=searched.k,
            fusion=r.fusion,
            sparse_weight=r.sparse_weight,
            dense_weight=r.dense_weight,
            bigram_weight=r.bigram_weight,
            fusion_norm=r.fusion_norm,
            candidates=r.candidates,
            embedder=r.embedder,
        )

    def _count_extractive(self, question: str, sources: Sequence[Any], claims: Sequence[Claim]) -> TokenUsage:
        """No model ran; counts use the default serving model's tokenizer (what a model would read)."""
        name = self.settings.ingest.tokenizer
        try:
            from hanstack.tokenizers import get_tokenizer

            tok = get_tokenizer(name)
        except (ImportError, HanstackError):
            return TokenUsage(tokenizer="none", exact=False)
        prompt = question + "".join(s.text for s in sources)
        return TokenUsage(
            prompt_tokens=tok.count(prompt),
            completion_tokens=tok.count(_compose(claims)),
            tokenizer=name,
            exact=True,
        )

    def _abstain(
        self,
        question: str,
        searched: Searched,
        requested: str,
        reason: str,
        signals: GateSignals | None,
        *,
        passages: Sequence[Passage],
        used: ModelUsed | None = None,
    ) -> Answer:
        detail = reason
        if signals is not None and signals.best_chunk_id is not None:
            dense = "-" if signals.dense is None else f"{signals.dense:.3f}"
            detail += f" (질문 용어 포함률 {signals.coverage:.2f}, 의미 유사도 {dense})"
        labelled = label_sources(passages)
        return Answer(
            question=question,
            text=abstain_text(searched),
            abstained=True,
            abstain_reason=detail,
            mode="generative" if used is None or not used.extractive else "extractive",
            sources=[to_source_ref(sid, p) for sid, p in labelled],
            searched=searched,
            model=used or ModelUsed(requested=requested, name="none", kind="none"),
            retrieval=self._retrieval_used(searched),
        )


def _answerability(method: str) -> AnswerabilityMethod:
    for known in ANSWERABILITY_METHODS:
        if method == known:
            return known
    raise InvalidInputError(
        f"unknown answerability check {method!r}", hint="use one of: " + ", ".join(ANSWERABILITY_METHODS)
    )


def _answerability_reason(check: AnswerabilityCheck, have_passages: bool) -> str:
    """Why the answerability check abstained (the gate's signals are appended by ``_abstain``)."""
    if not have_passages:
        return "검색 결과가 없습니다"
    if check.method == "likelihood":
        return (
            f"검색된 문서에 질문의 답이 없는 것으로 보입니다 (질의 가능도 검사 query likelihood: 상대 이득 "
            f"{check.score:.3f} < 기준 {check.threshold:g}, 모델 {check.model}, 문서 {check.passages}개)"
        )
    reason = "검색된 문서가 질문과 관련이 없습니다"
    if check.fallback_reason:
        reason = f"{check.fallback_reason}; {reason}"
    return reason


def abstain_text(searched: Searched) -> str:
    """ "문서에서 근거를 찾을 수 없습니다" plus what was searched."""
    groups = ", ".join(searched.groups) or "-"
    terms = ", ".join(searched.terms[:12]) or "-"
    docs = ", ".join(searched.documents[:5]) or "없음"
    return (
        f'{ABSTAIN_MESSAGE}. 검색한 내용: 질문 "{searched.query}" (검색어: {terms}; '
        f"테넌트 {searched.tenant}, 그룹 {groups}; 상위 {searched.k}개 중 {searched.hits}개 검색됨; 살펴본 문서: {docs})."
    )


def _compose(claims: Sequence[Claim]) -> str:
    parts = []
    for claim in claims:
        ids = "".join(f"[{sid}]" for sid in dict.fromkeys(c.source_id for c in claim.citations))
        text = claim.text.rstrip()
        parts.append(f"{text} {ids}".strip())
    return "\n".join(parts)


def _citation(
    sid: str, passage: Passage, quote_given: str, chk: ClaimCheck, *, reattributed: bool = False
) -> Citation:
    prov = passage.provenance
    start, end = chk.match.start, chk.match.end
    return Citation(
        source_id=sid,
        chunk_id=passage.chunk_id,
        quote=passage.text[start:end],
        quote_as_given=quote_given,
        match_score=round(min(1.0, chk.match.score), 4),
        chunk_start=start,
        chunk_end=end,
        doc_start=prov.char_start + start,
        doc_end=prov.char_start + end,
        source=prov.source,
        title=prov.title,
        section=prov.section,
        page_start=prov.page_start,
        page_end=prov.page_end,
        reattributed=reattributed,
        reanchored=chk.reanchored,
    )
