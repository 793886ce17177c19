from __future__ import annotations

from pathlib import Path

import pytest

from hanstack.config import load_settings
from hanstack.errors import InvalidInputError, ModelNotFoundError, ModelUnavailableError
from hanstack.llm import EXTRACTIVE_LABEL, ChatMessage, get_backend, resolve_auto
from hanstack.llm.extractive import NO_SUPPORT, ExtractiveBackend

DOC = (
    "대한민국의 수도는 서울이다. 서울에는 약 940만 명이 산다. "
    "부산은 대한민국 제2의 도시이며 항구 도시로 유명하다. 제주도는 감귤로 유명한 섬이다."
)


@pytest.fixture()
def settings(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("HANSTACK_MODELS_CACHE", raising=False)
    return load_settings(workspace)


def test_extract_best_supported_sentence(kiwi) -> None:
    ex = ExtractiveBackend(k=1)
    found = ex.extract("부산은 어떤 도시인가요?", [DOC])
    assert found and found[0].text.startswith("부산은")
    assert DOC[found[0].start : found[0].end].strip() == found[0].text


def test_a_question_in_the_source_is_never_the_extract(kiwi) -> None:
    faq = (
        "메타버스 플랫폼에서 수작업 하는 부분을 자동화 가능할까요? "
        "네, 메타버스 플랫폼의 수작업 부분은 자동화 도구로 대부분 자동화할 수 있습니다."
    )
    found = ExtractiveBackend(k=2).extract("메타버스 플랫폼의 수작업 자동화가 가능한가요?", [faq])
    # the FAQ's question shares more of the question's words, but it asserts nothing
    assert [e.text for e in found] == [
        "네, 메타버스 플랫폼의 수작업 부분은 자동화 도구로 대부분 자동화할 수 있습니다."
    ]


def test_chat_is_labelled_and_reads_source_blocks(kiwi) -> None:
    ex = ExtractiveBackend(k=2)
    msgs = [
        ChatMessage("system", "문서에 근거해 답하세요."),
        ChatMessage("user", f"<source id=1>{DOC}</source>\n질문: 제주도는 무엇으로 유명한가요?"),
    ]
    res = ex.chat(msgs)
    assert res.extractive and res.model == "extractive"
    assert res.text.startswith(EXTRACTIVE_LABEL) and "감귤" in res.text
    assert "".join(ex.stream(msgs)) == res.text


def test_chat_without_support_says_so(kiwi) -> None:
    res = ExtractiveBackend().chat(
        [ChatMessage("system", DOC), ChatMessage("user", "화성 탐사선 발사 일정은?")]
    )
    assert NO_SUPPORT in res.text


def test_extractive_needs_a_question() -> None:
    with pytest.raises(InvalidInputError):
        ExtractiveBackend().chat([ChatMessage("system", DOC)])


def test_factory_bad_names(settings) -> None:
    with pytest.raises(ModelNotFoundError) as exc:
        get_backend(settings, "llama-9000")
    assert "tiny-test" in (exc.value.hint or "")
    with pytest.raises(ModelUnavailableError, match="not downloaded") as exc2:
        get_backend(settings, "small")
    assert exc2.value.hint == "hanstack models pull small"
    assert isinstance(get_backend(settings, "extractive"), ExtractiveBackend)


def test_auto_falls_back_to_extractive_when_nothing_is_pulled(settings) -> None:
    assert resolve_auto(settings) == "extractive"
    assert get_backend(settings, "auto").info.kind == "extractive"


def test_server_down_names_the_url(settings) -> None:
    from tests.llm.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = get_backend(settings, url)
    with pytest.raises(ModelUnavailableError) as exc:
        backend.chat([ChatMessage("user", "안녕")])
    assert url in exc.value.message
    with pytest.raises(ModelUnavailableError):
        list(backend.stream([ChatMessage("user", "안녕")]))
