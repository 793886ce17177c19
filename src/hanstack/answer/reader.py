"""A reader's answerability score: does a local model think the passages hold the answer?

The lexical+dense gate (:mod:`hanstack.answer.gate`) cannot tell "about the topic" from "answers
it": with the gold page removed, sibling pages of the same document still cover the question's words.
This asks a model. The question and the top passages — each cut to its best window around the
question's terms, so the prompt stays short (~600 tokens) — go into one yes/no prompt in Korean, and
instead of generating we read the model's next-token distribution once:

    score = log P(yes-like first token) − log P(no-like first token)

(one forward pass over the prompt, no decoding; the shared instruction prefix is reused from the KV
cache between questions). ``python bench/answers.py --steps reader`` scores AutoRAG-ko with it,
fits a 2-feature rule (gate logit, reader score) on the gate's fit half and reports the held-out
half next to the gate alone (bench/results/answers_reader.md).

Measured so far (notes/answers.md, Calibration): the 0.5B and 1.5B coder models do not beat the gate
on held-out queries, so the answer pipeline does not use this stage. It is kept as the instrument for
the next, stronger local model. Only in-process llama.cpp backends expose next-token logits here
(:func:`supports_reader`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hanstack.answer.prompt import trim_passage
from hanstack.answer.sources import Passage
from hanstack.errors import InvalidInputError
from hanstack.llm.types import ChatMessage

READER_INSTRUCTIONS = (
    "당신은 문서를 읽고 질문의 답이 문서에 들어 있는지 판단합니다. "
    "문서 조각에 질문에 대한 구체적인 답이 적혀 있으면 '예', 주제만 비슷하고 답이 없으면 '아니오'라고만 답하세요."
)
READER_QUESTION = "위 문서 조각에 이 질문의 답이 들어 있습니까? '예' 또는 '아니오'로만 답하세요."

YES_WORDS = ("예", "네", "Yes", "yes", "YES")
NO_WORDS = ("아니오", "아니요", "아니", "No", "no", "NO")


def reader_messages(question: str, windows: Sequence[str]) -> list[ChatMessage]:
    """The yes/no prompt: fixed instructions, then the passage windows, then the question."""
    docs = "\n\n".join(f"[문서 {i}]\n{w.strip()}" for i, w in enumerate(windows, 1))
    user = f"{docs}\n\n질문: {question.strip()}\n\n{READER_QUESTION}"
    return [ChatMessage(role="system", content=READER_INSTRUCTIONS), ChatMessage(role="user", content=user)]


def supports_reader(backend: Any) -> bool:
    """True for backends whose next-token logits we can read (in-process llama.cpp)."""
    return getattr(getattr(backend, "info", None), "kind", None) == "llamacpp" and hasattr(backend, "llm")


def first_token_ids(backend: Any, words: Sequence[str]) -> list[int]:
    """The distinct first tokens of ``words`` as the model would start its reply with them."""
    ids: list[int] = []
    for w in words:
        toks = backend.tokenize(w, special=False, add_bos=False)
        if toks and toks[0] not in ids:
            ids.append(toks[0])
    return ids


def next_token_logits(backend: Any, prompt_tokens: Sequence[int]) -> tuple[Any, int]:
    """(logits of the token after ``prompt_tokens``, prompt tokens reused from the KV cache).

    One forward pass over the part of the prompt not already in the context (llama.cpp keeps the
    tokens it evaluated last; the reuse works with the backend's own generation calls too).
    """
    import llama_cpp
    import numpy as np

    llm = backend.llm
    tokens = list(prompt_tokens)
    if not tokens:
        raise InvalidInputError("the reader prompt is empty")
    if len(tokens) >= llm.n_ctx():
        raise InvalidInputError(
            f"reader prompt has {len(tokens)} tokens; the context window is {llm.n_ctx()}",
            hint="lower answer reader window tokens",
        )
    with backend_lock(backend):
        keep = rewind_to_shared_prefix(llm, tokens)
        llm.eval(tokens[keep:])
        ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        logits = np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).astype(np.float64)
    return logits, keep


def rewind_to_shared_prefix(llm: Any, tokens: Sequence[int]) -> int:
    """Rewind llama.cpp's context to the longest prefix it shares with ``tokens`` (those tokens'
    KV entries are reused), always leaving the last token to evaluate: its logits are read.
    Returns the number of tokens kept. Call it under :func:`backend_lock`."""
    keep = llm.longest_token_prefix(llm.input_ids[: llm.n_tokens].tolist(), list(tokens))
    keep = min(keep, len(tokens) - 1)
    llm.n_tokens = keep
    return int(keep)


def log_normaliser(logits: Any) -> float:
    """log Σ exp(logits), computed stably: subtract it from a logit to get its log-probability."""
    import numpy as np

    top = float(logits.max())
    return top + math.log(float(np.exp(logits - top).sum()))


@contextmanager
def backend_lock(backend: Any) -> Iterator[None]:
    """Hold the backend's model lock, where it has one, while reading the model's context directly:
    its own generation calls take the same lock, and the KV cache is shared with them."""
    lock = getattr(getattr(backend, "_loaded", None), "lock", None)
    if lock is None:
        yield
        return
    with lock:
        yield


@dataclass(frozen=True, slots=True)
class ReaderScore:
    score: float
    """log P(yes-like) − log P(no-like) for the first answer token."""
    p_yes: float
    """P(yes-like) / (P(yes-like) + P(no-like))."""
    mass: float
    """P(yes-like) + P(no-like): how much of the distribution the two answers hold."""
    prompt_tokens: int
    cached_tokens: int
    seconds: float
    model: str

    @property
    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "score": round(self.score, 4),
            "p_yes": round(self.p_yes, 4),
            "mass": round(self.mass, 4),
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "seconds": round(self.seconds, 3),
            "model": self.model,
        }


def _logsumexp(values: Sequence[float]) -> float:
    m = max(values)
    return m + math.log(sum(math.exp(v - m) for v in values))


def check_scorer(backend: Any, what: str, max_sources: int, window_tokens: int) -> None:
    """Refuse what a logit-reading scorer (the reader, query likelihood) cannot work with."""
    if not supports_reader(backend):
        name = getattr(getattr(backend, "info", None), "name", type(backend).__name__)
        raise InvalidInputError(
            f"{what} needs an in-process llama.cpp model; {name} does not expose next-token logits"
        )
    if max_sources < 1 or window_tokens < 16:
        raise InvalidInputError(
            f"{what} needs max_sources >= 1 and window_tokens >= 16, got {max_sources}, {window_tokens}"
        )


def passage_windows(
    backend: Any,
    passages: Sequence[Passage],
    focus_terms: Sequence[str],
    max_sources: int,
    window_tokens: int,
) -> list[str]:
    """The ``max_sources`` best passages by retrieval score, each cut to its best ``window_tokens``
    (the backend's tokenizer) around ``focus_terms``."""
    count: Callable[[str], int] = backend.count_tokens
    chosen = sorted(passages, key=lambda p: -p.score)[:max_sources]
    return [trim_passage(p, window_tokens, count, focus_terms).text for p in chosen]


class Reader:
    """Scores (question, passages) with one forward pass of a llama.cpp model.

    ``max_sources`` passages by retrieval score, each trimmed to ``window_tokens`` (counted with the
    model's tokenizer) around ``focus_terms`` (the question's content morphemes).
    """

    def __init__(self, backend: Any, *, max_sources: int = 3, window_tokens: int = 150) -> None:
        check_scorer(backend, "the reader", max_sources, window_tokens)
        self.backend = backend
        self.max_sources = max_sources
        self.window_tokens = window_tokens
        self._yes = first_token_ids(backend, YES_WORDS)
        self._no = first_token_ids(backend, NO_WORDS)
        if not self._yes or not self._no or set(self._yes) & set(self._no):
            raise InvalidInputError(f"{backend.info.name}: cannot tell yes/no answer tokens apart")

    def windows(self, passages: Sequence[Passage], focus_terms: Sequence[str]) -> list[str]:
        return passage_windows(self.backend, passages, focus_terms, self.max_sources, self.window_tokens)

    def score(self, question: str, passages: Sequence[Passage], focus_terms: Sequence[str]) -> ReaderScore:

        t0 = time.perf_counter()
        messages = reader_messages(question, self.windows(passages, focus_terms))
        prompt = self.backend.format_prompt(messages)
        tokens = self.backend.tokenize(prompt, special=True, add_bos=False)
        logits, cached = next_token_logits(self.backend, tokens)
        log_z = log_normaliser(logits)
        yes = _logsumexp([float(logits[i]) for i in self._yes]) - log_z
        no = _logsumexp([float(logits[i]) for i in self._no]) - log_z
        score = yes - no
        return ReaderScore(
            score=score,
            p_yes=1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, score)))),
            mass=math.exp(yes) + math.exp(no),
            prompt_tokens=len(tokens),
            cached_tokens=cached,
            seconds=time.perf_counter() - t0,
            model=self.backend.info.name,
        )


GATE_LOGIT_CLIP = 20.0


def gate_logit(probability: float) -> float:
    """The gate's probability back on its logistic scale, clipped to ±``GATE_LOGIT_CLIP``."""
    p = min(max(probability, 1e-12), 1.0 - 1e-12)
    return max(-GATE_LOGIT_CLIP, min(GATE_LOGIT_CLIP, math.log(p / (1.0 - p))))
