"""A tool-calling loop that enforces a :class:`ToolPolicy` on every call a model proposes.

The loop is backend-agnostic: ``backend_call(messages, tools)`` returns the model's turn (its text and
the tool calls it proposes). :func:`backend_caller` adapts any :class:`hanstack.llm.ModelBackend`;
tests use a scripted proposer. For each proposed call the loop checks, in order: the tool is declared,
its arguments parse and satisfy the tool's JSON schema, the policy allows it (asking ``approver`` when
the policy wants human approval). Allowed calls run through ``executors[name]``; results go back to
the model as ``tool`` messages, wrapped as untrusted data by the injection guard. Refusals go back as
``tool`` messages too, with the policy's reason, so the model can recover — and every decision is in
the returned :class:`ToolLoopResult`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hanstack.errors import InvalidInputError
from hanstack.guard.injection.detector import InjectionDetector, neutralise_document
from hanstack.guard.tools.policy import Decision, ToolPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProposedCall:
    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str = ""
    parse_error: str | None = None


@dataclass(frozen=True, slots=True)
class ModelTurn:
    text: str
    tool_calls: tuple[ProposedCall, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolStep:
    call: ProposedCall
    decision: Decision
    executed: bool
    result: Any = None
    error: str | None = None
    flagged_injection: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.call.name,
            "arguments": self.call.arguments,
            "decision": self.decision.to_dict(),
            "executed": self.executed,
            "result": self.result,
            "error": self.error,
            "flagged_injection": self.flagged_injection,
        }


@dataclass
class ToolLoopResult:
    text: str
    steps: list[ToolStep] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    rounds: int = 0
    stopped: str = "answer"
    """``answer`` (model replied without tool calls) or ``max_rounds``."""

    @property
    def denied(self) -> list[ToolStep]:
        return [s for s in self.steps if not s.decision.allowed]


BackendCall = Callable[[list[dict[str, Any]], list[dict[str, Any]]], Any]
Approver = Callable[[ProposedCall, Decision], bool]


def tool_name(spec: Mapping[str, Any]) -> str:
    fn = spec.get("function", spec)
    name = fn.get("name") if isinstance(fn, Mapping) else None
    if not name:
        raise InvalidInputError(
            f"tool declaration without a name: {spec!r}",
            hint='declare tools as {"type": "function", "function": {"name": ..., "parameters": {...}}}',
        )
    return str(name)


def _parameters(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    fn = spec.get("function", spec)
    params = fn.get("parameters") if isinstance(fn, Mapping) else None
    return params if isinstance(params, Mapping) else {}


def validate_arguments(schema: Mapping[str, Any], args: Mapping[str, Any]) -> str | None:
    """A small JSON-schema check (object properties, required, type, enum, min/max, maxLength)."""
    if not schema:
        return None
    props = schema.get("properties", {}) or {}
    for name in schema.get("required", []) or []:
        if name not in args:
            return f"missing required argument '{name}'"
    if schema.get("additionalProperties") is False:
        extra = sorted(set(args) - set(props))
        if extra:
            return f"unexpected argument(s): {', '.join(extra)}"
    for name, value in args.items():
        spec = props.get(name)
        if not isinstance(spec, Mapping):
            continue
        problem = _check_value(name, value, spec)
        if problem:
            return problem
    return None


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
    "null": (type(None),),
}


def _check_value(name: str, value: Any, spec: Mapping[str, Any]) -> str | None:
    typ = spec.get("type")
    types = [typ] if isinstance(typ, str) else list(typ or [])
    if types:
        ok = any(
            isinstance(value, _TYPES.get(t, object))
            and not (t in ("integer", "number") and isinstance(value, bool))
            for t in types
        )
        if not ok:
            return f"argument '{name}' should be {'/'.join(types)}, got {type(value).__name__}"
    if "enum" in spec and value not in spec["enum"]:
        return f"argument '{name}'={value!r} is not one of {spec['enum']!r}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in spec and value < spec["minimum"]:
            return f"argument '{name}'={value} is below the schema minimum {spec['minimum']}"
        if "maximum" in spec and value > spec["maximum"]:
            return f"argument '{name}'={value} is above the schema maximum {spec['maximum']}"
    if isinstance(value, str) and "maxLength" in spec and len(value) > spec["maxLength"]:
        return f"argument '{name}' is longer than {spec['maxLength']} characters"
    return None


def _as_calls(raw: Any) -> list[ProposedCall]:
    out = []
    for i, c in enumerate(raw or ()):
        if isinstance(c, ProposedCall):
            out.append(c)
            continue
        if isinstance(c, Mapping):
            fn = c.get("function", c)
            name, args, cid = fn.get("name", ""), fn.get("arguments", {}), c.get("id") or f"call_{i}"
        else:
            name, args, cid = (
                getattr(c, "name", ""),
                getattr(c, "arguments", {}),
                getattr(c, "id", "") or f"call_{i}",
            )
        raw_text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
        parsed: Any
        error = None
        if isinstance(args, str):
            try:
                parsed = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as exc:
                parsed, error = {}, f"arguments are not valid JSON: {exc.msg}"
        else:
            parsed = dict(args or {})
        if not isinstance(parsed, dict):
            parsed, error = {}, "arguments must be a JSON object"
        out.append(ProposedCall(str(cid), str(name), parsed, raw_text, error))
    return out


def as_turn(reply: Any) -> ModelTurn:
    """Accept a :class:`ModelTurn`, an ``hanstack.llm`` ChatResult, an OpenAI message dict, or a str."""
    if isinstance(reply, ModelTurn):
        return reply
    if isinstance(reply, str):
        return ModelTurn(reply)
    if isinstance(reply, Mapping):
        msg = reply.get("message", reply)
        return ModelTurn(str(msg.get("content") or ""), tuple(_as_calls(msg.get("tool_calls"))))
    text = getattr(reply, "text", None) or getattr(reply, "content", None) or ""
    return ModelTurn(str(text), tuple(_as_calls(getattr(reply, "tool_calls", None))))


_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)


def calls_in_text(text: str, declared: Mapping[str, Any]) -> list[ProposedCall]:
    """Tool calls a model wrote as plain JSON (``{"name": ..., "arguments": {...}}``, fenced or bare).

    Small models often answer with the call as text instead of the backend's tool-call format; the
    loop treats such text as a proposal too, so it goes through the same checks (never around them).
    """
    blobs = _FENCE.findall(text) or ([text.strip()] if text.strip().startswith("{") else [])
    out = []
    for k, blob in enumerate(blobs):
        try:
            data = json.loads(blob)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and data.get("name") in declared:
            args = data.get("arguments", data.get("parameters", {}))
            out.extend(
                _as_calls([{"id": f"text_call_{k}", "function": {"name": data["name"], "arguments": args}}])
            )
    return out


def run_tool_loop(
    backend_call: BackendCall,
    tools: Sequence[Mapping[str, Any]],
    policy: ToolPolicy,
    *,
    tenant: str,
    role: str,
    messages: Sequence[Mapping[str, Any]],
    executors: Mapping[str, Callable[..., Any]],
    approver: Approver | None = None,
    max_rounds: int = 6,
    detector: InjectionDetector | None = None,
) -> ToolLoopResult:
    """Run model turns until it answers without tool calls (or ``max_rounds``), policing each call."""
    declared = {tool_name(t): t for t in tools}
    history: list[dict[str, Any]] = [dict(m) for m in messages]
    result = ToolLoopResult(text="", messages=history)
    det = detector or InjectionDetector()
    for round_no in range(1, max_rounds + 1):
        result.rounds = round_no
        turn = as_turn(backend_call(history, [dict(t) for t in tools]))
        if not turn.tool_calls:
            turn = ModelTurn(turn.text, tuple(calls_in_text(turn.text, declared)))
        if not turn.tool_calls:
            result.text = turn.text
            history.append({"role": "assistant", "content": turn.text})
            return result
        history.append(
            {
                "role": "assistant",
                "content": turn.text,
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {
                            "name": c.name,
                            "arguments": c.raw_arguments or json.dumps(c.arguments, ensure_ascii=False),
                        },
                    }
                    for c in turn.tool_calls
                ],
            }
        )
        for call in turn.tool_calls:
            step = _one_call(call, declared, policy, tenant, role, executors, approver, det)
            result.steps.append(step)
            if step.executed:
                content = (
                    step.result
                    if isinstance(step.result, str)
                    else json.dumps(step.result, ensure_ascii=False, default=str)
                )
                wrapped = neutralise_document(content, source="tool", detector=det, label=call.name)
                if wrapped.flagged:
                    step = ToolStep(step.call, step.decision, True, step.result, None, True)
                    result.steps[-1] = step
                body = wrapped.text
            else:
                body = json.dumps(
                    {
                        "error": "tool call refused",
                        "reason": step.decision.reason,
                        "needs_approval": step.decision.needs_approval,
                    },
                    ensure_ascii=False,
                )
            history.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": body})
    result.stopped = "max_rounds"
    result.text = ""
    return result


def _one_call(
    call: ProposedCall,
    declared: Mapping[str, Mapping[str, Any]],
    policy: ToolPolicy,
    tenant: str,
    role: str,
    executors: Mapping[str, Callable[..., Any]],
    approver: Approver | None,
    det: InjectionDetector,
) -> ToolStep:
    if call.name not in declared:
        return ToolStep(
            call,
            Decision(False, f"tool '{call.name}' was not declared to the model", rule="loop.declared"),
            False,
        )
    if call.parse_error:
        return ToolStep(
            call, Decision(False, f"tool '{call.name}': {call.parse_error}", rule="loop.arguments"), False
        )
    problem = validate_arguments(_parameters(declared[call.name]), call.arguments)
    if problem:
        return ToolStep(call, Decision(False, f"tool '{call.name}': {problem}", rule="loop.schema"), False)
    decision = policy.decide(tenant, role, call.name, call.arguments)
    if decision.needs_approval:
        if approver is not None and approver(call, decision):
            decision = policy.decide(tenant, role, call.name, call.arguments, approved=True)
        else:
            log.info("tool %s awaits approval", call.name)
            return ToolStep(call, decision, False)
    if not decision.allowed:
        return ToolStep(call, decision, False)
    fn = executors.get(call.name)
    if fn is None:
        return ToolStep(
            call,
            Decision(False, f"no executor registered for tool '{call.name}'", rule="loop.executor"),
            False,
        )
    try:
        value = fn(**call.arguments)
    except Exception as exc:  # a tool's own failure goes back to the model as data, not up the stack
        return ToolStep(call, decision, True, None, f"{type(exc).__name__}: {exc}")
    return ToolStep(call, decision, True, value)


def backend_caller(backend: Any, **chat_kwargs: Any) -> BackendCall:
    """Adapt a :class:`hanstack.llm.ModelBackend` to the loop's ``backend_call``."""
    from hanstack.llm.types import ChatMessage

    def call(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Any:
        msgs = [ChatMessage.from_openai(m) for m in messages]
        return backend.chat(msgs, tools=tools, **chat_kwargs)

    return call
