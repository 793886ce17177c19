"""Grounded answers through a real llama.cpp model (the tiny-test GGUF): whatever the model writes,
the final answer holds only claims whose citations are the sources' exact text, or abstains; and a
second question over the same sources reuses the KV cache of the shared prefix."""

from __future__ import annotations

import os

import pytest

from tests.conftest import REPO, tiny_model_settings

pytestmark = pytest.mark.model

os.environ.setdefault("HANSTACK_MODELS_CACHE", str(REPO / ".models"))


@pytest.fixture(scope="module")
def model_settings(tmp_path_factory):
    return tiny_model_settings(tmp_path_factory.mktemp("answer-model-ws"))


def test_tiny_model_answer_is_grounded_and_prefix_is_reused(
    model_settings, constitution, kiwi, embedder
) -> None:
    from hanstack.answer import Answerer, Passage

    passages = [
        Passage.from_chunk(constitution.article(n), score=1.0 / (i + 1)) for i, n in enumerate([70, 42, 67])
    ]
    answerer = Answerer(model_settings, analyzer=kiwi, embedder=embedder, trust_hook=None, max_tokens=320)
    first = answerer.answer_from_passages("대통령의 임기는 몇 년인가요?", passages, model="tiny-test")
    assert first.model.kind == "llamacpp" and first.model.name
    for answer in (first,):
        by_id = {s.id: s for s in answer.sources}
        for claim in answer.claims:
            assert claim.supported and claim.citations
            for c in claim.citations:
                assert by_id[c.source_id].text[c.chunk_start : c.chunk_end] == c.quote
                assert constitution.text[c.doc_start : c.doc_end] == c.quote
        assert answer.abstained or answer.claims
    if first.tokens.prompt_tokens == 0:
        pytest.skip("the model output failed the schema twice; nothing to measure")
    assert first.tokens.exact and first.tokens.prompt_tokens > 100
    second = answerer.answer_from_passages("대통령은 중임할 수 있나요?", passages, model="tiny-test")
    assert second.tokens.cached_prompt_tokens > 0.5 * first.tokens.prompt_tokens


def test_reader_scores_with_one_forward_pass_and_reuses_the_prefix(
    model_settings, constitution, kiwi
) -> None:
    """The reader's prefix-reusing forward pass gives the same yes/no score as evaluating the whole
    prompt from an empty context (the plain reference)."""
    import math

    from hanstack.answer import Passage
    from hanstack.answer.reader import Reader, reader_messages
    from hanstack.llm import get_backend

    backend = get_backend(model_settings, "tiny-test")
    reader = Reader(backend, max_sources=2, window_tokens=120)
    passages = [
        Passage.from_chunk(constitution.article(n), score=1.0 / (i + 1)) for i, n in enumerate([70, 67])
    ]
    terms = kiwi.search_terms("대통령의 임기는 몇 년인가요?")
    first = reader.score("대통령의 임기는 몇 년인가요?", passages, terms)
    second = reader.score("대통령은 중임할 수 있나요?", passages, terms)
    assert math.isfinite(first.score) and 0.0 < first.mass <= 1.0 and 0.0 < first.p_yes < 1.0
    assert second.cached_tokens > 0.5 * second.prompt_tokens  # instructions + passages came from the cache

    # reference: the whole prompt from an empty context
    prompt = backend.format_prompt(
        reader_messages("대통령은 중임할 수 있나요?", reader.windows(passages, terms))
    )
    tokens = backend.tokenize(prompt, special=True, add_bos=False)
    backend.llm.reset()
    again = reader.score("대통령은 중임할 수 있나요?", passages, terms)
    assert again.cached_tokens == 0 and again.prompt_tokens == len(tokens)
    assert again.score == pytest.approx(second.score, abs=0.3)
