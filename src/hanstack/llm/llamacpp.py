"""In-process llama.cpp backend (llama-cpp-python).

We run our own generation loop over ``Llama.generate`` instead of ``create_chat_completion`` so that:

- every streamed delta goes through :class:`~hanstack.llm.utf8.Utf8StreamDecoder` (token byte
  pieces that end mid-syllable are held back, never turned into U+FFFD);
- the KV cache is reused between calls that share a prompt prefix: ``Llama.generate`` keeps the
  tokens it evaluated last time and only evaluates the new suffix. One Llama object is kept per
  model file and process (loading takes seconds), and callers that lay prompts out as *fixed
  instructions → sources → question* get the prefix for free. ``Timings.cached_prompt_tokens``
  reports how much was reused;
- JSON-schema constrained decoding uses a GBNF grammar built once per schema.

llama.cpp contexts are not thread-safe: one lock per loaded model serialises calls.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from hanstack.errors import InvalidInputError, MissingDependencyError, ModelError, ModelUnavailableError
from hanstack.llm.types import ChatMessage, ChatResult, ModelInfo, ToolCall
from hanstack.llm.utf8 import StopScanner, Utf8StreamDecoder

log = logging.getLogger(__name__)

# Chat templates for GGUFs that carry none (base models) or a template llama.cpp's Jinja can't run.
FALLBACK_TEMPLATES: dict[str, str] = {
    "gemma": (
        "{{ bos_token }}"
        "{% for m in messages %}"
        "{% if m['role'] == 'system' %}<start_of_turn>user\n{{ m['content'] }}<end_of_turn>\n"
        "{% elif m['role'] == 'assistant' %}<start_of_turn>model\n{{ m['content'] }}<end_of_turn>\n"
        "{% else %}<start_of_turn>user\n{{ m['content'] }}<end_of_turn>\n{% endif %}"
        "{% endfor %}"
        "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
    ),
    "chatml": (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    ),
}
TEMPLATE_STOPS = ("<end_of_turn>", "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "[|endofturn|]")

_TOOL_CALL_RE = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)


def _import_llama() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise MissingDependencyError("llama-cpp-python", "llm", "the in-process model backend") from exc
    return llama_cpp


@dataclass
class _Loaded:
    llm: Any
    lock: threading.Lock
    path: str


_LOADED: dict[tuple[str, int, int], _Loaded] = {}
_LOAD_LOCK = threading.Lock()


def load_model(path: Path, *, n_ctx: int, n_threads: int) -> _Loaded:
    """The process-wide Llama object for ``path`` (loaded once)."""
    key = (str(path), n_ctx, n_threads)
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        llama_cpp = _import_llama()
        if not path.is_file():
            raise ModelUnavailableError(f"model file {path} is missing")
        t0 = time.perf_counter()
        try:
            llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_batch=512,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"llama.cpp could not load {path}: {exc}", hint="re-pull or verify the file"
            ) from exc
        log.info("loaded %s in %.1fs", path.name, time.perf_counter() - t0)
        loaded = _Loaded(llm, threading.Lock(), str(path))
        _LOADED[key] = loaded
        return loaded


def unload_all() -> None:
    """Drop every cached model (tests, memory pressure)."""
    with _LOAD_LOCK:
        for item in _LOADED.values():
            item.llm.close()
        _LOADED.clear()


# Close models while the interpreter is still whole: llama-cpp-python's __del__ at shutdown
# otherwise prints "TypeError: 'NoneType' object is not callable" for every loaded model.
atexit.register(unload_all)


def schema_to_gbnf(schema_json: str) -> str:
    """GBNF for a JSON schema: llama-cpp-python's converter with string constants escaped right.

    Its converter writes an ``enum``/``const`` string as ``json.dumps(value)`` inside a GBNF literal
    and escapes ``"`` but not ``\\``, so a value holding a double quote (``… (2021), "농식품 …``,
    common in quoted source sentences) turns JSON's ``\\"`` into GBNF's ``\\\\"``: an escaped
    backslash and the end of the literal. llama.cpp then fails to parse the grammar and its sampler
    crashes the process (SIGSEGV). Here constants are dumped with ``ensure_ascii=False`` (the model
    writes the characters, not ``\\uXXXX`` escapes, as it already did through GBNF's own escapes)
    and their backslashes doubled before the converter's escaping.
    """
    _import_llama()  # a clear MissingDependencyError when llama-cpp-python is absent
    from llama_cpp.llama_grammar import SchemaConverter

    class _Converter(SchemaConverter):  # type: ignore[misc]  # untyped library class
        def _generate_constant_rule(self, value: Any) -> str:
            return str(self._format_literal(json.dumps(value, ensure_ascii=False).replace("\\", "\\\\")))

    converter = _Converter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    schema = converter.resolve_refs(json.loads(schema_json), "stdin")
    converter.visit(schema, "")
    return str(converter.format_grammar())


@lru_cache(maxsize=64)
def _grammar(schema_json: str) -> Any:
    llama_cpp = _import_llama()
    try:
        return llama_cpp.LlamaGrammar.from_string(schema_to_gbnf(schema_json), verbose=False)
    except Exception as exc:  # llama.cpp's converter raises bare Exceptions / ValueErrors
        raise InvalidInputError(f"cannot turn the JSON schema into a grammar: {exc}") from exc


def check_grammar(vocab: Any, grammar: Any) -> None:
    """Parse ``grammar`` with llama.cpp itself before generating with it.

    llama.cpp reports a grammar it cannot parse only on stderr and returns a NULL sampler, which
    the generation loop then dereferences: the process dies. Asking for the sampler once here turns
    that into an error the caller can handle.
    """
    llama_cpp = _import_llama()
    sampler = llama_cpp.llama_sampler_init_grammar(
        vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
    )
    if not sampler:
        raise InvalidInputError(
            "llama.cpp cannot parse the grammar made from this JSON schema (its message is on stderr)",
            hint="simplify the schema; string constants with unusual characters are the usual cause",
        )
    llama_cpp.llama_sampler_free(sampler)


def default_threads(n: int = 0) -> int:
    """``models.n_threads``, or for 0 one thread less than the cores this process may use.

    llama.cpp's worker threads spin on barriers: when every core is asked for and anything else is
    running (an embedder, a second request, a test suite), decoding slows down by an order of
    magnitude (measured here: 0.5 vs 5-6 tok/s for the tiny model on 2 busy cores). Leaving one
    core free costs some peak speed on an idle machine and avoids that cliff.
    """
    if n > 0:
        return n
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


class LlamaCppBackend:
    """A GGUF model run in this process."""

    def __init__(
        self,
        path: Path,
        *,
        name: str,
        tier: str | None = None,
        family: str | None = None,
        n_ctx: int = 4096,
        n_threads: int = 0,
        chat_format: str | None = None,
    ) -> None:
        self._loaded = load_model(path, n_ctx=n_ctx, n_threads=default_threads(n_threads))
        self.llm = self._loaded.llm
        self.n_ctx = self.llm.n_ctx()
        template = None if chat_format else self.llm.metadata.get("tokenizer.chat_template")
        if template is None:
            template = FALLBACK_TEMPLATES.get(chat_format or "chatml", FALLBACK_TEMPLATES["chatml"])
        self._template_src = template
        self._formatter = self._make_formatter(template)
        self._template_knows_tools = "tools" in template
        llama_cpp = _import_llama()
        self._vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        self._pieces: dict[int, bytes] = {}
        self.info = ModelInfo(
            name=name, kind="llamacpp", tier=tier, context_length=self.n_ctx, family=family, path=str(path)
        )

    # --- prompt -----------------------------------------------------------------------------
    def _make_formatter(self, template: str) -> Any:
        from llama_cpp import llama_chat_format

        model = self.llm._model
        eos, bos = self.llm.token_eos(), self.llm.token_bos()
        return llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "",
        )

    def format_prompt(
        self, messages: Sequence[ChatMessage], tools: list[dict[str, Any]] | None = None
    ) -> str:
        """The prompt text the model sees (chat template applied, generation prompt added)."""
        return self._format(messages, tools)[0]

    def _format(
        self, messages: Sequence[ChatMessage], tools: list[dict[str, Any]] | None
    ) -> tuple[str, list[str]]:
        msgs = [m.to_openai() for m in messages]
        if tools and not self._template_knows_tools:
            msgs = [{"role": "system", "content": _tools_instruction(tools)}, *msgs]
        try:
            res = self._formatter(messages=msgs, tools=tools or None)
        except Exception as exc:  # jinja errors of a model's own template
            raise InvalidInputError(f"the model's chat template rejected the messages: {exc}") from exc
        stop = res.stop
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        return str(res.prompt), stops

    def tokenize(self, text: str, *, special: bool = False, add_bos: bool = False) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special))

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def token_piece(self, token: int) -> bytes:
        """The raw bytes of one token (may be part of a UTF-8 character)."""
        piece = self._pieces.get(token)
        if piece is None:
            llama_cpp = _import_llama()
            size = 64
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, size, 0, False)
            if n < 0:
                size = -n
                buf = ctypes.create_string_buffer(size)
                n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, size, 0, False)
            piece = buf.raw[: max(n, 0)]
            self._pieces[token] = piece
        return piece

    # --- generation ---------------------------------------------------------------------------
    def _generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None,
        json_schema: dict[str, Any] | None,
        tools: list[dict[str, Any]] | None,
        result: ChatResult,
    ) -> Iterator[str]:
        llama_cpp = _import_llama()
        prompt, template_stops = self._format(messages, tools)
        tokens = self.tokenize(prompt, special=True, add_bos=False)
        if len(tokens) >= self.n_ctx - 1:
            raise InvalidInputError(
                f"prompt has {len(tokens)} tokens; the context window is {self.n_ctx}",
                hint="shorten the input or raise models.n_ctx",
            )
        max_tokens = max(1, min(max_tokens, self.n_ctx - len(tokens) - 1))
        grammar = _grammar(json.dumps(json_schema, ensure_ascii=False)) if json_schema is not None else None
        if grammar is not None:
            check_grammar(self._vocab, grammar)
        scanner = StopScanner([*TEMPLATE_STOPS, *template_stops, *(stop or ())])
        decoder = Utf8StreamDecoder()
        text_parts: list[str] = []
        result.prompt_tokens = len(tokens)
        result.model = self.info.name
        t0 = time.perf_counter()
        with self._loaded.lock:
            cached = _common_prefix(self.llm._input_ids.tolist(), tokens)
            result.timings.cached_prompt_tokens = min(cached, len(tokens) - 1) if cached else 0
            n = 0
            finish = "length"
            ttft = None
            for tok in self.llm.generate(
                tokens,
                temp=temperature,
                top_k=40,
                top_p=0.95,
                min_p=0.05,
                repeat_penalty=1.0,
                grammar=grammar,
            ):
                if ttft is None:
                    ttft = time.perf_counter() - t0
                if llama_cpp.llama_vocab_is_eog(self._vocab, tok):
                    finish = "stop"
                    break
                n += 1
                delta = scanner.push(decoder.feed(self.token_piece(tok)))
                if delta:
                    text_parts.append(delta)
                    yield delta
                if scanner.stopped:
                    finish = "stop"
                    break
                if n >= max_tokens:
                    break
            tail = scanner.push(decoder.flush()) + scanner.flush()
        if tail:
            text_parts.append(tail)
            yield tail
        total = time.perf_counter() - t0
        text = "".join(text_parts)
        result.text = text
        result.completion_tokens = n
        result.finish_reason = finish
        result.timings.total_s = total
        result.timings.ttft_s = ttft
        new_prompt = len(tokens) - result.timings.cached_prompt_tokens
        if ttft:
            result.timings.prompt_tokens_per_s = new_prompt / ttft if new_prompt else None
        if n > 1 and ttft is not None and total > ttft:
            result.timings.tokens_per_s = (n - 1) / (total - ttft)
        if tools:
            calls = parse_tool_calls(text, {t.get("function", t).get("name") for t in tools})
            if calls:
                result.tool_calls = calls
                result.finish_reason = "tool_calls"
                result.text = _TOOL_CALL_RE.sub("", text).strip()

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
        result = ChatResult(text="")
        for _ in self._generate(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            stop=stop,
            json_schema=json_schema,
            tools=tools,
            result=result,
        ):
            pass
        return result

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
        """Text deltas; pass ``result`` to read token counts and timings when the stream ends."""
        yield from self._generate(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            stop=stop,
            json_schema=json_schema,
            tools=None,
            result=result if result is not None else ChatResult(text=""),
        )


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _tools_instruction(tools: list[dict[str, Any]]) -> str:
    specs = json.dumps([t.get("function", t) for t in tools], ensure_ascii=False)
    return (
        "You can call these tools:\n" + specs + "\nTo call one, answer only with "
        '<tool_call>{"name": "<tool name>", "arguments": {...}}</tool_call>'
    )


def parse_tool_calls(text: str, allowed: set[str | None]) -> list[ToolCall]:
    """Tool calls in Qwen/Hermes style ``<tool_call>{...}</tool_call>`` (or a bare JSON object)."""
    blobs = _TOOL_CALL_RE.findall(text)
    if not blobs and text.strip().startswith("{"):
        blobs = [text.strip()]
    calls: list[ToolCall] = []
    for blob in blobs:
        try:
            data = json.loads(blob)
        except ValueError:
            continue
        if not isinstance(data, dict) or data.get("name") not in allowed:
            continue
        args = data.get("arguments", data.get("parameters", {}))
        calls.append(
            ToolCall(
                id=f"call_{uuid.uuid4().hex[:12]}",
                name=str(data["name"]),
                arguments=args if isinstance(args, str) else json.dumps(args, ensure_ascii=False),
            )
        )
    return calls
