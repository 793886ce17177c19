"""Tools from an MCP server go through the same policy as local tools (in-process and stdio servers)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hanstack.guard.tools import ModelTurn, ProposedCall, ToolPolicy, run_tool_loop

pytest.importorskip("mcp", reason="the mcp package is not installed (pip install 'hanstack[guard]')")

from hanstack.guard.tools.mcp import McpToolbox

POLICY = """
version: 1
tools:
  "erp.get_*": {class: read}
rules:
  - tenant: acme
    role: analyst
    allow: ["erp.get_*"]
"""

SERVER = textwrap.dedent("""
    from mcp.server.mcpserver import MCPServer

    srv = MCPServer("erp")

    @srv.tool(name="get_order", description="주문 조회")
    def get_order(order_id: int) -> str:
        return f"주문 {order_id}: 배송중"

    @srv.tool(name="delete_all", description="모든 주문 삭제")
    def delete_all() -> str:
        raise SystemExit("must never be called")

    if __name__ == "__main__":
        srv.run("stdio")
""")


def _in_process_server() -> Any:
    from mcp.server.mcpserver import MCPServer

    srv = MCPServer("erp")
    calls: list[str] = []

    @srv.tool(name="get_order", description="주문 조회")
    def get_order(order_id: int) -> str:
        calls.append(f"get_order {order_id}")
        return f"주문 {order_id}: 배송중"

    @srv.tool(name="delete_all", description="모든 주문 삭제")
    def delete_all() -> str:
        calls.append("delete_all")
        return "deleted"

    srv.calls = calls  # type: ignore[attr-defined]
    return srv


class Script:
    def __init__(self, turns: list[Any]) -> None:
        self.turns = turns

    def __call__(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Any:
        return self.turns.pop(0) if self.turns else ModelTurn("끝")


def _loop(toolbox: McpToolbox) -> Any:
    turns = [
        ModelTurn(
            "", (ProposedCall("a", "erp.get_order", {"order_id": 7}), ProposedCall("b", "erp.delete_all", {}))
        ),
        "주문 7은 배송중입니다.",
    ]
    return run_tool_loop(
        Script(turns),
        toolbox.tools(),
        ToolPolicy.from_text(POLICY),
        tenant="acme",
        role="analyst",
        messages=[{"role": "user", "content": "주문 7"}],
        executors=toolbox.executors(),
    )


def test_mcp_tools_in_process() -> None:
    srv = _in_process_server()
    toolbox = McpToolbox(srv, prefix="erp.")
    names = [t["function"]["name"] for t in toolbox.tools()]
    assert names == ["erp.get_order", "erp.delete_all"]
    assert toolbox.tools()[0]["function"]["parameters"]["required"] == ["order_id"]
    result = _loop(toolbox)
    assert srv.calls == ["get_order 7"]  # delete_all was proposed but refused by the policy
    ok, refused = result.steps
    assert ok.executed and "배송중" in str(ok.result)
    assert not refused.executed and refused.decision.rule == "default"


@pytest.mark.slow
def test_mcp_tools_over_stdio(tmp_path: Path) -> None:
    script = tmp_path / "erp_server.py"
    script.write_text(SERVER, encoding="utf-8")
    toolbox = McpToolbox([sys.executable, str(script)], prefix="erp.", timeout_s=60)
    result = _loop(toolbox)
    assert [s.executed for s in result.steps] == [True, False]
    assert "배송중" in str(result.steps[0].result)
