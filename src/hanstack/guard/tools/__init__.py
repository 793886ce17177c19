"""Tool permissions: a deny-by-default policy and a tool-calling loop that enforces it."""

from hanstack.guard.tools.loop import (
    ModelTurn,
    ProposedCall,
    ToolLoopResult,
    ToolStep,
    as_turn,
    backend_caller,
    run_tool_loop,
    validate_arguments,
)
from hanstack.guard.tools.policy import ArgConstraint, Decision, PolicyFileError, PolicyModel, ToolPolicy

__all__ = [
    "ArgConstraint",
    "Decision",
    "ModelTurn",
    "PolicyFileError",
    "PolicyModel",
    "ProposedCall",
    "ToolLoopResult",
    "ToolPolicy",
    "ToolStep",
    "as_turn",
    "backend_caller",
    "run_tool_loop",
    "validate_arguments",
]
