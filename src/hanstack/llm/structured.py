"""Structured output: pydantic model → JSON schema → constrained decoding → validation → repair → escalation.

:func:`generate_structured` asks the backend for JSON under the schema (a llama.cpp grammar in
process, ``response_format`` over HTTP), parses and validates it. On failure it makes one repair
attempt (the invalid output and the validation error go back to the model, constrained), then
moves to the next tier in :data:`~hanstack.llm.catalog.TIER_ORDER` that is pulled, and finally
raises :class:`StructuredOutputError` listing every attempt. Values come back as real Python
strings: Korean stays Korean (no ``\\uXXXX``), and every JSON this module writes uses
``ensure_ascii=False``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from hanstack.errors import HanstackError, ModelError, StructuredOutputError
from hanstack.llm.catalog import next_tier, pulled_tiers
from hanstack.llm.types import ChatMessage, ChatResult, ModelBackend

if TYPE_CHECKING:
    from hanstack.config import Settings

Mode = Literal["constrained", "unconstrained", "repair"]

SCHEMA_INSTRUCTION = "다음 JSON 스키마를 따르는 JSON 객체 하나만 출력하세요. 설명이나 코드 블록 없이 JSON만 출력합니다.\nJSON 스키마: "
REPAIR_INSTRUCTION = (
    "방금 출력한 내용은 스키마에 맞는 JSON이 아닙니다. 오류: {error}\n"
    "같은 내용을 스키마에 맞는 JSON 객체 하나로 다시 출력하세요. JSON만 출력합니다."
)


@dataclass
class Attempt:
    model: str
    mode: Mode
    ok: bool
    error: str | None = None
    raw: str = ""


@dataclass
class StructuredResult:
    value: Any
    """A validated instance of the pydantic model, or a dict validated against the JSON schema."""
    raw: str
    model: str
    attempts: list[Attempt] = field(default_factory=list)
    chat: ChatResult | None = None
    truncated_input: bool = False
    """Set by tasks that had to cut the input to fit the context window."""

    def as_dict(self) -> dict[str, Any]:
        return self.value.model_dump(mode="json") if isinstance(self.value, BaseModel) else dict(self.value)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=indent)


SchemaLike = type[BaseModel] | dict[str, Any]


def json_schema_of(schema: SchemaLike) -> dict[str, Any]:
    if isinstance(schema, dict):
        return schema
    return schema.model_json_schema()


def validator_of(schema: SchemaLike) -> type[BaseModel]:
    return model_from_schema(schema) if isinstance(schema, dict) else schema


_FENCE_RE = re.compile(r"^```(?:json)?\s*|\s*```$", re.I)


def extract_json(text: str) -> Any:
    """Parse the JSON object in a model reply (tolerates code fences and text around it)."""
    s = _FENCE_RE.sub("", text.strip())
    try:
        return json.loads(s, strict=False)  # raw newlines inside strings: common, harmless
    except ValueError:
        pass
    start, end = s.find("{"), s.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the output")
    return json.loads(s[start : end + 1], strict=False)


def parse_and_validate(text: str, schema: SchemaLike) -> Any:
    """The validated value, or ValueError with a short reason."""
    try:
        data = extract_json(text)
    except ValueError as exc:
        raise ValueError(f"invalid JSON: {exc}") from exc
    model = validator_of(schema)
    try:
        inst = model.model_validate(data)
    except ValidationError as exc:
        errs = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()[:5])
        raise ValueError(f"schema violation: {errs}") from exc
    return inst if isinstance(schema, type) else inst.model_dump(mode="json", exclude_unset=True)


def with_schema_instruction(messages: Sequence[ChatMessage], schema: dict[str, Any]) -> list[ChatMessage]:
    """Put the schema in the system message (the model should know the fields even when constrained)."""
    text = SCHEMA_INSTRUCTION + json.dumps(schema, ensure_ascii=False)
    msgs = list(messages)
    if msgs and msgs[0].role == "system":
        return [ChatMessage("system", msgs[0].content + "\n\n" + text), *msgs[1:]]
    return [ChatMessage("system", text), *msgs]


def generate_structured(
    backend: ModelBackend,
    messages: Sequence[ChatMessage],
    schema: SchemaLike,
    *,
    settings: Settings | None = None,
    constrained: bool = True,
    repair: bool = True,
    escalate: bool = True,
    max_tokens: int = 512,
    temperature: float = 0.0,
    include_schema: bool = True,
    backend_factory: Callable[[str], ModelBackend] | None = None,
    decode_schema: dict[str, Any] | None = None,
) -> StructuredResult:
    """Structured output with validation, one repair attempt and tier escalation (see the module docstring).

    Escalation needs ``settings`` (to find pulled tiers) or ``backend_factory`` (tier name → backend);
    without either, only the given backend is tried. ``decode_schema`` is what the decoder is
    constrained by when it should be narrower than what is validated (the answerer restricts quotes
    to the sources' sentences in the grammar, while an output that escapes it is still parsed and
    left to the support check rather than discarded).
    """
    js = json_schema_of(schema)
    prompt = with_schema_instruction(messages, js) if include_schema else list(messages)
    attempts: list[Attempt] = []
    current: ModelBackend | None = backend
    while current is not None:
        found = _try_backend(
            current,
            prompt,
            schema,
            decode_schema or js,
            attempts,
            constrained=constrained,
            repair=repair,
            max_tokens=max_tokens,
            temperature=temperature,
        )
        if found is not None:
            return found
        current = _next_backend(current, settings, backend_factory) if escalate else None
    lines = "; ".join(f"{a.model}/{a.mode}: {a.error}" for a in attempts)
    raise StructuredOutputError(
        f"no valid output under the schema after {len(attempts)} attempt(s): {lines}",
        hint="pull a larger tier (hanstack models pull large), simplify the schema, or raise max_tokens",
    )


def _try_backend(
    backend: ModelBackend,
    prompt: list[ChatMessage],
    schema: SchemaLike,
    js: dict[str, Any],
    attempts: list[Attempt],
    *,
    constrained: bool,
    repair: bool,
    max_tokens: int,
    temperature: float,
) -> StructuredResult | None:
    name = backend.info.name
    if not backend.info.supports_json_schema and constrained:
        attempts.append(Attempt(name, "constrained", False, "backend cannot produce structured output"))
        return None
    mode: Mode = "constrained" if constrained else "unconstrained"
    plan: list[Mode] = [mode, "repair"] if repair else [mode]
    msgs = prompt
    for step in plan:
        use_schema = step != "unconstrained" and backend.info.supports_json_schema
        try:
            res = backend.chat(
                msgs, max_tokens=max_tokens, temperature=temperature, json_schema=js if use_schema else None
            )
        except StructuredOutputError as exc:
            attempts.append(Attempt(name, step, False, exc.message))
            return None
        except (ModelError, HanstackError) as exc:
            attempts.append(Attempt(name, step, False, f"{type(exc).__name__}: {exc.message}"))
            return None
        try:
            value = parse_and_validate(res.text, schema)
        except ValueError as exc:
            err = str(exc)
            if res.finish_reason == "length":
                err += f" (output cut at max_tokens={max_tokens})"
            attempts.append(Attempt(name, step, False, err, res.text))
            msgs = [
                *prompt,
                ChatMessage("assistant", res.text),
                ChatMessage("user", REPAIR_INSTRUCTION.format(error=err)),
            ]
            continue
        attempts.append(Attempt(name, step, True, None, res.text))
        return StructuredResult(
            value=value, raw=res.text, model=res.model or name, attempts=attempts, chat=res
        )
    return None


def _next_backend(
    current: ModelBackend, settings: Settings | None, factory: Callable[[str], ModelBackend] | None
) -> ModelBackend | None:
    tier = current.info.tier
    if tier is None:
        return None
    available = pulled_tiers(settings) if settings is not None and factory is None else None
    nxt = next_tier(tier)
    while nxt is not None:
        if available is None or nxt in available:
            if factory is not None:
                return factory(nxt)
            if settings is not None:
                from hanstack.llm import get_backend

                return get_backend(settings, nxt)
            return None
        nxt = next_tier(nxt)
    return None


# --- JSON schema → pydantic (to validate user-given schemas) -------------------------------------
_SIMPLE: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "null": type(None),
}


def model_from_schema(schema: dict[str, Any], *, name: str | None = None) -> type[BaseModel]:
    """A pydantic model that validates the common JSON-schema subset (object, properties, required,
    type, enum, const, items, nested objects, ``$ref`` into ``$defs``/``definitions``, anyOf)."""
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    if schema.get("type", "object") != "object" and "properties" not in schema:
        raise ValueError("the top level of a structured-output schema must be an object")
    return _object_model(schema, defs, name or str(schema.get("title") or "Output"), {})


def _object_model(
    schema: dict[str, Any], defs: dict[str, Any], name: str, seen: dict[str, type[BaseModel]]
) -> type[BaseModel]:
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    fields: dict[str, Any] = {}
    for key, sub in props.items():
        tp = _type_of(sub, defs, f"{name}_{key}", seen)
        desc = sub.get("description") if isinstance(sub, dict) else None
        if key in required:
            fields[key] = (tp, Field(..., description=desc))
        else:
            default = sub.get("default") if isinstance(sub, dict) else None
            fields[key] = (tp | None, Field(default, description=desc))
    extra: Literal["forbid", "allow"] = "forbid" if schema.get("additionalProperties") is False else "allow"
    safe = re.sub(r"\W", "_", name) or "Output"
    return create_model(safe, __config__=ConfigDict(extra=extra), **fields)  # type: ignore[call-overload, no-any-return]


def _type_of(sub: Any, defs: dict[str, Any], name: str, seen: dict[str, type[BaseModel]]) -> Any:
    if not isinstance(sub, dict) or not sub:
        return Any
    if "$ref" in sub:
        ref = sub["$ref"].split("/")[-1]
        if ref not in seen:
            target = defs.get(ref)
            if target is None:
                raise ValueError(f"unresolved $ref {sub['$ref']}")
            if target.get("type") == "object" or "properties" in target:
                seen[ref] = _object_model(target, defs, ref, seen)
            else:
                return _type_of(target, defs, ref, seen)
        return seen[ref]
    if "enum" in sub:
        return Literal[tuple(sub["enum"])]
    if "const" in sub:
        return Literal[sub["const"]]
    for key in ("anyOf", "oneOf"):
        if key in sub:
            options = tuple(_type_of(s, defs, f"{name}_{i}", seen) for i, s in enumerate(sub[key]))
            return Union[options]  # noqa: UP007 - built at run time
    tp = sub.get("type")
    if isinstance(tp, list):
        return Union[tuple(_type_of({**sub, "type": t}, defs, name, seen) for t in tp)]  # noqa: UP007
    if tp == "array":
        return list[_type_of(sub.get("items", {}), defs, f"{name}_item", seen)]  # type: ignore[misc]
    if tp == "object" or "properties" in sub:
        if "properties" in sub:
            return _object_model(sub, defs, name, seen)
        return dict[str, Any]
    return _SIMPLE.get(str(tp), Any)
