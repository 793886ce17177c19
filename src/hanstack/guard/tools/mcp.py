"""Tools from MCP servers, declared to the model and run through the same policy as local tools.

    toolbox = McpToolbox(["python", "-m", "my_erp_mcp_server"], prefix="erp.")   # stdio command
    toolbox = McpToolbox("http://127.0.0.1:8765/mcp")                              # Streamable HTTP
    tools, executors = toolbox.tools(), toolbox.executors()
    run_tool_loop(call, [*local_tools, *tools], policy, ..., executors={**local, **executors})

The MCP server's tools become JSON-schema function declarations named ``prefix + tool name`` (so a
policy can say ``allow: ["erp.*"]``), and their executors call the server. Nothing bypasses the loop:
the policy, the argument schema and the approval step apply exactly as for local tools, and tool results
come back through the injection guard. Needs the ``mcp`` package (``pip install 'hanstack[guard]'``).
Each call opens a short-lived session (simple and safe for a synchronous loop; a long-running gateway
can keep its own ``mcp.Client`` and pass ``server=`` an in-process server or transport).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from hanstack.errors import GuardError, MissingDependencyError


def _mcp() -> Any:
    try:
        import mcp
    except ImportError as exc:
        raise MissingDependencyError("mcp", "guard", "Tools from MCP servers") from exc
    return mcp


class McpToolbox:
    def __init__(self, server: Any, *, prefix: str = "", timeout_s: float = 30.0) -> None:
        """``server``: a stdio command (list of strings), a URL, or anything ``mcp.Client`` accepts."""
        self._mcp = _mcp()
        if isinstance(server, Sequence) and not isinstance(server, str):
            parts = [str(p) for p in server]
            if not parts:
                raise GuardError("an MCP stdio command needs at least the program name")
            from mcp.client.stdio import StdioServerParameters

            server = StdioServerParameters(command=parts[0], args=parts[1:])
        self.server = server
        self.prefix = prefix
        self.timeout_s = timeout_s
        self._tools: list[dict[str, Any]] | None = None

    def _run(self, fn: Callable[[Any], Any]) -> Any:
        import anyio

        async def go() -> Any:
            with anyio.fail_after(self.timeout_s):
                async with self._mcp.Client(self.server) as client:
                    return await fn(client)

        try:
            return anyio.run(go)
        except TimeoutError as exc:
            raise GuardError(
                f"MCP server did not answer within {self.timeout_s:g} s: {self.server!r}"
            ) from exc
        except OSError as exc:
            raise GuardError(f"cannot reach MCP server {self.server!r}: {exc}") from exc

    def tools(self) -> list[dict[str, Any]]:
        """The server's tools as OpenAI-style function declarations (listed once, then cached)."""
        if self._tools is None:
            listing = self._run(lambda c: c.list_tools())
            self._tools = [
                {
                    "type": "function",
                    "function": {
                        "name": self.prefix + t.name,
                        "description": t.description or "",
                        "parameters": dict(t.input_schema or {"type": "object", "properties": {}}),
                    },
                }
                for t in listing.tools
            ]
        return self._tools

    def call(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call tool ``name`` (without the prefix); structured content if any, else the joined text."""

        async def go(client: Any) -> Any:
            return await client.call_tool(name, arguments)

        result = self._run(go)
        if getattr(result, "is_error", False):
            text = _text(result)
            raise GuardError(f"MCP tool '{name}' failed: {text[:500]}")
        if getattr(result, "structured_content", None) is not None:
            return result.structured_content
        return _text(result)

    def executors(self) -> dict[str, Callable[..., Any]]:
        out: dict[str, Callable[..., Any]] = {}
        for spec in self.tools():
            declared = spec["function"]["name"]
            remote = declared[len(self.prefix) :]
            out[declared] = lambda _remote=remote, **kwargs: self.call(_remote, kwargs)
        return out


def _text(result: Any) -> str:
    parts = []
    for block in getattr(result, "content", []) or []:
        text = getattr(block, "text", None)
        parts.append(
            text if text is not None else json.dumps(getattr(block, "model_dump", dict)(), default=str)
        )
    return "\n".join(parts)
