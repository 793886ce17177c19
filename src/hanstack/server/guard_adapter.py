"""The gateway's guard stage over :mod:`hanstack.guard` (PII engine + vault, injection detector, canary).

Input: every text is scanned for PII and rewritten per ``settings.guard.pii_action`` (with
``pseudonymize`` one vault per request: the model sees ``<PHONE_1>``, the caller gets the original
back); ``block`` refuses a request that carries PII. Each text is then checked for prompt
injection (tool results as ``tool``, everything else as ``user``) and handled per
``settings.guard.injection_action``: ``block`` refuses, ``flag`` records, ``strip`` drops the
offending sentences (and refuses when nothing harmless is left). ``off`` skips a guard.

Output: the canary planted in the system prompt must not appear (also spaced, encoded, ...), and
PII the model produced that the caller did not send is masked.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from typing import Any, Literal

from hanstack.server.guards import WITHHELD_TEXT, Decision, InputVerdict, OutputVerdict

_SENTENCE = re.compile(r"[^.!?。\n]+[.!?。]*\n?|\n")


class HanstackGuard:
    available = True

    def __init__(self, settings: Any) -> None:
        from hanstack.guard.injection import InjectionConfig, InjectionDetector
        from hanstack.guard.pii import PiiConfig, PiiEngine

        g = settings.guard
        self.pii_action: str = g.pii_action
        self.injection_action: str = g.injection_action
        self.pii = PiiEngine(PiiConfig())
        action: Literal["block", "flag", "strip"] = (
            "flag" if g.injection_action == "off" else g.injection_action
        )
        self.injection = InjectionDetector(InjectionConfig(threshold=g.injection_threshold, action=action))

    def warm(self) -> None:
        """Load the analyzer and the classifier now (seconds), not on the first request."""
        self.inspect_input(["홍길동 고객님 010-1234-5678 안녕하세요"])

    # --- input ---------------------------------------------------------------------------------
    def inspect_input(self, texts: list[str], *, sources: list[str] | None = None) -> InputVerdict:
        from hanstack.guard.pii import PseudonymVault

        out = InputVerdict(list(texts))
        sources = sources or ["user"] * len(texts)
        if self.pii_action != "off":
            vault = (
                PseudonymVault("req-" + secrets.token_hex(4)) if self.pii_action == "pseudonymize" else None
            )
            found: Counter[str] = Counter()
            for i, text in enumerate(out.texts):
                if not text:
                    continue
                entities = self.pii.scan(text)
                if not entities:
                    continue
                found.update(e.type for e in entities)
                out.subjects.extend(e.text for e in entities)
                if self.pii_action == "block":
                    continue
                out.texts[i] = self._redact(text, entities, vault)
            if found:
                out.decisions.append(
                    {
                        "guard": "pii",
                        "decision": "blocked" if self.pii_action == "block" else self.pii_action,
                        "types": dict(found),
                    }
                )
                if self.pii_action == "block":
                    out.blocked = (
                        "request refused: it contains personal data (" + ", ".join(sorted(found)) + ")"
                    )
                    return out
            else:
                out.decisions.append({"guard": "pii", "decision": "none"})
            if vault is not None and len(vault):
                out.restore = vault.restore
        if self.injection_action != "off":
            self._injection(out, sources)
        return out

    def _redact(self, text: str, entities: list[Any], vault: Any) -> str:
        from hanstack.guard.pii import apply_actions

        return str(apply_actions(text, entities, self.pii_action, vault).text)

    def _injection(self, out: InputVerdict, sources: list[str]) -> None:
        worst: Any = None
        for i, text in enumerate(out.texts):
            if not text:
                continue
            source = sources[i] if sources[i] in ("user", "document", "tool") else "user"
            verdict = self.injection.check(text, source)
            if not verdict.is_attack:
                if worst is None or verdict.score > worst.score:
                    worst = verdict
                continue
            worst = verdict
            if self.injection_action == "strip":
                kept = "".join(
                    s for s in _SENTENCE.findall(text) if not self.injection.check(s, source).is_attack
                ).strip()
                if kept and not self.injection.check(kept, source).is_attack:
                    out.texts[i] = kept
                    out.decisions.append(self._decision(verdict, "strip"))
                    continue
                out.decisions.append(self._decision(verdict, "block"))
                out.blocked = (
                    "request refused: prompt injection detected and could not be stripped ("
                    + ", ".join(verdict.categories)
                    + ")"
                )
                return
            out.decisions.append(self._decision(verdict, self.injection_action))
            if self.injection_action == "block":
                out.blocked = (
                    "request refused: prompt injection detected ("
                    + ", ".join(verdict.categories or ("instructions",))
                    + ")"
                )
                return
        if worst is not None and not worst.is_attack:
            out.decisions.append({"guard": "injection", "decision": "pass", "score": round(worst.score, 4)})

    @staticmethod
    def _decision(verdict: Any, decision: str) -> Decision:
        return {
            "guard": "injection",
            "decision": decision,
            "score": round(verdict.score, 4),
            "categories": list(verdict.categories),
        }

    # --- output --------------------------------------------------------------------------------
    def inspect_output(self, text: str, *, canary: str | None, known: set[str]) -> OutputVerdict:
        from hanstack.guard.canary import leaked

        if canary and leaked(text, canary):
            return OutputVerdict(WITHHELD_TEXT, [{"guard": "canary", "decision": "leak"}], withheld=True)
        if self.pii_action == "off" or not text:
            return OutputVerdict(text)
        entities = [e for e in self.pii.scan(text) if not any(e.text in k for k in known)]
        if not entities:
            return OutputVerdict(text)
        from hanstack.guard.pii import apply_actions

        masked = apply_actions(text, entities, "mask").text
        return OutputVerdict(
            masked,
            [{"guard": "output_pii", "decision": "masked", "types": dict(Counter(e.type for e in entities))}],
        )

    def make_canary(self) -> str | None:
        from hanstack.guard.canary import make_canary

        return make_canary()

    @staticmethod
    def canary_instruction(canary: str) -> str:
        from hanstack.guard.canary import canary_instruction

        return str(canary_instruction(canary))
