"""The in-process llama.cpp backend on the real tiny-test model (Gemma 3 270M base)."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from hanstack.errors import InvalidInputError
from hanstack.llm import ChatMessage, ChatResult
from hanstack.llm.structured import generate_structured
from hanstack.llm.utf8 import REPLACEMENT, decode_pieces

pytestmark = pytest.mark.model


class Person(BaseModel):
    name: str = Field(max_length=20)
    city: str = Field(max_length=20)


KOREAN = "대한민국 헌법은 국민의 기본권을 보장하며, 모든 국민은 법 앞에 평등하다. 뷁똠"


def test_info_and_count_tokens(tiny) -> None:
    assert tiny.info.kind == "llamacpp" and tiny.info.tier == "tiny-test"
    assert tiny.info.context_length == 2048
    n = tiny.count_tokens(KOREAN)
    assert 10 < n < 80
    assert tiny.count_tokens("") == 0


def test_chat_and_stream_agree_and_are_utf8_safe(tiny) -> None:
    msgs = [ChatMessage("user", "한국의 수도는 어디인가요? 한국어로 답하세요.")]
    res = tiny.chat(msgs, max_tokens=24)
    assert res.completion_tokens > 0 and res.prompt_tokens > 5
    assert res.finish_reason in ("stop", "length")
    assert res.timings.ttft_s is not None and res.timings.ttft_s > 0
    streamed = ChatResult(text="")
    deltas = list(tiny.stream(msgs, max_tokens=24, result=streamed))
    assert "".join(deltas) == res.text == streamed.text
    assert all(d and REPLACEMENT not in d for d in deltas)


def test_real_tokens_that_end_mid_character(tiny) -> None:
    """Byte-fallback tokens of the real vocabulary split rare syllables; the decoder rebuilds them."""
    toks = tiny.tokenize(KOREAN)
    pieces = [tiny.token_piece(t) for t in toks]
    assert b"".join(pieces).decode("utf-8").strip() == KOREAN
    broken = [p for p in pieces if not _valid(p)]
    assert broken, "expected byte-fallback pieces for 뷁/똠"
    deltas = list(decode_pieces(pieces))
    assert "".join(deltas).strip() == KOREAN and all(REPLACEMENT not in d for d in deltas)


def _valid(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_constrained_json_is_valid_and_korean(tiny) -> None:
    msgs = [ChatMessage("user", "다음 문장에서 이름과 도시를 JSON으로: 김민수는 부산에 산다.")]
    res = tiny.chat(msgs, max_tokens=80, json_schema=Person.model_json_schema())
    person = Person.model_validate(json.loads(res.text))
    assert REPLACEMENT not in person.name + person.city


def test_generate_structured_on_the_tiny_model(tiny) -> None:
    out = generate_structured(
        tiny, [ChatMessage("user", "김민수는 부산에 산다.")], Person, max_tokens=80, escalate=False
    )
    assert isinstance(out.value, Person)
    assert "\\u" not in out.to_json()


def test_unconstrained_base_model_fails_then_repair_succeeds(tiny) -> None:
    """The base model cannot follow the schema unconstrained; the constrained repair attempt can."""
    out = generate_structured(
        tiny,
        [ChatMessage("user", "김민수는 부산에 산다.")],
        Person,
        constrained=False,
        max_tokens=60,
        escalate=False,
    )
    modes = [(a.mode, a.ok) for a in out.attempts]
    assert modes[-1] == ("repair", True), modes
    assert modes[0] == ("unconstrained", False)


def test_prefix_cache_is_reused(tiny) -> None:
    shared = "다음은 고객센터 안내문입니다. " * 40
    tiny.chat([ChatMessage("user", shared + "질문 하나")], max_tokens=2)
    second = tiny.chat([ChatMessage("user", shared + "질문 둘")], max_tokens=2)
    assert second.timings.cached_prompt_tokens > 0.8 * second.prompt_tokens


def test_prompt_longer_than_context_is_a_clear_error(tiny) -> None:
    with pytest.raises(InvalidInputError, match="context window"):
        tiny.chat([ChatMessage("user", "가나다라 " * 3000)], max_tokens=4)


def test_stop_strings(tiny) -> None:
    res = tiny.chat(
        [ChatMessage("user", "1부터 20까지 숫자를 쉼표로 나열하세요: 1, 2, 3,")], max_tokens=40, stop=["7"]
    )
    assert "7" not in res.text


# Source sentences as the answer schema offers them for quoting: a double quote and a backslash
# inside a constant broke llama-cpp-python's converter (JSON's \" became GBNF's \\"), and the
# unparsable grammar then crashed the process inside llama.cpp (seen on AutoRAG-ko's OCR'd pages).
AWKWARD_QUOTES = [
    "자료: 유용 홍우진 이승현(2021), \"농식품 라이브커머스 이용의도에 따른 운영전략'. 한국품질경영학회.",
    "경로는 C:\\data\\규정.hwp 입니다.",
    '그는 "예"라고 답했다.',
]


def test_the_library_converter_gets_quotes_wrong_and_the_check_says_so_without_crashing(tiny) -> None:
    import llama_cpp

    from hanstack.llm.llamacpp import check_grammar

    schema = json.dumps({"type": "string", "enum": AWKWARD_QUOTES}, ensure_ascii=False)
    broken = llama_cpp.LlamaGrammar.from_json_schema(schema, verbose=False)
    with pytest.raises(InvalidInputError, match="cannot parse the grammar"):
        check_grammar(tiny._vocab, broken)


def test_enum_constants_with_quotes_and_backslashes_decode_to_themselves(tiny) -> None:
    from hanstack.llm.llamacpp import check_grammar, schema_to_gbnf

    schema = {
        "type": "object",
        "properties": {"quote": {"type": "string", "enum": AWKWARD_QUOTES}},
        "required": ["quote"],
    }
    gbnf = schema_to_gbnf(json.dumps(schema, ensure_ascii=False))
    assert "\\u" not in gbnf  # the characters themselves, not \uXXXX escapes
    import llama_cpp

    check_grammar(tiny._vocab, llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False))
    for wanted in AWKWARD_QUOTES:
        msgs = [ChatMessage("user", f"다음 문장을 그대로 JSON의 quote로 옮기세요: {wanted}")]
        res = tiny.chat(msgs, max_tokens=120, json_schema=schema)
        assert json.loads(res.text)["quote"] in AWKWARD_QUOTES, res.text
