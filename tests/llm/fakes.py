"""A scripted backend for testing the structured-output policy without a model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from hanstack.llm.types import ChatMessage, ChatResult, ModelInfo


class ScriptedBackend:
    def __init__(
        self, name: str, tier: str | None, replies: list[str], *, supports_json_schema: bool = True
    ) -> None:
        self.info = ModelInfo(
            name=name, kind="llamacpp", tier=tier, supports_json_schema=supports_json_schema
        )
        self.replies = list(replies)
        self.calls: list[dict[str, Any]] = []

    def chat(self, messages: Sequence[ChatMessage], **kw: Any) -> ChatResult:
        self.calls.append({"messages": list(messages), **kw})
        text = self.replies.pop(0) if self.replies else "not json"
        return ChatResult(text=text, model=self.info.name)

    def stream(self, messages: Sequence[ChatMessage], **kw: Any) -> Iterator[str]:
        yield self.chat(messages, **kw).text

    def count_tokens(self, text: str) -> int:
        return len(text)
