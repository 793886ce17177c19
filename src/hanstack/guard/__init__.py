"""Guardrails for Korean: PII detection and redaction, prompt-injection defence, tool permissions.

Library API (what the gateway calls on every request)::

    from hanstack.guard.pii import PiiEngine, PiiConfig, PseudonymVault
    from hanstack.guard.injection import InjectionDetector, neutralise_document
    from hanstack.guard.canary import make_canary, leaked
    from hanstack.guard.tools import ToolPolicy, run_tool_loop

Submodules load lazily, so ``import hanstack.guard`` stays cheap.
"""
