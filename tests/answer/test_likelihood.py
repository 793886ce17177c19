"""Query likelihood (hanstack.answer.likelihood): the prompt, the refusal of backends without logits,
and — on the tiny-test GGUF through llama.cpp — that the batched pass gives the same per-token log
probabilities as decoding the question one token at a time, and that a passage holding the question's
content raises its likelihood more than an unrelated passage does."""

from __future__ import annotations

import math
import os

import pytest

from hanstack.answer.likelihood import QL_REQUEST, QueryLikelihood, ql_messages
from hanstack.errors import InvalidInputError
from hanstack.llm.extractive import ExtractiveBackend
from tests.conftest import REPO, tiny_model_settings

os.environ.setdefault("HANSTACK_MODELS_CACHE", str(REPO / ".models"))

QUESTION = "대통령의 임기는 몇 년인가요?"


def test_prompt_has_the_passage_or_none_and_asks_for_a_question() -> None:
    with_p = ql_messages("제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다.")
    without = ql_messages(None)
    assert [m.role for m in with_p] == [m.role for m in without] == ["system", "user"]
    assert with_p[0].content == without[0].content  # same system prefix: shared in the KV cache
    assert "제70조" in with_p[1].content and with_p[1].content.endswith(QL_REQUEST)
    assert "문서" not in without[1].content


def test_query_likelihood_refuses_backends_without_logits() -> None:
    with pytest.raises(InvalidInputError, match="logits"):
        QueryLikelihood(ExtractiveBackend())


@pytest.fixture(scope="module")
def tiny_settings(tmp_path_factory):
    return tiny_model_settings(tmp_path_factory.mktemp("likelihood-ws"))


@pytest.fixture(scope="module")
def tiny_backend(tiny_settings):
    from hanstack.llm import get_backend

    return get_backend(tiny_settings, "tiny-test")


@pytest.mark.model
def test_batched_logprobs_equal_a_token_by_token_reference(tiny_backend) -> None:
    import numpy as np

    from hanstack.answer.likelihood import continuation_logprobs
    from hanstack.answer.reader import next_token_logits

    ql = QueryLikelihood(tiny_backend)
    prefix = tiny_backend.tokenize(
        ql.prompt("제70조 대통령의 임기는 5년으로 하며, 중임할 수 없다."), special=True
    )
    target = tiny_backend.tokenize(QUESTION)
    batched, _ = continuation_logprobs(tiny_backend, prefix, target)

    tiny_backend.llm.n_tokens = 0  # reference: from an empty context, one decode step per question token
    reference = []
    for j in range(len(target)):
        logits, _ = next_token_logits(tiny_backend, prefix + target[:j])
        top = float(logits.max())
        reference.append(float(logits[target[j]]) - (top + math.log(float(np.exp(logits - top).sum()))))

    got, ref = np.array(batched), np.array(reference)
    assert len(got) == len(target) >= 5 and np.all(got <= 0.0)
    # batched and single-token matmuls round differently on a quantized model: equal up to noise, and far
    # closer to the reference than an off-by-one reading of the logits would be
    assert np.max(np.abs(got - ref)) < 0.3
    assert np.mean(np.abs(got - ref)) < 0.1
    assert np.mean(np.abs(got[1:] - ref[:-1])) > 5 * np.mean(np.abs(got - ref))

    again, cached = continuation_logprobs(tiny_backend, prefix, target)  # prefix now in the KV cache
    assert cached == len(prefix) - 1
    assert np.max(np.abs(np.array(again) - got)) < 0.3


@pytest.mark.model
def test_a_passage_with_the_answer_raises_the_question_likelihood_more(
    tiny_backend, constitution, kiwi
) -> None:
    from hanstack.answer import Passage

    ql = QueryLikelihood(tiny_backend, max_sources=2, window_tokens=200)
    answers = Passage.from_chunk(constitution.article(70), score=0.5)
    unrelated = Passage.from_chunk(constitution.article(31), score=1.0)  # education: ranked first on purpose
    result = ql.score(QUESTION, [answers, unrelated], kiwi.search_terms(QUESTION))
    gain_unrelated, gain_answers = result.gains  # retrieval-score order
    assert math.isfinite(result.baseline) and result.baseline < 0.0
    assert gain_answers > gain_unrelated
    assert result.score == max(result.gains) == gain_answers
