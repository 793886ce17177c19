"""The extractive backend: no model at all, always available.

Given a question and source passages it returns the source sentences that best support the
question: sentences are split with Kiwi, scored by idf-weighted overlap of content morphemes with
the question (nouns, verb/adjective lemmas, roots, foreign words, numbers), and the best are
returned verbatim with their passage and character span. Its answers are labelled as extractive
(:attr:`ChatResult.extractive` and a Korean label in the text), never passed off as generated.

Passages reach :meth:`ExtractiveBackend.chat` inside the messages: blocks delimited by
``<source ...>…</source>``, ``<document ...>…</document>`` or ``<passage ...>…</passage>`` in
any message, or, if there are none, the system and earlier messages. The question is the last user
message without those blocks. Library callers can use :meth:`ExtractiveBackend.extract` directly.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from hanstack.errors import InvalidInputError
from hanstack.korean.question import asks_or_requests
from hanstack.llm.openai_compat import estimate_tokens
from hanstack.llm.types import ChatMessage, ChatResult, ModelInfo, Timings

EXTRACTIVE_LABEL = "[발췌 응답: 모델 없이 문서에서 그대로 가져온 문장입니다]"
REJECTED_DRAFTS_LABEL = (
    "[발췌 응답: 모델의 답변이 근거 검사를 통과하지 못해 문서에서 그대로 가져온 문장입니다]"
)
"""The extractive label when models did run but none of their drafted claims passed the check."""
NO_SUPPORT = "문서에서 근거를 찾을 수 없습니다."

_BLOCK_RE = re.compile(r"<(source|document|passage)\b[^>]*>(.*?)</\1>", re.S | re.I)


@dataclass(frozen=True, slots=True)
class Extract:
    text: str
    passage: int
    """Index of the passage the sentence comes from."""
    start: int
    end: int
    """Character span in that passage."""
    score: float


class ExtractiveBackend:
    """Best-supported source sentences for a question; no generation."""

    def __init__(self, *, k: int = 3, min_score: float = 0.0) -> None:
        self.k = k
        self.min_score = min_score
        self.info = ModelInfo(
            name="extractive",
            kind="extractive",
            context_length=1 << 20,
            supports_json_schema=False,
            supports_tools=False,
            exact_tokenizer=False,
        )
        self._analyzer: Any = None

    def _kiwi(self) -> Any:
        if self._analyzer is None:
            from hanstack.korean.analyzer import get_kiwi

            self._analyzer = get_kiwi()
        return self._analyzer

    def extract(self, question: str, passages: Sequence[str], *, k: int | None = None) -> list[Extract]:
        """Top-``k`` sentences of ``passages`` by support for ``question`` (best first)."""
        kiwi = self._kiwi()
        q_terms = set(kiwi.search_terms(question))
        if not q_terms:
            return []
        cands: list[tuple[int, Any, set[str]]] = []
        for i, passage in enumerate(passages):
            for sent in kiwi.split_sentences(passage):
                text = sent.text.strip()
                # a question or request in a source (an FAQ's "… 가능할까요?") answers nothing
                if not text or asks_or_requests(text, sent.morphemes):
                    continue
                terms = set(kiwi.search_terms(text))
                cands.append((i, sent, terms))
        if not cands:
            return []
        df = Counter(t for _, _, terms in cands for t in terms)
        n = len(cands)
        scored: list[Extract] = []
        for i, sent, terms in cands:
            common = q_terms & terms
            if not common:
                continue
            score = sum(math.log(1 + n / df[t]) for t in common) / math.sqrt(max(len(terms), 1))
            if score > self.min_score:
                scored.append(Extract(sent.text.strip(), i, sent.start, sent.end, round(score, 4)))
        scored.sort(key=lambda e: (-e.score, e.passage, e.start))
        return scored[: k or self.k]

    @staticmethod
    def split_messages(messages: Sequence[ChatMessage]) -> tuple[str, list[str]]:
        """(question, passages) from chat messages, as described in the module docstring."""
        users = [i for i, m in enumerate(messages) if m.role == "user"]
        if not users:
            raise InvalidInputError("the extractive backend needs a user message with the question")
        last = users[-1]
        passages = [b.strip() for m in messages for _, b in _BLOCK_RE.findall(m.content)]
        question = _BLOCK_RE.sub(" ", messages[last].content).strip()
        if not passages:
            passages = [m.content for i, m in enumerate(messages) if i != last and m.role != "assistant"]
        return question, passages

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        json_schema: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> ChatResult:
        if json_schema is not None:
            from hanstack.errors import StructuredOutputError

            raise StructuredOutputError(
                "the extractive backend cannot produce structured output",
                hint="pull a model (hanstack models pull small) or use an endpoint",
            )
        t0 = time.perf_counter()
        question, passages = self.split_messages(messages)
        found = self.extract(question, passages)
        body = " ".join(e.text for e in found) if found else NO_SUPPORT
        text = f"{EXTRACTIVE_LABEL}\n{body}"
        elapsed = time.perf_counter() - t0
        return ChatResult(
            text=text,
            finish_reason="stop",
            prompt_tokens=sum(estimate_tokens(m.content) for m in messages),
            completion_tokens=estimate_tokens(text),
            model="extractive",
            timings=Timings(total_s=elapsed, ttft_s=elapsed),
            extractive=True,
        )

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        json_schema: dict[str, Any] | None = None,
        result: ChatResult | None = None,
    ) -> Iterator[str]:
        res = self.chat(messages, json_schema=json_schema)
        if result is not None:
            for f in res.__dataclass_fields__:
                setattr(result, f, getattr(res, f))
        yield res.text

    def count_tokens(self, text: str) -> int:
        """No model, no tokenizer: an estimate (see :func:`estimate_tokens`)."""
        return estimate_tokens(text)
