"""The ModelBackend protocol and the value types every backend speaks.

Callers (grounded answers, the gateway, tasks) code against :class:`ModelBackend` only; the
concrete backends live in :mod:`hanstack.llm.llamacpp`, :mod:`hanstack.llm.openai_compat` and
:mod:`hanstack.llm.extractive`, and :func:`hanstack.llm.get_backend` picks one by name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()

    def to_openai(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.name:
            out["name"] = self.name
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        if self.tool_calls:
            out["tool_calls"] = [tc.to_openai() for tc in self.tool_calls]
        return out

    @classmethod
    def from_openai(cls, data: dict[str, Any]) -> ChatMessage:
        """Accept an OpenAI-style message dict (content may be a list of text parts)."""
        content = data.get("content") or ""
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        calls = tuple(ToolCall.from_openai(tc) for tc in data.get("tool_calls") or ())
        return cls(
            role=data.get("role", "user"),
            content=str(content),
            name=data.get("name"),
            tool_call_id=data.get("tool_call_id"),
            tool_calls=calls,
        )


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str
    """JSON text of the arguments, as OpenAI sends it."""

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }

    @classmethod
    def from_openai(cls, data: dict[str, Any]) -> ToolCall:
        fn = data.get("function") or {}
        args = fn.get("arguments", "{}")
        if not isinstance(args, str):
            import json

            args = json.dumps(args, ensure_ascii=False)
        return cls(id=str(data.get("id") or ""), name=str(fn.get("name") or ""), arguments=args)


@dataclass(slots=True)
class Timings:
    """Seconds. ``ttft_s`` is time to the first generated token (prompt processing included)."""

    total_s: float = 0.0
    ttft_s: float | None = None
    prompt_tokens_per_s: float | None = None
    tokens_per_s: float | None = None
    cached_prompt_tokens: int = 0
    """Prompt tokens whose KV state was reused from the previous call (llama.cpp prefix match)."""


@dataclass(slots=True)
class ChatResult:
    text: str
    finish_reason: str = "stop"
    """``stop``, ``length`` or ``tool_calls``."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: list[ToolCall] = field(default_factory=list)
    model: str = ""
    timings: Timings = field(default_factory=Timings)
    extractive: bool = False
    """True when no model generated this text (the extractive backend): label it as such."""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    kind: Literal["llamacpp", "openai", "extractive"]
    tier: str | None = None
    context_length: int = 4096
    family: str | None = None
    path: str | None = None
    base_url: str | None = None
    supports_json_schema: bool = True
    supports_tools: bool = True
    exact_tokenizer: bool = True
    """False when ``count_tokens`` is an estimate (no tokenizer reachable)."""


@runtime_checkable
class ModelBackend(Protocol):
    """What every model backend offers. All text in and out is ``str`` (UTF-8 safe)."""

    info: ModelInfo

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        json_schema: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> ChatResult: ...

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
        """Text deltas; never a split UTF-8 sequence, never U+FFFD.

        Pass a ``ChatResult`` as ``result`` to get the full text, token counts, finish reason and
        timings (TTFT) filled in when the stream ends.
        """
        ...

    def count_tokens(self, text: str) -> int: ...


def as_messages(messages: Sequence[ChatMessage | dict[str, Any]] | str) -> list[ChatMessage]:
    """Normalise a prompt string, OpenAI dicts or ChatMessages to a list of ChatMessage."""
    if isinstance(messages, str):
        return [ChatMessage("user", messages)]
    return [m if isinstance(m, ChatMessage) else ChatMessage.from_openai(m) for m in messages]
