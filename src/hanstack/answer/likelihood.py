"""Query likelihood (the UPR idea): how much does a passage raise the model's probability of the question?

The lexical+dense gate (:mod:`hanstack.answer.gate`) cannot tell "about the topic" from "answers it",
and a yes/no reader with the local 0.5B/1.5B models did not either (:mod:`hanstack.answer.reader`).
This asks the model a different question: given the passage, how likely is *this* question? AutoRAG's
questions were written from their gold page, so a page that holds the answer should make the
question's exact wording (its numbers, names, phrasing) more likely than a sibling page on the same
topic does. Per passage,

    gain = mean_j log P(q_j | passage, q_<j) − mean_j log P(q_j | no passage, q_<j)

over the question's tokens, as the model's reply to "write a question this passage answers". Nothing is
generated: the prompt is evaluated (the shared instruction prefix comes from the KV cache), then the
question's tokens go through the model in one batched decode with logits kept for every position
(:func:`continuation_logprobs`) — not one decode step per token.

``python bench/answers.py --steps likelihood`` scores AutoRAG-ko with it and fits a 2-feature rule
(gate logit, best gain over the top passages) like the reader step (bench/results/answers_likelihood.md;
notes/answers.md, Calibration). Measured with the local 0.5B model on all 114 queries: the gain
separates answerable from gold-removed about as well as the gate (held-out AUC 0.80 vs 0.79), and the
combined rule holds out no better than the gate (same abstention, more false abstention). With the
1.5B model (all 114 queries) the best gain as a share of the no-passage surprise (``score / -baseline``)
holds out better than the gate (abstention 0.667 vs 0.614, false abstention 0.053 vs 0.175) but far
from the 0.9 target at ~40 s per question on CPU, so the answer pipeline uses it only when asked:
``answer.answerability = "likelihood"`` (``hanstack ask --answerability likelihood``) abstains when
:func:`relative_gain` is below the fitted threshold, instead of the gate's decision
(:meth:`hanstack.answer.Answerer.answer_from_passages`; notes/answers.md). Only in-process llama.cpp
backends expose the logits here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hanstack.answer.reader import (
    backend_lock,
    check_scorer,
    log_normaliser,
    passage_windows,
    rewind_to_shared_prefix,
)
from hanstack.answer.sources import Passage
from hanstack.errors import InvalidInputError
from hanstack.llm.types import ChatMessage

QL_INSTRUCTIONS = "당신은 주어진 문서를 읽고, 그 문서의 내용으로 답할 수 있는 질문을 한국어로 하나 씁니다."
QL_REQUEST = "위 문서의 내용으로 답할 수 있는 질문을 하나 쓰세요. 질문만 쓰세요."
QL_REQUEST_NO_PASSAGE = "답할 수 있는 질문을 하나 쓰세요. 질문만 쓰세요."


def ql_messages(passage: str | None) -> list[ChatMessage]:
    """The prompt whose reply is the question: with a passage, or without one (the baseline)."""
    user = QL_REQUEST_NO_PASSAGE if passage is None else f"문서:\n{passage.strip()}\n\n{QL_REQUEST}"
    return [ChatMessage(role="system", content=QL_INSTRUCTIONS), ChatMessage(role="user", content=user)]


def continuation_logprobs(
    backend: Any, prefix_tokens: Sequence[int], target_tokens: Sequence[int]
) -> tuple[list[float], int]:
    """(log P(target[j] | prefix, target[:j]) for every j, prefix tokens reused from the KV cache).

    The prefix is evaluated as usual (only the part not already in llama.cpp's context); then the
    last prefix token and the target go through the model in batched decodes with logits kept for
    every position, so a 40-token question costs one forward pass, not 40 decode steps.
    """
    import llama_cpp
    import numpy as np

    llm = backend.llm
    prefix, target = list(prefix_tokens), list(target_tokens)
    if not prefix or not target:
        raise InvalidInputError("query likelihood needs a non-empty prompt and target")
    if len(prefix) + len(target) >= llm.n_ctx():
        raise InvalidInputError(
            f"query-likelihood prompt has {len(prefix) + len(target)} tokens; the context window is "
            f"{llm.n_ctx()}",
            hint="lower the window tokens",
        )
    with backend_lock(backend):
        # the last prefix token is decoded with the target: its logits are read
        keep = rewind_to_shared_prefix(llm, prefix)
        if keep < len(prefix) - 1:
            llm.eval(prefix[keep:-1])
        llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        feed = [prefix[-1], *target]  # the logits at feed[j] predict target[j]
        n_vocab = llm.n_vocab()
        out: list[float] = []
        step = max(1, int(llm.n_batch))
        for start in range(0, len(feed), step):
            piece = feed[start : start + step]
            n_past = llm.n_tokens
            llm._batch.set_batch(batch=piece, n_past=n_past, logits_all=True)
            llm._ctx.decode(llm._batch)
            llm.input_ids[n_past : n_past + len(piece)] = piece
            llm.n_tokens = n_past + len(piece)
            for i in range(len(piece)):
                j = start + i  # predicts target[j]
                if j >= len(target):
                    break
                ptr = llama_cpp.llama_get_logits_ith(llm.ctx, i)
                row = np.ctypeslib.as_array(ptr, shape=(n_vocab,)).astype(np.float64)
                out.append(float(row[target[j]]) - log_normaliser(row))
    return out, keep


@dataclass(frozen=True, slots=True)
class QuestionLikelihood:
    """log P(question | prompt) summed and averaged over the question's tokens."""

    total: float
    tokens: int
    prompt_tokens: int
    cached_tokens: int
    seconds: float

    @property
    def mean(self) -> float:
        return self.total / self.tokens

    @property
    def as_dict(self) -> dict[str, float | int]:
        return {
            "total": round(self.total, 4),
            "mean": round(self.mean, 5),
            "tokens": self.tokens,
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "seconds": round(self.seconds, 3),
        }


RELATIVE_GAIN_FLOOR = 0.1
"""Floor of the no-passage surprise (nats per token) that :func:`relative_gain` divides by."""


def relative_gain(gains: Sequence[float], baseline: float, passages: int = 3) -> float:
    """The best per-token gain over the first ``passages`` (retrieval-score order) as a share of the
    question's no-passage surprise: ``max(gains[:passages]) / max(0.1, -baseline)``.

    The same number as bench/answers.py's ``relative_gain`` feature (``LIKELIHOOD_NORMALISED``), the
    rule the opt-in answerability check applies (``tests/answer/test_answerability.py`` pins both on
    the bench's recorded per-query records). ``-inf`` when nothing was scored.
    """
    top = list(gains[:passages])
    if not top:
        return -math.inf
    return max(top) / max(RELATIVE_GAIN_FLOOR, -baseline)


def likelihood_answerable(
    gains: Sequence[float], baseline: float, *, threshold: float, passages: int = 3
) -> tuple[float, bool]:
    """(:func:`relative_gain`, whether the passages answer): abstain below ``threshold``, as the
    bench's threshold rule does (``score < threshold`` abstains)."""
    score = relative_gain(gains, baseline, passages)
    return score, score >= threshold


@dataclass(frozen=True, slots=True)
class LikelihoodScore:
    score: float
    """The best per-token gain over the scored passages (mean log P(q | passage) − mean log P(q))."""
    gains: tuple[float, ...]
    """Per passage, in retrieval-score order."""
    baseline: float
    """Mean log P(question token | no passage)."""
    seconds: float
    model: str


class QueryLikelihood:
    """Scores (question, passages) by how much each passage raises the question's likelihood.

    ``max_sources`` passages by retrieval score, each trimmed to ``window_tokens`` (the model's
    tokenizer) around ``focus_terms`` (the question's content morphemes).
    """

    def __init__(self, backend: Any, *, max_sources: int = 3, window_tokens: int = 192) -> None:
        check_scorer(backend, "query likelihood", max_sources, window_tokens)
        self.backend = backend
        self.max_sources = max_sources
        self.window_tokens = window_tokens

    def windows(self, passages: Sequence[Passage], focus_terms: Sequence[str]) -> list[str]:
        return passage_windows(self.backend, passages, focus_terms, self.max_sources, self.window_tokens)

    def prompt(self, passage: str | None) -> str:
        return str(self.backend.format_prompt(ql_messages(passage)))

    def question_logprob(self, question: str, passage: str | None) -> QuestionLikelihood:
        """log P(question | passage) (``passage=None``: the no-passage baseline)."""
        t0 = time.perf_counter()
        prefix = self.backend.tokenize(self.prompt(passage), special=True, add_bos=False)
        target = self.backend.tokenize(question.strip(), special=False, add_bos=False)
        logprobs, cached = continuation_logprobs(self.backend, prefix, target)
        return QuestionLikelihood(
            total=float(sum(logprobs)),
            tokens=len(target),
            prompt_tokens=len(prefix),
            cached_tokens=cached,
            seconds=time.perf_counter() - t0,
        )

    def score(
        self, question: str, passages: Sequence[Passage], focus_terms: Sequence[str]
    ) -> LikelihoodScore:
        t0 = time.perf_counter()
        base = self.question_logprob(question, None).mean
        gains = tuple(
            self.question_logprob(question, w).mean - base for w in self.windows(passages, focus_terms)
        )
        return LikelihoodScore(
            score=max(gains) if gains else -math.inf,
            gains=gains,
            baseline=base,
            seconds=time.perf_counter() - t0,
            model=self.backend.info.name,
        )
