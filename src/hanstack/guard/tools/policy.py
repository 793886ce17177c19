"""Tool permissions for agents that call enterprise systems (ERP, MES, SCADA, finance).

A policy file (YAML or TOML) says, per tenant and role, which tools may be called, with which
arguments, whether a human must approve, and how often. Deny by default: a call no rule allows is
refused, and every :class:`Decision` says why and which rule decided. Example (YAML)::

    version: 1
    tools:                         # classes and approval by tool-name pattern (first match wins)
      "erp.get_*":      {class: read}
      "finance.*":      {class: write, approval: true}
      "scada.*":        {class: control}
    rules:
      - tenant: acme               # fnmatch patterns; a list is any-of; default "*"
        role: [analyst, manager]
        allow: ["erp.get_*", "finance.transfer"]
        deny:  ["erp.get_salary"]
        classes: [read, write]     # optional: only these classes
        approval: ["finance.transfer"]
        constraints:
          finance.transfer:
            amount:   {max: 1000000, min: 1}
            currency: {enum: [KRW, USD]}
            account:  {regex: "^[0-9]{3}-[0-9]{2}-[0-9]{6}$", required: true}
        rate_limits:
          - {tool: "erp.*", per_minute: 30}
    rate_limits:                   # global limits, counted per tenant+role
      - {tool: "*", per_minute: 600}

Order of evaluation: matching ``deny`` → refused; no matching ``allow`` → refused (default);
class not permitted → refused; argument constraint violated → refused; approval required and not
given → ``needs_approval`` (``allowed`` stays false until the caller passes ``approved=True``);
rate limit exceeded → refused. Only calls that end up allowed count against rate limits.
"""

from __future__ import annotations

import fnmatch
import re
import threading
import time
import tomllib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hanstack.errors import ConfigError


class PolicyFileError(ConfigError):
    """A tool policy file that cannot be read or does not follow the schema."""

    code = "tool_policy_error"


# --- schema -------------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ArgConstraint(_Strict):
    enum: list[Any] | None = None
    min: float | None = None
    max: float | None = None
    max_amount: float | None = None
    """Same as ``max``; reads better for money."""
    regex: str | None = None
    max_length: int | None = Field(default=None, ge=0)
    required: bool = False

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {v!r}: {exc}") from exc
        return v

    def upper(self) -> float | None:
        vals = [v for v in (self.max, self.max_amount) if v is not None]
        return min(vals) if vals else None


class ToolClass(_Strict):
    class_: str = Field(default="unclassified", alias="class")
    approval: bool = False
    constraints: dict[str, ArgConstraint] = Field(default_factory=dict)


class RateLimit(_Strict):
    tool: str = "*"
    tenant: str = "*"
    role: str = "*"
    per_minute: float | None = Field(default=None, gt=0)
    per_hour: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_window(self) -> RateLimit:
        if self.per_minute is None and self.per_hour is None:
            raise ValueError("a rate limit needs per_minute or per_hour")
        return self


class Rule(_Strict):
    tenant: str | list[str] = "*"
    role: str | list[str] = "*"
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    classes: list[str] | None = None
    approval: list[str] = Field(default_factory=list)
    constraints: dict[str, dict[str, ArgConstraint]] = Field(default_factory=dict)
    rate_limits: list[RateLimit] = Field(default_factory=list)
    name: str | None = None


class PolicyModel(_Strict):
    version: Literal[1] = 1
    default: Literal["deny"] = "deny"
    tools: dict[str, ToolClass] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    rate_limits: list[RateLimit] = Field(default_factory=list)


# --- decisions ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    needs_approval: bool = False
    rule: str | None = None
    tool_class: str | None = None
    retry_after_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "reason": self.reason,
            "needs_approval": self.needs_approval,
            "rule": self.rule,
            "tool_class": self.tool_class,
            "retry_after_s": self.retry_after_s,
        }


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


class _Pat:
    """An fnmatch pattern (or any-of list) compiled once."""

    __slots__ = ("rx", "text")

    def __init__(self, pattern: str | list[str]) -> None:
        pats = [pattern] if isinstance(pattern, str) else list(pattern)
        self.text = pattern if isinstance(pattern, str) else "|".join(pats)
        self.rx = (
            re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in pats)) if pats else re.compile(r"(?!)")
        )

    def match(self, value: str) -> bool:
        return self.rx.match(value) is not None


@dataclass
class _CompiledRule:
    index: int
    label: str
    name: str | None
    tenant: _Pat
    role: _Pat
    allow: list[tuple[str, _Pat]]
    deny: list[tuple[str, _Pat]]
    classes: frozenset[str] | None
    approval: list[tuple[str, _Pat]]
    constraints: list[tuple[str, _Pat, dict[str, ArgConstraint]]]
    rate_limits: list[RateLimit]


@dataclass
class _Resolved:
    """The argument-independent part of a decision, cached per (tenant, role, tool)."""

    decision: Decision | None
    rule: _CompiledRule | None
    tool_class: str
    approval_by: str | None
    constraints: list[tuple[str, dict[str, ArgConstraint]]]
    limits: list[tuple[str, RateLimit]]


class ToolPolicy:
    """A loaded policy. ``decide`` is thread-safe; rate-limit state lives in the instance."""

    def __init__(self, model: PolicyModel, *, source: str = "<policy>", clock: Any = time.monotonic) -> None:
        self.model = model
        self.source = source
        self._clock = clock
        self._tools = [(pat, _compile(pat), tc) for pat, tc in model.tools.items()]
        self._rules = [self._compile_rule(i, r) for i, r in enumerate(model.rules)]
        self._cache: dict[tuple[str, str, str], _Resolved] = {}
        self._windows: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    # -- loading ----------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> ToolPolicy:
        """Read a ``.yaml``/``.yml`` or ``.toml`` policy file; errors name the line or key."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyFileError(f"cannot read tool policy {p}: {exc.strerror or exc}") from exc
        fmt: Literal["yaml", "toml"] = "toml" if p.suffix.lower() == ".toml" else "yaml"
        return cls.from_text(text, fmt=fmt, source=str(p))

    @classmethod
    def from_text(
        cls, text: str, *, fmt: Literal["yaml", "toml"] = "yaml", source: str = "<policy>"
    ) -> ToolPolicy:
        data = _parse(text, fmt, source)
        return cls.from_dict(data, source=source, text=text, fmt=fmt)

    @classmethod
    def from_dict(
        cls, data: Any, *, source: str = "<policy>", text: str | None = None, fmt: str = "yaml"
    ) -> ToolPolicy:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise PolicyFileError(
                f"{source}: a tool policy must be a mapping at the top level, got {type(data).__name__}"
            )
        try:
            model = PolicyModel.model_validate(dict(data))
        except ValidationError as exc:
            raise _schema_error(exc, source, text, fmt) from None
        return cls(model, source=source)

    def _compile_rule(self, i: int, r: Rule) -> _CompiledRule:
        label = f"rules[{i}]"
        return _CompiledRule(
            index=i,
            label=label,
            name=r.name,
            tenant=_Pat(r.tenant),
            role=_Pat(r.role),
            allow=[(p, _Pat(p)) for p in r.allow],
            deny=[(p, _Pat(p)) for p in r.deny],
            classes=frozenset(r.classes) if r.classes is not None else None,
            approval=[(p, _Pat(p)) for p in r.approval],
            constraints=[(p, _Pat(p), c) for p, c in r.constraints.items()],
            rate_limits=list(r.rate_limits),
        )

    # -- deciding ---------------------------------------------------------------------------------
    def tool_class(self, tool: str) -> tuple[str, ToolClass | None, str | None]:
        for pat, rx, tc in self._tools:
            if rx.match(tool):
                return tc.class_, tc, pat
        return "unclassified", None, None

    def _resolve(self, tenant: str, role: str, tool: str) -> _Resolved:
        key = (tenant, role, tool)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        cls_name, tool_cfg, tool_pat = self.tool_class(tool)
        matching = [r for r in self._rules if r.tenant.match(tenant) and r.role.match(role)]
        res: _Resolved
        denied = next(((r, p) for r in matching for p, pat in r.deny if pat.match(tool)), None)
        allowed = next(((r, p) for r in matching for p, pat in r.allow if pat.match(tool)), None)
        if denied is not None:
            r, p = denied
            res = _Resolved(
                Decision(
                    False,
                    f"tool '{tool}' is denied for tenant '{tenant}', role '{role}' by pattern '{p}'",
                    rule=f"{r.label}.deny",
                    tool_class=cls_name,
                ),
                r,
                cls_name,
                None,
                [],
                [],
            )
        elif allowed is None:
            res = _Resolved(
                Decision(
                    False,
                    f"no rule allows tool '{tool}' for tenant '{tenant}', role '{role}' (deny by default)",
                    rule="default",
                    tool_class=cls_name,
                ),
                None,
                cls_name,
                None,
                [],
                [],
            )
        else:
            r, p = allowed
            if r.classes is not None and cls_name not in r.classes:
                res = _Resolved(
                    Decision(
                        False,
                        f"tool '{tool}' is class '{cls_name}', but {r.label} only permits "
                        f"{', '.join(sorted(r.classes))}",
                        rule=f"{r.label}.classes",
                        tool_class=cls_name,
                    ),
                    r,
                    cls_name,
                    None,
                    [],
                    [],
                )
            else:
                approval_by = None
                if tool_cfg is not None and tool_cfg.approval:
                    approval_by = f"tools['{tool_pat}'].approval"
                else:
                    ap = next((ap for ap, pat in r.approval if pat.match(tool)), None)
                    if ap is not None:
                        approval_by = f"{r.label}.approval '{ap}'"
                constraints = [
                    (f"{r.label}.constraints['{cp}']", c) for cp, pat, c in r.constraints if pat.match(tool)
                ]
                if tool_cfg is not None and tool_cfg.constraints:
                    constraints.append((f"tools['{tool_pat}'].constraints", tool_cfg.constraints))
                limits = [
                    (f"{r.label}.rate_limits[{j}]", rl)
                    for j, rl in enumerate(r.rate_limits)
                    if fnmatch.fnmatchcase(tool, rl.tool)
                ]
                limits += [
                    (f"rate_limits[{j}]", rl)
                    for j, rl in enumerate(self.model.rate_limits)
                    if fnmatch.fnmatchcase(tool, rl.tool)
                    and fnmatch.fnmatchcase(tenant, rl.tenant)
                    and fnmatch.fnmatchcase(role, rl.role)
                ]
                res = _Resolved(None, r, cls_name, approval_by, constraints, limits)
                res.decision = Decision(
                    True, f"allowed by {r.label}.allow '{p}'", rule=f"{r.label}.allow", tool_class=cls_name
                )
        if len(self._cache) < 100_000:
            self._cache[key] = res
        return res

    def decide(
        self,
        tenant: str,
        role: str,
        tool_name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        approved: bool = False,
        record: bool = True,
    ) -> Decision:
        """Decide one proposed call. ``record=False`` checks without counting against rate limits."""
        res = self._resolve(tenant, role, tool_name)
        assert res.decision is not None
        if not res.decision.allowed:
            return res.decision
        args = dict(arguments or {})
        for label, constraints in res.constraints:
            problem = _check_args(args, constraints)
            if problem is not None:
                return Decision(
                    False, f"tool '{tool_name}': {problem}", rule=label, tool_class=res.tool_class
                )
        if res.approval_by is not None and not approved:
            return Decision(
                False,
                f"tool '{tool_name}' needs human approval ({res.approval_by})",
                needs_approval=True,
                rule=res.approval_by,
                tool_class=res.tool_class,
            )
        for label, rl in res.limits:
            wait = self._rate_check(tenant, role, label, rl, record)
            if wait is not None:
                window = f"{rl.per_minute:g}/minute" if rl.per_minute else f"{rl.per_hour:g}/hour"
                return Decision(
                    False,
                    f"rate limit {window} for '{rl.tool}' exceeded for tenant '{tenant}', role '{role}'; "
                    f"retry in {wait:.1f}s",
                    rule=label,
                    tool_class=res.tool_class,
                    retry_after_s=round(wait, 3),
                )
        if record:
            self._rate_record(tenant, role, res.limits)
        base = res.decision
        reason = base.reason + (" (approved)" if res.approval_by is not None else "")
        return Decision(True, reason, rule=base.rule, tool_class=res.tool_class)

    # -- rate limits ------------------------------------------------------------------------------
    def _limits(self, rl: RateLimit) -> list[tuple[float, float]]:
        out = []
        if rl.per_minute:
            out.append((60.0, rl.per_minute))
        if rl.per_hour:
            out.append((3600.0, rl.per_hour))
        return out

    def _rate_check(self, tenant: str, role: str, label: str, rl: RateLimit, record: bool) -> float | None:
        now = self._clock()
        with self._lock:
            for span, limit in self._limits(rl):
                q = self._windows.setdefault((tenant, role, label, str(span)), deque())
                while q and q[0] <= now - span:
                    q.popleft()
                if len(q) >= limit:
                    return max(0.0, q[0] + span - now)
        return None

    def _rate_record(self, tenant: str, role: str, limits: list[tuple[str, RateLimit]]) -> None:
        now = self._clock()
        with self._lock:
            for label, rl in limits:
                for span, _limit in self._limits(rl):
                    self._windows.setdefault((tenant, role, label, str(span)), deque()).append(now)

    def reset_rate_limits(self) -> None:
        with self._lock:
            self._windows.clear()


def _check_args(args: Mapping[str, Any], constraints: Mapping[str, ArgConstraint]) -> str | None:
    for name, c in constraints.items():
        if name not in args or args[name] is None:
            if c.required:
                return f"argument '{name}' is required"
            continue
        value = args[name]
        if c.enum is not None and value not in c.enum:
            return f"argument '{name}'={value!r} is not one of {c.enum!r}"
        upper = c.upper()
        if c.min is not None or upper is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                try:
                    value = float(str(value).replace(",", ""))
                except ValueError:
                    return f"argument '{name}'={args[name]!r} is not a number"
            if c.min is not None and value < c.min:
                return f"argument '{name}'={value:g} is below the minimum {c.min:g}"
            if upper is not None and value > upper:
                return f"argument '{name}'={value:g} exceeds the maximum {upper:g}"
        if c.regex is not None and re.fullmatch(c.regex, str(value)) is None:
            return f"argument '{name}'={value!r} does not match /{c.regex}/"
        if c.max_length is not None and len(str(value)) > c.max_length:
            return f"argument '{name}' is longer than {c.max_length} characters"
    return None


# --- parsing with located errors ------------------------------------------------------------------
def _parse(text: str, fmt: str, source: str) -> Any:
    if fmt == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyFileError(
                f"{source}: invalid TOML: {exc}", hint="check the line named above"
            ) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyFileError(
            f"{source}: invalid YAML{where}: {problem}", hint="check the line named above"
        ) from exc


def _schema_error(exc: ValidationError, source: str, text: str | None, fmt: str) -> PolicyFileError:
    parts = []
    for err in exc.errors()[:5]:
        loc = [
            p
            for p in err["loc"]
            if not (isinstance(p, str) and p.startswith(("function-", "union[", "list[", "str")))
        ]
        path = _format_loc(loc)
        line = _line_of(text, loc, fmt) if text else None
        at = f" (line {line})" if line else ""
        parts.append(f"key '{path}'{at}: {err['msg']}")
    more = f" (+{len(exc.errors()) - 5} more)" if len(exc.errors()) > 5 else ""
    return PolicyFileError(
        f"{source}: invalid tool policy: " + "; ".join(parts) + more,
        hint="see the policy format in the hanstack.guard.tools.policy docs",
    )


def _format_loc(loc: list[Any]) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + str(p))
    return out or "<top level>"


def _line_of(text: str, loc: list[Any], fmt: str) -> int | None:
    if fmt != "toml":
        try:
            node = yaml.compose(text)
        except yaml.YAMLError:
            node = None
        found = None
        for p in loc:
            if node is None:
                break
            if isinstance(node, yaml.MappingNode):
                nxt = next(((k, v) for k, v in node.value if getattr(k, "value", None) == p), None)
                if nxt is None:
                    break
                found, node = nxt[0], nxt[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(p, int) and p < len(node.value):
                node = node.value[p]
                found = node
            else:
                break
        return found.start_mark.line + 1 if found is not None else None
    # TOML: best effort, the last string key of the path as written in the file
    keys = [p for p in loc if isinstance(p, str)]
    if not keys:
        return None
    rx = re.compile(r"^\s*(?:\[+[^\]]*)?[\"']?" + re.escape(keys[-1]) + r"[\"']?\s*[=.\]]", re.MULTILINE)
    m = rx.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None
