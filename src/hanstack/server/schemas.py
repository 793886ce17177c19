"""Request and response bodies of the HTTP API (pydantic; they are the OpenAPI spec).

The OpenAI-compatible bodies accept what the official client sends and ignore fields hanstack does
not use (``extra="ignore"``), so new client versions keep working; wrong *types* are still 400s.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- /v1/chat/completions ---------------------------------------------------------------------
class ContentPart(_Lenient):
    type: str
    text: str | None = None


class FunctionCall(_Lenient):
    name: str
    arguments: str | dict[str, Any] = "{}"


class ToolCallIn(_Lenient):
    id: str = ""
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content if p.type == "text")


class FunctionDef(_Lenient):
    name: str = Field(min_length=1, max_length=64)
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class Tool(_Lenient):
    type: Literal["function"] = "function"
    function: FunctionDef


class JsonSchemaFormat(_Lenient):
    name: str = "response"
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class ResponseFormat(_Lenient):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class StreamOptions(_Lenient):
    include_usage: bool = False


class ChatCompletionRequest(_Lenient):
    model: str = Field(min_length=1, max_length=200)
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int = Field(default=1, ge=1, le=1, description="Only n=1 is supported.")
    stop: str | list[str] | None = None
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: ResponseFormat | None = None
    user: str | None = Field(default=None, max_length=256)
    seed: int | None = None


# --- /v1/embeddings ---------------------------------------------------------------------------
class EmbeddingsRequest(_Lenient):
    model: str = Field(min_length=1)
    input: str | list[str] = Field(description="Text or list of texts (token-id input is not supported).")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None


# --- hanstack routes --------------------------------------------------------------------------
class AskRequest(Strict):
    question: str = Field(min_length=1, max_length=4000)
    model: str | None = Field(default=None, description="small, large, auto, extractive, or a catalog name")
    k: int | None = Field(default=None, ge=1, le=50)
    groups: list[str] | None = Field(
        default=None,
        description="Narrow the search to these of the key's groups (default: all of them and public)",
    )


class TaskRequest(Strict):
    text: str = Field(min_length=1, max_length=100_000)
    model: str | None = None
    categories: list[str] | None = Field(default=None, description="triage: categories to choose from")
    labels: list[str] | None = Field(default=None, description="classify: the labels (required)")
    schema_: dict[str, Any] | None = Field(
        default=None, alias="schema", description="extract: JSON schema (required)"
    )
    max_tokens: int | None = Field(default=None, ge=8, le=4096, description="summarize: token budget")


class TokenizeRequest(Strict):
    text: str | list[str]
    tokenizer: str = Field(default="qwen-2.5", description="tokenizer preset or model name")
    tokens: bool = Field(default=False, description="also return the token pieces")


class UsageResponse(BaseModel):
    tenant: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    cache_hits: int
